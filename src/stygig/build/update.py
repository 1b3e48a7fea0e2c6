"""``stygig update``: a new artifact from an old one and the catalog's changes, without a rebuild.

The changes:

* ``--add MANIFEST`` — rows in the manifest format a build reads (JSON Lines with an
  ``attributes`` object, or CSV; pictures relative to the manifest). A row whose id is new is an
  *added* item; a row whose id the artifact holds is a *changed* one, re-embedded only when its
  picture's sha256 differs from the one the artifact recorded (``image_sha256``; an artifact built
  before pictures were hashed records none, and every changed item is then re-embedded);
* ``--remove IDS_FILE`` — item ids, one a line;
* ``--attributes FILE`` — JSON Lines ``{"id": ..., "price": 12.5, ...}``: those attributes of
  those items replaced (``null`` drops one).

Only added and changed pictures go through featurize and the encoder; every other row — its
vector, colours, metadata, thumbnail — is carried over. The rows are written in id order by the
one :class:`~stygig.artifact.writer.ArtifactWriter`, so the result holds what a full build of the
new catalog holds; the indexes are rebuilt only for the categories that changed
(:func:`stygig.artifact.index.update_indexes`: IVF categories keep their trained centroids while
their measured recall stays at the build's target). A learned compatibility model is carried
over: its weights as they are, its table of item embeddings extended to the new rows.

Every input is checked before anything is embedded or written; the artifact is written beside
``OUT`` and renamed into place. The pictures are embedded as ``build`` embeds them, in checkpointed
chunks in a work folder beside ``OUT`` (``.<name>.update/``, :mod:`stygig.build.sink`): an update
interrupted and re-run with the same inputs resumes after the last finished chunk; one re-run
with other inputs starts over.
"""

from __future__ import annotations

import json
import os
import shutil
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from stygig import jsonlines
from stygig.artifact.attributes import BOOLEAN, NUMBER, STRING, STRINGS, load_columns, value_type
from stygig.artifact.index import update_indexes
from stygig.artifact.manifest import write_manifest
from stygig.artifact.reader import ArtifactReader
from stygig.artifact.writer import ArtifactWriter, check_target, thumb_path
from stygig.atomic import staged_dir
from stygig.build import sink
from stygig.build.read import picture_sha256
from stygig.build.runner import embed_chunks
from stygig.build.sink import CHUNK, item_row
from stygig.build.summary import BuildSummary, done
from stygig.catalog.ingest import RESERVED, CatalogItem, read_catalog
from stygig.errors import CatalogError, StygigError
from stygig.features.encoders.registry import load_encoder
from stygig.recommend.compat.learned import DIRECTORY as COMPAT_DIR
from stygig.recommend.compat.learned import TABLE_FILE, LearnedCompatibility, features
from stygig.recommend.compat.registry import load_compatibility
from stygig.taxonomy import GENDERS
from stygig.wording import plural

#: what an update does to a category's index (stygig.artifact.index.update_indexes), re-indexing first
INDEX_ACTIONS = ("rebuilt", "updated", "retrained", "trained", "renumbered", "kept")


@dataclass
class NewRow:
    """An added or changed item, ready to write: its row's metadata, and its vector, colours and
    thumbnail — or None for each, the old row's (``old_row``), when its picture is unchanged."""

    meta: dict[str, Any]
    vector: np.ndarray | None = None
    colours: np.ndarray | None = None
    thumb: Path | None = None  # the new thumbnail's file (in the work folder)
    old_row: int | None = None


@dataclass
class UpdateSummary(BuildSummary):
    updated_from: str = ""
    added: int = 0
    changed: int = 0
    #: pictures embedded (or vectors given): the added ones and the changed ones whose picture changed
    embedded: int = 0
    re_embedded: int = 0
    removed: int = 0
    attributes_rewritten: int = 0
    #: category -> kept | renumbered | rebuilt | updated | retrained | trained
    indexes: dict[str, str] = field(default_factory=dict)

    def lines(self) -> list[str]:
        lines = [
            f"updated {self.out} from {self.updated_from} — {plural(self.n_items, 'item')}, {self.seconds:.1f} s"
            + (f" (resumed {plural(self.resumed_chunks, 'finished chunk')})" if self.resumed_chunks else ""),
            f"added {self.added}, changed {self.changed}, removed {self.removed}; attributes rewritten for "
            f"{plural(self.attributes_rewritten, 'item')}",
            f"embedded {plural(self.embedded, 'picture')}: {self.embedded - self.re_embedded} added, "
            f"{self.re_embedded} changed" + (f" ({plural(kept, 'changed item')} kept {'its' if kept == 1 else 'their'} "
                                             f"picture: not embedded)" if (kept := self.changed - self.re_embedded) else ""),
        ]
        by_action: dict[str, list[str]] = {a: [] for a in INDEX_ACTIONS}
        for c, a in self.indexes.items():
            by_action[a].append(c)
        by_action = {a: cs for a, cs in by_action.items() if cs}
        redone = sum(len(v) for a, v in by_action.items() if a not in ("kept", "renumbered"))
        lines.append(f"categories re-indexed: {redone} of {len(self.indexes)}" + (" (" + "; ".join(
            f"{a} {', '.join(cs) if len(cs) <= 4 else len(cs)}" for a, cs in by_action.items()) + ")" if by_action else ""))
        if self.skipped:
            lines.append(f"skipped {plural(len(self.skipped), 'bad file')}:")
            lines += [f"  {s['id']}: {s['reason']}" for s in self.skipped[:20]]
        if self.tar:
            lines.append(f"packed {self.tar}")
        return lines


