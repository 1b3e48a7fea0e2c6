"""The model artifact: write (build), verify, read, pack.

An artifact is a self-contained directory — what SageMaker unpacks into ``/opt/ml/model`` —
holding everything needed to answer a recommendation, and nothing that can run code::

    manifest.json       format + version, encoder config, taxonomy, counts, sha256 of every file
    vectors.npy         float32 (n, dim), L2-normalised, rows sorted by item id
    index/              FAISS indexes (global + per category), see stygig.index
    items.jsonl         one JSON object per row: id, category, group, gender, name, source,
                        thumbnail, colors, attributes
    colors.npy          float32 (n, K, 4): dominant colours per item as (L, a, b, weight)
    category_text.npy   (CLIP only) one text embedding per taxonomy category, for zero-shot
    encoder/            the encoder's own files (ONNX towers, preprocessing, tokenizer)
    taxonomy.json       the rules the artifact was built with
    thumbs/<row>.jpg    a small picture of every item, for reports and pages
    build_report.json   what was built and skipped, with reasons, and how long it took

The build writes into a temporary directory beside the target and renames it at the end, so an
interrupted build leaves no half artifact. Loading checks the format version and every checksum.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import sys
import tarfile
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Sequence

import numpy as np
from PIL import Image

from stygig import __version__
from stygig.catalog.ingest import CatalogItem, read_catalog
from stygig.errors import ArtifactError, ImageError, StygigError
from stygig.features.encoders import Encoder, resolve_encoder
from stygig.images import decode_image
from stygig.index import build_indexes
from stygig.taxonomy import Taxonomy

FORMAT = "stygig-artifact"
FORMAT_VERSION = 1
N_COLOURS = 3
THUMB_SIDE = 192
CHUNK = 64
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

    def lines(self) -> list[str]:
        lines = [
            f"built {self.out} — {self.n_items} items, encoder {self.encoder.get('kind')}"
            + (f" ({self.encoder['precision']})" if self.encoder.get("precision") else "")
            + f", {self.seconds:.1f} s",
        ]
        if self.skipped:
            lines.append(f"skipped {len(self.skipped)} bad file(s):")
            lines += [f"  {s['id']}: {s['reason']}" for s in self.skipped[:20]]
            if len(self.skipped) > 20:
                lines.append(f"  ... and {len(self.skipped) - 20} more (see build_report.json)")
        if self.tar:
            lines.append(f"packed {self.tar}")
        return lines


# ---- helpers -----------------------------------------------------------------------------------
def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


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


def _featurize(item: CatalogItem) -> _Featurized:
    from stygig.features.colour import dominant_colours

    try:
        img = decode_image(_read_source(item.source))
    except ImageError as e:
        return _Featurized(item, None, None, [], str(e))
    except StygigError as e:
        return _Featurized(item, None, None, [], f"unreadable: {e}")
    colours = [c.to_dict() for c in dominant_colours(img, k=N_COLOURS)]
    thumb = img.copy()
    thumb.thumbnail((THUMB_SIDE, THUMB_SIDE), Image.LANCZOS)
    buf = io.BytesIO()
    thumb.save(buf, "JPEG", quality=85, optimize=True)
    return _Featurized(item, img, buf.getvalue(), colours)


def _colour_array(colours: list[dict[str, Any]]) -> np.ndarray:
    arr = np.zeros((N_COLOURS, 4), dtype=np.float32)
    for j, c in enumerate(colours[:N_COLOURS]):
        arr[j, :3] = c["lab"]
        arr[j, 3] = c["weight"]
    return arr


def _progress(total: int, enabled: bool, desc: str):
    if not enabled:
        return None
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, unit="img", file=sys.stderr, dynamic_ncols=True)


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
) -> BuildSummary:
    t0 = time.perf_counter()
    out = Path(out)
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
    _check_target(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.building-", dir=out.parent))
    try:
        summary = _build_into(tmp, items, enc, tax, progress, workers, shard)
        _replace_dir(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    summary.out = out
    summary.seconds = time.perf_counter() - t0
    _patch_report_seconds(out, summary.seconds)
    if tar:
        tar_path = out.parent / "model.tar.gz" if tar is True else Path(tar)
        summary.tar = pack_artifact(out, tar_path)
    return summary


def _check_target(out: Path) -> None:
    if out.exists():
        if not out.is_dir():
            raise StygigError(f"output {out} exists and is not a directory")
        if any(out.iterdir()) and not (out / "manifest.json").exists():
            raise StygigError(f"output {out} is a non-empty directory that is not a StyGig artifact; refusing to overwrite")


def _replace_dir(new: Path, target: Path) -> None:
    if target.exists():
        old = target.with_name(f".{target.name}.old-{os.getpid()}")
        os.replace(target, old)
        os.replace(new, target)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(new, target)


def _iter_featurized(items: Sequence[CatalogItem], workers: int) -> Iterator[_Featurized]:
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for start in range(0, len(items), CHUNK):
            # keep at most two chunks of decoded images in memory
            yield from pool.map(_featurize, items[start : start + CHUNK])


def _build_into(
    tmp: Path,
    items: Sequence[CatalogItem],
    enc: Encoder,
    tax: Taxonomy,
    progress: bool,
    workers: int | None,
    shard: tuple[int, int] | None,
) -> BuildSummary:
    workers = workers or max(1, min(4, os.cpu_count() or 1))
    (tmp / "thumbs").mkdir()
    bar = _progress(len(items), progress, "featurizing")
    kept: list[dict[str, Any]] = []
    vectors: list[np.ndarray] = []
    colours: list[np.ndarray] = []
    skipped: list[dict[str, str]] = []
    batch: list[_Featurized] = []

    def flush() -> None:
        if not batch:
            return
        vecs = enc.encode_images([f.image for f in batch])
        for f, v in zip(batch, vecs):
            row = len(kept)
            thumb_rel = f"thumbs/{row:06d}.jpg"
            (tmp / thumb_rel).write_bytes(f.thumb or b"")
            kept.append(
                {
                    "id": f.item.id,
                    "category": f.item.category,
                    "group": tax.group_of(f.item.category),
                    "gender": f.item.gender,
                    "name": f.item.name,
                    "source": f.item.source,
                    "thumbnail": thumb_rel,
                    "colors": f.colours,
                    "attributes": f.item.attributes,
                }
            )
            vectors.append(v)
            colours.append(_colour_array(f.colours))
        batch.clear()

    for f in _iter_featurized(items, workers):
        if f.error is not None:
            skipped.append({"id": f.item.id, "source": f.item.source, "reason": f.error})
        else:
            batch.append(f)
            if len(batch) >= enc.batch_size:
                flush()
        if bar is not None:
            bar.update(1)
    flush()
    if bar is not None:
        bar.close()
    if not kept:
        raise StygigError(f"no usable images: all {len(items)} items were skipped (first: {skipped[0]['reason']})")
    enc_config = enc.save(tmp / "encoder")
    category_text = _category_text_vectors(enc, tax) if enc.supports_text else None
    return _finish(
        tmp, kept, np.stack(vectors).astype(np.float32), np.stack(colours).astype(np.float32),
        tax, skipped, enc_config, enc.describe(), category_text, shard,
    )


def _finish(
    tmp: Path,
    kept: list[dict[str, Any]],
    vec: np.ndarray,
    col: np.ndarray,
    tax: Taxonomy,
    skipped: list[dict[str, str]],
    enc_config: dict[str, Any],
    enc_description: dict[str, Any],
    category_text: np.ndarray | None,
    shard: tuple[int, int] | None,
) -> BuildSummary:
    """Write everything but thumbnails and encoder files (already in ``tmp``), then the manifest."""
    np.save(tmp / "vectors.npy", vec, allow_pickle=False)
    np.save(tmp / "colors.npy", col, allow_pickle=False)
    with open(tmp / "items.jsonl", "w", encoding="utf-8") as fh:
        for row in kept:
            fh.write(json.dumps(row, ensure_ascii=False, sort_keys=True) + "\n")
    index_info = build_indexes(vec, [r["category"] for r in kept], tmp / "index")
    if category_text is not None:
        np.save(tmp / "category_text.npy", category_text, allow_pickle=False)
    (tmp / "taxonomy.json").write_text(tax.to_json(), encoding="utf-8")
    per_category: dict[str, int] = {}
    for r in kept:
        per_category[r["category"]] = per_category.get(r["category"], 0) + 1
    report = {
        "items": len(kept),
        "skipped": skipped,
        "per_category": per_category,
        "encoder": enc_description,
        "shard": list(shard) if shard else None,
        "seconds": None,
        "stygig_version": __version__,
    }
    (tmp / "build_report.json").write_text(json.dumps(report, indent=2), encoding="utf-8")
    _write_manifest(tmp, enc_config, tax, len(kept), len(skipped), index_info, category_text is not None, shard)
    return BuildSummary(tmp, len(kept), skipped, 0.0, enc_config, per_category=per_category)


def _category_text_vectors(enc: Encoder, tax: Taxonomy) -> np.ndarray:
    from stygig.features.encoders import l2_normalise

    rows = []
    for cat in tax.categories:
        rows.append(enc.encode_texts(tax.prompts_for(cat)).mean(axis=0))
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
    files = {}
    for p in sorted(root.rglob("*")):
        if p.is_file() and p.name != "manifest.json":
            files[p.relative_to(root).as_posix()] = sha256_file(p)
    content = hashlib.sha256(
        "".join(f"{k}:{v}\n" for k, v in files.items() if k not in VOLATILE).encode()
    ).hexdigest()
    manifest = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "model_version": content[:12],
        "stygig_version": __version__,
        "encoder": enc_config,
        "taxonomy": {"file": "taxonomy.json", "name": tax.name, "categories": list(tax.categories)},
        "counts": {"items": n_items, "skipped": n_skipped},
        "index": index_info,
        "category_text": "category_text.npy" if has_category_text else None,
        "shard": list(shard) if shard else None,
        "files": files,
    }
    (root / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True), encoding="utf-8")
    return manifest


def _patch_report_seconds(out: Path, seconds: float) -> None:
    """Record the build time (build_report.json is volatile: not part of model_version)."""
    path = out / "build_report.json"
    report = json.loads(path.read_text(encoding="utf-8"))
    report["seconds"] = round(seconds, 3)
    path.write_text(json.dumps(report, indent=2), encoding="utf-8")
    manifest_path = out / "manifest.json"
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    manifest["files"]["build_report.json"] = sha256_file(path)
    tmp = manifest_path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(manifest, indent=2, sort_keys=True), encoding="utf-8")
    os.replace(tmp, manifest_path)


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


def verify_artifact(root: str | Path, *, checksums: bool = True) -> dict[str, Any]:
    """Check format version, that every listed file exists, and (by default) every sha256."""
    root = Path(root)
    manifest = read_manifest(root)
    root_resolved = root.resolve()
    for rel, digest in manifest["files"].items():
        p = (root / rel).resolve()
        if not p.is_relative_to(root_resolved):
            raise ArtifactError(f"artifact manifest lists a path outside the artifact: {rel}")
        if not p.is_file():
            raise ArtifactError(f"artifact is missing {rel}")
        if checksums and sha256_file(p) != digest:
            raise ArtifactError(f"artifact file {rel} does not match its checksum (corrupted or modified)")
    return manifest


# ---- pack --------------------------------------------------------------------------------------
def pack_artifact(root: str | Path, out_tar: str | Path, *, extra: dict[str, bytes] | None = None) -> Path:
    """Write ``model.tar.gz`` with the artifact's files at the archive root (as SageMaker wants).

    ``extra`` adds files (archive path -> bytes), e.g. ``code/inference.py`` for the DLC.
    Written to a temporary file and renamed: never a half archive.
    """
    root = Path(root)
    verify_artifact(root, checksums=False)
    out_tar = Path(out_tar)
    out_tar.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{out_tar.name}.", dir=out_tar.parent)
    os.close(fd)
    try:
        with tarfile.open(tmp_name, "w:gz") as tf:
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
        os.replace(tmp_name, out_tar)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
    return out_tar


# ---- merge -------------------------------------------------------------------------------------
def merge_artifacts(shards: Sequence[str | Path], out: str | Path, *, tar: bool | str | Path = False) -> BuildSummary:
    """Combine shard artifacts (``build --shard I/N``) into one artifact.

    The result is identical in content to a single-process build of the same catalog: items are
    re-sorted by id, thumbnails renumbered, indexes rebuilt; ``model_version`` is the same.
    """
    t0 = time.perf_counter()
    out = Path(out)
    if not shards:
        raise StygigError("merge needs at least one shard artifact")
    manifests = [verify_artifact(s) for s in shards]
    first = Path(shards[0])
    enc_config = manifests[0]["encoder"]
    tax_text = (first / "taxonomy.json").read_text(encoding="utf-8")
    for s, m in zip(shards[1:], manifests[1:]):
        if m["encoder"] != enc_config:
            raise StygigError(f"shard {s} was built with a different encoder than {first}")
        if (Path(s) / "taxonomy.json").read_text(encoding="utf-8") != tax_text:
            raise StygigError(f"shard {s} was built with a different taxonomy than {first}")
    rows: list[tuple[str, int, int]] = []  # (id, shard index, row in shard)
    shard_items, shard_vec, shard_col, skipped = [], [], [], []
    for k, s in enumerate(shards):
        s = Path(s)
        items = [json.loads(l) for l in (s / "items.jsonl").read_text(encoding="utf-8").splitlines() if l]
        shard_items.append(items)
        shard_vec.append(np.load(s / "vectors.npy", allow_pickle=False))
        shard_col.append(np.load(s / "colors.npy", allow_pickle=False))
        skipped += json.loads((s / "build_report.json").read_text(encoding="utf-8")).get("skipped", [])
        rows += [(it["id"], k, r) for r, it in enumerate(items)]
    rows.sort()
    ids = [r[0] for r in rows]
    if len(set(ids)) != len(ids):
        dup = sorted({i for i in ids if ids.count(i) > 1})[:5]
        raise StygigError(f"shards overlap: item ids in more than one shard: {', '.join(dup)}")
    skipped.sort(key=lambda d: d["id"])
    _check_target(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.merging-", dir=out.parent))
    try:
        (tmp / "thumbs").mkdir()
        kept = []
        for new_row, (_, k, r) in enumerate(rows):
            it = dict(shard_items[k][r])
            src_thumb = Path(shards[k]) / it["thumbnail"]
            it["thumbnail"] = f"thumbs/{new_row:06d}.jpg"
            shutil.copyfile(src_thumb, tmp / it["thumbnail"])
            kept.append(it)
        vec = np.stack([shard_vec[k][r] for _, k, r in rows]).astype(np.float32)
        col = np.stack([shard_col[k][r] for _, k, r in rows]).astype(np.float32)
        shutil.copytree(first / "encoder", tmp / "encoder")
        category_text = None
        if manifests[0].get("category_text"):
            category_text = np.load(first / manifests[0]["category_text"], allow_pickle=False)
        tax = Taxonomy.from_dict(json.loads(tax_text))
        enc_description = json.loads((first / "build_report.json").read_text(encoding="utf-8")).get("encoder", {})
        summary = _finish(tmp, kept, vec, col, tax, skipped, enc_config, enc_description, category_text, None)
        _replace_dir(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    summary.out = out
    summary.seconds = time.perf_counter() - t0
    _patch_report_seconds(out, summary.seconds)
    if tar:
        summary.tar = pack_artifact(out, out.parent / "model.tar.gz" if tar is True else Path(tar))
    return summary
