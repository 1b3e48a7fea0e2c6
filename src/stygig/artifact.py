"""The model artifact: write (build), verify, read, pack.

An artifact is a self-contained directory — what SageMaker unpacks into ``/opt/ml/model`` —
holding everything needed to answer a recommendation, and nothing that can run code::

    manifest.json       format + version, encoder config, taxonomy, counts, index choice,
                        sha256 of every file
    vectors.npy         float32 (n, dim), L2-normalised, rows sorted by item id
    colors.npy          float32 (n, K, 4): dominant colours per item as (L, a, b, weight)
    items/              columnar item metadata, read lazily (see stygig.items)
    index/              one FAISS index per category (see stygig.index)
    category_text.npy   (CLIP only) one text embedding per taxonomy category, for zero-shot
    encoder/            the encoder's own files (ONNX towers, preprocessing, tokenizer)
    taxonomy.json       the rules the artifact was built with
    thumbs/<row>.jpg    a small picture of every item, for reports and pages
    build_report.json   what was built and skipped, with reasons, and where the time went

Building is a stream of chunks: items (sorted by id) are decoded and featurized by worker
threads ahead of the encoder, and every ``CHUNK`` items are checkpointed into a work directory
beside the target (``.<name>.build/``). Memory stays bounded whatever the catalog size. A build
that is interrupted and re-run with the same inputs resumes from the last complete chunk; the
finished artifact is moved into place with one rename, so there is never a half artifact.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import shutil
import sys
import tarfile
import threading
import time
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Sequence

import numpy as np
from PIL import Image

from stygig import __version__
from stygig.atomic import make_temp_dir, open_atomic
from stygig.atomic import write_bytes as _atomic_bytes
from stygig.catalog.ingest import CatalogItem, read_catalog
from stygig.errors import ArtifactError, ImageError, StygigError
from stygig.features.encoders.base import Encoder
from stygig.features.encoders.registry import resolve_encoder
from stygig.images import decode_image
from stygig.index import build_indexes
from stygig.items import ItemWriter
from stygig.recommend.compat.registry import default_spec as default_compatibility_spec
from stygig.taxonomy import Taxonomy
from stygig.wording import plural

FORMAT = "stygig-artifact"
FORMAT_VERSION = 2
N_COLOURS = 3
THUMB_SIDE = 192
CHUNK = 256
#: files whose content legitimately differs between two builds of the same catalog
VOLATILE = {"build_report.json"}


@dataclass
class BuildSummary:
    out: Path
    n_items: int
    skipped: list[dict[str, str]]
    seconds: float
    encoder: dict[str, Any]
    tar: Path | None = None
    per_category: dict[str, int] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    resumed_chunks: int = 0
    catalog: dict[str, Any] = field(default_factory=dict)  # Catalog.describe(): what was read

    def lines(self) -> list[str]:
        lines = [
            f"built {self.out} — {plural(self.n_items, 'item')}, encoder {self.encoder.get('kind')}"
            + (f" ({self.encoder['precision']})" if self.encoder.get("precision") else "")
            + f", {self.seconds:.1f} s"
            + (f" (resumed {plural(self.resumed_chunks, 'finished chunk')})" if self.resumed_chunks else ""),
        ]
        lines += catalog_lines(self.catalog)
        t = self.timings
        if "encode_s" in t:
            lines.append(
                f"time: decode+colours+thumbnails {t.get('featurize_worker_s', 0):.1f} s across worker threads, "
                f"encode {t['encode_s']:.1f} s, waiting for features {t.get('wait_for_features_s', 0):.1f} s, "
                f"write {t.get('write_s', 0):.1f} s, index {t.get('index_s', 0):.1f} s"
            )
        if self.skipped:
            lines.append(f"skipped {plural(len(self.skipped), 'bad file')}:")
            lines += [f"  {s['id']}: {s['reason']}" for s in self.skipped[:20]]
            if len(self.skipped) > 20:
                lines.append(f"  ... and {len(self.skipped) - 20} more (see build_report.json)")
        if self.tar:
            lines.append(f"packed {self.tar}")
        return lines


def catalog_lines(catalog: dict[str, Any]) -> list[str]:
    """Which source a build read, and a warning for the pictures its manifest leaves out."""
    if not catalog:
        return []
    if catalog["kind"] == "manifest":
        lines = [f"catalog: manifest {catalog['source']} ({plural(catalog['items'], 'row')})"]
    else:
        lines = [f"catalog: folders in {catalog['source']} ({plural(catalog['items'], 'picture')})"]
    n = catalog.get("unlisted_pictures", 0)
    if n:
        shown = ", ".join(catalog["unlisted_examples"]) + (f" and {n - len(catalog['unlisted_examples'])} more" if n > len(catalog["unlisted_examples"]) else "")
        manifest = Path(catalog["source"])
        lines.append(
            f"warning: {plural(n, 'picture')} in {manifest.parent} {'is' if n == 1 else 'are'} not listed in "
            f"{manifest.name} and {'was' if n == 1 else 'were'} left out: "
            f"{shown} (add {'a row for it' if n == 1 else 'rows for them'} to the manifest)"
        )
    return lines


# ---- helpers -----------------------------------------------------------------------------------
def sha256_file(path: Path) -> str:
    """sha256 of a file, streamed (hashlib.file_digest, Python 3.11+)."""
    with open(path, "rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def shard_of(item_id: str, n_shards: int) -> int:
    """Stable shard assignment by item id (independent of catalog order and Python's hash seed)."""
    return int.from_bytes(hashlib.sha1(item_id.encode("utf-8")).digest()[:8], "big") % n_shards


def _read_source(source: str) -> bytes | str:
    if source.startswith("s3://"):
        from stygig import s3io

        return s3io.read_s3_bytes(source, allowed_buckets=None, max_bytes=256 << 20)
    return source


@dataclass
class _Featurized:
    item: CatalogItem
    image: Image.Image | None
    thumb: bytes | None
    colours: list[dict[str, Any]]
    error: str | None = None
    seconds: float = 0.0


def _featurize(item: CatalogItem) -> _Featurized:
    from stygig.features.colour.dominant import dominant_colours

    t0 = time.perf_counter()
    try:
        img = decode_image(_read_source(item.source))
    except ImageError as e:
        return _Featurized(item, None, None, [], str(e), time.perf_counter() - t0)
    except StygigError as e:
        return _Featurized(item, None, None, [], f"unreadable: {e}", time.perf_counter() - t0)
    # colours and the thumbnail both want a small picture: one fast integer reduction serves both
    factor = max(1, min(img.size) // THUMB_SIDE)
    small = img.reduce(factor) if factor > 1 else img.copy()
    colours = [c.to_dict() for c in dominant_colours(small, k=N_COLOURS)]
    thumb = small
    thumb.thumbnail((THUMB_SIDE, THUMB_SIDE), Image.BILINEAR, reducing_gap=2.0)
    buf = io.BytesIO()
    thumb.save(buf, "JPEG", quality=85)
    return _Featurized(item, img, buf.getvalue(), colours, None, time.perf_counter() - t0)


def _colour_array(colours: list[dict[str, Any]]) -> np.ndarray:
    arr = np.zeros((N_COLOURS, 4), dtype=np.float32)
    for j, c in enumerate(colours[:N_COLOURS]):
        arr[j, :3] = c["lab"]
        arr[j, 3] = c["weight"]
    return arr


def _progress(total: int, enabled: bool, desc: str, initial: int = 0):
    if not enabled:
        return None
    from tqdm import tqdm

    return tqdm(total=total, initial=initial, desc=desc, unit="img", file=sys.stderr, dynamic_ncols=True)


def _lower_thread_priority() -> None:
    """Decode threads yield the CPU to the encoder's threads (Linux applies nice per thread).

    The encoder splits each batch across every core; a decode thread that takes one of them
    stalls the whole batch until it is descheduled. At a lower priority the decoders fill the
    encoder's idle moments instead; the prefetch window keeps enough decoded ahead.
    """
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 10)
    except (AttributeError, OSError):  # not Linux, or not allowed: only slower
        pass


def _prefetch(pool: ThreadPoolExecutor, fn, items: Sequence, window: int) -> Iterator:
    """``map`` with at most ``window`` results in flight: workers run ahead of the consumer."""
    pending: deque = deque()
    it = iter(items)
    for x in it:
        pending.append(pool.submit(fn, x))
        if len(pending) >= window:
            break
    while pending:
        fut = pending.popleft()
        nxt = next(it, None)
        if nxt is not None:
            pending.append(pool.submit(fn, nxt))
        yield fut.result()


# ---- build -------------------------------------------------------------------------------------
def build_artifact(
    catalog: str | Path,
    out: str | Path,
    *,
    encoder: str | Encoder | None = "lite",
    precision: str | None = None,
    taxonomy: str | Path | Taxonomy | None = None,
    tar: bool | str | Path = False,
    shard: tuple[int, int] | None = None,
    progress: bool = False,
    workers: int | None = None,
    index_kind: str = "auto",
    resume: bool = True,
    chunk_size: int = CHUNK,
    force: bool = False,
) -> BuildSummary:
    """Build ``catalog`` into the artifact directory ``out``; an existing artifact (or
    ``--tar`` archive) there is replaced only with ``force``."""
    t0 = time.perf_counter()
    out = Path(out)
    _check_target(out, force, tar)
    if isinstance(taxonomy, Taxonomy):
        tax = taxonomy
    elif taxonomy:
        tax = Taxonomy.load(taxonomy)
    else:
        tax = Taxonomy.default()
    enc = encoder if isinstance(encoder, Encoder) else resolve_encoder(encoder, precision=precision)
    cat = read_catalog(catalog, tax)
    items = sorted(cat.items, key=lambda it: it.id)
    if shard is not None:
        i, n = shard
        if not (n >= 1 and 0 <= i < n):
            raise StygigError(f"--shard must be I/N with 0 <= I < N, got {i}/{n}")
        items = [it for it in items if shard_of(it.id, n) == i]
    if not items:
        raise StygigError(f"catalog {catalog} has no items" + (f" in shard {shard[0]}/{shard[1]}" if shard else ""))
    out.parent.mkdir(parents=True, exist_ok=True)
    work = out.parent / f".{out.name}.build"
    fingerprint = _fingerprint(items, enc, tax, shard, index_kind, chunk_size)
    resumed = _prepare_work(work, fingerprint, resume)
    summary = _build_chunks(work, items, enc, tax, progress, workers, shard, index_kind, chunk_size)
    summary.resumed_chunks = resumed
    summary.catalog = cat.describe()
    replace_dir(work / "art", out)
    shutil.rmtree(work, ignore_errors=True)
    return _done(summary, out, t0, tar)


def _done(summary: BuildSummary, out: Path, t0: float, tar: bool | str | Path = False) -> BuildSummary:
    """Record where and how long, write it into the report, pack if asked."""
    summary.out = out
    summary.seconds = time.perf_counter() - t0
    summary.timings["total_s"] = round(summary.seconds, 3)
    _patch_report(out, summary)
    if tar:
        summary.tar = pack_artifact(out, _tar_path(out, tar))
    return summary


def _fingerprint(items: Sequence[CatalogItem], enc: Encoder, tax: Taxonomy, shard, index_kind: str, chunk: int) -> str:
    h = hashlib.sha256()
    h.update(json.dumps([FORMAT_VERSION, __version__, enc.describe(), getattr(enc, "fingerprint", None),
                         tax.to_json(), shard, index_kind, N_COLOURS, THUMB_SIDE, chunk]).encode())
    for it in items:
        h.update(json.dumps([it.id, it.category, it.gender, it.name, it.source, it.attributes], sort_keys=True).encode())
        if not it.source.startswith("s3://"):
            try:
                st = os.stat(it.source)
                h.update(f"{st.st_size}:{st.st_mtime_ns}".encode())
            except OSError:
                h.update(b"missing")
    return h.hexdigest()


def _prepare_work(work: Path, fingerprint: str, resume: bool) -> int:
    """Reuse a work dir left by an interrupted build of the same inputs; else start clean."""
    state = work / "state.json"
    if resume and state.is_file():
        try:
            if json.loads(state.read_text())["fingerprint"] == fingerprint:
                return len(list((work / "chunks").glob("*.done")))
        except (OSError, ValueError, KeyError):
            pass
    shutil.rmtree(work, ignore_errors=True)
    (work / "chunks").mkdir(parents=True)
    (work / "art" / "thumbs").mkdir(parents=True)
    _atomic_bytes(state, json.dumps({"fingerprint": fingerprint}).encode())
    return 0


def _check_target(out: Path, force: bool = False, tar: bool | str | Path = False) -> None:
    """Refuse, before any work, to write over what is there: anything but an artifact always,
    an artifact (perhaps one a server is serving) or an archive unless ``force`` (``--force``)."""
    above = next((p for p in out.parents if p.exists()), None)
    if above is not None and not above.is_dir():
        raise StygigError(f"output {out}: {above} is a file, not a folder")
    if out.exists():
        if not out.is_dir():
            raise StygigError(f"output {out} exists and is not a directory")
        if (out / "manifest.json").exists():
            if not force:
                raise StygigError(f"{out} already holds an artifact{_described(out)}; "
                                  "pass --force to replace it, or choose another -o")
        elif any(out.iterdir()):
            raise StygigError(f"output {out} is a non-empty directory that is not a StyGig artifact; refusing to overwrite")
    archive = _tar_path(out, tar)
    if archive is not None:
        _check_archive_path(archive)
        if archive.exists() and not force:
            raise StygigError(f"{archive} already exists; pass --force to replace it, or choose another --tar PATH")


def _check_archive_path(archive: Path) -> None:
    if archive.is_dir():
        raise StygigError(f"{archive} is a folder; name the archive file to write (e.g. {archive / 'model.tar.gz'})")


def _described(artifact: Path) -> str:
    try:
        m = json.loads((artifact / "manifest.json").read_text(encoding="utf-8"))
        return f" ({plural(int(m['counts']['items']), 'item')}, model {m['model_version']})"
    except (OSError, ValueError, KeyError, TypeError):
        return ""


def _tar_path(out: Path, tar: bool | str | Path) -> Path | None:
    """Where ``--tar`` writes: beside the artifact, or the path given."""
    if not tar:
        return None
    return out.parent / "model.tar.gz" if tar is True else Path(tar)


def replace_dir(new: Path, target: Path) -> None:
    """Move a finished directory into place; an existing one is swapped out, then removed."""
    if target.exists():
        old = target.with_name(f".{target.name}.old-{os.getpid()}")
        os.replace(target, old)
        os.replace(new, target)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(new, target)


def _build_chunks(
    work: Path,
    items: Sequence[CatalogItem],
    enc: Encoder,
    tax: Taxonomy,
    progress: bool,
    workers: int | None,
    shard: tuple[int, int] | None,
    index_kind: str,
    chunk: int,
) -> BuildSummary:
    workers = workers or max(1, min(4, os.cpu_count() or 1))
    chunks_dir = work / "chunks"
    art = work / "art"
    n_chunks = (len(items) + chunk - 1) // chunk
    done = {int(p.stem) for p in chunks_dir.glob("*.done")}
    first_todo = next((c for c in range(n_chunks) if c not in done), n_chunks)
    # chunks complete in order; anything after the first gap is redone
    done = {c for c in done if c < first_todo}
    row = sum(json.loads((chunks_dir / f"{c:06d}.done").read_text())["kept"] for c in done)
    timings = {"featurize_worker_s": 0.0, "encode_s": 0.0, "wait_for_features_s": 0.0, "write_s": 0.0}
    bar = _progress(len(items), progress, "featurizing", initial=min(len(items), first_todo * chunk))
    todo = items[first_todo * chunk :]
    if todo:
        with ThreadPoolExecutor(max_workers=workers, initializer=_lower_thread_priority) as pool:
            stream = _prefetch(pool, _featurize, todo, window=max(2 * enc.batch_size, 4 * workers))
            for c in range(first_todo, n_chunks):
                chunk_items = items[c * chunk : (c + 1) * chunk]
                row = _one_chunk(c, chunk_items, stream, enc, tax, chunks_dir, art, row, timings, bar)
    if bar is not None:
        bar.close()
    return _finish_from_chunks(work, n_chunks, enc, tax, shard, index_kind, timings)


def _one_chunk(c, chunk_items, stream, enc, tax, chunks_dir, art, row, timings, bar) -> int:
    kept_rows, vectors, colours, skipped = [], [], [], []
    batch: list[_Featurized] = []

    def flush() -> None:
        if not batch:
            return
        t = time.perf_counter()
        vecs = enc.encode_images([f.image for f in batch])
        timings["encode_s"] += time.perf_counter() - t
        for f, v in zip(batch, vecs):
            kept_rows.append(f)
            vectors.append(v)
        batch.clear()

    for _ in chunk_items:
        t = time.perf_counter()
        f = next(stream)
        timings["wait_for_features_s"] += time.perf_counter() - t
        timings["featurize_worker_s"] += f.seconds
        if f.error is not None:
            skipped.append({"id": f.item.id, "source": f.item.source, "reason": f.error})
        else:
            batch.append(f)
            if len(batch) >= enc.batch_size:
                flush()
        if bar is not None:
            bar.update(1)
    flush()
    t = time.perf_counter()
    meta = []
    for k, f in enumerate(kept_rows):
        thumb_rel = f"thumbs/{row + k:06d}.jpg"
        (art / thumb_rel).write_bytes(f.thumb or b"")
        colours.append(_colour_array(f.colours))
        meta.append(
            {
                "id": f.item.id,
                "category": f.item.category,
                "group": tax.group_of(f.item.category),
                "gender": f.item.gender,
                "name": f.item.name,
                "source": f.item.source,
                "path": f.item.path,
                "thumbnail": thumb_rel,
                "colors": f.colours,
                "attributes": f.item.attributes,
            }
        )
    dim = enc.dim
    base = chunks_dir / f"{c:06d}"
    np.save(f"{base}.vectors.npy", np.stack(vectors).astype(np.float32) if vectors else np.zeros((0, dim), np.float32), allow_pickle=False)
    np.save(f"{base}.colors.npy", np.stack(colours).astype(np.float32) if colours else np.zeros((0, N_COLOURS, 4), np.float32), allow_pickle=False)
    Path(f"{base}.meta.jsonl").write_text("".join(json.dumps(m, ensure_ascii=False, sort_keys=True) + "\n" for m in meta), encoding="utf-8")
    Path(f"{base}.skipped.json").write_text(json.dumps(skipped), encoding="utf-8")
    # the .done marker is written last, atomically: a chunk without it is redone
    _atomic_bytes(chunks_dir / f"{c:06d}.done", json.dumps({"kept": len(meta), "skipped": len(skipped)}).encode())
    timings["write_s"] += time.perf_counter() - t
    return row + len(meta)


def _finish_from_chunks(work, n_chunks, enc: Encoder, tax: Taxonomy, shard, index_kind, timings) -> BuildSummary:
    chunks_dir, art = work / "chunks", work / "art"
    counts = [json.loads((chunks_dir / f"{c:06d}.done").read_text()) for c in range(n_chunks)]
    n = sum(c["kept"] for c in counts)
    skipped = [s for c in range(n_chunks) for s in json.loads((chunks_dir / f"{c:06d}.skipped.json").read_text())]
    if n == 0:
        raise StygigError(f"no usable images: {'the only item was' if len(skipped) == 1 else f'all {len(skipped)} items were'} "
                          f"skipped (first: {skipped[0]['reason']})")
    t = time.perf_counter()
    vec = np.lib.format.open_memmap(art / "vectors.npy", mode="w+", dtype=np.float32, shape=(n, enc.dim))
    col = np.lib.format.open_memmap(art / "colors.npy", mode="w+", dtype=np.float32, shape=(n, N_COLOURS, 4))
    writer = ItemWriter(art / "items", list(tax.categories))
    codes = np.zeros(n, dtype=np.uint16)
    cat_code = {c: i for i, c in enumerate(tax.categories)}
    per_category: dict[str, int] = {}
    r = 0
    for c in range(n_chunks):
        base = chunks_dir / f"{c:06d}"
        v = np.load(f"{base}.vectors.npy", allow_pickle=False)
        vec[r : r + len(v)] = v
        col[r : r + len(v)] = np.load(f"{base}.colors.npy", allow_pickle=False)
        for line in Path(f"{base}.meta.jsonl").read_text(encoding="utf-8").splitlines():
            m = json.loads(line)
            writer.add(m)
            codes[r] = cat_code[m["category"]]
            per_category[m["category"]] = per_category.get(m["category"], 0) + 1
            r += 1
    writer.close()
    vec.flush()
    col.flush()
    timings["assemble_s"] = round(time.perf_counter() - t, 3)
    enc_config = enc.save(art / "encoder")
    category_text = _category_text_vectors(enc, tax) if enc.supports_text else None
    return _finish(art, art / "vectors.npy", codes, tax, skipped, enc_config, enc.describe(),
                   category_text, shard, index_kind, per_category, timings)


def _finish(
    art: Path,
    vec: "Path | np.ndarray",
    codes: np.ndarray,
    tax: Taxonomy,
    skipped: list[dict[str, str]],
    enc_config: dict[str, Any],
    enc_description: dict[str, Any],
    category_text: np.ndarray | None,
    shard: tuple[int, int] | None,
    index_kind: str,
    per_category: dict[str, int],
    timings: dict[str, float],
) -> BuildSummary:
    """Indexes, taxonomy, report and manifest, once vectors/colors/items/thumbs/encoder are in ``art``."""
    t = time.perf_counter()
    index_info = build_indexes(vec, codes, list(tax.categories), art / "index", kind=index_kind)
    timings["index_s"] = round(time.perf_counter() - t, 3)
    if category_text is not None:
        np.save(art / "category_text.npy", category_text, allow_pickle=False)
    (art / "taxonomy.json").write_text(tax.to_json(), encoding="utf-8")
    report = {
        "items": int(len(codes)),
        "skipped": skipped,
        "per_category": per_category,
        "encoder": enc_description,
        "shard": list(shard) if shard else None,
        "seconds": None,
        "timings": None,
        "stygig_version": __version__,
    }
    (art / "build_report.json").write_text(json.dumps(report, indent=2), encoding="utf-8")
    _write_manifest(art, enc_config, tax, int(len(codes)), len(skipped), index_info, category_text is not None, shard)
    return BuildSummary(art, int(len(codes)), skipped, 0.0, enc_config, per_category=per_category, timings=timings)


def _category_text_vectors(enc: Encoder, tax: Taxonomy) -> np.ndarray:
    from stygig.features.encoders.base import l2_normalise

    rows = [enc.encode_texts(tax.prompts_for(cat)).mean(axis=0) for cat in tax.categories]
    return l2_normalise(np.stack(rows))


def _write_manifest(
    root: Path,
    enc_config: dict[str, Any],
    tax: Taxonomy,
    n_items: int,
    n_skipped: int,
    index_info: dict[str, Any],
    has_category_text: bool,
    shard: tuple[int, int] | None,
) -> dict[str, Any]:
    files = _file_digests(root)
    manifest = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "model_version": content_version(files),
        "stygig_version": __version__,
        "encoder": enc_config,
        "compatibility": default_compatibility_spec(),
        "taxonomy": {"file": "taxonomy.json", "name": tax.name, "categories": list(tax.categories)},
        "counts": {"items": n_items, "skipped": n_skipped},
        "index": index_info,
        "category_text": "category_text.npy" if has_category_text else None,
        "shard": list(shard) if shard else None,
        "files": files,
    }
    (root / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True), encoding="utf-8")
    return manifest