# ---- reading the changes -------------------------------------------------------------------------
def read_removals(path: str | Path, known: ArtifactReader) -> dict[str, int]:
    """``--remove``: item ids, one a line (blank lines skipped) -> their line numbers; an id the
    artifact does not hold is an error naming the file and line."""
    out: dict[str, int] = {}
    for n, line in enumerate(_lines(path), start=1):
        item_id = line.strip()
        if not item_id:
            continue
        if known.items.row_of(item_id) is None:
            raise CatalogError(f"{path} line {n}: no item {item_id!r} in the artifact")
        out.setdefault(item_id, n)
    return out


def read_attribute_rows(path: str | Path, known: set[str] | Any) -> dict[str, dict[str, Any]]:
    """``--attributes``: JSON Lines ``{"id": ..., attribute: value, ...}`` -> id -> the values
    (None: drop that attribute). Errors name the line: no id, an id the new catalog does not
    hold, a reserved field (``category``, ``gender``, ``name``, ``image``: change those with --add)."""
    out: dict[str, dict[str, Any]] = {}
    for n, obj in jsonlines.objects(_lines(path), str(path), CatalogError):
        item_id = obj.get("id")
        if not isinstance(item_id, str) or not item_id:
            raise CatalogError(f"{path} line {n}: no \"id\" (a string)")
        if item_id not in known:
            raise CatalogError(f"{path} line {n}: no item {item_id!r} in the updated catalog")
        values = {k: v for k, v in obj.items() if k != "id"}
        if isinstance(values.get("attributes"), dict):
            values = {**values.pop("attributes"), **values}
        reserved = sorted(set(values) & RESERVED)
        if reserved:
            raise CatalogError(f"{path} line {n}: {reserved[0]!r} is not an attribute; change it with --add")
        if not values:
            raise CatalogError(f"{path} line {n}: item {item_id!r} names no attribute")
        out.setdefault(item_id, {}).update(values)
    return out


def _lines(path: str | Path) -> list[str]:
    try:
        data = Path(path).read_bytes()
    except OSError as e:
        raise CatalogError(f"cannot read {path}: {e.strerror or e}") from None
    try:
        return data.decode("utf-8-sig").splitlines()
    except UnicodeDecodeError as e:
        raise CatalogError(f"cannot read {path}: not UTF-8 (byte {e.start})") from None


# ---- the command ---------------------------------------------------------------------------------
def update_artifact(
    artifact: str | Path,
    out: str | Path,
    *,
    add: str | Path | None = None,
    remove: str | Path | None = None,
    attributes: str | Path | None = None,
    index_kind: str | None = None,
    force: bool = False,
    tar: bool | str | Path = False,
    progress: bool = False,
    workers: int | None = None,
    resume: bool = True,
    chunk_size: int = CHUNK,
) -> UpdateSummary:
    """``stygig update ART [--add MANIFEST] [--remove IDS] [--attributes FILE] -o OUT``; the
    pictures to embed go through checkpointed chunks of ``chunk_size`` (resumed when ``resume``)."""
    t0 = time.perf_counter()
    old, out = _open(artifact, out, force, tar)
    if add is None and remove is None and attributes is None:
        raise StygigError("update needs at least one of --add, --remove or --attributes")
    removed = read_removals(remove, old) if remove is not None else {}
    items = sorted(read_catalog(add, old.taxonomy).items, key=lambda it: it.id) if add is not None else []
    for it in items:
        if it.id in removed:
            raise CatalogError(f"{remove} line {removed[it.id]}: {it.id!r} is also in --add {add}; "
                               "an item is either changed or removed")
    new_ids = {it.id for it in items}
    if attributes is not None:
        patches = read_attribute_rows(attributes, _Known(old, new_ids, set(removed)))
    else:
        patches = {}
    work = out.parent / f".{out.name}.update"
    inputs = [old.manifest["model_version"], sorted(removed), patches, index_kind]
    try:
        rows, skipped, counts, resumed = _embed_changes(old, items, progress, workers, work, inputs, resume, chunk_size)
        summary = _finish(old, out, rows, set(removed), patches, skipped, counts, index_kind, tar, t0, resumed)
    except StygigError:
        shutil.rmtree(work, ignore_errors=True)  # the inputs are wrong: a re-run with others starts over anyway
        raise
    shutil.rmtree(work, ignore_errors=True)
    return summary


