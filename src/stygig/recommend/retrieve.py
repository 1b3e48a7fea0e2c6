"""Candidates: each complementary category's nearest items, through that category's FAISS index.

Retrieval is per category (one index each, see :mod:`stygig.artifact.index`), so a shirt's trousers are
searched among trousers and shoes are never starved by look-alike tops. :class:`Filters` say what
a candidate must pass. Attribute filters (:mod:`stygig.recommend.filters`) run *inside* the search:
:class:`Allowed` is their rows as a FAISS ``IDSelectorBitmap`` in the search's parameters, so
each category's top ``k`` are the top ``k`` of its items that pass — never a post-filter of a fixed
pool that a selective filter would empty. An IVF index probes ``PROBE_FACTOR * nprobe / f`` lists
when a fraction ``f`` of its category passes (all of them when few do: then the search is exact); a
filter that searches a category again does so in a sub-index of its passing rows where it is
selective (:mod:`stygig.recommend.subindex`), the same candidates at about an unfiltered search's
cost. The other filters (gender, the
excluded ids, the query itself) are applied to the results, the search widened by the exclusions.
:func:`search_category` is the one place a search runs.
"""

from __future__ import annotations

import math
import threading
import weakref
from dataclasses import dataclass
from typing import Sequence

import faiss
import numpy as np

from stygig.artifact.index import Indexes
from stygig.recommend.subindex import AFTER_SEARCHES, MAX_FRACTION, SubIndexer
from stygig.taxonomy import GENDERS

#: cosine at or above which a candidate is taken for the query itself (the same photo)
NEAR_DUPLICATE = 0.985


@dataclass(frozen=True)
class Filters:
    """What every candidate must pass."""

    #: the user's gender: a hard filter (male -> male + unisex items, female -> female + unisex)
    gender: str | None = None
    #: item ids never to recommend
    exclude_ids: tuple[str, ...] = ()
    #: catalog rows never to recommend (the query's own items)
    exclude_rows: tuple[int, ...] = ()
    #: drop candidates this similar to the query vector (None: keep them)
    near_duplicate: float | None = NEAR_DUPLICATE
    #: the rows the request's attribute filters let through (None: every row), searched within
    allowed: "Allowed | None" = None

    @property
    def widen(self) -> int:
        """How many more candidates to ask each search for, to make up for those filtered after it."""
        return len(self.exclude_ids)

    def keep(self, sims: np.ndarray, rows: np.ndarray, gender_codes: np.ndarray, ids: np.ndarray) -> np.ndarray:
        """Boolean mask of the candidates (scores, rows, their gender codes) that pass;
        ``ids`` is the artifact's sorted id column."""
        keep = sims < self.near_duplicate if self.near_duplicate is not None else np.ones(len(rows), dtype=bool)
        for r in self.exclude_rows:
            keep &= rows != r
        if self.gender in ("male", "female"):
            keep &= (gender_codes == GENDERS.index(self.gender)) | (gender_codes == GENDERS.index("unisex"))
        if self.exclude_ids:
            excluded = np.array([e.encode("utf-8") for e in self.exclude_ids], dtype=ids.dtype)
            keep &= ~np.isin(np.asarray(ids)[rows], excluded)
        return keep


@dataclass(slots=True)
class Candidates:
    """Filtered candidates, in each category's search order, categories in the order searched."""

    #: (n,) float32 cosine with the query vector, as the index computed it; (n_pieces, n) from
    #: :func:`candidates_for_all`: the cosine with each query piece
    sims: np.ndarray
    #: (n,) int64 catalog rows
    rows: np.ndarray
    #: (n,) int64 position of the candidate's category in the list searched
    slot: np.ndarray
    #: (n,) gender codes of the candidates
    genders: np.ndarray

    def __len__(self) -> int:
        return len(self.rows)


#: an IVF search within a fraction ``f`` of its category probes ``PROBE_FACTOR * nprobe / f`` lists:
#: the filtered top 50 lie as deep in the category's ranking as its unfiltered top ``50 / f``, so
#: ``nprobe / f`` alone (as many passing items met as unfiltered items) measured recall@50 0.87 at
#: f = 0.1 on benchmarks/filters.py's 1 M catalog; in sub-indexes of the passing rows (6 categories,
#: 150 queries each) ``2 nprobe / f`` 0.963 (worst category 0.948), ``2.5 nprobe / f`` 0.976 (0.964),
#: ``3 nprobe / f`` 0.983 (0.972), each list probed costing more memory traffic
PROBE_FACTOR = 2.5