def _file_digests(root: Path) -> dict[str, str]:
    """sha256 of every file under ``root`` but the manifest, by relative path, in path order."""
    return {p.relative_to(root).as_posix(): sha256_file(p)
            for p in sorted(root.rglob("*")) if p.is_file() and p.name != "manifest.json"}


def content_version(files: dict[str, str], compatibility: dict[str, Any] | None = None) -> str:
    """``model_version``: a digest of every file's digest but the volatile ones, and of the
    compatibility model when it is not the one a build records (tuned weights live in the
    manifest alone), so two builds of one catalog share a version and a tuned or learned
    artifact has its own."""
    lines = "".join(f"{k}:{v}\n" for k, v in files.items() if k not in VOLATILE)
    if compatibility is not None and compatibility != default_compatibility_spec():
        lines += "compatibility:" + json.dumps(compatibility, sort_keys=True) + "\n"
    return hashlib.sha256(lines.encode()).hexdigest()[:12]


def derive_artifact(
    source: str | Path,
    out: str | Path,
    *,
    compatibility: dict[str, Any],
    files: dict[str, "np.ndarray | bytes"] | None = None,
    directory: str = "compat",
    force: bool = False,
) -> dict[str, Any]:
    """A new artifact ``out``: ``source``'s files (hard-linked where the file system allows,
    else copied — vectors, indexes, thumbnails, encoder are reused as they are) with another
    compatibility model: the manifest entry ``compatibility`` and the model's ``files`` (relative
    path -> array, saved as ``.npy`` without pickle, or bytes), which replace whatever
    ``source`` kept under ``directory/``. Checksums and ``model_version`` are those of the new
    content; ``derived_from`` records the source's version. Written beside ``out`` and renamed
    into place; ``source`` is checked first and never changed."""
    source, out = Path(source), Path(out)
    manifest = verify_artifact(source)
    if out.resolve() == source.resolve():
        raise StygigError(f"-o {out} is the artifact being read; write the new artifact elsewhere")
    _check_target(out, force)
    out.parent.mkdir(parents=True, exist_ok=True)
    art = make_temp_dir(out.parent, f".{out.name}.derive-")
    try:
        for rel in manifest["files"]:
            if rel.split("/", 1)[0] == directory:
                continue
            dest = art / rel
            dest.parent.mkdir(parents=True, exist_ok=True)
            try:
                os.link(source / rel, dest)
            except OSError:
                shutil.copyfile(source / rel, dest)
        for rel, value in (files or {}).items():
            if rel.split("/", 1)[0] != directory:
                raise ValueError(f"a compatibility model's files go under {directory}/, not {rel}")
            dest = art / rel
            dest.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(value, (bytes, bytearray)):
                dest.write_bytes(value)
            else:
                with open(dest, "wb") as fh:
                    np.save(fh, np.ascontiguousarray(value), allow_pickle=False)
        digests = _file_digests(art)
        new = {**manifest, "compatibility": compatibility, "files": digests,
               "model_version": content_version(digests, compatibility),
               "derived_from": manifest["model_version"]}
        (art / "manifest.json").write_text(json.dumps(new, indent=2, sort_keys=True), encoding="utf-8")
        replace_dir(art, out)
    except BaseException:
        shutil.rmtree(art, ignore_errors=True)
        raise
    return new


