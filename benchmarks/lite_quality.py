"""The foundation's figures with the ``lite`` encoder on the default sample catalog (30 items per category).

Prints: sample-catalog generation seconds, build seconds (and where build time went), the
leave-one-out accuracy of the neighbour-vote query category (each item's category voted by its
nearest *other* items, through the engine's own vote), and recommend latency p50/p99 for image
queries (decode excluded) and item-id queries. Last line: one JSON object.

    python benchmarks/lite_quality.py [--n N] [--seed 0]
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=None, help="catalog size (default: the sample catalog's, 30 per category)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--queries", type=int, default=200)
    args = ap.parse_args()

    from stygig.build import build_artifact
    from stygig.catalog.sample import generate_sample_catalog
    from stygig.images import decode_image
    from stygig.recommend.engine import Recommender
    from stygig.recommend.query import Query
    from stygig.schema import Options

    work = Path(tempfile.mkdtemp(prefix="stygig-lite-bench-"))
    try:
        t = time.perf_counter()
        generate_sample_catalog(work / "catalog", n=args.n, seed=args.seed)
        gen_s = time.perf_counter() - t
        summary = build_artifact(work / "catalog", work / "artifact")
        rec = Recommender.load(work / "artifact")
        loo, confusions = rec.leave_one_out_accuracy()
        rng = np.random.default_rng(0)
        rows = rng.integers(0, rec.n_items, size=args.queries)
        images = [decode_image(rec.items[int(r)]["source"]) for r in rows]
        for img in images[:5]:
            rec.recommend(Query(image=img))
        img_ms, item_ms = [], []
        for img, r in zip(images, rows):
            t = time.perf_counter()
            rec.recommend(Query(image=img), Options())
            img_ms.append((time.perf_counter() - t) * 1000)
            t = time.perf_counter()
            rec.recommend(Query(item_id=rec.items[int(r)]["id"]), Options())
            item_ms.append((time.perf_counter() - t) * 1000)
        out = {
            "n_items": summary.n_items,
            "sample_generation_s": round(gen_s, 2),
            "build_s": round(summary.seconds, 2),
            "build_timings": summary.timings,
            "loo_category_accuracy": round(loo, 4),
            "loo_confusions": dict(sorted(confusions.items(), key=lambda kv: -kv[1])[:5]),
            "recommend_image_p50_ms": round(float(np.percentile(img_ms, 50)), 2),
            "recommend_image_p99_ms": round(float(np.percentile(img_ms, 99)), 2),
            "recommend_item_p50_ms": round(float(np.percentile(item_ms, 50)), 2),
            "recommend_item_p99_ms": round(float(np.percentile(item_ms, 99)), 2),
        }
        print(f"lite encoder on the default sample catalog ({summary.n_items} items), 2-core machine")
        print(f"  leave-one-out neighbour-vote category accuracy: {loo:.1%} (target >= 90%)")
        print(f"  generate {gen_s:.1f} s, build {summary.seconds:.1f} s; recommend p50 image {out['recommend_image_p50_ms']} ms,"
              f" item {out['recommend_item_p50_ms']} ms")
        print(json.dumps(out))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
