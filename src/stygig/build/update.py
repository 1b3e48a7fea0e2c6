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
``OUT`` and renamed into place.
"""

from __future__ import annotations

import os
import shutil
import sys
import time
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from stygig import jsonlines
from stygig.artifact.attributes import check_catalog_types
from stygig.artifact.index import update_indexes
from stygig.artifact.manifest import write_manifest
from stygig.artifact.reader import ArtifactReader
from stygig.artifact.writer import ArtifactWriter, check_target, thumb_path
from stygig.atomic import staged_dir
from stygig.build.distribute import default_workers, featurize_pool, prefetch
from stygig.build.embed import embed_chunk
from stygig.build.featurize import colour_array, featurize
from stygig.build.read import picture_sha256
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

BLOCK = 65536


@dataclass
class NewRow:
    """An added or changed item, ready to write: its row's metadata, and its vector, colours and
    thumbnail — or None for each, the old row's (``old_row``), when its picture is unchanged."""

    meta: dict[str, Any]
    vector: np.ndarray | None = None
    colours: np.ndarray | None = None
    thumb: bytes | None = None
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
    #: category -> kept | renumbered | rebuilt | refilled | retrained | trained
    indexes: dict[str, str] = field(default_factory=dict)

    def lines(self) -> list[str]:
        lines = [
            f"updated {self.out} from {self.updated_from} — {plural(self.n_items, 'item')}, {self.seconds:.1f} s",
            f"added {self.added}, changed {self.changed}, removed {self.removed}; attributes rewritten for "
            f"{plural(self.attributes_rewritten, 'item')}",
            f"embedded {plural(self.embedded, 'picture')}: {self.embedded - self.re_embedded} added, "
            f"{self.re_embedded} of the {plural(self.changed, 'changed item')} (the others' pictures are unchanged)",
        ]
        redone = {c: a for c, a in self.indexes.items() if a not in ("kept", "renumbered")}
        lines.append(f"categories re-indexed: {len(redone)} of {len(self.indexes)}"
                     + (" (" + ", ".join(f"{c} {a}" for c, a in redone.items()) + ")" if redone else ""))
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
) -> UpdateSummary:
    """``stygig update ART [--add MANIFEST] [--remove IDS] [--attributes FILE] -o OUT``."""
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
    rows, skipped, counts = _embed_changes(old, items, progress, workers)
    return _finish(old, out, rows, set(removed), patches, skipped, counts, index_kind, tar, t0)


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


def _embed_changes(old: ArtifactReader, items: list[CatalogItem], progress: bool,
                   workers: int | None) -> tuple[dict[str, NewRow], list[dict[str, str]], dict[str, int]]:
    """The --add rows as :class:`NewRow`: a changed item whose picture hashes as recorded keeps
    its vector, colours and thumbnail; the added and the others are featurized and embedded."""
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
    skipped: list[dict[str, str]] = []
    if todo:
        enc = load_encoder(old.root / "encoder", old.manifest["encoder"])
        if enc.kind == "precomputed":
            raise StygigError(f"artifact {old.root} was built from precomputed vectors: it cannot embed the pictures "
                              f"of --add; update it with vectors given, or build it from pictures")
        timings = {"featurize_worker_s": 0.0, "encode_s": 0.0, "wait_for_features_s": 0.0}
        bar = None
        if progress:
            from tqdm import tqdm

            bar = tqdm(total=len(todo), desc="embedding", unit="img", file=sys.stderr, dynamic_ncols=True)
        with featurize_pool(workers or default_workers()) as pool:
            stream = prefetch(pool, featurize, todo, window=max(2 * enc.batch_size, 4 * (workers or default_workers())))
            for s in range(0, len(todo), CHUNK):
                kept, vectors, bad = embed_chunk(todo[s : s + CHUNK], stream, enc, timings, bar)
                skipped += bad
                for f, v in zip(kept, vectors):
                    r = old.items.row_of(f.item.id)
                    rows[f.item.id] = NewRow(item_row(f.item, tax, None, f.colours, f.sha256),
                                             np.asarray(v, np.float32), colour_array(f.colours), f.thumb, r)
                    counts["embedded"] += 1
                    counts["re_embedded"] += r is not None
        if bar is not None:
            bar.close()
    return rows, skipped, counts


