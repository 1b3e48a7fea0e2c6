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

* ``flat``: exact search (``IndexIDMap2(IndexFlatIP)``) — while it is as fast as IVF (up to
  ``EXACT_MAX`` items; measured on 2 cores, nine categories searched per query: exact and IVF
  break even between 2,000 and 3,000 items per category, and at 8,000 exact search is over twice as
  slow);
* ``ivf``: ``IndexIVFFlat`` with ``nlist ~ 2 sqrt(n)`` trained (10 k-means iterations) on a
  seeded sample of 40 items per list; ``nprobe`` is
  the smallest power of two whose recall@50 against exact search, measured at build on held-out
  items of that category, reaches ``TARGET_RECALL``. Recorded in the manifest; overridable at
  load with ``STYGIG_NPROBE``.

``stygig update`` (:func:`update_indexes`) rebuilds only the categories that changed: the others
keep their file (its ids renumbered when rows moved), and an IVF category keeps its trained
centroids while its measured recall holds.

Indexes are read with ``IO_FLAG_MMAP_IFC``: memory-mapped, not copied, so a large artifact loads in
milliseconds. FAISS's serialisation is plain data (no code).
"""

from __future__ import annotations

import hashlib
import os
import shutil
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import faiss
import numpy as np

from stygig import settings

EXACT_MAX = 2_500
TARGET_RECALL = 0.97
RECALL_K = 50
TRAIN_PER_LIST = 40
KMEANS_ITERS = 10
TUNE_QUERIES = 200
SEED = 1234
class VectorFile:
    """Rows of a float32 ``.npy`` read with plain file reads, in chunks.

    Building an index over a memory-mapped file would fault every page into the process's
    resident set (2 GB at 1 M x 512); reading chunks keeps peak memory to the indexes
    themselves plus one chunk.
    """

    def __init__(self, path: Path):
        self.path = Path(path)
        with open(self.path, "rb") as f:
            version = np.lib.format.read_magic(f)
            read = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
            shape, fortran, dtype = read(f)
            self.offset = f.tell()
        if fortran or dtype != np.float32 or len(shape) != 2:
            raise ValueError(f"{path}: expected a C-ordered float32 (n, dim) array")
        self.n, self.dim = shape

    def chunks(self, size: int = 32768):
        with open(self.path, "rb") as f:
            f.seek(self.offset)
            for start in range(0, self.n, size):
                rows = min(size, self.n - start)
                buf = np.empty((rows, self.dim), dtype=np.float32)
                f.readinto(memoryview(buf).cast("B"))
                yield start, buf

    def rows(self, wanted: np.ndarray) -> np.ndarray:
        """The given (sorted) rows, gathered in one sequential pass."""
        wanted = np.asarray(wanted, dtype=np.int64)
        out = np.empty((len(wanted), self.dim), dtype=np.float32)
        for start, buf in self.chunks():
            lo, hi = np.searchsorted(wanted, [start, start + len(buf)])
            if hi > lo:
                out[lo:hi] = buf[wanted[lo:hi] - start]
        return out


#: exact neighbours kept per tuning query (``cat-X.tuning.npy``): RECALL_K and a margin for the
#: neighbours later updates remove, so that an update measures recall without an exact search
TUNE_KEEP = 64


def tuning_file(category: str) -> str:
    """The file (beside the category's index) of an IVF category's tuning queries and their exact
    neighbours."""
    return f"cat-{category}.tuning.npy"


OWN, CROSS = 0, 1  # a tuning query drawn from the category itself, or from the others


@dataclass
class Tuning:
    """An IVF category's tuning queries — the vectors of items drawn half from the category
    (``OWN``), half from the others (``CROSS``), as the engine searches — and each one's exact
    nearest items in the category, best first.

    Row ``i`` of ``rows``/``scores`` is the exact top of the category for query ``i`` as far as it
    goes (``-1``/``-inf`` pad it); every item it does not list scores at most ``floor[i]``
    (``-inf``: it lists them all). ``sources`` are the rows of the items the queries are
    (``-1``: an item since removed or changed). Kept in the artifact so that ``stygig update``
    brings it up to date from the items removed and added (:meth:`merged`,
    :func:`_refreshed_tuning`) instead of an exact search of the whole category: measured at
    100 k items, that search was 36 ms of the 70 ms an updated category cost. Stored as one
    structured ``.npy`` (plain data: no pickle; byte-identical for the same input).
    """

    queries: np.ndarray  # float32 (q, dim)
    sources: np.ndarray  # int64 (q,)
    groups: np.ndarray  # uint8 (q,): OWN or CROSS
    rows: np.ndarray  # int64 (q, TUNE_KEEP)
    scores: np.ndarray  # float32 (q, TUNE_KEEP)
    floor: np.ndarray  # float32 (q,)

    @classmethod
    def exact(cls, queries: np.ndarray, sources: np.ndarray, groups: np.ndarray, scores: np.ndarray,
              rows: np.ndarray, n: int) -> "Tuning":
        """From an exact search of a category of ``n`` items (scores best first, FAISS's ``-1``
        where it found fewer)."""
        q, have = len(queries), min(scores.shape[1], TUNE_KEEP)
        out_rows = np.full((q, TUNE_KEEP), -1, dtype=np.int64)
        out_scores = np.full((q, TUNE_KEEP), -np.inf, dtype=np.float32)
        out_rows[:, :have], out_scores[:, :have] = rows[:, :have], scores[:, :have]
        out_scores[out_rows < 0] = -np.inf
        floor = np.full(q, -np.inf, dtype=np.float32)
        if n > have:  # the others score no more than the last one listed
            floor = out_scores[:, have - 1].copy()
        return cls(np.ascontiguousarray(queries, dtype=np.float32), np.asarray(sources, dtype=np.int64),
                   np.asarray(groups, dtype=np.uint8), out_rows, out_scores, floor)

    def __len__(self) -> int:
        return len(self.queries)

    def take(self, which: np.ndarray) -> "Tuning":
        return Tuning(self.queries[which], self.sources[which], self.groups[which], self.rows[which],
                      self.scores[which], self.floor[which])

    @staticmethod
    def concatenate(parts: "Sequence[Tuning]") -> "Tuning":
        return Tuning(*(np.concatenate([getattr(t, f) for t in parts]) for f in
                        ("queries", "sources", "groups", "rows", "scores", "floor")))

    def complete_to(self, k: int) -> np.ndarray:
        """Which queries list their exact top ``k``."""
        return (self.rows[:, :k] >= 0).all(axis=1)

    def renumbered(self, row_map: np.ndarray, stale: np.ndarray) -> "Tuning":
        """The same neighbours under the new row numbers (``row_map``); a query whose item is
        ``stale`` (removed or re-embedded: a boolean mask over the old rows) keeps its vector, its
        source becomes -1."""
        rows = np.where(self.rows >= 0, row_map[np.maximum(self.rows, 0)], -1)
        alive = self.sources >= 0
        alive[alive] = ~stale[self.sources[alive]]
        sources = np.where(alive, row_map[np.maximum(self.sources, 0)], -1)
        return Tuning(self.queries, sources, self.groups, rows, self.scores, self.floor)

    def merged(self, stale: np.ndarray, row_map: np.ndarray, added: np.ndarray, added_vectors: np.ndarray) -> "Tuning":
        """The tuning of the category after an update: its ``stale`` old rows (a boolean mask over
        the old rows) dropped, the others renumbered (``row_map``), the ``added`` new rows (with
        their vectors) scored against every query and merged in. What stays listed is what is
        still provably exact: the items scoring at least the old floor. A query whose item is
        stale keeps its vector, its source becomes -1."""
        listed = self.rows >= 0
        listed[listed] = ~stale[self.rows[listed]]
        rows = np.where(listed, row_map[np.maximum(self.rows, 0)], -1)
        scores = np.where(listed, self.scores, np.float32(-np.inf)).astype(np.float32)
        if len(added):
            more = np.ascontiguousarray(self.queries @ np.ascontiguousarray(added_vectors, dtype=np.float32).T,
                                        dtype=np.float32)
            rows = np.hstack([rows, np.broadcast_to(np.asarray(added, dtype=np.int64), more.shape)])
            scores = np.hstack([scores, more])
        order = np.lexsort((rows, -scores))  # best first, then by row: the same input, the same file
        rows, scores = np.take_along_axis(rows, order, 1), np.take_along_axis(scores, order, 1)
        floor = self.floor.copy()
        if rows.shape[1] > TUNE_KEEP:  # those cut off join the unlisted
            floor = np.maximum(floor, scores[:, TUNE_KEEP])
        rows, scores = rows[:, :TUNE_KEEP].copy(), scores[:, :TUNE_KEEP].copy()
        unsure = np.cumsum((rows < 0) | (scores < self.floor[:, None]), axis=1) > 0  # the exact top is a prefix
        rows[unsure], scores[unsure] = -1, -np.inf
        return Tuning(self.queries, self.renumbered(row_map, stale).sources, self.groups, rows, scores, floor)

    def save(self, path: Path) -> None:
        q, dim = self.queries.shape
        table = np.empty(q, dtype=_tuning_dtype(dim))
        for name in _TUNING_FIELDS:
            table[name] = getattr(self, _TUNING_FIELDS[name])
        with open(path, "wb") as fh:
            np.save(fh, table, allow_pickle=False)

    @classmethod
    def load(cls, path: Path) -> "Tuning":
        table = np.load(path, allow_pickle=False)
        if tuple(table.dtype.names or ()) != tuple(_TUNING_FIELDS) or table.ndim != 1:
            raise ValueError(f"{path}: not a tuning table")
        return cls(**{attr: np.ascontiguousarray(table[name]) for name, attr in _TUNING_FIELDS.items()})


_TUNING_FIELDS = {"query": "queries", "source": "sources", "group": "groups", "rows": "rows", "scores": "scores",
                  "floor": "floor"}


def _tuning_dtype(dim: int) -> np.dtype:
    return np.dtype([("query", "<f4", (dim,)), ("source", "<i8"), ("group", "u1"), ("rows", "<i8", (TUNE_KEEP,)),
                     ("scores", "<f4", (TUNE_KEEP,)), ("floor", "<f4")])


def _nlist(n: int) -> int:
    return int(min(4096, max(16, 2 * np.sqrt(n))))


def wants_ivf(n: int, kind: str) -> bool:
    """Whether a category of ``n`` items gets an IVF index under ``--index kind``."""
    ivf = kind == "ivf" or (kind == "auto" and n > EXACT_MAX)
    return ivf and n >= 1000


def _recall(index: faiss.Index, queries: np.ndarray, k: int, nprobe: int) -> float:
    """recall@k of an IVF index probing ``nprobe`` lists against probing every list (exact)."""
    ivf = faiss.extract_index_ivf(index)
    ivf.nprobe = ivf.nlist
    _, truth = index.search(queries, k)
    ivf.nprobe = nprobe
    _, found = index.search(queries, k)
    return float(np.mean([len(set(a) & set(b)) / k for a, b in zip(found, truth)]))


def _tune_nprobe(index: faiss.Index, queries: np.ndarray, k: int, sources: np.ndarray,
                 groups: np.ndarray) -> tuple[int, float, Tuning]:
    """Smallest power-of-two nprobe whose recall@k against exhaustive search reaches the target,
    its recall, and the queries' exact neighbours (:class:`Tuning`)."""
    ivf = faiss.extract_index_ivf(index)
    ivf.nprobe = ivf.nlist  # every list: exact for IVF-Flat
    exact_scores, exact_rows = index.search(queries, max(k, TUNE_KEEP))
    tuning = Tuning.exact(queries, sources, groups, exact_scores, exact_rows, index.ntotal)
    truth = exact_rows[:, :k]
    nprobe = 1
    while True:
        ivf.nprobe = nprobe
        _, found = index.search(queries, k)
        recall = float(np.mean([len(set(a) & set(b)) / k for a, b in zip(found, truth)]))
        if recall >= TARGET_RECALL or nprobe >= ivf.nlist:
            return nprobe, recall, tuning
        nprobe = min(ivf.nlist, nprobe * 2)


def build_indexes(
    vectors: "np.ndarray | Path", category_codes: np.ndarray, categories: Sequence[str], out_dir: Path, *, kind: str = "auto"
) -> dict:
    """Write one index per category present; return their description for the manifest.

    ``vectors`` is the artifact's ``vectors.npy`` path (streamed) or an in-memory array.
    IVF indexes are trained on a seeded sample of their category, filled in one sequential pass
    over the vectors, and get the smallest ``nprobe`` whose recall@50 reaches ``TARGET_RECALL``
    on tuning queries drawn half from other categories (how the engine searches: a shirt
    looking for trousers) and half from the category itself.
    """
    if kind not in ("auto", "flat", "ivf"):
        raise ValueError(f"index kind must be auto, flat or ivf, not {kind!r}")
    if isinstance(vectors, (str, Path)):
        source = VectorFile(Path(vectors))
        dim = source.dim
    else:
        arr = np.asarray(vectors, dtype=np.float32)
        source, dim = None, arr.shape[1]
    out_dir.mkdir(parents=True, exist_ok=True)
    codes = np.asarray(category_codes)
    rng = np.random.default_rng(SEED)
    present = [(c, cat) for c, cat in enumerate(categories) if (codes == c).any()]
    plans: dict[int, dict] = {}
    sample_rows: list[np.ndarray] = []
    for code, cat in present:
        ids = np.flatnonzero(codes == code)
        ivf = wants_ivf(len(ids), kind)
        plan = {"cat": cat, "n": len(ids), "ivf": ivf}
        if ivf:
            nlist = _nlist(len(ids))
            plan["nlist"] = nlist
            plan["train"] = np.sort(rng.choice(ids, size=min(len(ids), TRAIN_PER_LIST * nlist), replace=False))
            plan["tune_own"] = np.sort(rng.choice(ids, size=min(TUNE_QUERIES // 2, len(ids)), replace=False))
            sample_rows += [plan["train"], plan["tune_own"]]
        plans[code] = plan
    sample = {}
    if sample_rows:
        wanted = np.unique(np.concatenate(sample_rows))
        got = source.rows(wanted) if source is not None else arr[wanted]
        sample = {"rows": wanted, "vectors": got}

    def take(rows: np.ndarray) -> np.ndarray:
        return sample["vectors"][np.searchsorted(sample["rows"], rows)]

    indexes: dict[int, faiss.Index] = {}
    for code, plan in plans.items():
        if plan["ivf"]:
            quantizer = faiss.IndexFlatIP(dim)
            index = faiss.IndexIVFFlat(quantizer, dim, plan["nlist"], faiss.METRIC_INNER_PRODUCT)
            index.cp.seed = SEED
            index.cp.niter = KMEANS_ITERS
            index.train(np.ascontiguousarray(take(plan["train"])))
        else:
            index = faiss.IndexIDMap2(faiss.IndexFlatIP(dim))
        indexes[code] = index
    # one sequential pass: every chunk's rows go to their category's index
    chunks = source.chunks() if source is not None else ((s, arr[s : s + 32768]) for s in range(0, len(arr), 32768))
    for start, buf in chunks:
        c = codes[start : start + len(buf)]
        for code, index in indexes.items():
            sel = np.flatnonzero(c == code)
            if len(sel):
                index.add_with_ids(np.ascontiguousarray(buf[sel]), (sel + start).astype(np.int64))
    per_cat = {}
    for code, plan in plans.items():
        index, cat = indexes[code], plan["cat"]
        info: dict = {"kind": "flat"}
        if plan["ivf"]:
            others = [p["tune_own"] for k, p in plans.items() if k != code and "tune_own" in p]
            pool = np.concatenate(others) if others else plan["tune_own"]
            cross = rng.choice(pool, size=min(len(pool), TUNE_QUERIES // 2), replace=False)
            sources = np.concatenate([plan["tune_own"], np.sort(cross)])
            groups = np.repeat(np.array([OWN, CROSS], dtype=np.uint8), [len(plan["tune_own"]), len(cross)])
            queries = np.ascontiguousarray(take(sources))
            nprobe, recall, tuning = _tune_nprobe(index, queries, min(RECALL_K, plan["n"]), sources, groups)
            faiss.extract_index_ivf(index).nprobe = nprobe
            tuning.save(out_dir / tuning_file(cat))
            info = {"kind": "ivf", "nlist": plan["nlist"], "nprobe": nprobe, "tuned_recall_at_50": round(recall, 4),
                    "tuning": tuning_file(cat)}
        faiss.write_index(index, str(out_dir / f"cat-{cat}.faiss"))
        per_cat[cat] = {"n": int(plan["n"]), "file": f"cat-{cat}.faiss", **info}
        indexes[code] = None  # free as we go
    return {"metric": "inner_product", "kind": kind, "exact_max": EXACT_MAX, "target_recall_at_50": TARGET_RECALL,
            "per_category": per_cat}


def update_indexes(
    vectors: Path, codes: np.ndarray, categories: Sequence[str], out_dir: Path, *, kind: str,
    old_dir: Path, old_info: dict, old_codes: np.ndarray, row_map: np.ndarray, stale: np.ndarray,
    digests: dict[str, str] | None = None, gather: Callable[[np.ndarray], np.ndarray] | None = None,
    file_ready: Callable[[], None] | None = None,
) -> tuple[dict, dict[str, str]]:
    """The indexes of an updated artifact (``stygig update``), rebuilding only what changed.

    ``row_map`` maps each row of the old artifact to its row in the new one (-1: gone);
    ``stale`` lists the old rows whose vector is not in the new artifact as it was (removed,
    re-embedded, or now of another category). A category changed when it lost a stale row or
    gained a row that is not one of its old ones. Per category:

    * not changed, same rows: the old file, hard-linked (``kept``);
    * not changed, rows moved (items added or removed before them): the old index with its
      ids renumbered, no vector touched (``renumbered``);
    * changed, IVF before and after: the old index, its trained centroids kept — the stale rows
      removed, the others renumbered, the new ones added to their nearest lists — while its
      recall@50 at the recorded ``nprobe``, measured as the build measures it (half the tuning
      queries from the category, half from the others), stays at ``TARGET_RECALL``
      (``updated``); when it falls below, by more than its measurement error (two standard
      errors over the queries), trained anew (``retrained``);
    * otherwise built as a build builds it (``rebuilt``: exact search, identical to a full
      build's; or a new IVF, ``trained``).

    Returns the manifest's index description and what was done, by category; ``digests``, when
    given, receives the sha256 of every file written here (by file name), hashed by a thread
    while the next category is worked on.

    ``gather(rows)``, when given, returns the vectors of the new artifact's ``rows`` before its
    ``vectors`` file is written (the update's writer fills it meanwhile); ``file_ready()`` is then
    called, and returns once that file is whole, before anything reads it (a category built
    anew).
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    hasher = ThreadPoolExecutor(max_workers=1)
    hashing: dict[str, Future] = {}

    def written(dest: Path) -> None:
        if digests is not None:
            hashing[dest.name] = hasher.submit(_sha256, dest)

    codes, old_codes = np.asarray(codes), np.asarray(old_codes)
    old_per = (old_info or {}).get("per_category", {})
    is_stale = np.zeros(len(old_codes), dtype=bool)
    is_stale[np.asarray(stale, dtype=np.int64)] = True
    rng = np.random.default_rng(SEED)
    actions: dict[str, str] = {}
    per_cat: dict[str, dict] = {}
    fresh: list[int] = []
    # small operations (tens of vectors added, 200 queries' nearest lists): FAISS's OpenMP
    # threads cost more than they save (measured: adding 40 vectors takes 25 ms with 2 threads,
    # 0.5 ms with one); the categories are worked on by a thread each instead (FAISS and numpy
    # let go of the GIL); a category trained anew below gets the OpenMP threads back
    todo: list[tuple[int, str, dict, np.ndarray, np.ndarray, np.ndarray, bool, np.ndarray | None]] = []
    for code, cat in enumerate(categories):
        rows = np.flatnonzero(codes == code)
        if not len(rows):
            continue
        old = old_per.get(cat)
        ivf = wants_ivf(len(rows), kind)
        before = np.flatnonzero(old_codes == code)
        kept = before[~is_stale[before]]
        added = np.setdiff1d(rows, row_map[kept], assume_unique=True)
        changed = len(kept) != len(before) or len(added) > 0
        if old is None or (old.get("kind") == "ivf") != ivf or (changed and not ivf):
            fresh.append(code)
            continue
        if not changed and np.array_equal(row_map[before], before):
            _link(old_dir / old["file"], out_dir / f"cat-{cat}.faiss")
            actions[cat] = "kept"
            per_cat[cat] = {**old, "file": f"cat-{cat}.faiss"}
            if old.get("tuning"):  # its cross-category queries' items may have moved or gone
                tuning = Tuning.load(old_dir / old["tuning"])
                now = tuning.renumbered(row_map, is_stale)
                if np.array_equal(now.sources, tuning.sources):
                    _link(old_dir / old["tuning"], out_dir / tuning_file(cat))
                else:
                    now.save(out_dir / tuning_file(cat))
                    written(out_dir / tuning_file(cat))
                per_cat[cat]["tuning"] = tuning_file(cat)
            continue
        todo.append((code, cat, old, rows, before, added, changed, None))
    # the tuning queries of an artifact that has none (made before they were kept), drawn in
    # category order from one seeded generator (as a build draws them)
    for k, (code, cat, old, rows, before, added, changed, _) in enumerate(todo):
        if changed and not old.get("tuning"):
            own = np.sort(rng.choice(rows, size=min(TUNE_QUERIES // 2, len(rows)), replace=False))
            pool = np.flatnonzero(codes != code)
            cross = np.sort(rng.choice(pool, size=min(len(pool), TUNE_QUERIES // 2), replace=False))
            todo[k] = (code, cat, old, rows, before, added, changed, np.concatenate([own, cross]))
    if gather is None:
        mapped = np.load(vectors, mmap_mode="r", allow_pickle=False) if todo else None

        def gather(rows: np.ndarray) -> np.ndarray:
            return np.ascontiguousarray(mapped[rows], dtype=np.float32)
    is_new = np.ones(len(codes), dtype=bool)  # the new rows that are not an old row as it was
    is_new[row_map[np.flatnonzero(~is_stale & (row_map >= 0))]] = False

    def one(job) -> tuple[str, dict | None]:
        """One category's old index brought up to date: (action, its manifest entry), or
        ("fresh", None) when its recall fell below the target."""
        code, cat, old, rows, before, added, changed, queries = job
        faiss.omp_set_num_threads(1)  # this thread's own setting: a new thread starts with every core
        dest = out_dir / f"cat-{cat}.faiss"
        index = faiss.read_index(str(old_dir / old["file"]))
        tuning = Tuning.load(old_dir / old["tuning"]) if old.get("tuning") else None
        if changed:
            gone = before[is_stale[before]]
            if len(gone):
                index.remove_ids(faiss.IDSelectorBatch(gone.astype(np.int64)))
        _renumber(index, row_map)
        entry = {**old, "file": dest.name}
        if not changed:
            faiss.write_index(index, str(dest))
            written(dest)
            if tuning is not None:
                save_tuning(tuning.renumbered(row_map, is_stale), cat, entry)
            return "renumbered", entry
        added_vectors = gather(added) if len(added) else np.zeros((0, index.d), dtype=np.float32)
        if len(added):
            index.add_with_ids(added_vectors, added.astype(np.int64))
        k, nprobe = min(RECALL_K, len(rows)), int(old["nprobe"])
        if not isinstance(faiss.downcast_index(index), faiss.IndexIVFFlat):  # not what a build writes
            recall, error, tuning = _recall(index, gather(queries), k, nprobe), 0.0, None
            entry.pop("tuning", None)
        else:
            if tuning is not None:  # the exact neighbours brought up to date from what changed
                tuning = _refreshed_tuning(tuning.merged(is_stale, row_map, added, added_vectors), index, code,
                                           codes, is_new, gather, k)
            else:  # an artifact from before they were kept: the queries drawn as a build draws them
                half = min(TUNE_QUERIES // 2, len(rows))
                groups = np.repeat(np.array([OWN, CROSS], dtype=np.uint8), [half, len(queries) - half])
                tuning = _exact_tuning(index, gather(queries), queries, groups)
            recall, error = _probed_recall(index, tuning, k, nprobe)
        if recall + 2 * error < TARGET_RECALL:
            return "fresh", None
        faiss.extract_index_ivf(index).nprobe = nprobe
        faiss.write_index(index, str(dest))
        written(dest)
        if tuning is not None:
            save_tuning(tuning, cat, entry)
        return "updated", {**entry, "n": len(rows), "tuned_recall_at_50": round(recall, 4)}

    def save_tuning(tuning: Tuning, cat: str, entry: dict) -> None:
        dest = out_dir / tuning_file(cat)
        tuning.save(dest)
        written(dest)
        entry["tuning"] = dest.name

    from threadpoolctl import threadpool_limits  # here: serving, which imports this module, does not need it

    # one OpenMP thread in each worker (set by each: OpenMP's setting is the calling thread's, and
    # a new thread starts with every core — until this was set there, each worker's FAISS calls ran
    # on two), and one BLAS thread per category's matrix products (two categories' products, each
    # on every core, thrash: measured 2.0 s against 2.8 s for the 100 k benchmark's update)
    with threadpool_limits(limits=1, user_api="blas"), \
            ThreadPoolExecutor(max_workers=max(1, min(2, os.cpu_count() or 1))) as pool:
        done = list(pool.map(one, todo))
    for (code, cat, *_), (what, entry) in zip(todo, done):
        if what == "fresh":
            fresh.append(code)
        else:
            actions[cat], per_cat[cat] = what, entry
    fresh.sort()
    if fresh:
        if file_ready is not None:
            file_ready()
        was_ivf = {categories[c] for c in fresh if old_per.get(categories[c], {}).get("kind") == "ivf"}
        masked = np.where(np.isin(codes, fresh), codes, np.iinfo(np.uint16).max).astype(codes.dtype)
        built = build_indexes(vectors, masked, categories, out_dir, kind=kind)
        for cat, info in built["per_category"].items():
            per_cat[cat] = info
            actions[cat] = ("retrained" if cat in was_ivf else "trained") if info["kind"] == "ivf" else "rebuilt"
    per_cat = {cat: per_cat[cat] for cat in categories if cat in per_cat}
    info = {"metric": "inner_product", "kind": kind, "exact_max": EXACT_MAX, "target_recall_at_50": TARGET_RECALL,
            "per_category": per_cat}
    if digests is not None:
        digests.update({name: f.result() for name, f in hashing.items()})
    hasher.shutdown()
    return info, {cat: actions[cat] for cat in per_cat}


def _sha256(path: Path) -> str:
    with open(path, "rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def _ivf_recall(index: faiss.Index, queries: np.ndarray, k: int, nprobe: int) -> tuple[float, float]:
    """recall@k of an IVF-Flat index probing ``nprobe`` lists against exact search, and its
    standard error over the queries (see :func:`_probed_recall`)."""
    if not isinstance(faiss.downcast_index(index), faiss.IndexIVFFlat):  # not what a build writes
        return _recall(index, queries, k, nprobe), 0.0
    return _probed_recall(index, _exact_tuning(index, queries), k, nprobe)


def _list_rows(ivf: faiss.IndexIVF, vectors: bool = False) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Every item of an IVF-Flat index: its id (row), its list, and (``vectors``) its vector."""
    lists, d = ivf.invlists, ivf.d
    ids = np.empty(ivf.ntotal, dtype=np.int64)
    owner = np.empty(ivf.ntotal, dtype=np.int64)
    x = np.empty((ivf.ntotal, d), dtype=np.float32) if vectors else None
    at = 0
    for i in range(ivf.nlist):
        size = lists.list_size(i)
        if size:
            ids[at : at + size] = faiss.rev_swig_ptr(lists.get_ids(i), size)
            owner[at : at + size] = i
            if x is not None:
                raw = faiss.rev_swig_ptr(lists.get_codes(i), size * lists.code_size)
                x[at : at + size] = np.frombuffer(raw, dtype=np.float32).reshape(size, d)
            at += size
    return ids, owner, x


def _exact_tuning(index: faiss.Index, queries: np.ndarray, sources: np.ndarray | None = None,
                  groups: np.ndarray | None = None) -> Tuning:
    """The queries' exact neighbours in an IVF-Flat index, from one matrix product over the
    lists' own vectors (many small ones cost far more), without a search."""
    ivf = faiss.extract_index_ivf(index)
    ids, _, x = _list_rows(ivf, vectors=True)
    keep = min(TUNE_KEEP, len(ids))
    scores = queries @ x.T
    top = np.argpartition(scores, len(ids) - keep, axis=1)[:, -keep:] if keep < len(ids) else \
        np.broadcast_to(np.arange(len(ids)), (len(queries), len(ids)))
    top_scores = np.take_along_axis(scores, top, 1)
    top_rows = ids[top]
    order = np.lexsort((top_rows, -top_scores))
    q = len(queries)
    return Tuning.exact(queries, sources if sources is not None else np.full(q, -1), groups if groups is not None
                        else np.zeros(q, np.uint8), np.take_along_axis(top_scores, order, 1).astype(np.float32),
                        np.take_along_axis(top_rows, order, 1), len(ids))


def _refreshed_tuning(tuning: Tuning, index: faiss.Index, code: int, codes: np.ndarray, is_new: np.ndarray,
                      gather: Callable[[np.ndarray], np.ndarray], k: int) -> Tuning:
    """An updated category's tuning queries (``tuning``, already :meth:`Tuning.merged`) made a
    sample of the catalog as it now is, so that the recall an update measures sees the items it
    brought: per group (own: the category's items; cross: the others' — the category's own when
    it is alone), of the ``TUNE_QUERIES // 2`` queries a uniform sample would hold, as many as
    a seeded hypergeometric draw gives are drawn from the group's new items (``is_new``), the
    rest kept from the queries whose items are still there (a seeded subset when there are too
    many; more of the carried items when too many went). New queries, and kept ones whose exact
    top ``k`` is no longer all listed, are searched exactly (every list probed: a handful of
    queries, not the 200 of a full measurement)."""
    rng = np.random.default_rng([SEED, code])
    own = codes == code
    kept_parts, new_sources, new_groups = [], [], []
    for group in (OWN, CROSS):
        population = own if group == OWN or own.all() else ~own
        mine = np.flatnonzero((tuning.groups == group) & (tuning.sources >= 0))
        mine = mine[population[tuning.sources[mine]]]
        fresh = np.flatnonzero(population & is_new)
        size = int(population.sum())
        want = min(TUNE_QUERIES // 2, size)
        drawn = int(rng.hypergeometric(len(fresh), size - len(fresh), want)) if want and len(fresh) else 0
        keep = want - drawn
        if len(mine) > keep:
            mine = np.sort(rng.choice(mine, size=keep, replace=False))
        chosen = [rng.choice(fresh, size=drawn, replace=False)] if drawn else []
        if len(mine) < keep:
            spare = population & ~is_new
            spare[tuning.sources[mine]] = False
            pool = np.flatnonzero(spare)
            chosen.append(rng.choice(pool, size=min(keep - len(mine), len(pool)), replace=False))
        kept_parts.append(tuning.take(mine))
        new_sources.append(np.sort(np.concatenate(chosen)) if chosen else np.zeros(0, np.int64))
        new_groups.append(np.full(len(new_sources[-1]), group, dtype=np.uint8))
    kept = Tuning.concatenate(kept_parts)
    redo = ~kept.complete_to(k)
    search_sources = np.concatenate([*new_sources, kept.sources[redo]]).astype(np.int64)
    parts = [kept.take(~redo)]
    if len(search_sources):
        queries = np.concatenate([gather(np.concatenate(new_sources).astype(np.int64)).reshape(-1, kept.queries.shape[1]),
                                  kept.queries[redo]])
        ivf = faiss.extract_index_ivf(index)
        scores, rows = index.search(np.ascontiguousarray(queries), min(TUNE_KEEP, index.ntotal),
                                    params=faiss.SearchParametersIVF(nprobe=ivf.nlist))  # every list: exact
        parts.append(Tuning.exact(queries, search_sources, np.concatenate([*new_groups, kept.groups[redo]]),
                                  scores, rows, index.ntotal))
    out = Tuning.concatenate(parts)
    return out.take(np.lexsort((out.sources, out.groups)))


def _probed_recall(index: faiss.Index, tuning: Tuning, k: int, nprobe: int) -> tuple[float, float]:
    """recall@k of an IVF-Flat index probing ``nprobe`` lists, for queries whose exact top ``k``
    ``tuning`` lists, and its standard error over the queries.

    Computed without searching the index: within the lists it probes, IVF-Flat ranks exactly, so
    an exact neighbour is found if and only if its list is among the query's ``nprobe`` nearest
    centroids."""
    ivf = faiss.extract_index_ivf(index)
    ids, owner, _ = _list_rows(ivf)
    list_of = np.empty(int(ids.max()) + 1 if len(ids) else 0, dtype=np.int64)  # row -> its list
    list_of[ids] = owner
    lists_of_top = list_of[tuning.rows[:, :k]]
    centroids = ivf.quantizer.reconstruct_n(0, ivf.nlist)
    is_probed = np.ones((len(tuning), ivf.nlist), dtype=bool)
    if nprobe < ivf.nlist:
        probed = np.argpartition(tuning.queries @ centroids.T, ivf.nlist - nprobe, axis=1)[:, -nprobe:]
        is_probed[:] = False
        np.put_along_axis(is_probed, probed, True, axis=1)
    per_query = np.take_along_axis(is_probed, lists_of_top, axis=1).mean(axis=1)
    return float(per_query.mean()), float(per_query.std(ddof=1) / np.sqrt(len(per_query))) if len(per_query) > 1 else 0.0


def _link(src: Path, dest: Path) -> None:
    try:
        os.link(src, dest)
    except OSError:
        shutil.copyfile(src, dest)


def _renumber(index: faiss.Index, row_map: np.ndarray) -> None:
    """Rewrite an index's ids (old rows) as new rows, in place: no vector is touched."""
    ivf = faiss.try_extract_index_ivf(index)
    if ivf is not None:
        lists = ivf.invlists
        for i in range(ivf.nlist):
            size = lists.list_size(i)
            if size:
                ids = faiss.rev_swig_ptr(lists.get_ids(i), size)
                ids[:] = row_map[ids]
        return
    id_map = faiss.downcast_index(index)
    ids = faiss.vector_to_array(id_map.id_map)
    faiss.copy_array_to_vector(row_map[ids].astype(np.int64), id_map.id_map)
    id_map.construct_rev_map()


@dataclass
class Indexes:
    per_category: dict[str, faiss.Index]
    info: dict[str, dict] = field(default_factory=dict)

    @classmethod
    def load(cls, index_dir: Path, info: dict) -> "Indexes":
        # One query at a time: OpenMP threads only add contention (measured 4x slower at 100 k
        # items on 2 busy cores). Concurrency comes from serving workers, not from one search.
        faiss.omp_set_num_threads(settings.SEARCH_THREADS.read())
        per, meta = {}, info.get("per_category", {})
        override = settings.NPROBE.read()
        for cat, d in meta.items():
            index = faiss.read_index(str(index_dir / d["file"]), faiss.IO_FLAG_MMAP_IFC)
            if d.get("kind") == "ivf":
                faiss.extract_index_ivf(index).nprobe = int(override) if override else int(d["nprobe"])
            per[cat] = index
        return cls(per, meta)

    def warm(self) -> None:
        """Touch every page of every (memory-mapped) index once, through FAISS's own mapping.

        Loading maps the files without reading them, so that a large artifact answers its first
        request at once; until a page has been touched, each search pays page faults on it
        (measured: IVF search 0.3 ms cold vs 0.14 ms warm at 70 k items per category). One
        exhaustive search per index touches everything; nothing is changed (the exhaustive
        ``nprobe`` is a per-call parameter), so it is safe beside concurrent searches.
        """
        for index in self.per_category.values():
            dim = index.d
            probe = np.zeros((1, dim), dtype=np.float32)
            probe[0, 0] = 1.0
            ivf = faiss.try_extract_index_ivf(index)
            if ivf is not None:
                index.search(probe, 1, params=faiss.SearchParametersIVF(nprobe=ivf.nlist))
            else:
                index.search(probe, 1)

    @staticmethod
    def candidates(index: faiss.Index, query: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Top-``k`` (scores, rows) for one query vector, in FAISS's order (for callers that sort
        the candidates themselves). Which rows come back is deterministic: one search thread."""
        k = min(k, index.ntotal)
        if k <= 0:
            return np.zeros(0, np.float32), np.zeros(0, np.int64)
        scores, ids = index.search(query.reshape(1, -1), k)
        scores, ids = scores[0], ids[0]
        if (ids < 0).any():  # an IVF search may find fewer than k
            keep = ids >= 0
            scores, ids = scores[keep], ids[keep]
        return scores, ids

    @staticmethod
    def search(index: faiss.Index, query: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Top-``k`` (scores, rows) for one query vector; ties broken by row for determinism."""
        scores, ids = Indexes.candidates(index, np.ascontiguousarray(query, dtype=np.float32), k)
        order = np.lexsort((ids, -np.round(scores, 6)))
        return scores[order], ids[order]
