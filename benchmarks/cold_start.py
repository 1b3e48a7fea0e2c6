"""Cold start: seconds from process start to the first recommendation, naive vs stygig.

(a) naive: what the original SageMaker handler did, minus the download --
    ``open_clip.create_model_and_transforms('ViT-B-32', pretrained=<local .pt>)``, read the
    catalog items (the catalog's manifest.jsonl, and the artifact's precomputed vectors into a
    FAISS index -- the naive path gets its catalog embeddings for free), embed the query picture
    with torch, answer the nearest items.
(b) stygig: ``Recommender.load(artifact)`` (verifies every checksum -- with an empty
    verification cache, as in a fresh container -- and opens the ONNX image tower)
    and ``recommend(Query(image=...))`` -- the full answer with colours, categories and scores.

Fresh processes, alternating naive / int8 / fp32, ``--runs`` of each; medians. The OS file
cache is warm for both after the first round (the same for both paths).

Targets (2-core machine): stygig int8 <= 1.0 s, fp32 <= 1.5 s; >= 5x faster than naive; peak RSS
<= 50% of naive (each child's own peak, VmHWM). Last line: one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as C  # noqa: E402

#: A child's own peak memory: VmHWM from /proc/<pid>/status. (ru_maxrss is not its own: Linux
#: carries it over from the parent at fork, so after the benchmark has built its artifacts with
#: torch every child reported the parent's 1.1 GB.)
HWM = """
def vm_hwm_mb():
    import os
    with open(f"/proc/{os.getpid()}/status", encoding="ascii") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    raise SystemExit("no VmHWM in /proc/<pid>/status")