# ---- writing -------------------------------------------------------------------------------------
def _finish(old: ArtifactReader, out: Path, rows: dict[str, NewRow], removed: set[str],
            patches: dict[str, dict[str, Any]], skipped_now: list[dict[str, str]], counts: dict[str, int],
            index_kind: str | None, tar: bool | str | Path, t0: float) -> UpdateSummary:
    tax = old.taxonomy
    cats = list(tax.categories)
    old_ids = [bytes(i).decode("utf-8") for i in np.asarray(old.items.ids)]
    failed = {s["id"] for s in skipped_now}  # a changed item whose new picture is unusable goes, as a build skips it
    dropped = removed | failed
    # (id, old row or None, new row or None), in id order
    plan: list[tuple[str, int | None, NewRow | None]] = []
    plan += [(i, r, rows.get(i)) for r, i in enumerate(old_ids) if i not in dropped]
    plan += [(i, None, row) for i, row in rows.items() if row.old_row is None]
    plan.sort(key=lambda e: e[0])
    if not plan:
        raise StygigError("the update removes every item: an artifact needs at least one")
    n = len(plan)
    metas: list[dict[str, Any]] = []
    row_map = np.full(len(old_ids), -1, dtype=np.int64)
    changed: set[str] = set()
    old_codes = np.asarray(old.items.category_codes)
    for r, i in enumerate(old_ids):
        if i in dropped:
            changed.add(cats[int(old_codes[r])])
    for new_row, (item_id, r, row) in enumerate(plan):
        if row is None:
            meta = dict(old.items[r])
        else:
            meta = dict(row.meta)
            if row.old_row is not None:
                r = row.old_row
            if row.vector is not None or r is None:  # embedded anew: its category's index changes
                changed.add(meta["category"])
                if r is not None:
                    changed.add(cats[int(old_codes[r])])
            elif cats[int(old_codes[r])] != meta["category"]:  # same picture, another category
                changed.update((meta["category"], cats[int(old_codes[r])]))
        if r is not None:
            row_map[r] = new_row
        patch = patches.get(item_id)
        if patch:
            attrs = dict(meta.get("attributes") or {})
            for k, v in patch.items():
                if v is None:
                    attrs.pop(k, None)
                else:
                    attrs[k] = v
            meta["attributes"] = attrs
        metas.append(meta)
    try:
        check_catalog_types((m["id"], m.get("attributes")) for m in metas)
    except CatalogError as e:
        raise CatalogError(f"the updated catalog's attributes: {e.message}") from None
    kind = index_kind or old.manifest.get("index", {}).get("kind") or "auto"
    known: dict[str, str] = {}
    files = old.manifest["files"]
    timings: dict[str, float] = {}
    with staged_dir(out, "update") as art:
        (art / "thumbs").mkdir()
        t = time.perf_counter()
        writer = ArtifactWriter(art, tax, n, old.vectors.shape[1], old.colours.shape[1:])
        for s in range(0, n, BLOCK):
            part = plan[s : s + BLOCK]
            vec = np.empty((len(part), old.vectors.shape[1]), dtype=np.float32)
            col = np.empty((len(part),) + old.colours.shape[1:], dtype=np.float32)
            src_pos = [k for k, (_, r, row) in enumerate(part) if row is None or row.vector is None]
            src_rows = [r if row is None else row.old_row for _, r, row in (part[k] for k in src_pos)]
            if src_pos:
                order = np.argsort(src_rows, kind="stable")
                rows_sorted = np.asarray(src_rows, dtype=np.int64)[order]
                pos_sorted = np.asarray(src_pos, dtype=np.int64)[order]
                vec[pos_sorted] = old.vectors[rows_sorted]
                col[pos_sorted] = old.colours[rows_sorted]
            for k, (_, _, row) in enumerate(part):
                if row is not None and row.vector is not None:
                    vec[k] = row.vector
                    col[k] = row.colours
            writer.put_vectors(s, vec)
            writer.put_colours(s, col)
        for new_row, ((item_id, r, row), meta) in enumerate(zip(plan, metas)):
            fresh = row is not None and row.vector is not None
            if fresh:
                if row.thumb is not None:
                    meta["thumbnail"] = thumb_path(new_row)
                    (art / meta["thumbnail"]).write_bytes(row.thumb)
            elif meta.get("thumbnail"):
                rel = thumb_path(new_row)
                _link(old.root / meta["thumbnail"], art / rel)
                known[rel] = files[meta["thumbnail"]]
                meta["thumbnail"] = rel
            writer.add(meta)
        for rel, digest in files.items():
            if rel.startswith("encoder/"):
                (art / rel).parent.mkdir(parents=True, exist_ok=True)
                _link(old.root / rel, art / rel)
                known[rel] = digest
        (art / "encoder").mkdir(exist_ok=True)
        compatibility = _carry_compatibility(old, art, plan, writer.codes, known)
        timings["write_s"] = round(time.perf_counter() - t, 3)
        indexer = partial(_indexer, old=old, old_codes=old_codes, row_map=row_map, changed=changed, known=known,
                          actions=(actions := {}))
        skipped = _skipped(old, skipped_now, {m["id"] for m in metas}, removed)
        manifest = writer.finish(encoder_config=old.manifest["encoder"], encoder_description=old.report.get("encoder", {}),
                                 skipped=skipped, category_text=old.category_text(), shard=None, index_kind=kind,
                                 timings=timings, indexer=indexer, compatibility=compatibility, known_digests=known)
        manifest = _note_origin(art, manifest, old)
    summary = UpdateSummary(out, n, skipped_now, 0.0, manifest["encoder"], per_category=writer.per_category,
                            timings=timings, updated_from=str(old.root), removed=len(removed),
                            attributes_rewritten=len(patches), indexes=actions, **counts)
    return done(summary, out, t0, tar)


