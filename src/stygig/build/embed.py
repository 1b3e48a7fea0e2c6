"""Stage 3, embed: featurized pictures through the encoder, in its batch size."""

from __future__ import annotations

import time
from typing import Any, Iterator, Sequence

import numpy as np

from stygig.build.featurize import Featurized
from stygig.catalog.ingest import CatalogItem
from stygig.features.encoders.base import Encoder


def embed_chunk(
    chunk_items: Sequence[CatalogItem],
    stream: Iterator[Featurized],
    enc: Encoder,
    timings: dict[str, float],
    bar: Any = None,
) -> tuple[list[Featurized], list[np.ndarray], list[dict[str, str]]]:
    """Take one chunk's worth of featurized items from ``stream`` and embed the usable ones:
    (kept, their vectors, the skipped with their reasons)."""
    kept: list[Featurized] = []
    vectors: list[np.ndarray] = []
    skipped: list[dict[str, str]] = []
    batch: list[Featurized] = []

    def flush() -> None:
        if not batch:
            return
        t = time.perf_counter()
        vecs = enc.encode_images([f.image for f in batch])
        timings["encode_s"] += time.perf_counter() - t
        for f, v in zip(batch, vecs):
            kept.append(f)
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
    return kept, vectors, skipped