def _patch_report(out: Path, summary: BuildSummary) -> None:
    """Record time spent (build_report.json is volatile: not part of model_version)."""
    path = out / "build_report.json"
    report = json.loads(path.read_text(encoding="utf-8"))
    report["seconds"] = round(summary.seconds, 3)
    report["timings"] = {k: round(v, 3) for k, v in summary.timings.items()}
    report["resumed_chunks"] = summary.resumed_chunks
    if summary.catalog:
        report["catalog"] = summary.catalog
    path.write_text(json.dumps(report, indent=2), encoding="utf-8")
    manifest_path = out / "manifest.json"
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    manifest["files"]["build_report.json"] = sha256_file(path)
    _atomic_bytes(manifest_path, json.dumps(manifest, indent=2, sort_keys=True).encode("utf-8"))


# ---- writing from arrays (synthetic catalogs, benchmarks) ---------------------------------------
def write_artifact_from_arrays(
    out: str | Path,
    *,
    ids: Sequence[str],
    categories: Sequence[str],
    genders: Sequence[str],
    vectors: "np.ndarray | Path",
    colours: np.ndarray,
    encoder: Encoder,
    taxonomy: Taxonomy | None = None,
    index_kind: str = "auto",
    force: bool = False,
) -> BuildSummary:
    """An artifact from precomputed vectors (no images, no thumbnails): for scale benchmarks.

    ``vectors`` is an (n, dim) float32 array or the path of one saved as ``.npy``, streamed so
    that a million vectors never sit in memory twice.
    """
    from stygig.index import VectorFile
    t0 = time.perf_counter()
    out = Path(out)
    tax = taxonomy or Taxonomy.default()
    order = np.argsort(np.array(ids, dtype=object), kind="stable")
    _check_target(out, force)
    out.parent.mkdir(parents=True, exist_ok=True)
    art = make_temp_dir(out.parent, f".{out.name}.arrays-")
    try:
        n = len(ids)
        if isinstance(vectors, (str, Path)):
            if not np.array_equal(order, np.arange(n)):
                raise StygigError("vectors given as a file must already be in id order")
            src = VectorFile(Path(vectors))
            with open(art / "vectors.npy", "wb") as fh:
                np.lib.format.write_array_header_1_0(fh, {"descr": "<f4", "fortran_order": False, "shape": (n, src.dim)})
                for _, buf in src.chunks():
                    fh.write(buf.tobytes())
        else:
            vec = np.lib.format.open_memmap(art / "vectors.npy", mode="w+", dtype=np.float32, shape=(n, vectors.shape[1]))
            for s in range(0, n, 65536):
                vec[s : s + 65536] = vectors[order[s : s + 65536]]
            vec.flush()
            del vec
        np.save(art / "colors.npy", np.asarray(colours, dtype=np.float32)[order], allow_pickle=False)
        writer = ItemWriter(art / "items", list(tax.categories))
        cat_code = {c: i for i, c in enumerate(tax.categories)}
        codes = np.zeros(n, dtype=np.uint16)
        per_category: dict[str, int] = {}
        for r, i in enumerate(order):
            c = categories[i]
            writer.add({"id": ids[i], "category": c, "group": tax.group_of(c), "gender": genders[i],
                        "name": f"{tax.categories[c].display} {ids[i]}", "source": "", "path": "", "thumbnail": None,
                        "colors": [], "attributes": {}})
            codes[r] = cat_code[c]
            per_category[c] = per_category.get(c, 0) + 1
        writer.close()
        enc_config = encoder.save(art / "encoder")
        summary = _finish(art, art / "vectors.npy", codes, tax, [], enc_config,
                          encoder.describe(), None, None, index_kind, per_category, {})
        replace_dir(art, out)
    except BaseException:
        shutil.rmtree(art, ignore_errors=True)
        raise
    return _done(summary, out, t0)


