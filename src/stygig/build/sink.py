"""Stage 4, write: every chunk checkpointed into the work folder, then assembled by the one
artifact writer.

A build's work folder (``.<name>.build/`` beside the target) holds ``state.json`` (a fingerprint
of the inputs), ``chunks/`` (per chunk: vectors, colours, item rows, the skipped, and a
``.done`` marker written last) and ``art/`` (thumbnails as they are made, then the artifact). A
build re-run with the same inputs resumes after the last complete chunk.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from stygig import __version__
from stygig.artifact.manifest import FORMAT_VERSION
from stygig.artifact.writer import N_COLOURS, ArtifactWriter, thumb_path
from stygig.atomic import write_bytes as atomic_bytes
from stygig.build.featurize import THUMB_SIDE, Featurized, colour_array
from stygig.catalog.ingest import CatalogItem
from stygig.errors import StygigError
from stygig.features.encoders.base import Encoder
from stygig.taxonomy import Taxonomy

CHUNK = 256


def fingerprint(items: Sequence[CatalogItem], enc: Encoder, tax: Taxonomy, shard, index_kind: str, chunk: int,
                extra: Any = None) -> str:
    """The inputs of a run that embeds ``items`` into chunks (``extra``: a JSON-able value for what
    else the run depends on, as ``update`` its old artifact and its other inputs)."""
    h = hashlib.sha256()
    h.update(json.dumps([FORMAT_VERSION, __version__, enc.describe(), getattr(enc, "fingerprint", None),
                         tax.to_json(), shard, index_kind, N_COLOURS, THUMB_SIDE, chunk]
                        + ([extra] if extra is not None else [])).encode())
    for it in items:
        h.update(json.dumps([it.id, it.category, it.gender, it.name, it.source, it.attributes], sort_keys=True).encode())
        if not it.source.startswith("s3://"):
            try:
                st = os.stat(it.source)
                h.update(f"{st.st_size}:{st.st_mtime_ns}".encode())
            except OSError:
                h.update(b"missing")
    return h.hexdigest()


def prepare_work(work: Path, fingerprint: str, resume: bool) -> int:
    """Reuse a work dir left by an interrupted build of the same inputs; else start clean.
    Returns how many chunks are already done."""
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
    atomic_bytes(state, json.dumps({"fingerprint": fingerprint}).encode())
    return 0


def first_todo(chunks_dir: Path, n_chunks: int) -> tuple[int, int]:
    """(first chunk to do, rows already kept): chunks complete in order; after a gap all is redone."""
    done = {int(p.stem) for p in chunks_dir.glob("*.done")}
    first = next((c for c in range(n_chunks) if c not in done), n_chunks)
    row = sum(json.loads((chunks_dir / f"{c:06d}.done").read_text())["kept"] for c in range(first))
    return first, row


def item_row(item: CatalogItem, tax: Taxonomy, thumbnail: str | None, colours: list[dict[str, Any]],
             image_sha256: str | None = None) -> dict[str, Any]:
    """An item's metadata row as the artifact keeps it (``image_sha256``: of its picture's bytes,
    which ``stygig update`` compares to notice a changed picture)."""
    row = {
        "id": item.id,
        "category": item.category,
        "group": tax.group_of(item.category),
        "gender": item.gender,
        "name": item.name,
        "source": item.source,
        "path": item.path,
        "thumbnail": thumbnail,
        "colors": colours,
        "attributes": item.attributes,
    }
    if image_sha256 is not None:
        row["image_sha256"] = image_sha256
    return row


def write_chunk(c: int, kept: list[Featurized], vectors: list[np.ndarray], skipped: list[dict[str, str]],
                tax: Taxonomy, dim: int, chunks_dir: Path, art: Path, row: int) -> int:
    """Checkpoint chunk ``c`` (its first row is ``row``); returns the next chunk's first row."""
    colours, meta = [], []
    for k, f in enumerate(kept):
        rel = thumb_path(row + k)
        (art / rel).write_bytes(f.thumb or b"")
        colours.append(colour_array(f.colours))
        meta.append(item_row(f.item, tax, rel, f.colours, f.sha256))
    base = chunks_dir / f"{c:06d}"
    np.save(f"{base}.vectors.npy", np.stack(vectors).astype(np.float32) if vectors else np.zeros((0, dim), np.float32), allow_pickle=False)
    np.save(f"{base}.colors.npy", np.stack(colours).astype(np.float32) if colours else np.zeros((0, N_COLOURS, 4), np.float32), allow_pickle=False)
    Path(f"{base}.meta.jsonl").write_text("".join(json.dumps(m, ensure_ascii=False, sort_keys=True) + "\n" for m in meta), encoding="utf-8")
    Path(f"{base}.skipped.json").write_text(json.dumps(skipped), encoding="utf-8")
    # the .done marker is written last, atomically: a chunk without it is redone
    atomic_bytes(chunks_dir / f"{c:06d}.done", json.dumps({"kept": len(meta), "skipped": len(skipped)}).encode())
    return row + len(meta)


def read_chunk(chunks_dir: Path, c: int) -> tuple[list[dict[str, Any]], np.ndarray, np.ndarray]:
    """Chunk ``c`` as :func:`write_chunk` left it: (item rows, vectors, colours)."""
    base = chunks_dir / f"{c:06d}"
    metas = [json.loads(line) for line in Path(f"{base}.meta.jsonl").read_text(encoding="utf-8").splitlines()]
    return metas, np.load(f"{base}.vectors.npy", allow_pickle=False), np.load(f"{base}.colors.npy", allow_pickle=False)


def read_skipped(chunks_dir: Path, n_chunks: int) -> list[dict[str, str]]:
    """Every chunk's skipped items, in order."""
    return [s for c in range(n_chunks) for s in json.loads((chunks_dir / f"{c:06d}.skipped.json").read_text())]


def assemble(work: Path, n_chunks: int, tax: Taxonomy, dim: int, timings: dict[str, float]) -> tuple[ArtifactWriter, list[dict[str, str]]]:
    """Every chunk's rows into one :class:`ArtifactWriter` on ``work/art`` (not yet finished)."""
    chunks_dir, art = work / "chunks", work / "art"
    counts = [json.loads((chunks_dir / f"{c:06d}.done").read_text()) for c in range(n_chunks)]
    n = sum(c["kept"] for c in counts)
    skipped = read_skipped(chunks_dir, n_chunks)
    if n == 0:
        raise StygigError(f"no usable images: {'the only item was' if len(skipped) == 1 else f'all {len(skipped)} items were'} "
                          f"skipped (first: {skipped[0]['reason']})")
    t = time.perf_counter()
    writer = ArtifactWriter(art, tax, n, dim)
    for c in range(n_chunks):
        writer.add_block(*read_chunk(chunks_dir, c))
    timings["assemble_s"] = round(time.perf_counter() - t, 3)
    return writer, skipped
