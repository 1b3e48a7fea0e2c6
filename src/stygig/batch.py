"""``stygig batch``: an outfit for every item of an artifact (or for listed ids), precomputed.

Each item is asked exactly as a client asks the server, ``{"item_id": ID, **options}`` as a JSON
body, through the server's own decoder and engine call (:func:`stygig.serving.codec.parse_request`,
:func:`stygig.serving.transformer.predict`), so a batch line holds byte for byte the answer a
single request gets with the same options — less ``metadata.processing_time_ms`` (a clock
reading: two runs of the same batch would differ by it) and ``metadata.request_id`` (a batch is
not a request). One JSON line per item, in the order asked, keyed by its id::

    {"item_id":"shirt-0003","response":{...the answer...}}
    {"item_id":"odd-0001","error":{"code":"...","message":"..."}}

Work is cut into chunks of ``chunk`` items (:data:`CHUNK` by default; the same for any number of
workers, so the output is too). Worker processes (``forkserver``: each loads the memory-mapped artifact once and shares
its pages with the others through the page cache) write each finished chunk whole into
``OUT.parts/`` (:mod:`stygig.atomic`); a killed run started again with the same arguments skips
the chunks already there. When every chunk is in, they are joined into ``OUT`` (atomically: it
appears whole or not at all) and ``OUT.parts/`` is removed.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Sequence

from stygig import __version__
from stygig.atomic import open_atomic, write_bytes
from stygig.errors import StygigError
from stygig.wording import plural

if TYPE_CHECKING:  # pragma: no cover
    from stygig.recommend.engine import Recommender
    from stygig.taxonomy import Taxonomy

#: items per part file: small enough that a killed run loses little, large enough that the
#: per-chunk cost (a task message, a file) is noise
CHUNK = 250
#: the fields that name a request's query: --options carries options only
_QUERY_KEYS = ("item_id", "image", "image_s3_uri", "text")


# ---- one item ---------------------------------------------------------------------------------
def keyed_line(item_id: str, *, answer: bytes | None = None, error: dict[str, Any] | None = None) -> bytes:
    """One line of a batch output: ``{"item_id":ID,"response":ANSWER}`` (ANSWER the encoded
    answer, embedded unchanged) or ``{"item_id":ID,"error":{...}}``."""
    from stygig.serving.codec import encode_json

    key = json.dumps(item_id, ensure_ascii=False).encode("utf-8")
    if answer is not None:
        return b'{"item_id":' + key + b',"response":' + answer + b"}\n"
    return b'{"item_id":' + key + b',"error":' + encode_json(error or {}) + b"}\n"


def item_line(recommender: "Recommender", item_id: str, options: dict[str, Any]) -> tuple[bytes, bool]:
    """The batch line of one item, the server's answer to ``{"item_id": item_id, **options}``,
    and whether it is an error."""
    from stygig.serving.codec import JSON, encode_json, parse_request
    from stygig.serving.transformer import predict

    try:
        parsed = parse_request(encode_json({"item_id": item_id, **options}), JSON)
        result = predict(parsed, recommender, s3_reader=None)
    except StygigError as e:
        return keyed_line(item_id, error={"code": e.code, "message": e.message}), True
    result.get("metadata", {}).pop("processing_time_ms", None)
    return keyed_line(item_id, answer=encode_json(result)), False


# ---- the job ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class BatchSummary:
    out: Path
    items: int
    resumed: int
    errors: int
    seconds: float
    workers: int

    def lines(self) -> list[str]:
        done = self.items - self.resumed
        rate = done / self.seconds if self.seconds > 0 else 0.0
        head = f"wrote {plural(self.items, 'outfit')} to {self.out}"
        if self.resumed:
            head += f" ({self.resumed} resumed from an earlier run)"
        lines = [head, f"{done} computed in {self.seconds:.1f} s ({rate:.0f} items/s, {plural(self.workers, 'worker')})"]
        if self.errors:
            lines.append(f"{plural(self.errors, 'item')} answered with an error (their lines hold it)")
        return lines


def read_ids(path: str | Path, recommender: "Recommender") -> list[str]:
    """The ids of an ids file (one a line; blank lines skipped), each checked against the catalog."""
    path = Path(path)
    return parse_ids(path.read_text(encoding="utf-8-sig"), str(path), lambda i: recommender.items.row_of(i) is not None)


def parse_ids(text: str, where: str, is_known: Callable[[str], bool] | None = None) -> list[str]:
    """The ids of an ids file's text (one a line; blank lines skipped; a repeat refused naming both
    lines; with ``is_known``, an id not in the catalog refused naming its line)."""
    ids: list[str] = []
    seen: dict[str, int] = {}
    for n, raw in enumerate(text.splitlines(), start=1):
        item_id = raw.strip()
        if not item_id:
            continue
        if item_id in seen:
            raise StygigError(f"{where} line {n}: {item_id[:100]!r} is listed twice (first on line {seen[item_id]})")
        if is_known is not None and not is_known(item_id):
            raise StygigError(f"{where} line {n}: unknown item_id {item_id[:100]!r} (not in the artifact)")
        seen[item_id] = n
        ids.append(item_id)
    if not ids:
        raise StygigError(f"{where} lists no item ids (one a line)")
    return ids


def all_ids(recommender: "Recommender") -> list[str]:
    return [bytes(b).decode("utf-8") for b in recommender.items.ids]


def parse_options(text: str | None, taxonomy: "Taxonomy | None", probe_id: str = "probe") -> dict[str, Any]:
    """``--options``: a JSON object of request options, checked as a request carrying them is
    (a category against ``taxonomy``; None: only its shape, as for a SageMaker model with no
    local artifact; attribute names in filters and boosts are the server's to check)."""
    from stygig.schema import Options
    from stygig.serving.codec import JSON, encode_json, parse_request

    if not text:
        return {}
    try:
        options = json.loads(text)
    except json.JSONDecodeError as e:
        raise StygigError(f"--options is not valid JSON ({e.msg}): {text[:100]!r}") from None
    if not isinstance(options, dict):
        raise StygigError("--options must be a JSON object of options, e.g. '{\"top_k\": 3}'")
    given = [k for k in _QUERY_KEYS if k in options]
    if given:
        raise StygigError(f"--options holds options only; the query is each item ({', '.join(given)} given)")
    try:
        parsed = parse_request(encode_json({"item_id": probe_id, **options}), JSON)
        Options.from_dict(parsed.options, taxonomy)
    except StygigError as e:
        raise StygigError(f"--options: {e.message}") from None
    return options


def parts_dir(out: Path) -> Path:
    return out.with_name(out.name + ".parts")


def _job(recommender: "Recommender", ids: Sequence[str], options: dict[str, Any], compatibility: str | None,
         chunk: int) -> dict[str, Any]:
    """What makes two runs the same job: the artifact, the ids, the options, the chunking."""
    manifest = (recommender.artifact_dir / "manifest.json").read_bytes()
    return {
        "stygig_version": __version__,
        "manifest_sha256": hashlib.sha256(manifest).hexdigest(),
        "compatibility": recommender.compatibility.kind,
        "compatibility_asked": compatibility,
        "options": options,
        "items": len(ids),
        "ids_sha256": hashlib.sha256("\n".join(ids).encode("utf-8")).hexdigest(),
        "chunk": chunk,
    }


def _open_parts(parts: Path, job: dict[str, Any]) -> set[int]:
    """The chunks already written by an earlier run of the same job (an other job's: refused)."""
    job_file = parts / "job.json"
    if parts.is_dir() and job_file.is_file():
        try:
            earlier = json.loads(job_file.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            earlier = None
        if earlier != job:
            raise StygigError(
                f"{parts} holds the parts of a different batch (other artifact, ids, options or version); "
                "run again with the same arguments to resume it, or delete it to start over"
            )
        return {int(p.stem.split("-")[1]) for p in parts.glob("part-*.jsonl")}
    parts.mkdir(exist_ok=True)
    write_bytes(job_file, (json.dumps(job, indent=1, sort_keys=True) + "\n").encode("utf-8"))
    return set()


def run_batch(
    artifact: str | Path,
    out: str | Path,
    *,
    ids_file: str | Path | None = None,
    options_json: str | None = None,
    workers: int = 1,
    chunk: int = CHUNK,
    compatibility: str | None = None,
    progress: bool = True,
) -> BatchSummary:
    from stygig.recommend.engine import Recommender

    if workers < 1:
        raise StygigError(f"--workers must be at least 1, got {workers}")
    if chunk < 1:
        raise StygigError(f"--chunk must be at least 1, got {chunk}")
    out = Path(out)
    recommender = Recommender.load(artifact, compatibility=compatibility)
    ids = read_ids(ids_file, recommender) if ids_file is not None else all_ids(recommender)
    if not ids:
        raise StygigError(f"{artifact} holds no items")
    options = parse_options(options_json, recommender.taxonomy, ids[0])
    parts = parts_dir(out)
    done = _open_parts(parts, _job(recommender, ids, options, compatibility, chunk))
    chunks = [(i, ids[s : s + chunk]) for i, s in enumerate(range(0, len(ids), chunk))]
    todo = [(i, chunk) for i, chunk in chunks if i not in done]
    resumed = sum(len(chunk) for i, chunk in chunks if i in done)

    bar = _progress(len(ids), resumed, progress)
    t0 = time.perf_counter()
    errors = 0
    try:
        if workers == 1 or len(todo) <= 1:
            _WORKER.update(recommender=recommender, options=options, parts=parts)
            for i, chunk in todo:
                n, e = _run_chunk(i, chunk)
                errors += e
                bar.update(n)
        else:
            import multiprocessing

            ctx = multiprocessing.get_context("forkserver")
            ctx.set_forkserver_preload(["stygig.batch", "stygig.recommend.engine", "stygig.serving.transformer"])
            with ctx.Pool(min(workers, len(todo)), initializer=_init_worker,
                          initargs=(str(recommender.artifact_dir), compatibility, options, str(parts))) as pool:
                for n, e in pool.imap_unordered(_run_chunk_task, todo, chunksize=1):
                    errors += e
                    bar.update(n)
    finally:
        bar.close()
    seconds = time.perf_counter() - t0
    errors += _count_errors(parts, done)
    _assemble(parts, len(chunks), out)
    return BatchSummary(out=out, items=len(ids), resumed=resumed, errors=errors, seconds=seconds, workers=workers)


def _progress(total: int, initial: int, enabled: bool):
    from tqdm import tqdm

    return tqdm(total=total, initial=initial, desc="batch", unit="item", file=sys.stderr, dynamic_ncols=True,
                disable=not enabled)


def _count_errors(parts: Path, chunks: set[int]) -> int:
    """Error lines in the chunks an earlier run wrote (this run counted its own)."""
    n = 0
    for i in chunks:
        with open(_part(parts, i), "rb") as fh:
            n += sum(1 for line in fh if "error" in json.loads(line))
    return n


def _assemble(parts: Path, n_chunks: int, out: Path) -> None:
    with open_atomic(out) as dst:
        for i in range(n_chunks):
            with open(_part(parts, i), "rb") as src:
                shutil.copyfileobj(src, dst, 1 << 20)
    shutil.rmtree(parts)


def _part(parts: Path, index: int) -> Path:
    return parts / f"part-{index:06d}.jsonl"


# ---- a worker ---------------------------------------------------------------------------------
#: one worker process's state (set once by _init_worker; in-process runs set it directly)
_WORKER: dict[str, Any] = {}


def _init_worker(artifact: str, compatibility: str | None, options: dict[str, Any], parts: str) -> None:
    from stygig.recommend.engine import Recommender

    recommender = Recommender.load(artifact, verify=False, compatibility=compatibility).warm()  # the parent verified it
    _WORKER.update(recommender=recommender, options=options, parts=Path(parts))


def _run_chunk_task(task: tuple[int, list[str]]) -> tuple[int, int]:
    return _run_chunk(*task)


def _run_chunk(index: int, ids: Sequence[str]) -> tuple[int, int]:
    """Answer one chunk and write its part file whole; (items, errors)."""
    recommender, options = _WORKER["recommender"], _WORKER["options"]
    lines = [item_line(recommender, item_id, options) for item_id in ids]
    with open_atomic(_part(_WORKER["parts"], index)) as fh:
        fh.write(b"".join(line for line, _ in lines))
    return len(lines), sum(1 for _, is_error in lines if is_error)