# ---- verify / read -----------------------------------------------------------------------------
def read_manifest(root: str | Path) -> dict[str, Any]:
    root = Path(root)
    path = root / "manifest.json"
    if not root.is_dir():
        raise ArtifactError(f"artifact not found: {root} is not a directory")
    if not path.is_file():
        raise ArtifactError(f"not a StyGig artifact: {root} has no manifest.json")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ArtifactError(f"artifact manifest {path} is not valid JSON: {e}") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise ArtifactError(f"{path} is not a StyGig artifact manifest")
    if manifest.get("format_version") != FORMAT_VERSION:
        raise ArtifactError(
            f"artifact format version {manifest.get('format_version')!r} is not supported "
            f"(this StyGig reads version {FORMAT_VERSION}): rebuild it with this version"
        )
    if not isinstance(manifest.get("files"), dict):
        raise ArtifactError(f"artifact manifest {path} lists no files")
    return manifest


def _verified_cache_path(manifest: dict[str, Any]) -> Path:
    base = Path(os.environ.get("STYGIG_CACHE_DIR") or Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "stygig")
    key = hashlib.sha256(json.dumps(manifest["files"], sort_keys=True).encode()).hexdigest()[:24]
    return base / "verified" / f"{key}.json"


def verify_artifact(root: str | Path, *, checksums: bool = True) -> dict[str, Any]:
    """Check format version, that every listed file exists, and every sha256.

    Hashing gigabytes at every start would cost seconds, so a successful full check is
    remembered (in ``$STYGIG_CACHE_DIR`` or ``~/.cache/stygig``) by each file's size, mtime and
    inode; a file whose stat changed is hashed again. ``STYGIG_VERIFY=full`` always hashes.
    """
    root = Path(root)
    manifest = read_manifest(root)
    root_resolved = root.resolve()
    stats = {}
    for rel in manifest["files"]:
        p = (root / rel).resolve()
        if not p.is_relative_to(root_resolved):
            raise ArtifactError(f"artifact manifest lists a path outside the artifact: {rel}")
        try:
            st = p.stat()
        except OSError:
            raise ArtifactError(f"artifact is missing {rel}") from None
        if not p.is_file():
            raise ArtifactError(f"artifact is missing {rel}")
        stats[rel] = [str(p), st.st_size, st.st_mtime_ns, st.st_ino]
    if not checksums:
        return manifest
    cache = _verified_cache_path(manifest)
    known: dict[str, Any] = {}
    if os.environ.get("STYGIG_VERIFY") != "full":
        try:
            known = json.loads(cache.read_text())
        except (OSError, ValueError):
            known = {}
    for rel, digest in manifest["files"].items():
        if known.get(rel) == stats[rel]:
            continue
        if sha256_file(root / rel) != digest:
            raise ArtifactError(f"artifact file {rel} does not match its checksum (corrupted or modified)")
    if known != stats:
        try:
            cache.parent.mkdir(parents=True, exist_ok=True)
            _atomic_bytes(cache, json.dumps(stats).encode())
        except OSError:
            pass  # a read-only home: verify in full next time
    return manifest