class Allowed:
    """The rows an attribute filter lets through, as FAISS searches within them.

    With a :class:`~stygig.recommend.subindex.SubIndexer`, a selective IVF category searched
    again is searched in a sub-index of its passing rows; each category's index and parameters
    are made once (:meth:`plan`)."""

    def __init__(self, mask: np.ndarray, category_codes: np.ndarray, n_categories: int,
                 subindexer: SubIndexer | None = None):
        self.mask = mask
        self.n = int(mask.sum())
        #: passing rows per category code
        self.per_category = np.bincount(np.asarray(category_codes)[mask], minlength=n_categories)
        self._bits = np.packbits(mask, bitorder="little")  # kept alive: the selector points into it
        self.selector = faiss.IDSelectorBitmap(len(mask), faiss.swig_ptr(self._bits))
        self._subindexer = subindexer
        #: category code -> (the index searched, its parameters), once settled
        self._plans: dict[int, tuple[faiss.Index, faiss.SearchParameters]] = {}
        #: category code -> the selector search's (index, parameters), until a sub-index settles it
        self._selector: dict[int, tuple[faiss.Index, faiss.SearchParameters]] = {}
        #: category code -> lists an IVF search within this filter probes
        self._probe: dict[int, int] = {}
        self._searches = [0] * n_categories
        self._asked: set[int] = set()
        self._subindexed: set[int] = set()
        self._lock = threading.Lock()
        #: bytes of this filter's sub-indexes, returned to the budget when it is dropped
        self._reserved = [0]
        if subindexer is not None:
            weakref.finalize(self, _release, subindexer, self._reserved)

    @property
    def subindexed(self) -> int:
        """How many categories search a sub-index of this filter's rows."""
        return len(self._subindexed)

    def plan(self, category: str, code: int, index: faiss.Index) -> tuple[faiss.Index, faiss.SearchParameters]:
        """The index to search for ``category`` (of taxonomy ``code``, its index ``index``) and the
        search's parameters."""
        got = self._plans.get(code)
        if got is not None:
            return got
        with self._lock:
            selector = self._selector.get(code)
            if selector is None:
                selector = self._selector[code] = self._selector_plan(index, code)
                if self._subindexer is None or code not in self._probe \
                        or self.per_category[code] > MAX_FRACTION * index.ntotal:
                    self._plans[code] = selector  # settled: no sub-index for this one
                    return selector
            self._searches[code] += 1
            n = self._searches[code]
            # asked for at the second search; if the budget was full, again at 4, 8, 16, ...
            ask = n >= AFTER_SEARCHES and not n & (n - 1) and code not in self._asked
            if ask:
                self._asked.add(code)
        if ask:
            self._subindexer.ask(self, category, code)
        return selector

    def _selector_plan(self, index: faiss.Index, code: int) -> tuple[faiss.Index, faiss.SearchParameters]:
        try:
            ivf = faiss.extract_index_ivf(index)
        except RuntimeError:  # an exact index: every passing row is compared
            return index, faiss.SearchParameters(sel=self.selector)
        passing = int(self.per_category[code])
        probe = self._probe[code] = min(ivf.nlist, math.ceil(PROBE_FACTOR * ivf.nprobe * index.ntotal / max(passing, 1)))
        return index, faiss.SearchParametersIVF(sel=self.selector, nprobe=probe)

    def made(self, code: int, sub: faiss.Index | None, nbytes: int) -> None:
        """Search ``sub``, a sub-index of this filter's rows of category ``code``, from now on (its
        lists probed as the selector search probes them: the same candidates); None: refused."""
        with self._lock:
            self._asked.discard(code)
            if sub is not None:
                self._reserved[0] += nbytes
                self._subindexed.add(code)
                self._plans[code] = (sub, faiss.SearchParametersIVF(nprobe=self._probe[code]))


def _release(subindexer: SubIndexer, reserved: list[int]) -> None:
    subindexer.release(reserved[0])