def update_from_arrays(
    artifact: str | Path,
    out: str | Path,
    *,
    ids: Sequence[str] = (),
    categories: Sequence[str] = (),
    genders: Sequence[str] = (),
    vectors: np.ndarray | None = None,
    colours: np.ndarray | None = None,
    attributes: Mapping[str, Sequence[Any]] | None = None,
    remove: Sequence[str] = (),
    index_kind: str | None = None,
    force: bool = False,
) -> UpdateSummary:
    """An update with the new and changed items' vectors given (no pictures, no thumbnails), as
    :func:`stygig.build.write_artifact_from_arrays` builds one: for scale benchmarks."""
    t0 = time.perf_counter()
    old, out = _open(artifact, out, force, False)
    tax = old.taxonomy
    gone = set(remove)
    for item_id in gone:
        if old.items.row_of(item_id) is None:
            raise CatalogError(f"no item {item_id!r} in the artifact")
    columns = {name: list(values.tolist() if isinstance(values, np.ndarray) else values)
               for name, values in (attributes or {}).items()}
    rows: dict[str, NewRow] = {}
    counts = {"added": 0, "changed": 0, "embedded": 0, "re_embedded": 0}
    for i, item_id in enumerate(ids):
        c = categories[i]
        attrs = {name: col[i] for name, col in columns.items() if col[i] is not None}
        meta = {"id": item_id, "category": c, "group": tax.group_of(c), "gender": genders[i],
                "name": f"{tax.categories[c].display} {item_id}", "source": "", "path": "", "thumbnail": None,
                "colors": [], "attributes": attrs}
        r = old.items.row_of(item_id)
        counts["changed" if r is not None else "added"] += 1
        counts["embedded"] += 1
        counts["re_embedded"] += r is not None
        rows[item_id] = NewRow(meta, np.asarray(vectors[i], np.float32), np.asarray(colours[i], np.float32), None, r)
    return _finish(old, out, rows, gone, {}, [], counts, index_kind, False, t0)


class _Known:
    """The ids of the updated catalog, for --attributes: the artifact's, less the removed, and the added."""

    def __init__(self, old: ArtifactReader, added: set[str], removed: set[str]):
        self.old, self.added, self.removed = old, added, removed

    def __contains__(self, item_id: str) -> bool:
        return item_id in self.added or (item_id not in self.removed and self.old.items.row_of(item_id) is not None)


def _open(artifact: str | Path, out: str | Path, force: bool, tar: bool | str | Path) -> tuple[ArtifactReader, Path]:
    old = ArtifactReader.open(artifact)
    out = Path(out)
    if out.resolve() == old.root.resolve():
        raise StygigError(f"-o {out} is the artifact being updated; write the updated artifact elsewhere")
    check_target(out, force, tar)
    return old, out