# ---- merge -------------------------------------------------------------------------------------
def merge_artifacts(shards: Sequence[str | Path], out: str | Path, *, tar: bool | str | Path = False,
                    index_kind: str = "auto", force: bool = False) -> BuildSummary:
    """Combine shard artifacts (``build --shard I/N``) into one artifact.

    The result is identical in content to a single-process build of the same catalog: items are
    re-sorted by id, thumbnails renumbered, indexes rebuilt; ``model_version`` is the same.
    """
    from stygig.items import ItemStore

    t0 = time.perf_counter()
    out = Path(out)
    if not shards:
        raise StygigError("merge needs at least one shard artifact")
    shards = [Path(s) for s in shards]
    manifests = [verify_artifact(s) for s in shards]
    first = shards[0]
    enc_config = manifests[0]["encoder"]
    tax_text = (first / "taxonomy.json").read_text(encoding="utf-8")
    for s, m in zip(shards[1:], manifests[1:]):
        if m["encoder"] != enc_config:
            raise StygigError(f"shard {s} was built with a different encoder than {first}")
        if (s / "taxonomy.json").read_text(encoding="utf-8") != tax_text:
            raise StygigError(f"shard {s} was built with a different taxonomy than {first}")
    tax = Taxonomy.from_dict(json.loads(tax_text))
    stores = [ItemStore(s / "items", list(tax.categories)) for s in shards]
    rows: list[tuple[bytes, int, int]] = []
    skipped: list[dict[str, str]] = []
    for k, (s, st) in enumerate(zip(shards, stores)):
        rows += [(bytes(i), k, r) for r, i in enumerate(st.ids)]
        skipped += json.loads((s / "build_report.json").read_text(encoding="utf-8")).get("skipped", [])
    rows.sort()
    for a, b in zip(rows, rows[1:]):
        if a[0] == b[0]:
            raise StygigError(f"shards overlap: item id {a[0].decode()!r} is in more than one shard")
    skipped.sort(key=lambda d: d["id"])
    _check_target(out, force, tar)
    out.parent.mkdir(parents=True, exist_ok=True)
    art = make_temp_dir(out.parent, f".{out.name}.merging-")
    try:
        (art / "thumbs").mkdir()
        vecs = [np.load(s / "vectors.npy", mmap_mode="r") for s in shards]
        cols = [np.load(s / "colors.npy", mmap_mode="r") for s in shards]
        n, dim = len(rows), vecs[0].shape[1]
        vec = np.lib.format.open_memmap(art / "vectors.npy", mode="w+", dtype=np.float32, shape=(n, dim))
        col = np.lib.format.open_memmap(art / "colors.npy", mode="w+", dtype=np.float32, shape=(n,) + cols[0].shape[1:])
        writer = ItemWriter(art / "items", list(tax.categories))
        codes = np.zeros(n, dtype=np.uint16)
        cat_code = {c: i for i, c in enumerate(tax.categories)}
        per_category: dict[str, int] = {}
        for new_row, (_, k, r) in enumerate(rows):
            it = dict(stores[k][r])
            if it.get("thumbnail"):
                src_thumb = shards[k] / it["thumbnail"]
                it["thumbnail"] = f"thumbs/{new_row:06d}.jpg"
                shutil.copyfile(src_thumb, art / it["thumbnail"])
            writer.add(it)
            vec[new_row] = vecs[k][r]
            col[new_row] = cols[k][r]
            codes[new_row] = cat_code[it["category"]]
            per_category[it["category"]] = per_category.get(it["category"], 0) + 1
        writer.close()
        vec.flush()
        col.flush()
        shutil.copytree(first / "encoder", art / "encoder")
        category_text = None
        if manifests[0].get("category_text"):
            category_text = np.load(first / manifests[0]["category_text"], allow_pickle=False)
        enc_description = json.loads((first / "build_report.json").read_text(encoding="utf-8")).get("encoder", {})
        summary = _finish(art, art / "vectors.npy", codes, tax, skipped, enc_config,
                          enc_description, category_text, None, index_kind, per_category, {})
        replace_dir(art, out)
    except BaseException:
        shutil.rmtree(art, ignore_errors=True)
        raise
    return _done(summary, out, t0, tar)