def search_category(indexes: Indexes, category: str, query: np.ndarray, k: int, allowed: Allowed | None = None,
                    code: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The top-``k`` (scores, rows) of one category (of taxonomy ``code``), in FAISS's order;
    with ``allowed``, the top ``k`` of its allowed rows."""
    index = indexes.per_category[category]
    if allowed is None:
        return Indexes.candidates(index, query, k)
    passing = int(allowed.per_category[code])
    k = min(k, passing)
    if k <= 0:
        return np.zeros(0, np.float32), np.zeros(0, np.int64)
    searched, params = allowed.plan(category, code, index)
    scores, ids = searched.search(query.reshape(1, -1), k, params=params)
    keep = ids[0] >= 0
    return scores[0][keep], ids[0][keep]


def candidates(
    indexes: Indexes, items, query: np.ndarray, categories: Sequence[str], k: int, filters: Filters
) -> Candidates:
    """Up to ``k`` candidates of each category (before filtering) that pass ``filters``."""
    q = np.ascontiguousarray(query, dtype=np.float32)
    if not categories:
        empty = np.zeros(0, np.int64)
        return Candidates(np.zeros(0, np.float32), empty, empty, empty)
    kk = k + filters.widen
    codes = [items.categories.index(cat) for cat in categories] if filters.allowed is not None else [None] * len(categories)
    found = [search_category(indexes, cat, q, kk, filters.allowed, code) for cat, code in zip(categories, codes)]
    sims = np.concatenate([f[0] for f in found])
    rows = np.concatenate([f[1] for f in found])
    slot = np.repeat(np.arange(len(found), dtype=np.int64), [len(f[1]) for f in found])
    gcodes = np.asarray(items.gender_codes)[rows]
    keep = filters.keep(sims, rows, gcodes, items.ids)
    return Candidates(sims[keep], rows[keep], slot[keep], gcodes[keep])


def candidates_for_all(
    indexes: Indexes, items, vectors: np.ndarray, queries: Sequence[np.ndarray], categories: Sequence[str], k: int,
    filters: Filters,
) -> Candidates:
    """Candidates for several query pieces: each piece's :func:`candidates` (up to ``k`` of each
    category before filtering), merged, with ``sims`` (n_pieces, n): each candidate's cosine with
    every piece (from the artifact's ``vectors``). A candidate as similar as :attr:`Filters.near_duplicate` to *any* piece is left
    out. One piece: :func:`candidates` itself, its index similarities as the one row."""
    if len(queries) == 1:
        one = candidates(indexes, items, queries[0], categories, k, filters)
        return Candidates(one.sims[None, :], one.rows, one.slot, one.genders)
    found = [candidates(indexes, items, q, categories, k, filters) for q in queries]
    rows = np.concatenate([f.rows for f in found])
    slot = np.concatenate([f.slot for f in found])
    genders = np.concatenate([f.genders for f in found])
    # each row once, in (slot, row) order: the result does not depend on which piece found it first
    _, first = np.unique(slot * (int(rows.max(initial=0)) + 1) + rows, return_index=True)
    rows, slot, genders = rows[first], slot[first], genders[first]
    q = np.stack([np.asarray(v, dtype=np.float32) for v in queries])
    vecs = np.asarray(vectors[rows], dtype=np.float32)
    sims = (q @ vecs.T).astype(np.float32)
    if filters.near_duplicate is not None:
        keep = (sims < filters.near_duplicate).all(axis=0)
        sims, rows, slot, genders = sims[:, keep], rows[keep], slot[keep], genders[keep]
    return Candidates(sims, rows, slot, genders)


def search_all(indexes: Indexes, query: np.ndarray, k: int, categories: Sequence[str]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Each category's top-``k`` (scores, rows), ties broken by row."""
    return {c: Indexes.search(indexes.per_category[c], query, k) for c in categories if c in indexes.per_category}


def nearest(hits: dict[str, tuple[np.ndarray, np.ndarray]], k: int, exclude_row: int | None) -> tuple[np.ndarray, np.ndarray]:
    """The global top-``k`` from each category's top hits (exact for exact indexes)."""
    if not hits:
        return np.zeros(0, np.float32), np.zeros(0, np.int64)
    scores = np.concatenate([h[0] for h in hits.values()])
    rows = np.concatenate([h[1] for h in hits.values()])
    keep = rows != (-1 if exclude_row is None else exclude_row)
    scores, rows = scores[keep], rows[keep]
    order = np.lexsort((rows, -np.round(scores, 6)))[:k]
    return scores[order], rows[order]