def _embed_changes(old: ArtifactReader, items: list[CatalogItem], progress: bool, workers: int | None, work: Path,
                   inputs: list, resume: bool, chunk: int
                   ) -> tuple[dict[str, NewRow], list[dict[str, str]], dict[str, int], int]:
    """The --add rows as :class:`NewRow`: a changed item whose picture hashes as recorded keeps
    its vector, colours and thumbnail; the added and the others are featurized and embedded
    into checkpointed chunks in ``work`` (resumed when its fingerprint is that of these inputs).
    Also returns how many chunks were resumed."""
    tax = old.taxonomy
    rows: dict[str, NewRow] = {}
    todo: list[CatalogItem] = []
    counts = {"added": 0, "changed": 0, "embedded": 0, "re_embedded": 0}
    for it in items:
        r = old.items.row_of(it.id)
        if r is None:
            counts["added"] += 1
            todo.append(it)
            continue
        counts["changed"] += 1
        was = old.items[r]
        try:
            same = was.get("image_sha256") is not None and picture_sha256(it.source) == was["image_sha256"]
        except (OSError, StygigError):
            same = False  # featurize says why
        if same:
            rows[it.id] = NewRow(item_row(it, tax, None, was["colors"], was["image_sha256"]), old_row=r)
            rows[it.id].meta["thumbnail"] = was.get("thumbnail")
        else:
            todo.append(it)
    if not todo:
        return rows, [], counts, 0
    enc = load_encoder(old.root / "encoder", old.manifest["encoder"])
    if enc.kind == "precomputed":
        raise StygigError(f"artifact {old.root} was built from precomputed vectors: it cannot embed the pictures "
                          f"of --add; update it with vectors given, or build it from pictures")
    resumed = sink.prepare_work(work, sink.fingerprint(items, enc, tax, None, "update", chunk, extra=inputs), resume)
    timings = {"featurize_worker_s": 0.0, "encode_s": 0.0, "wait_for_features_s": 0.0}
    chunks_dir = work / "chunks"
    n_chunks = embed_chunks(todo, chunks_dir, work / "art", enc, tax, timings, progress=progress, workers=workers,
                            chunk=chunk, desc="embedding")
    for c in range(n_chunks):
        metas, vectors, colours = sink.read_chunk(chunks_dir, c)
        for meta, v, col in zip(metas, vectors, colours):
            r = old.items.row_of(meta["id"])
            thumb, meta["thumbnail"] = work / "art" / meta["thumbnail"], None
            rows[meta["id"]] = NewRow(meta, v, col, thumb, r)
            counts["embedded"] += 1
            counts["re_embedded"] += r is not None
    return rows, sink.read_skipped(chunks_dir, n_chunks), counts, resumed