# ---- pack --------------------------------------------------------------------------------------
def pack_artifact(root: str | Path, out_tar: str | Path, *, extra: dict[str, bytes] | None = None) -> Path:
    """Write ``model.tar.gz`` with the artifact's files at the archive root (as SageMaker wants).

    ``extra`` adds files (archive path -> bytes), e.g. ``code/inference.py`` for the DLC.
    Written to a temporary file and renamed: never a half archive. Byte-identical for the same
    artifact (fixed owners, mtimes and gzip header).
    """
    root = Path(root)
    verify_artifact(root, checksums=False)
    out_tar = Path(out_tar)
    _check_archive_path(out_tar)
    out_tar.parent.mkdir(parents=True, exist_ok=True)
    with open_atomic(out_tar) as raw:
        with gzip.GzipFile(filename="", fileobj=raw, mode="wb", mtime=0) as gz, tarfile.open(fileobj=gz, mode="w") as tf:
            for p in sorted(root.rglob("*")):
                if p.is_file():
                    info = tf.gettarinfo(str(p), arcname=p.relative_to(root).as_posix())
                    info.uid = info.gid = 0
                    info.uname = info.gname = ""
                    info.mtime = 0
                    with open(p, "rb") as fh:
                        tf.addfile(info, fh)
            for name, data in sorted((extra or {}).items()):
                info = tarfile.TarInfo(name)
                info.size = len(data)
                info.mode = 0o644
                tf.addfile(info, io.BytesIO(data))
    return out_tar
