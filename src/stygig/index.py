"""Vector indexes: one FAISS inner-product index over every item, and one per category.

Vectors are L2-normalised, so inner product is cosine similarity. The global index answers the
neighbour vote that decides a query's category; the per-category indexes find the best
candidates *within* each complementary category, so that an outfit gets shoes and bags even when
every near neighbour of a shirt is another top, and a query's cost does not grow with the items
of categories it does not search.

Files (under ``index/`` in the artifact): ``all.faiss`` and ``cat-<category>.faiss``, each an
``IndexIDMap2`` whose ids are the items' rows in ``vectors.npy``. FAISS's own serialisation is
plain data (no code), read with ``faiss.read_index``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import faiss
import numpy as np


def _flat(vectors: np.ndarray, ids: np.ndarray) -> faiss.Index:
    dim = vectors.shape[1]
    index = faiss.IndexIDMap2(faiss.IndexFlatIP(dim))
    if len(ids):
        index.add_with_ids(np.ascontiguousarray(vectors, dtype=np.float32), ids.astype(np.int64))
    return index


def build_indexes(vectors: np.ndarray, categories: Sequence[str], out_dir: Path) -> dict:
    """Write the global and per-category indexes; return their description for the manifest."""
    out_dir.mkdir(parents=True, exist_ok=True)
    rows = np.arange(len(categories), dtype=np.int64)
    faiss.write_index(_flat(vectors, rows), str(out_dir / "all.faiss"))
    cats = np.asarray(categories)
    per_cat = {}
    for cat in sorted(set(categories)):
        sel = rows[cats == cat]
        faiss.write_index(_flat(vectors[sel], sel), str(out_dir / f"cat-{cat}.faiss"))
        per_cat[cat] = int(len(sel))
    return {"type": "flat-ip", "metric": "inner_product", "global": "all.faiss", "per_category": per_cat}


@dataclass
class Indexes:
    all: faiss.Index
    per_category: dict[str, faiss.Index]

    @classmethod
    def load(cls, index_dir: Path, categories: Sequence[str]) -> "Indexes":
        all_index = faiss.read_index(str(index_dir / "all.faiss"))
        per = {c: faiss.read_index(str(index_dir / f"cat-{c}.faiss")) for c in categories}
        return cls(all_index, per)

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