# ---- writing -------------------------------------------------------------------------------------
def _finish(old: ArtifactReader, out: Path, rows: dict[str, NewRow], removed: set[str],
            patches: dict[str, dict[str, Any]], skipped_now: list[dict[str, str]], counts: dict[str, int],
            index_kind: str | None, tar: bool | str | Path, t0: float, resumed: int = 0) -> UpdateSummary:
    tax = old.taxonomy
    cats = list(tax.categories)
    # a changed item whose new picture is unusable goes, as a build skips it
    dropped = removed | {s["id"] for s in skipped_now if old.items.row_of(s["id"]) is not None}
    plan = _Plan.make(old, rows, dropped)
    n = plan.n
    if n == 0:
        raise StygigError("the update removes every item: an artifact needs at least one")
    old_codes = np.asarray(old.items.category_codes)
    old_genders = np.asarray(old.items.gender_codes)
    # the old rows whose vector is not in the new artifact as it was
    stale = [*plan.dropped_rows.tolist(), *(row.old_row for row in plan.new if row.old_row is not None and (
        row.vector is not None or cats[int(old_codes[row.old_row])] != row.meta["category"]))]
    kind = index_kind or old.manifest.get("index", {}).get("kind") or "auto"
    known: dict[str, str] = {}
    files = old.manifest["files"]
    timings: dict[str, float] = {}
    patched_rows = {}
    for item_id, patch in patches.items():
        r = old.items.row_of(item_id)
        if item_id not in rows and r is not None:
            patched_rows[r] = patch
    with staged_dir(out, "update") as art:
        (art / "thumbs").mkdir()
        t = time.perf_counter()
        dim, cshape = old.vectors.shape[1], old.colours.shape[1:]
        writer = ArtifactWriter(art, tax, n, dim, cshape)
        # the indexes are brought up to date by a thread while the rows are written
        indexing = _Indexing(old, art, plan, cats, old_codes, stale, kind, known)
        try:
            _write_arrays(old, plan, writer)
            writer.arrays_written()
            offsets = np.load(old.root / "items" / "meta.offsets.npy", allow_pickle=False).tolist()
            with open(old.root / "items" / "meta.jsonl", "rb") as fh:
                blob = fh.read()
            ids = np.asarray(old.items.ids)
            run_ids: list[bytes] = []
            run_lines: list[bytes] = []
            run_rows: list[int] = []

            def flush() -> None:
                if run_lines:
                    at = np.asarray(run_rows, dtype=np.int64)
                    writer.add_lines(run_ids, old_codes[at], old_genders[at], run_lines)
                    run_ids.clear(), run_lines.clear(), run_rows.clear()

            # runs of unchanged rows that follow each other in both artifacts are copied in one piece
            # when no thumbnail needs a new name; the others row by row
            thumbs = any(rel.startswith("thumbs/") for rel in files)
            order = plan.order
            src = np.where(order < plan.n_carried, plan.carried[np.minimum(order, max(plan.n_carried - 1, 0))], -1) \
                if plan.n_carried else np.full(n, -1)
            whole = (src >= 0) & ~np.isin(src, list(patched_rows)) & (not thumbs)
            starts = np.flatnonzero(np.r_[True, ~whole[1:] | ~whole[:-1] | (src[1:] != src[:-1] + 1)]) if n else []
            ends = np.r_[starts[1:], n] if n else []
            offs = np.asarray(offsets, dtype=np.int64)
            for a, b in zip(np.asarray(starts).tolist(), np.asarray(ends).tolist()):
                if whole[a]:
                    r0, r1 = int(src[a]), int(src[b - 1]) + 1
                    writer.add_serialised(np.array(ids[r0:r1]), old_codes[r0:r1], old_genders[r0:r1],
                                          blob[offsets[r0] : offsets[r1]], np.diff(offs[r0 : r1 + 1]))
                    continue
                for j in range(a, b):
                    k = int(order[j])
                    if k < plan.n_carried:
                        r = int(plan.carried[k])
                        line = blob[offsets[r] : offsets[r + 1]]
                        if r not in patched_rows:
                            line = _renumber_thumbnail(line, r, j, old, art, known)
                            if line is not None:
                                run_ids.append(bytes(ids[r]))
                                run_lines.append(line)
                                run_rows.append(r)
                                continue
                            line = blob[offsets[r] : offsets[r + 1]]
                        flush()
                        meta = json.loads(line)
                        _patch(meta, patched_rows.get(r))
                        writer.add(_place_thumbnail(meta, j, None, old, art, known))
                    else:
                        flush()
                        row = plan.new[k - plan.n_carried]
                        meta = dict(row.meta)
                        _patch(meta, patches.get(meta["id"]))
                        fresh = row.vector is not None
                        writer.add(_place_thumbnail(meta, j, row.thumb if fresh else None, old, art, known, fresh))
                flush()
            flush()
            del blob
            for name, positions, values, first_ids in _carried_attributes(old, plan, set(patched_rows)):
                writer.put_attributes(name, positions, values, first_ids)
            for rel, digest in files.items():
                if rel.startswith("encoder/"):
                    (art / rel).parent.mkdir(parents=True, exist_ok=True)
                    _link(old.root / rel, art / rel)
                    known[rel] = digest
            (art / "encoder").mkdir(exist_ok=True)
            compatibility = _carry_compatibility(old, art, plan, writer.codes, known)
            timings["write_s"] = round(time.perf_counter() - t, 3)
            skipped = _skipped(old, skipped_now, rows, removed)
            try:
                manifest = writer.finish(encoder_config=old.manifest["encoder"],
                                         encoder_description=old.report.get("encoder", {}), skipped=skipped,
                                         category_text=old.category_text(), shard=None, index_kind=kind, timings=timings,
                                         indexer=indexing, compatibility=compatibility, known_digests=known)
            except CatalogError as e:
                raise CatalogError(f"the updated catalog's attributes: {e.message}") from None
            manifest = _note_origin(art, manifest, old)
            # index_s: the indexing thread's time, beside the writing; index_wait_s: what was left of it after
            timings["index_wait_s"], timings["index_s"] = timings.get("index_s", 0.0), round(indexing.seconds, 3)
        finally:
            indexing.close()
            writer.abandon()
    summary = UpdateSummary(out, n, skipped_now, 0.0, manifest["encoder"], per_category=writer.per_category,
                            timings=timings, updated_from=str(old.root), removed=len(removed),
                            attributes_rewritten=len(patches), indexes=indexing.actions, resumed_chunks=resumed, **counts)
    return done(summary, out, t0, tar)


