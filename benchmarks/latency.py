"""End-to-end recommend latency for a 1000x1000 JPEG query, int8 vs fp32; int8 quality.

One request = decode the JPEG bytes -> preprocess -> embed (ONNX image tower) beside the
dominant colours -> search -> score -> JSON, through ``Recommender.recommend``. Both artifacts are
loaded in this process and requests alternate between them, so that load from other processes on
the machine affects both alike. ``--requests`` (>= 200) timed requests each, after a few warm-up
requests.

The tower alone (``embed_p50_ms_<precision>``: one ONNX Runtime run on the query's preprocessed
pixels, batch 1) is timed in the same loop, right after each request, so the ratio
``p50_ms / embed_p50_ms`` compares the two under the same machine load: it says how much a photo
query costs beyond the model itself.

int8 quality: mean cosine between the int8 and fp32 catalog vectors, and the mean overlap of the
top-10 catalog neighbours of every catalog item under int8 vs fp32 vectors (random weights: see
the note printed first).

A text query (``text_p50_ms_<precision>``: ``recommend(Query(text=...))`` end to end, short shop
phrases in turn) is timed in the same loop too: what a "navy linen blazer" costs.

Targets: p50 <= 35 ms int8, <= 70 ms fp32; int8 p50 <= 1.3 x the int8 tower alone. Last line:
one JSON object.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as C  # noqa: E402


def top_k_overlap(a, b, k: int = 10) -> float:
    import numpy as np

    def neighbours(v):
        s = v @ v.T
        np.fill_diagonal(s, -np.inf)
        return np.argsort(-s, axis=1, kind="stable")[:, :k]

    na, nb = neighbours(a), neighbours(b)
    return float(np.mean([len(set(x) & set(y)) / k for x, y in zip(na, nb)]))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--requests", type=int, default=200, help="timed requests per precision (200..5000)")
    ap.add_argument("--workdir", type=Path, default=C.default_workdir())
    args = ap.parse_args()
    n = max(200, min(args.requests, 5000))
    work = args.workdir
    work.mkdir(parents=True, exist_ok=True)

    import numpy as np

    from stygig.images import decode_image
    from stygig.recommend.engine import Recommender
    from stygig.recommend.query import Query

    catalog = C.sample_catalog(work)
    arts = {p: C.artifact(work, p, catalog) for p in ("int8", "fp32")}
    data = C.query_jpeg(work, catalog).read_bytes()
    recs = {p: Recommender.load(a) for p, a in arts.items()}

    cpu: dict[str, float] = {p: 0.0 for p in recs}
    part_names = ("decode", "preprocess+embed", "colours", "features", "rest")
    parts_raw: dict[str, dict[str, list[float]]] = {p: {k: [] for k in part_names} for p in recs}
    spent = {k: 0.0 for k in part_names}

    def timed(fn, key):
        def wrapper(*a, **k):
            t = time.perf_counter()
            try:
                return fn(*a, **k)
            finally:
                spent[key] += time.perf_counter() - t
        return wrapper

    # timing shims around the real functions (behaviour unchanged)
    for rec in recs.values():
        rec.encoder.encode_images = timed(rec.encoder.encode_images, "preprocess+embed")
    try:
        import stygig.features.photo as photo
    except ImportError:  # an older tree (the "before" run): embedding and colours one after the other
        photo = None
    else:
        photo.photo_colours = timed(photo.photo_colours, "colours")
        photo.photo_features = timed(photo.photo_features, "features")

    def request(rec, p=None) -> float:
        for k in spent:
            spent[k] = 0.0
        c = time.process_time()
        t = time.perf_counter()
        img = decode_image(data)
        t_dec = time.perf_counter()
        answer = json.dumps(rec.recommend(Query(image=img)))
        dt = time.perf_counter() - t
        if p is not None:
            cpu[p] += time.process_time() - c
            parts_raw[p]["decode"].append(t_dec - t)
            for k in ("preprocess+embed", "colours", "features"):
                parts_raw[p][k].append(spent[k])
            parts_raw[p]["rest"].append(dt - (t_dec - t) - (spent["features"] or spent["preprocess+embed"]))
        assert '"recommendations"' in answer
        return dt

    pixels = {p: rec.encoder.preprocess.batch([decode_image(data)]) for p, rec in recs.items()}

    def tower(p) -> float:
        session = recs[p].encoder._image_session
        t = time.perf_counter()
        session.run(None, {"pixel_values": pixels[p]})
        return time.perf_counter() - t

    phrases = ("navy linen blazer", "white leather sneakers", "a black handbag with a gold chain", "floral summer dress")

    def text_request(rec, i: int) -> float:
        t = time.perf_counter()
        answer = json.dumps(rec.recommend(Query(text=phrases[i % len(phrases)])))
        assert '"recommendations"' in answer
        return time.perf_counter() - t

    for p, rec in recs.items():
        for i in range(5):
            request(rec)
            tower(p)
            text_request(rec, i)
    times: dict[str, list[float]] = {p: [] for p in recs}
    tower_times: dict[str, list[float]] = {p: [] for p in recs}
    text_times: dict[str, list[float]] = {p: [] for p in recs}
    for i in range(n):
        for p, rec in recs.items():
            times[p].append(request(rec, p))
            tower_times[p].append(tower(p))
            text_times[p].append(text_request(rec, i))
    parts = {p: {k: C.median(v) for k, v in d.items() if any(v)} for p, d in parts_raw.items()}

    va = np.load(arts["int8"] / "vectors.npy")
    vb = np.load(arts["fp32"] / "vectors.npy")
    ids_a = [recs["int8"].items[i]["id"] for i in range(recs["int8"].n_items)]
    ids_b = [recs["fp32"].items[i]["id"] for i in range(recs["fp32"].n_items)]
    assert ids_a == ids_b, "the two artifacts hold different items"
    cosine = float((va * vb).sum(1).mean())
    overlap = top_k_overlap(va, vb, 10)
    spread = float((vb @ vb.T)[~np.eye(len(vb), dtype=bool)].mean())

    print(C.RANDOM_NOTE)
    print(f"machine: {C.machine()}; {n} timed requests per precision (alternating), 1000x1000 JPEG, "
          f"{recs['int8'].n_items} catalog items")
    out = {}
    for p in ("int8", "fp32"):
        ms = [1000 * t for t in times[p]]
        p50, p99 = C.percentile(ms, 0.5), C.percentile(ms, 0.99)
        embed = C.percentile([1000 * t for t in tower_times[p]], 0.5)
        text = C.percentile([1000 * t for t in text_times[p]], 0.5)
        out[p] = (p50, p99, embed, text)
        br = ", ".join(f"{k} {1000 * v:.1f}" for k, v in parts[p].items())
        rest = "search, scores, JSON" if photo else "colours, search, scores, JSON"
        print(f"{p}: p50 {p50:.1f} ms, p99 {p99:.1f} ms, mean {sum(ms) / len(ms):.1f} ms, "
              f"CPU {1000 * cpu[p] / n:.1f} ms/request; the tower alone p50 {embed:.1f} ms (ratio {p50 / embed:.2f})  "
              f"[median ms: {br}; features = embedding and colours side by side; rest = {rest}]; "
              f"a text query p50 {text:.1f} ms")
    print(f"int8 vs fp32 catalog vectors: mean cosine {cosine:.5f}; top-10 neighbour overlap {overlap:.3f} "
          f"(random weights put all pictures close together: mean pairwise cosine {spread:.3f}, "
          "so neighbour ranks are fragile; expect higher overlap with real weights)")
    print(f"machine at the end: {C.machine()}")
    checks = {
        "int8 p50 <= 35 ms": out["int8"][0] <= 35,
        "fp32 p50 <= 70 ms": out["fp32"][0] <= 70,
        "int8 p50 <= 1.3 x tower": out["int8"][0] <= 1.3 * out["int8"][2],
    }
    print("targets: " + "; ".join(f"{k}: {'met' if v else 'MISSED'}" for k, v in checks.items()))
    print(json.dumps({
        "p50_ms_int8": round(out["int8"][0], 2),
        "embed_p50_ms_int8": round(out["int8"][2], 2),
        "ratio_int8": round(out["int8"][0] / out["int8"][2], 3),
        "p99_ms_int8": round(out["int8"][1], 2),
        "text_p50_ms_int8": round(out["int8"][3], 2),
        "p50_ms_fp32": round(out["fp32"][0], 2),
        "embed_p50_ms_fp32": round(out["fp32"][2], 2),
        "p99_ms_fp32": round(out["fp32"][1], 2),
        "text_p50_ms_fp32": round(out["fp32"][3], 2),
        "int8_cosine": round(cosine, 5),
        "int8_top10_overlap": round(overlap, 4),
        "requests": n,
        "random_weights": True,
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
