"""``stygig build``: read → featurize → embed → write, as a stream of chunks.

Items (sorted by id) are decoded and featurized by worker threads ahead of the encoder, and
every ``CHUNK`` items are checkpointed into a work directory beside the target
(``.<name>.build/``, see :mod:`stygig.build.sink`). Memory stays bounded whatever the catalog
size. A build that is interrupted and re-run with the same inputs resumes from the last complete
chunk; the finished artifact is moved into place with one rename, so there is never a half
artifact.
"""

from __future__ import annotations

import shutil
import sys
import time
from pathlib import Path
from typing import Sequence

import numpy as np

from stygig.artifact.writer import check_target
from stygig.atomic import replace_dir
from stygig.build import sink
from stygig.build.distribute import default_workers, featurize_pool, prefetch
from stygig.build.embed import embed_chunk
from stygig.build.featurize import featurize
from stygig.build.read import read_items
from stygig.build.summary import BuildSummary, done, summarise
from stygig.catalog.ingest import CatalogItem
from stygig.features.encoders.base import Encoder, l2_normalise
from stygig.features.encoders.registry import resolve_encoder
from stygig.taxonomy import Taxonomy

CHUNK = sink.CHUNK


def _progress(total: int, enabled: bool, desc: str, initial: int = 0):
    if not enabled:
        return None
    from tqdm import tqdm

    return tqdm(total=total, initial=initial, desc=desc, unit="img", file=sys.stderr, dynamic_ncols=True)


def resolve_taxonomy(taxonomy: str | Path | Taxonomy | None) -> Taxonomy:
    if isinstance(taxonomy, Taxonomy):
        return taxonomy
    return Taxonomy.load(taxonomy) if taxonomy else Taxonomy.default()


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
    check_target(out, force, tar)
    tax = resolve_taxonomy(taxonomy)
    enc = encoder if isinstance(encoder, Encoder) else resolve_encoder(encoder, precision=precision)
    cat, items = read_items(catalog, tax, shard)
    out.parent.mkdir(parents=True, exist_ok=True)
    work = out.parent / f".{out.name}.build"
    resumed = sink.prepare_work(work, sink.fingerprint(items, enc, tax, shard, index_kind, chunk_size), resume)
    summary = _build_chunks(work, items, enc, tax, progress, workers, shard, index_kind, chunk_size)
    summary.resumed_chunks = resumed
    summary.catalog = cat.describe()
    replace_dir(work / "art", out)
    shutil.rmtree(work, ignore_errors=True)
    return done(summary, out, t0, tar)


def _build_chunks(work: Path, items, enc: Encoder, tax: Taxonomy, progress: bool, workers: int | None,
                  shard: tuple[int, int] | None, index_kind: str, chunk: int) -> BuildSummary:
    art = work / "art"
    timings = {"featurize_worker_s": 0.0, "encode_s": 0.0, "wait_for_features_s": 0.0, "write_s": 0.0}
    n_chunks = embed_chunks(items, work / "chunks", art, enc, tax, timings, progress=progress,
                            workers=workers, chunk=chunk, desc="featurizing")
    writer, skipped = sink.assemble(work, n_chunks, tax, enc.dim, timings)
    enc_config = enc.save(art / "encoder")
    category_text = _category_text_vectors(enc, tax) if enc.supports_text else None
    manifest = writer.finish(encoder_config=enc_config, encoder_description=enc.describe(), skipped=skipped,
                             category_text=category_text, shard=shard, index_kind=index_kind, timings=timings)
    return summarise(art, manifest, skipped, writer.per_category, timings)


def embed_chunks(items: Sequence[CatalogItem], chunks_dir: Path, art: Path, enc: Encoder, tax: Taxonomy,
                 timings: dict[str, float], *, progress: bool = False, workers: int | None = None, chunk: int = CHUNK,
                 desc: str = "featurizing") -> int:
    """Featurize and embed ``items`` into checkpointed chunks of ``chunk`` items in ``chunks_dir``
    (thumbnails under ``art``), after the chunks an interrupted run finished; returns the number
    of chunks. ``build`` and ``update`` both embed through here."""
    workers = workers or default_workers()
    n_chunks = (len(items) + chunk - 1) // chunk
    first, row = sink.first_todo(chunks_dir, n_chunks)
    timings.setdefault("write_s", 0.0)
    bar = _progress(len(items), progress, desc, initial=min(len(items), first * chunk))
    todo = items[first * chunk :]
    if todo:
        with featurize_pool(workers) as pool:
            stream = prefetch(pool, featurize, todo, window=max(2 * enc.batch_size, 4 * workers))
            for c in range(first, n_chunks):
                kept, vectors, skipped = embed_chunk(items[c * chunk : (c + 1) * chunk], stream, enc, timings, bar)
                t = time.perf_counter()
                row = sink.write_chunk(c, kept, vectors, skipped, tax, enc.dim, chunks_dir, art, row)
                timings["write_s"] += time.perf_counter() - t
    if bar is not None:
        bar.close()
    return n_chunks


def _category_text_vectors(enc: Encoder, tax: Taxonomy) -> np.ndarray:
    rows = [enc.encode_texts(tax.prompts_for(cat)).mean(axis=0) for cat in tax.categories]
    return l2_normalise(np.stack(rows))