@dataclass
class _Plan:
    """The new artifact's rows, in id order: row ``j`` is ``order[j]`` of the carried old rows
    (``carried``, those kept as they are) followed by the new rows (``new``: added and changed)."""

    carried: np.ndarray
    new: list[NewRow]
    order: np.ndarray
    row_map: np.ndarray  # old row -> new row (-1: gone)
    dropped_rows: np.ndarray

    @property
    def n(self) -> int:
        return len(self.order)

    @property
    def n_carried(self) -> int:
        return len(self.carried)

    @classmethod
    def make(cls, old: ArtifactReader, rows: dict[str, NewRow], dropped: set[str]) -> "_Plan":
        old_ids = np.asarray(old.items.ids)
        keep = np.ones(len(old_ids), dtype=bool)
        dropped_rows = np.array(sorted(r for r in (old.items.row_of(i) for i in dropped) if r is not None), dtype=np.int64)
        keep[dropped_rows] = False
        new = [rows[i] for i in sorted(rows) if i not in dropped]
        keep[[row.old_row for row in new if row.old_row is not None]] = False
        carried = np.flatnonzero(keep)
        new_ids = np.array([row.meta["id"].encode("utf-8") for row in new], dtype=bytes) if new else np.zeros(0, "S1")
        width = max(old_ids.dtype.itemsize, new_ids.dtype.itemsize)
        every = np.concatenate([old_ids[carried].astype(f"S{width}"), new_ids.astype(f"S{width}")])
        order = np.argsort(every, kind="stable")
        position = np.empty(len(order), dtype=np.int64)
        position[order] = np.arange(len(order))
        row_map = np.full(len(old_ids), -1, dtype=np.int64)
        row_map[carried] = position[: len(carried)]
        for k, row in enumerate(new):
            if row.old_row is not None:
                row_map[row.old_row] = position[len(carried) + k]
        return cls(carried, new, order, row_map, dropped_rows)

    def vector_sources(self) -> np.ndarray:
        """For each new row, the old row whose vector and colours it takes as they are, or -1
        (a vector embedded or given)."""
        src = np.full(self.n, -1, dtype=np.int64)
        is_old = self.order < self.n_carried
        src[is_old] = self.carried[self.order[is_old]]
        for j in np.flatnonzero(~is_old).tolist():
            row = self.new[int(self.order[j]) - self.n_carried]
            if row.vector is None:
                src[j] = row.old_row
        return src

    def category_codes(self, old_codes: np.ndarray, categories: list[str]) -> np.ndarray:
        """Each new row's category code (what the writer records as it writes them)."""
        code = {c: i for i, c in enumerate(categories)}
        out = np.empty(self.n, dtype=np.uint16)
        is_old = self.order < self.n_carried
        out[is_old] = old_codes[self.carried[self.order[is_old]]]
        for j in np.flatnonzero(~is_old).tolist():
            out[j] = code[self.new[int(self.order[j]) - self.n_carried].meta["category"]]
        return out

    def positions(self) -> np.ndarray:
        """The new row of every carried row."""
        position = np.empty(self.n, dtype=np.int64)
        position[self.order] = np.arange(self.n)
        return position[: self.n_carried]


class _NewVectors:
    """The new artifact's vectors by row before its ``vectors.npy`` is written: carried rows' from
    the old artifact's file, the embedded (or given) ones' from memory. The indexes are brought
    up to date from these while the writer writes the rows."""

    def __init__(self, old: ArtifactReader, plan: _Plan):
        self.src = plan.vector_sources()
        self.old = np.load(old.root / "vectors.npy", mmap_mode="r", allow_pickle=False)
        self.given_rows = np.flatnonzero(self.src < 0)
        given = [plan.new[int(plan.order[j]) - plan.n_carried].vector for j in self.given_rows.tolist()]
        self.given = np.stack(given).astype(np.float32) if given else np.zeros((0, self.old.shape[1]), np.float32)

    def __call__(self, rows: np.ndarray) -> np.ndarray:
        rows = np.asarray(rows, dtype=np.int64)
        out = np.empty((len(rows), self.old.shape[1]), dtype=np.float32)
        src = self.src[rows]
        carried = src >= 0
        out[carried] = self.old[src[carried]]
        out[~carried] = self.given[np.searchsorted(self.given_rows, rows[~carried])]
        return out


def _write_arrays(old: ArtifactReader, plan: _Plan, writer: ArtifactWriter) -> None:
    """Vectors and colours in new-row order: runs of old rows that stay consecutive copied file to
    file, the embedded (or given) ones written."""
    n = plan.n
    src = plan.vector_sources()
    have = src >= 0
    breaks = np.r_[True, (have[1:] != have[:-1]) | (have[1:] & (src[1:] != src[:-1] + 1))]
    starts = np.flatnonzero(breaks).tolist()
    vectors, colours = old.root / "vectors.npy", old.root / "colors.npy"
    for a, b in zip(starts, [*starts[1:], n]):
        if have[a]:
            writer.copy_rows(vectors, colours, int(src[a]), int(src[a]) + b - a)
            continue
        rows = [plan.new[int(plan.order[j]) - plan.n_carried] for j in range(a, b)]
        writer.put_vectors(a, np.stack([r.vector for r in rows]))
        writer.put_colours(a, np.stack([r.colours for r in rows]))


def _patch(meta: dict[str, Any], patch: dict[str, Any] | None) -> None:
    """--attributes on one row: values replaced, ``None`` dropped."""
    if not patch:
        return
    attrs = dict(meta.get("attributes") or {})
    for k, v in patch.items():
        if v is None:
            attrs.pop(k, None)
        else:
            attrs[k] = v
    meta["attributes"] = attrs