def _indexer(vectors: Path, codes: np.ndarray, categories: list[str], index_dir: Path, kind: str, *,
             old: ArtifactReader, old_codes: np.ndarray, row_map: np.ndarray, changed: set[str],
             known: dict[str, str], actions: dict[str, str]) -> dict:
    info, done_ = update_indexes(vectors, codes, categories, index_dir, kind=kind, old_dir=old.root / "index",
                                 old_info=old.manifest.get("index", {}), old_codes=old_codes, row_map=row_map,
                                 changed=changed)
    actions.update(done_)
    for cat, what in done_.items():
        if what == "kept":
            rel = f"index/{info['per_category'][cat]['file']}"
            known[rel] = old.manifest["files"][rel]
    return info


def _carry_compatibility(old: ArtifactReader, art: Path, plan, codes: np.ndarray, known: dict[str, str]) -> dict | None:
    """The old artifact's compatibility model for the new rows (None: the build's default).

    A learned model keeps its weights (hard-linked) and its table of item embeddings: the old
    rows' as they were, the added and re-embedded rows' (or those whose category or gender
    changed) computed by the model itself, as ``stygig learn`` computes them."""
    spec = old.manifest.get("compatibility")
    if not spec or spec.get("kind") != LearnedCompatibility.kind:
        return spec
    model = load_compatibility(spec, taxonomy=old.taxonomy, directory=old.root, choice=LearnedCompatibility.kind)
    table = np.empty((len(plan), model.table.shape[1]), dtype=np.float32)
    old_codes, old_genders = np.asarray(old.items.category_codes), np.asarray(old.items.gender_codes)
    redo: list[int] = []
    vectors: list[np.ndarray] = []
    colours: list[np.ndarray] = []
    genders: list[int] = []
    for new_row, (_, r, row) in enumerate(plan):
        if row is not None and row.old_row is not None:
            r = row.old_row
        gender = GENDERS.index(row.meta["gender"]) if row is not None else int(old_genders[r])
        same = r is not None and (row is None or row.vector is None) and int(old_codes[r]) == int(codes[new_row]) \
            and int(old_genders[r]) == gender
        if same:
            table[new_row] = model.table[r]
        else:
            redo.append(new_row)
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


def _skipped(old: ArtifactReader, now: list[dict[str, str]], present: set[str], removed: set[str]) -> list[dict[str, str]]:
    """What a build of the new catalog would list as skipped: the old build's still-bad pictures
    and this update's."""
    again = {s["id"] for s in now}
    kept = [s for s in old.report.get("skipped", []) if s["id"] not in present and s["id"] not in removed and s["id"] not in again]
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
