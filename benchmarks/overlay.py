"""Overlay benchmark (issue 14.5): a live attribute overlay of 100 k rows applied while serving.

The catalog is benchmarks/filters.py's (scale.py's synthetic 1 M-item artifact with synthetic
``price``, ``in_stock`` and ``brand``). The overlay is synthetic too: 100 k distinct random items
given a new price, stock and brand (a twentieth of them brands the artifact does not have, so the
vocabulary grows), written as JSON Lines, as a shop's stock job would.

* ``overlay_apply_s``: one look of the serving watcher (:class:`stygig.serving.overlay.OverlayWatcher`,
  the code each worker runs) that finds the file changed: read, parse, validate, new columns,
  the recently used filters built ahead, the swap; the median of 3 looks with no request
  running, two files alternating (so each look applies). ``overlay_apply_under_requests_s``
  (and ``_max_s``): the same during the request loop below, where the watcher steps aside for
  the requests (0.5 ms every 2 ms of its work) and shares the interpreter with them.
* ``swap_p99_ratio``: recommend p99 of the requests that overlapped an apply over the p99 of the
  steady requests before, both from one request thread (as a worker's engine thread) running
  item queries with and without the 10 %-selective filter, while the applies run in another
  thread of the same process (as a worker's overlay thread does). ``failed`` counts requests
  that raised (none may).

    python benchmarks/overlay.py [--n 1000000] [--rows 100000] [--applies 8] [--work DIR]

The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import threading
import time
from pathlib import Path

import numpy as np

# one OpenMP thread per search, as `serve` gives each worker of one per core: FAISS's thread team
# started from a request thread (not the main one) costs more than the search itself otherwise
os.environ.setdefault("OMP_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import work_folder  # noqa: E402
from filters import FILTER, N_BRANDS, build  # noqa: E402  (the same synthetic artifact)
from scale import percentile  # noqa: E402

SEED = 14


def write_overlay(path: Path, ids: np.ndarray, rows: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    chosen = np.sort(rng.choice(len(ids), size=rows, replace=False))
    prices = rng.uniform(5, 300, rows).round(2)
    stock = rng.random(rows) < 0.5
    new = rng.random(rows) < 0.05  # a twentieth get one of 10 brands the artifact does not have
    brands = np.where(new, N_BRANDS + rng.integers(0, 10, rows), rng.integers(0, N_BRANDS, rows))
    with open(path, "w", encoding="utf-8") as fh:
        for r, p, s, b in zip(chosen.tolist(), prices.tolist(), stock.tolist(), brands.tolist()):
            brand = f"brand-{b:02d}" if b < N_BRANDS else f"new-brand-{b:03d}"
            fh.write(json.dumps({"id": ids[r].decode(), "price": p, "in_stock": s, "brand": brand}) + "\n")


def measure(art: Path, work: Path, rows: int, applies: int, steady_s: float) -> dict:
    from stygig.recommend.engine import Recommender
    from stygig.recommend.query import Query
    from stygig.schema import Options
    from stygig.serving.overlay import OverlayWatcher

    loadavg = os.getloadavg()  # this machine is shared: how busy it was when the run began
    rec = Recommender.load(art).warm()
    ids = np.asarray(rec.items.ids)
    files = [work / f"overlay-{rows}-{k}.jsonl" for k in (0, 1)]
    for k, f in enumerate(files):
        if not f.exists():
            write_overlay(f, ids, rows, SEED + k)
    live = work / "overlay-live.jsonl"
    shutil.copyfile(files[0], live)
    watcher = OverlayWatcher(rec, str(live), 3600, frozenset())

    rng = np.random.default_rng(1)
    queries = [rec.items[int(r)]["id"] for r in rng.integers(0, rec.n_items, size=400)]
    plain = Options()
    filtered = Options.from_dict({"filters": FILTER}, rec.taxonomy)
    for i in queries[:10]:
        rec.recommend(Query(item_id=i), plain)
        rec.recommend(Query(item_id=i), filtered)

    # the apply alone (no request running): what a quiet worker takes
    alone: list[float] = []
    for k in range(3):
        shutil.copyfile(files[(k + 1) % 2], live)
        t0 = time.perf_counter()
        assert watcher.check(), watcher.refused
        alone.append(time.perf_counter() - t0)

    samples: list[tuple[float, float]] = []  # (start, end) perf_counter
    failed: list[str] = []
    stop = threading.Event()

    def load() -> None:
        k = 0
        while not stop.is_set():
            opts = filtered if k % 2 else plain
            t0 = time.perf_counter()
            try:
                rec.recommend(Query(item_id=queries[k % len(queries)]), opts)
            except Exception as e:  # noqa: BLE001 - counted: none may fail
                failed.append(f"{type(e).__name__}: {e}")
            samples.append((t0, time.perf_counter()))
            k += 1

    requests = threading.Thread(target=load, name="requests", daemon=True)
    requests.start()
    time.sleep(steady_s)
    steady_end = time.perf_counter()
    windows: list[tuple[float, float]] = []
    seconds: list[float] = []
    for k in range(applies):
        time.sleep(1.0)  # steady requests between the applies too
        shutil.copyfile(files[(k + 1) % 2], live)
        t0 = time.perf_counter()
        assert watcher.check(), watcher.refused
        t1 = time.perf_counter()
        windows.append((t0, t1))
        seconds.append(t1 - t0)
    time.sleep(0.5)
    stop.set()
    requests.join()

    steady = [(b - a) * 1000 for a, b in samples if b <= steady_end]
    during = [(b - a) * 1000 for a, b in samples if any(a < w1 and b > w0 for w0, w1 in windows)]
    state = rec.attribute_state
    return {
        "n_items": rec.n_items,
        "overlay_rows": state.overlay["rows"],
        "overlay_attributes": list(state.overlay["attributes"]),
        "overlay_apply_s": round(float(np.median(alone)), 3),
        "overlay_apply_under_requests_s": round(float(np.median(seconds)), 3),
        "overlay_apply_under_requests_max_s": round(max(seconds), 3),
        "applies": applies,
        "steady_requests": len(steady),
        "swap_requests": len(during),
        "steady_p50_ms": round(percentile(steady, 50), 3),
        "steady_p99_ms": round(percentile(steady, 99), 3),
        "swap_p50_ms": round(percentile(during, 50), 3),
        "swap_p99_ms": round(percentile(during, 99), 3),
        "swap_p99_ratio": round(percentile(during, 99) / percentile(steady, 99), 3),
        "failed": len(failed),
        "load_average": [round(x, 2) for x in loadavg],
        "filter": FILTER,
        "note": "synthetic vectors, attributes and overlay; one process, requests and applies in two threads "
                "as in a serving worker",
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--n", type=int, default=1_000_000)
    p.add_argument("--rows", type=int, default=100_000)
    p.add_argument("--applies", type=int, default=8)
    p.add_argument("--steady-seconds", type=float, default=15.0)
    p.add_argument("--work", type=Path, default=None, help="work folder, kept (default: a temporary one, removed)")
    args = p.parse_args()
    with work_folder(args.work, "stygig-overlay-") as work:
        result = measure(build(work, args.n), work, args.rows, args.applies, args.steady_seconds)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
