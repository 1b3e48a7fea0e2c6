"""Filters benchmark (issue 14.2): attribute filters on scale.py's synthetic catalog.

The catalog is :func:`scale.generate`'s (synthetic clustered 512-d vectors, random genders and
colours; 1 M items by default) given synthetic attributes: ``price`` uniform in 5..300,
``in_stock`` true for half, ``brand`` one of 50. The filter measured is
``{"in_stock": true, "price": {"lte": 64}}``, which passes 10 % of the catalog, independent of
the vectors.

* ``filter_ratio``: recommend p50 (item queries through the real Recommender, after ``warm()``)
  with the filter over the same queries without it, measured side by side in alternating blocks
  of 20 (this machine is shared). The filter's pass mask is built once and kept, as the engine
  keeps a shop's recent filters, and its categories are searched in sub-indexes of its passing
  rows (:mod:`stygig.recommend.subindex`, made on the engine's own thread after a category's
  second search; ``subindex_settle_s`` waits for them after the warm-up).
  ``filter_ratio_selector`` is the same cached filter searched with the ID selector alone (what
  the engine does before its sub-indexes are in, or past their memory budget), and
  ``filter_ratio_uncached`` rebuilds the mask for every query (a new filter each time);
  ``mask_ms`` is that build alone.
* ``filter_recall``: recall@50 of the engine's filtered search within a category (IVF probing
  ``2.5 nprobe / f`` lists of the sub-index) against exact filtered search (every passing item of the
  category compared), for queries from other categories; ``subindex_same_as_selector`` the share
  of those searches where the sub-index found the selector search's very items.

``overlay_apply_s`` and ``update_ratio`` (issues 14.5, 14.4) have benchmarks of their own,
``benchmarks/overlay.py`` and ``benchmarks/update.py``: ``null`` here.

    python benchmarks/filters.py [--n 1000000] [--queries 300] [--work DIR]

The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import work_folder  # noqa: E402
from scale import DIM, generate, percentile  # noqa: E402  (the same synthetic catalog)

FILTER = {"in_stock": True, "price": {"lte": 64}}
N_BRANDS = 50
SEED = 5


def build(work: Path, n: int) -> Path:
    from stygig.build import write_artifact_from_arrays
    from stygig.features.encoders.precomputed import PrecomputedEncoder
    from stygig.taxonomy import GENDERS, Taxonomy

    art = work / f"filters-artifact-{n}"
    if (art / "manifest.json").exists():
        return art
    src = generate(work, n)
    cats = list(Taxonomy.default().categories)
    rng = np.random.default_rng(SEED)
    t = time.perf_counter()
    write_artifact_from_arrays(
        art,
        ids=[f"item-{i:07d}" for i in range(n)],
        categories=[cats[c] for c in np.load(src / "categories.npy")],
        genders=[GENDERS[g] for g in np.load(src / "genders.npy")],
        vectors=src / "vectors.npy",
        colours=np.load(src / "colors.npy"),
        encoder=PrecomputedEncoder(DIM, "synthetic benchmark vectors"),
        attributes={
            "price": rng.uniform(5, 300, n).round(2),
            "in_stock": rng.random(n) < 0.5,
            "brand": [f"brand-{b:02d}" for b in rng.integers(0, N_BRANDS, n)],
        },
    )
    print(f"built {n} items with attributes in {time.perf_counter() - t:.1f} s", file=sys.stderr)
    return art


def measure(art: Path, n_queries: int, block: int = 20) -> dict:
    from stygig.recommend import filters as F
    from stygig.recommend import retrieve
    from stygig.recommend.engine import Recommender
    from stygig.recommend.query import Query
    from stygig.schema import Options

    rec = Recommender.load(art).warm()
    rng = np.random.default_rng(1)
    ids = [rec.items[int(r)]["id"] for r in rng.integers(0, rec.n_items, size=n_queries)]
    plain = Options()
    filtered = Options.from_dict({"filters": FILTER}, rec.taxonomy)
    parsed = filtered.filters
    codes = np.asarray(rec.items.category_codes)
    cats = list(rec.taxonomy.categories)
    t = time.perf_counter()
    selector = retrieve.Allowed(F.compile_mask(parsed, rec.attributes, rec.n_items), codes, len(cats))
    mask_ms = (time.perf_counter() - t) * 1000
    selectivity = selector.n / rec.n_items
    from dataclasses import replace

    cached = rec.attribute_state
    # the same filter, cached, but searched with the selector only (no room left for sub-indexes)
    selector_only = replace(cached, cache=F.FilterCache())
    uncached = replace(cached, cache=F.FilterCache(size=0))
    for i in ids[:10]:  # warm every path; the cached filter's sub-indexes are made
        rec.recommend(Query(item_id=i), plain)
        rec.recommend(Query(item_id=i), filtered)
    t = time.perf_counter()
    rec.subindexer.wait()
    settle_s = time.perf_counter() - t
    engine_allowed = rec.allowed(parsed)
    room, rec.subindexer.budget = rec.subindexer.budget, rec.subindexer.used
    rec.swap_attributes(selector_only)
    for i in ids[:10]:
        rec.recommend(Query(item_id=i), filtered)
    rec.subindexer.wait()
    arms = (("none", plain, cached), ("filtered", filtered, cached), ("selector", filtered, selector_only),
            ("uncached", filtered, uncached))
    times: dict[str, list[float]] = {name: [] for name, _, _ in arms}
    starved = 0
    for start in range(0, n_queries, block):
        for name, opts, state in arms:
            rec.swap_attributes(state)
            for i in ids[start : start + block]:
                t = time.perf_counter()
                out = rec.recommend(Query(item_id=i), opts)
                times[name].append((time.perf_counter() - t) * 1000)
                if name == "filtered" and len(out["recommendations"]) < opts.top_k:
                    starved += 1
    rec.swap_attributes(cached)
    rec.subindexer.budget = room
    # recall@50 of filtered search against exact filtered search, within IVF categories: the
    # engine's (sub-indexes, once each category was searched twice) and the selector's
    for _ in range(2):
        for c, cat in enumerate(cats):
            retrieve.search_category(rec.indexes, cat, np.asarray(rec.vectors[0], np.float32), 50, engine_allowed, c)
    rec.subindexer.wait()
    vec = np.load(art / "vectors.npy", mmap_mode="r")
    recalls, same, kinds = [], [], set()
    chosen_vecs: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    for r in rng.integers(0, rec.n_items, size=200):
        q = np.asarray(vec[r], dtype=np.float32)
        target = int((codes[r] + 1 + rng.integers(0, len(cats) - 1)) % len(cats))
        cat = cats[target]
        kinds.add(rec.manifest["index"]["per_category"][cat]["kind"])
        if target not in chosen_vecs:
            rows = np.flatnonzero((codes == target) & selector.mask)
            chosen_vecs[target] = (rows, np.asarray(vec[rows]))
        rows, vs = chosen_vecs[target]
        _, found = retrieve.search_category(rec.indexes, cat, q, 50, engine_allowed, target)
        _, by_selector = retrieve.search_category(rec.indexes, cat, q, 50, selector, target)
        truth = rows[np.argpartition(-(vs @ q), 49)[:50]]
        recalls.append(len(set(found.tolist()) & set(truth.tolist())) / 50)
        same.append(set(found.tolist()) == set(by_selector.tolist()))
    p50 = {k: percentile(v, 50) for k, v in times.items()}
    return {
        "n_items": rec.n_items,
        "filter": FILTER,
        "selectivity": round(selectivity, 4),
        "index_kinds_searched": sorted(kinds),
        "recommend_p50_ms": round(p50["none"], 3),
        "filtered_p50_ms": round(p50["filtered"], 3),
        "filtered_selector_p50_ms": round(p50["selector"], 3),
        "filtered_uncached_p50_ms": round(p50["uncached"], 3),
        "filtered_p99_ms": round(percentile(times["filtered"], 99), 3),
        "mask_ms": round(mask_ms, 2),
        "filter_ratio": round(p50["filtered"] / p50["none"], 3),
        "filter_ratio_selector": round(p50["selector"] / p50["none"], 3),
        "filter_ratio_uncached": round(p50["uncached"] / p50["none"], 3),
        "filter_recall": round(float(np.mean(recalls)), 4),
        "subindex_same_as_selector": round(float(np.mean(same)), 4),
        "subindexed_categories": engine_allowed.subindexed,
        "subindex_mb": round(rec.subindexer.used / 2**20, 1),
        "subindex_settle_s": round(settle_s, 3),
        "starved_answers": starved,
        "queries": n_queries,
        "overlay_apply_s": None,
        "update_ratio": None,
        "note": "synthetic vectors and attributes; overlay_apply_s and update_ratio: benchmarks/overlay.py and benchmarks/update.py",
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--n", type=int, default=1_000_000)
    p.add_argument("--queries", type=int, default=300)
    p.add_argument("--work", type=Path, default=None, help="work folder, kept (default: a temporary one, removed)")
    args = p.parse_args()
    with work_folder(args.work, "stygig-filters-") as work:
        result = measure(build(work, args.n), args.queries)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