def _renumber_thumbnail(line: bytes, r: int, j: int, old: ArtifactReader, art: Path, known: dict[str, str]) -> bytes | None:
    """A carried row's JSON line with its thumbnail moved from row ``r``'s name to row ``j``'s
    (the file hard-linked); None when the line is not as a writer writes it (then it is parsed)."""
    if b'"thumbnail": null' in line:
        return line
    was, now = thumb_path(r), thumb_path(j)
    pattern = b'"thumbnail": "' + was.encode() + b'"'
    if line.count(b'"thumbnail": ') != 1 or pattern not in line:
        return None
    _link(old.root / was, art / now)
    known[now] = old.manifest["files"][was]
    return line.replace(pattern, b'"thumbnail": "' + now.encode() + b'"') if was != now else line


def _place_thumbnail(meta: dict[str, Any], j: int, thumb: Path | None, old: ArtifactReader, art: Path,
                     known: dict[str, str], fresh: bool = False) -> dict[str, Any]:
    """Row ``j``'s thumbnail: the new picture's, or the old one's (hard-linked), renamed for ``j``."""
    if fresh:
        meta["thumbnail"] = None
        if thumb is not None:
            meta["thumbnail"] = thumb_path(j)
            _link(thumb, art / meta["thumbnail"])
    elif meta.get("thumbnail"):
        rel = thumb_path(j)
        _link(old.root / meta["thumbnail"], art / rel)
        known[rel] = old.manifest["files"][meta["thumbnail"]]
        meta["thumbnail"] = rel
    return meta


def _carried_attributes(old: ArtifactReader, plan: _Plan, patched: set[int]):
    """(name, new rows, values, first item id of each type) of the carried rows' attributes, from
    the old artifact's columns; attributes no column holds exactly (text, json, lists that may be
    empty) from the rows themselves."""
    keep = np.array([r not in patched for r in plan.carried.tolist()], dtype=bool) if patched else slice(None)
    rows = plan.carried[keep]
    positions = plan.positions()[keep]
    ids = np.asarray(old.items.ids)
    columns = load_columns(old.root, old.manifest, len(ids))
    from_rows = []
    for name, col in columns.items():
        entry = col.entry
        if col.type == NUMBER:
            v = np.asarray(col.values)[rows]
            present = ~np.isnan(v)
            values = v[present].tolist()
        elif col.type == BOOLEAN:
            v = np.asarray(col.values)[rows]
            present = v >= 0
            values = (v[present] == 1).tolist()
        elif col.type == STRING:
            v = np.asarray(col.values)[rows]
            present = v >= 0
            vocab = [b.decode("utf-8") for b in np.asarray(col.vocabulary).tolist()]
            values = [vocab[c] for c in v[present].tolist()]
        elif col.type == STRINGS and int(entry.get("items", -1)) == int((np.diff(np.asarray(col.offsets)) > 0).sum()):
            offsets = np.asarray(col.offsets)
            lengths = offsets[rows + 1] - offsets[rows]
            present = lengths > 0
            vocab = [b.decode("utf-8") for b in np.asarray(col.vocabulary).tolist()]
            flat = np.asarray(col.values)
            values = [[vocab[c] for c in flat[a:b].tolist()] for a, b in zip(offsets[rows][present].tolist(),
                                                                            offsets[rows + 1][present].tolist())]
        else:
            from_rows.append(name)
            continue
        hit = np.flatnonzero(present)
        first = {col.type: bytes(ids[rows[hit[0]]]).decode("utf-8")} if len(hit) else {}
        yield name, positions[present].tolist(), values, first
    if from_rows:
        for name in from_rows:
            pos, values, first = [], [], {}
            for r, j in zip(rows.tolist(), positions.tolist()):
                value = old.items[r].get("attributes", {}).get(name)
                t = value_type(value)
                if t is None:
                    continue
                first.setdefault(t, old.items[r]["id"])
                pos.append(j)
                values.append(value)
            yield name, pos, values, first