"""

NAIVE = textwrap.dedent(
    """
    import json, resource, sys, time
    t0 = float(sys.argv[1])
    import numpy as np, faiss, torch, open_clip
    from PIL import Image
    t_import = time.time()
    model, _, preprocess = open_clip.create_model_and_transforms("ViT-B-32", pretrained={weights!r})
    model.eval()
    tokenizer = open_clip.get_tokenizer("ViT-B-32")
    t_model = time.time()
    items = sorted((json.loads(l) for l in open({items!r}, encoding="utf-8") if l.strip()), key=lambda r: r["id"])
    vectors = np.load({vectors!r}, allow_pickle=False)
    index = faiss.IndexFlatIP(vectors.shape[1])
    index.add(vectors)
    t_catalog = time.time()
    img = Image.open({query!r}).convert("RGB")
    with torch.no_grad():
        q = model.encode_image(preprocess(img)[None], normalize=True).numpy().astype("float32")
    scores, rows = index.search(q, 10)
    answer = json.dumps([{{"item_id": items[r]["id"], "score": float(s)}} for s, r in zip(scores[0], rows[0])])
    t = time.time()
    ru = resource.getrusage(resource.RUSAGE_SELF)
    print(json.dumps({{"s": t - t0, "rss_mb": vm_hwm_mb(), "cpu_s": ru.ru_utime + ru.ru_stime,
                      "phases": {{"imports": t_import - t0, "model": t_model - t_import,
                                  "catalog": t_catalog - t_model, "answer": t - t_catalog}},
                      "n": len(json.loads(answer))}}))
    """
)

STYGIG = textwrap.dedent(
    """
    import json, resource, sys, time
    t0 = float(sys.argv[1])
    from stygig.images import decode_image
    from stygig.recommend.engine import Recommender
    from stygig.recommend.query import Query
    t_import = time.time()
    rec = Recommender.load({artifact!r})
    t_load = time.time()
    answer = json.dumps(rec.recommend(Query(image=decode_image({query!r}))))
    t = time.time()
    ru = resource.getrusage(resource.RUSAGE_SELF)
    print(json.dumps({{"s": t - t0, "rss_mb": vm_hwm_mb(), "cpu_s": ru.ru_utime + ru.ru_stime,
                      "phases": {{"imports": t_import - t0, "load": t_load - t_import, "answer": t - t_load}},
                      "n": len(json.loads(answer)["recommendations"])}}))
    """
)


def run_child(code: str, timeout: float) -> dict:
    # A fresh, empty verification cache for every process: each start hashes the artifact's files
    # as a new SageMaker container does (stygig.artifact.verify_artifact remembers checks there).
    with tempfile.TemporaryDirectory(prefix="stygig-cold-") as cache:
        env = dict(os.environ, STYGIG_CACHE_DIR=cache)
        t0 = time.time()
        r = subprocess.run(
            [sys.executable, "-c", code, repr(t0)], capture_output=True, text=True, timeout=timeout, env=env
        )
    if r.returncode != 0:
        raise SystemExit(f"child failed:\n{r.stderr[-2000:]}")
    out = json.loads(r.stdout.strip().splitlines()[-1])
    assert out["n"] > 0
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5, help="fresh processes of each kind (default 5, max 20)")
    ap.add_argument("--workdir", type=Path, default=C.default_workdir())
    ap.add_argument("--timeout", type=float, default=180.0, help="per process, seconds")
    args = ap.parse_args()
    runs = max(1, min(args.runs, 20))
    work = args.workdir
    work.mkdir(parents=True, exist_ok=True)

    weights = C.random_weights(work)
    catalog = C.sample_catalog(work)
    arts = {p: C.artifact(work, p, catalog) for p in ("int8", "fp32")}
    query = C.query_jpeg(work, catalog)
    codes = {
        "naive": HWM + NAIVE.format(
            weights=str(weights), items=str(catalog / "manifest.jsonl"),
            vectors=str(arts["fp32"] / "vectors.npy"), query=str(query),
        ),
        "int8": HWM + STYGIG.format(artifact=str(arts["int8"]), query=str(query)),
        "fp32": HWM + STYGIG.format(artifact=str(arts["fp32"]), query=str(query)),
    }
    print(C.RANDOM_NOTE)
    print(f"machine: {C.machine()}; {runs} fresh processes of each kind, alternating; catalog {catalog.name}")
    results: dict[str, list[dict]] = {k: [] for k in codes}
    for i in range(runs):
        for kind, code in codes.items():
            out = run_child(code, args.timeout)
            results[kind].append(out)
            print(f"  run {i + 1} {kind:5s} {out['s']:6.2f} s  (CPU {out['cpu_s']:5.2f} s)  peak RSS {out['rss_mb']:6.0f} MB")

    def med(kind, key):
        return C.median([r[key] for r in results[kind]])

    def phases(kind):
        names = results[kind][0]["phases"]
        return ", ".join(f"{n} {C.median([r['phases'][n] for r in results[kind]]):.2f}" for n in names)

    naive_s, int8_s, fp32_s = med("naive", "s"), med("int8", "s"), med("fp32", "s")
    naive_rss, int8_rss, fp32_rss = med("naive", "rss_mb"), med("int8", "rss_mb"), med("fp32", "rss_mb")
    print(f"machine at the end: {C.machine()}")
    print()
    for label, kind in (("naive (open_clip + torch)", "naive"), ("stygig int8", "int8"), ("stygig fp32", "fp32")):
        print(f"{label + ':':27s}{med(kind, 's'):.2f} s to first answer (CPU {med(kind, 'cpu_s'):.2f} s), "
              f"peak RSS {med(kind, 'rss_mb'):.0f} MB  [median s: {phases(kind)}]")
    ratio = naive_s / int8_s
    print(f"int8 is {ratio:.1f}x faster than naive and uses {100 * int8_rss / naive_rss:.0f}% of its memory; "
          f"fp32 {naive_s / fp32_s:.1f}x, {100 * fp32_rss / naive_rss:.0f}%")
    checks = {
        "int8 <= 1.0 s": int8_s <= 1.0,
        "fp32 <= 1.5 s": fp32_s <= 1.5,
        ">= 5x faster": ratio >= 5,
        "RSS <= 50% of naive": int8_rss <= 0.5 * naive_rss,
    }
    print("targets: " + "; ".join(f"{k}: {'met' if v else 'MISSED'}" for k, v in checks.items()))
    print(json.dumps({
        "naive_s": round(naive_s, 3),
        "stygig_int8_s": round(int8_s, 3),
        "stygig_fp32_s": round(fp32_s, 3),
        "ratio_int8": round(ratio, 2),
        "naive_rss_mb": round(naive_rss, 1),
        "stygig_int8_rss_mb": round(int8_rss, 1),
        "stygig_fp32_rss_mb": round(fp32_rss, 1),
        "runs": runs,
        "random_weights": True,
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
