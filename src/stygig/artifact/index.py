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
from typing import Sequence

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


def _tune_nprobe(index: faiss.Index, queries: np.ndarray, k: int) -> tuple[int, float]:
    """Smallest power-of-two nprobe whose recall@k against exhaustive search reaches the target."""
    ivf = faiss.extract_index_ivf(index)
    ivf.nprobe = ivf.nlist  # every list: exact for IVF-Flat
    _, truth = index.search(queries, k)
    nprobe = 1
    while True:
        ivf.nprobe = nprobe
        _, found = index.search(queries, k)
        recall = float(np.mean([len(set(a) & set(b)) / k for a, b in zip(found, truth)]))
        if recall >= TARGET_RECALL or nprobe >= ivf.nlist:
            return nprobe, recall
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
            queries = np.ascontiguousarray(np.vstack([take(plan["tune_own"]), take(np.sort(cross))]))
            nprobe, recall = _tune_nprobe(index, queries, min(RECALL_K, plan["n"]))
            faiss.extract_index_ivf(index).nprobe = nprobe
            info = {"kind": "ivf", "nlist": plan["nlist"], "nprobe": nprobe, "tuned_recall_at_50": round(recall, 4)}
        faiss.write_index(index, str(out_dir / f"cat-{cat}.faiss"))
        per_cat[cat] = {"n": int(plan["n"]), "file": f"cat-{cat}.faiss", **info}
        indexes[code] = None  # free as we go
    return {"metric": "inner_product", "kind": kind, "exact_max": EXACT_MAX, "target_recall_at_50": TARGET_RECALL,
            "per_category": per_cat}


def update_indexes(
    vectors: Path, codes: np.ndarray, categories: Sequence[str], out_dir: Path, *, kind: str,
    old_dir: Path, old_info: dict, old_codes: np.ndarray, row_map: np.ndarray, stale: np.ndarray,
    digests: dict[str, str] | None = None,
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
            continue
        todo.append((code, cat, old, rows, before, added, changed, None))
    # the tuning queries, drawn in category order from one seeded generator (as a build draws them)
    for k, (code, cat, old, rows, before, added, changed, _) in enumerate(todo):
        if changed:
            own = np.sort(rng.choice(rows, size=min(TUNE_QUERIES // 2, len(rows)), replace=False))
            pool = np.flatnonzero(codes != code)
            cross = np.sort(rng.choice(pool, size=min(len(pool), TUNE_QUERIES // 2), replace=False))
            todo[k] = (code, cat, old, rows, before, added, changed, np.concatenate([own, cross]))
    mapped = np.load(vectors, mmap_mode="r", allow_pickle=False) if todo else None

    def one(job) -> tuple[str, dict | None]:
        """One category's old index brought up to date: (action, its manifest entry), or
        ("fresh", None) when its recall fell below the target."""
        code, cat, old, rows, before, added, changed, queries = job
        dest = out_dir / f"cat-{cat}.faiss"
        index = faiss.read_index(str(old_dir / old["file"]))
        if changed:
            gone = before[is_stale[before]]
            if len(gone):
                index.remove_ids(faiss.IDSelectorBatch(gone.astype(np.int64)))
        _renumber(index, row_map)
        if not changed:
            faiss.write_index(index, str(dest))
            written(dest)
            return "renumbered", {**old, "file": dest.name}
        if len(added):
            index.add_with_ids(np.ascontiguousarray(mapped[added], dtype=np.float32), added.astype(np.int64))
        q = np.ascontiguousarray(mapped[queries], dtype=np.float32)
        recall, error = _ivf_recall(index, q, min(RECALL_K, len(rows)), int(old["nprobe"]))
        if recall + 2 * error < TARGET_RECALL:
            return "fresh", None
        faiss.extract_index_ivf(index).nprobe = int(old["nprobe"])
        faiss.write_index(index, str(dest))
        written(dest)
        return "updated", {**old, "n": len(rows), "file": dest.name, "tuned_recall_at_50": round(recall, 4)}

    from threadpoolctl import threadpool_limits  # here: serving, which imports this module, does not need it

    threads = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(1)
    try:
        # and one BLAS thread per category's matrix products (two categories' products, each on
        # every core, thrash: measured 2.0 s against 2.8 s for the 100 k benchmark's update)
        with threadpool_limits(limits=1, user_api="blas"), \
                ThreadPoolExecutor(max_workers=max(1, min(2, os.cpu_count() or 1))) as pool:
            done = list(pool.map(one, todo))
    finally:
        faiss.omp_set_num_threads(threads)
    for (code, cat, *_), (what, entry) in zip(todo, done):
        if what == "fresh":
            fresh.append(code)
        else:
            actions[cat], per_cat[cat] = what, entry
    fresh.sort()
    if fresh:
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
    standard error over the queries.

    Computed without searching the index: within the lists it probes, IVF-Flat ranks exactly, so
    an exact neighbour is found if and only if its list is among the query's ``nprobe`` nearest
    centroids. The exact neighbours come from one matrix product over the lists' own vectors.
    """
    ivf = faiss.extract_index_ivf(index)
    if not isinstance(faiss.downcast_index(index), faiss.IndexIVFFlat):  # not what a build writes
        recall = _recall(index, queries, k, nprobe)
        return recall, 0.0
    lists, d = ivf.invlists, ivf.d
    x = np.empty((index.ntotal, d), dtype=np.float32)  # one matrix product: many small ones cost far more
    owner = np.empty(index.ntotal, dtype=np.int64)
    at = 0
    for i in range(ivf.nlist):
        size = lists.list_size(i)
        if size:
            raw = faiss.rev_swig_ptr(lists.get_codes(i), size * lists.code_size)
            x[at : at + size] = np.frombuffer(raw, dtype=np.float32).reshape(size, d)
            owner[at : at + size] = i
            at += size
    top = np.argpartition(queries @ x.T, x.shape[0] - k, axis=1)[:, -k:]  # the exact top k, unordered
    centroids = ivf.quantizer.reconstruct_n(0, ivf.nlist)
    is_probed = np.ones((len(queries), ivf.nlist), dtype=bool)
    if nprobe < ivf.nlist:
        probed = np.argpartition(queries @ centroids.T, ivf.nlist - nprobe, axis=1)[:, -nprobe:]
        is_probed[:] = False
        np.put_along_axis(is_probed, probed, True, axis=1)
    per_query = np.take_along_axis(is_probed, owner[top], axis=1).mean(axis=1)
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