class _Indexing:
    """The new artifact's indexes (:func:`update_indexes`), brought up to date by a thread from
    the vectors as they will be (:class:`_NewVectors`) while the rows are written; called by the
    writer as its indexer once ``vectors.npy`` is whole (a category built anew waits for that)."""

    def __init__(self, old: ArtifactReader, art: Path, plan: "_Plan", categories: list[str], old_codes: np.ndarray,
                 stale: list[int], kind: str, known: dict[str, str]):
        self.old, self.known = old, known
        self.codes = plan.category_codes(old_codes, categories)
        self.actions: dict[str, str] = {}
        self._digests: dict[str, str] = {}
        self._whole = threading.Event()
        self._abandoned = False
        self._pool = ThreadPoolExecutor(max_workers=1)
        self.seconds = 0.0  # the thread's own time
        self._future = self._pool.submit(
            self._timed, art / "vectors.npy", self.codes, categories, art / "index", kind=kind,
            old_dir=old.root / "index", old_info=old.manifest.get("index", {}), old_codes=old_codes,
            row_map=plan.row_map, stale=np.array(sorted(stale), dtype=np.int64), digests=self._digests,
            gather=_NewVectors(old, plan), file_ready=self._wait)

    def _timed(self, *args, **kwargs):
        t = time.perf_counter()
        try:
            return update_indexes(*args, **kwargs)
        finally:
            self.seconds = time.perf_counter() - t

    def _wait(self) -> None:
        self._whole.wait()
        if self._abandoned:
            raise StygigError("the update was abandoned before its vectors were written")

    def __call__(self, vectors: Path, codes: np.ndarray, categories: list[str], index_dir: Path, kind: str) -> dict:
        if not np.array_equal(codes, self.codes):  # the rows written are not the rows planned
            raise RuntimeError("the update's rows changed category between its plan and its writer")
        self._whole.set()
        info, done_ = self._future.result()
        self.actions.update(done_)
        self.known.update({f"index/{name}": digest for name, digest in self._digests.items()})
        for cat, what in done_.items():
            if what == "kept":
                entry = info["per_category"][cat]
                for name in [entry["file"]] + ([entry["tuning"]] if entry.get("tuning") else []):
                    if name not in self._digests:  # linked, not written anew
                        self.known[f"index/{name}"] = self.old.manifest["files"][f"index/{name}"]
        return info

    def close(self) -> None:
        """Wait for the thread (a failed update leaves nothing running into its folder)."""
        if not self._whole.is_set():
            self._abandoned = True
            self._whole.set()
        self._pool.shutdown(wait=True)


def _carry_compatibility(old: ArtifactReader, art: Path, plan: _Plan, codes: np.ndarray,
                         known: dict[str, str]) -> dict | None:
    """The old artifact's compatibility model for the new rows (None: the build's default).

    A learned model keeps its weights (hard-linked) and its table of item embeddings: the old
    rows' as they were, the added and re-embedded rows' (or those whose category or gender
    changed) computed by the model itself, as ``stygig learn`` computes them."""
    spec = old.manifest.get("compatibility")
    if not spec or spec.get("kind") != LearnedCompatibility.kind:
        return spec
    model = load_compatibility(spec, taxonomy=old.taxonomy, directory=old.root, choice=LearnedCompatibility.kind)
    table = np.empty((plan.n, model.table.shape[1]), dtype=np.float32)
    table[plan.positions()] = np.asarray(model.table)[plan.carried]
    old_codes, old_genders = np.asarray(old.items.category_codes), np.asarray(old.items.gender_codes)
    position = np.empty(plan.n, dtype=np.int64)
    position[plan.order] = np.arange(plan.n)
    redo, vectors, colours, genders = [], [], [], []
    for k, row in enumerate(plan.new):
        j, r = int(position[plan.n_carried + k]), row.old_row
        gender = GENDERS.index(row.meta["gender"])
        if r is not None and row.vector is None and int(old_codes[r]) == int(codes[j]) and int(old_genders[r]) == gender:
            table[j] = model.table[r]
            continue
        redo.append(j)
        vectors.append(row.vector if row.vector is not None else np.asarray(old.vectors[r]))
        colours.append(row.colours if row.colours is not None else np.asarray(old.colours[r]))
        genders.append(gender)
    if redo:
        table[redo] = model.embed_features(features(np.stack(vectors), np.stack(colours), codes[redo],
                                                    np.asarray(genders), len(old.taxonomy.categories)))
    (art / COMPAT_DIR).mkdir(exist_ok=True)
    for key, rel in spec["files"].items():
        if key == TABLE_FILE:
            with open(art / rel, "wb") as fh:
                np.save(fh, table, allow_pickle=False)
        else:
            _link(old.root / rel, art / rel)
            known[rel] = old.manifest["files"][rel]
    return spec


def _skipped(old: ArtifactReader, now: list[dict[str, str]], given: Mapping[str, NewRow],
             removed: set[str]) -> list[dict[str, str]]:
    """What a build of the new catalog would list as skipped: the old build's still-bad pictures
    (those --add did not give again) and this update's."""
    again = {s["id"] for s in now}
    kept = [s for s in old.report.get("skipped", []) if s["id"] not in given and s["id"] not in removed and s["id"] not in again]
    return sorted(kept + now, key=lambda s: s["id"])


def _note_origin(art: Path, manifest: dict[str, Any], old: ArtifactReader) -> dict[str, Any]:
    """Record which artifact this one was updated from (its ``model_version``)."""
    manifest = {**manifest, "updated_from": old.manifest["model_version"]}
    write_manifest(art, manifest)
    return manifest


def _link(src: Path, dest: Path) -> None:
    try:
        os.link(src, dest)
    except OSError:
        shutil.copyfile(src, dest)
