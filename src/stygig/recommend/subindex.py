"""Sub-indexes of a filter's passing rows, for the filters a shop uses again (issue 14.2).

Within a filter that passes a fraction ``f`` of an IVF category, retrieval probes
``PROBE_FACTOR * nprobe / f`` lists (:mod:`stygig.recommend.retrieve`) and FAISS walks every entry
of each through the ID selector, though only ``f`` of them pass: measured on
``benchmarks/filters.py``'s synthetic 1 M catalog (50 k items a category, 447 lists, ``nprobe`` 2,
f = 0.1, one thread), 0.43 ms a search against 0.12 ms unfiltered.

A sub-index is an ``IndexIVFFlat`` over the category's own trained centroids (its quantizer shared,
not copied) whose lists hold only the passing rows, with the same vectors. Probing the same lists,
it finds the same candidates as the selector search at close to an unfiltered search's cost
(inside the engine at 1 M: 0.28 ms a search at 50 lists against 0.15 ms unfiltered, where the
selector search took 0.55 ms). It costs ``f`` of the category's vectors in memory (4 bytes a
dimension, 8 an id) and 10-30 ms to make, so it is made on a thread beside the requests, for a
category the second time a (cached) filter searches it, only where the filter is selective
(:data:`MAX_FRACTION`), and only within the process's budget (``STYGIG_FILTER_INDEX_MB``); past
it, searches keep the selector. A sub-index lives as long as the filter's cached mask (its bytes
return to the budget when the mask is dropped or a new overlay replaces it).
"""

from __future__ import annotations

import os
import queue
import threading
import weakref
from typing import Protocol

import faiss
import numpy as np

from stygig import settings
from stygig.artifact.index import Indexes

#: a category whose filter passes more than this fraction keeps the selector search: it probes
#: few lists (``PROBE_FACTOR * nprobe / f``) and its sub-index would copy much of the category
MAX_FRACTION = 0.25
#: a category's sub-index is asked for the time a filter searches it this often (the first search
#: of a new filter does not pay for a copy it may never use again)
AFTER_SEARCHES = 2


class Wants(Protocol):
    """What asks for sub-indexes: a filter's pass mask, told when one is ready."""

    mask: np.ndarray

    def made(self, code: int, sub: faiss.Index | None, nbytes: int) -> None: ...


class SubIndexer:
    """Makes sub-indexes of one artifact's IVF categories on a thread of its own (a request never
    waits for one: it searches with the selector until the sub-index is in), within one memory
    budget. A sub-index is made one category at a time (10-30 ms each at 50 k items a category)."""

    def __init__(self, indexes: Indexes, budget_bytes: int | None = None):
        self.indexes = indexes
        self.budget = int(settings.FILTER_INDEX_MB.read()) << 20 if budget_bytes is None else int(budget_bytes)
        self.used = 0
        self._lock = threading.Lock()
        self._queue: queue.Queue = queue.Queue()
        self._thread: threading.Thread | None = None
        self._pid = 0

    def ask(self, wants: Wants, category: str, code: int) -> None:
        """Make ``category``'s sub-index of ``wants.mask`` in the background, then hand it to
        ``wants.made`` (None when it would not fit the budget)."""
        with self._lock:
            if self._thread is None or self._pid != os.getpid() or not self._thread.is_alive():
                self._pid = os.getpid()  # a forked worker starts its own thread
                self._thread = threading.Thread(target=self._run, name="stygig-subindex", daemon=True)
                self._thread.start()
        self._queue.put((weakref.ref(wants), category, code))

    def wait(self) -> None:
        """Until every sub-index asked for so far is made (or refused)."""
        self._queue.join()

    def _run(self) -> None:
        while True:
            ref, category, code = self._queue.get()
            try:
                wants = ref()
                if wants is not None:  # its filter is still cached
                    made = self.make(category, wants.mask)
                    wants.made(code, *(made or (None, 0)))
            finally:
                wants = None  # not kept while waiting: a dropped filter gives its bytes back
                self._queue.task_done()

    def make(self, category: str, mask: np.ndarray) -> tuple[faiss.Index, int] | None:
        """The sub-index of ``category`` holding its rows where ``mask`` is True, and its bytes
        (taken from the budget); None when it would not fit (or the category is not IVF)."""
        index = self.indexes.per_category[category]
        ivf = faiss.try_extract_index_ivf(index)
        if ivf is None:
            return None
        inv, size = ivf.invlists, ivf.code_size
        codes, ids, lists = [], [], []
        for lst in range(ivf.nlist):  # each list's passing entries, its codes copied as they are
            n = inv.list_size(lst)
            if not n:
                continue
            rows = faiss.rev_swig_ptr(inv.get_ids(lst), n)
            keep = mask[rows]
            if keep.any():
                codes.append(faiss.rev_swig_ptr(inv.get_codes(lst), n * size).reshape(n, size)[keep])
                ids.append(rows[keep])
                lists.append(np.full(len(ids[-1]), lst, dtype=np.int64))
        n = sum(len(i) for i in ids)
        nbytes = n * (size + 8)
        with self._lock:
            if not n or self.used + nbytes > self.budget:
                return None
            self.used += nbytes
        x = np.ascontiguousarray(np.concatenate(codes)).view(np.float32)
        xids = np.ascontiguousarray(np.concatenate(ids), dtype=np.int64)
        assign = np.concatenate(lists)
        # the quantizer stays the category index's (self.indexes holds it as long as this lives)
        sub = faiss.IndexIVFFlat(ivf.quantizer, ivf.d, ivf.nlist, ivf.metric_type)
        sub.is_trained = True
        sub.add_core(n, faiss.swig_ptr(x), faiss.swig_ptr(xids), faiss.swig_ptr(assign))
        return sub, nbytes

    def release(self, nbytes: int) -> None:
        with self._lock:
            self.used -= nbytes
