"""Vector indexes: one FAISS inner-product index per category.

Vectors are L2-normalised, so inner product is cosine similarity. Each category has its own
index whose ids are the items' rows in ``vectors.npy``:

* an outfit gets the best shoes and bags *within* footwear and accessories even when every near
  neighbour of a shirt is another top (no starved categories, no 2,000-neighbour widening);
* a query's cost for its candidates does not grow with the items of categories it does not
  search;
* the neighbour vote that decides a query's category merges each category's top hits, which is
  the global top-k (exactly, for exact indexes).

Index kinds, chosen per category by size (``auto``) or forced:

* ``flat``: exact search (``IndexIDMap2(IndexFlatIP)``) — while it is fast enough (up to
  ``EXACT_MAX`` items);
* ``ivf``: ``IndexIVFFlat`` with ``nlist ~ 2 sqrt(n)`` trained (10 k-means iterations) on a
  seeded sample of 40 items per list; ``nprobe`` is
  the smallest power of two whose recall@50 against exact search, measured at build on held-out
  items of that category, reaches ``TARGET_RECALL``. Recorded in the manifest; overridable at
  load with ``STYGIG_NPROBE``.

Indexes are read with ``IO_FLAG_MMAP_IFC``: memory-mapped, not copied, so a large artifact loads in
milliseconds. FAISS's serialisation is plain data (no code).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import faiss
import numpy as np

EXACT_MAX = 20_000
TARGET_RECALL = 0.97
RECALL_K = 50
TRAIN_PER_LIST = 40
KMEANS_ITERS = 10
TUNE_QUERIES = 200
SEED = 1234


def _flat(vectors: np.ndarray, ids: np.ndarray) -> faiss.Index:
    index = faiss.IndexIDMap2(faiss.IndexFlatIP(vectors.shape[1]))
    for s in range(0, len(ids), 65536):
        index.add_with_ids(np.ascontiguousarray(vectors[ids[s : s + 65536]], dtype=np.float32), ids[s : s + 65536])
    return index


def _exact_topk(vectors: np.ndarray, ids: np.ndarray, queries: np.ndarray, k: int) -> np.ndarray:
    best_s = np.full((len(queries), k), -np.inf, dtype=np.float32)
    best_i = np.full((len(queries), k), -1, dtype=np.int64)
    for s in range(0, len(ids), 65536):
        block_ids = ids[s : s + 65536]
        sims = queries @ np.asarray(vectors[block_ids], dtype=np.float32).T
        all_s = np.concatenate([best_s, sims], axis=1)
        all_i = np.concatenate([best_i, np.broadcast_to(block_ids, sims.shape)], axis=1)
        top = np.argpartition(-all_s, k - 1, axis=1)[:, :k]
        best_s = np.take_along_axis(all_s, top, 1)
        best_i = np.take_along_axis(all_i, top, 1)
    return best_i


def _ivf(vectors: np.ndarray, ids: np.ndarray, rng: np.random.Generator) -> tuple[faiss.Index, dict]:
    dim = vectors.shape[1]
    n = len(ids)
    nlist = int(min(4096, max(16, 2 * np.sqrt(n))))
    train_ids = np.sort(rng.choice(ids, size=min(n, TRAIN_PER_LIST * nlist), replace=False))
    quantizer = faiss.IndexFlatIP(dim)
    index = faiss.IndexIVFFlat(quantizer, dim, nlist, faiss.METRIC_INNER_PRODUCT)
    index.cp.seed = SEED
    index.cp.niter = KMEANS_ITERS
    index.train(np.ascontiguousarray(vectors[train_ids], dtype=np.float32))
    for s in range(0, n, 65536):
        index.add_with_ids(np.ascontiguousarray(vectors[ids[s : s + 65536]], dtype=np.float32), ids[s : s + 65536])
    # tune nprobe on held-out-like queries: items of this category, as their own queries
    q_ids = np.sort(rng.choice(ids, size=min(TUNE_QUERIES, n), replace=False))
    queries = np.ascontiguousarray(vectors[q_ids], dtype=np.float32)
    k = min(RECALL_K, n)
    truth = _exact_topk(vectors, ids, queries, k)
    nprobe, recall = 1, 0.0
    while True:
        index.nprobe = nprobe
        _, found = index.search(queries, k)
        recall = float(np.mean([len(set(a) & set(b)) / k for a, b in zip(found, truth)]))
        if recall >= TARGET_RECALL or nprobe >= nlist:
            break
        nprobe *= 2
    return index, {"kind": "ivf", "nlist": nlist, "nprobe": nprobe, "recall_at_50": round(recall, 4)}


def build_indexes(
    vectors: np.ndarray, category_codes: np.ndarray, categories: Sequence[str], out_dir: Path, *, kind: str = "auto"
) -> dict:
    """Write one index per category present; return their description for the manifest."""
    if kind not in ("auto", "flat", "ivf"):
        raise ValueError(f"index kind must be auto, flat or ivf, not {kind!r}")
    out_dir.mkdir(parents=True, exist_ok=True)
    codes = np.asarray(category_codes)
    rng = np.random.default_rng(SEED)
    per_cat = {}
    for code, cat in enumerate(categories):
        ids = np.flatnonzero(codes == code).astype(np.int64)
        if not len(ids):
            continue
        use_ivf = kind == "ivf" or (kind == "auto" and len(ids) > EXACT_MAX)
        if use_ivf and len(ids) >= 1000:
            index, info = _ivf(vectors, ids, rng)
        else:
            index, info = _flat(vectors, ids), {"kind": "flat"}
        faiss.write_index(index, str(out_dir / f"cat-{cat}.faiss"))
        per_cat[cat] = {"n": int(len(ids)), "file": f"cat-{cat}.faiss", **info}
        del index
    return {"metric": "inner_product", "exact_max": EXACT_MAX, "per_category": per_cat}


@dataclass
class Indexes:
    per_category: dict[str, faiss.Index]
    info: dict[str, dict] = field(default_factory=dict)

    @classmethod
    def load(cls, index_dir: Path, info: dict) -> "Indexes":
        # One query at a time: OpenMP threads only add contention (measured 4x slower at 100 k
        # items on 2 busy cores). Concurrency comes from serving workers, not from one search.
        faiss.omp_set_num_threads(int(os.environ.get("STYGIG_SEARCH_THREADS", "1")))
        per, meta = {}, info.get("per_category", {})
        override = os.environ.get("STYGIG_NPROBE")
        for cat, d in meta.items():
            index = faiss.read_index(str(index_dir / d["file"]), faiss.IO_FLAG_MMAP_IFC)
            if d.get("kind") == "ivf":
                faiss.extract_index_ivf(index).nprobe = int(override) if override else int(d["nprobe"])
            per[cat] = index
        return cls(per, meta)

    @staticmethod
    def search(index: faiss.Index, query: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Top-``k`` (scores, rows) for one query vector; ties broken by row for determinism."""
        k = min(k, index.ntotal)
        if k <= 0:
            return np.zeros(0, np.float32), np.zeros(0, np.int64)
        scores, ids = index.search(np.ascontiguousarray(query.reshape(1, -1), dtype=np.float32), k)
        scores, ids = scores[0], ids[0]
        keep = ids >= 0
        scores, ids = scores[keep], ids[keep]
        order = np.lexsort((ids, -np.round(scores, 6)))
        return scores[order], ids[order]
