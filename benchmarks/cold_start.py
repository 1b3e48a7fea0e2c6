"""Cold start: seconds from process start to the first recommendation, naive vs stygig.

(a) naive: what the original SageMaker handler did, minus the download --
    ``open_clip.create_model_and_transforms('ViT-B-32', pretrained=<local .pt>)``, read the
    catalog items (the catalog's manifest.jsonl, and the artifact's precomputed vectors into a
    FAISS index -- the naive path gets its catalog embeddings for free), embed the query picture
    with torch, answer the nearest items.
(b) stygig: ``Recommender.load(artifact)`` (verifies every checksum -- with an empty
    verification cache, as in a fresh container -- and opens the ONNX image tower)
    and ``recommend(Query(image=...))`` -- the full answer with colours, categories and scores.

(c) floor: what no answer can avoid -- import ONNX Runtime, open the int8 image session (the
    artifact's own file, stygig's session options), decode and preprocess the query picture, embed
    it once. Nothing of stygig is imported.
(d) server: ``serve ARTIFACT --workers 2`` (int8) from spawn to the first ``GET /ping`` 200, as
    SageMaker sees a container start.
(e) cli: ``stygig recommend ARTIFACT PHOTO --json`` (int8), from spawn to its exit: the command
    line's own parsing and imports on top of (b).

Fresh processes, alternating naive / int8 / fp32 / floor / cli / server, ``--runs`` of each; medians. The OS file
cache is warm for both after the first round (the same for both paths).

Targets (2-core machine): stygig int8 <= 1.0 s, fp32 <= 1.5 s; >= 5x faster than naive; peak RSS
<= 50% of naive (each child's own peak, VmHWM); int8 <= 1.3 x floor; server ready <= 1.6 x floor.
The int8 artifact's size (what ``stygig package`` uploads) is printed too. Last line: one JSON object.
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


FLOOR = textwrap.dedent(
    """
    import json, os, resource, sys, time
    t0 = float(sys.argv[1])
    import numpy as np
    import onnxruntime as ort
    from PIL import Image
    t_import = time.time()
    so = ort.SessionOptions()
    so.intra_op_num_threads = len(os.sched_getaffinity(0))
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    so.add_session_config_entry("session.intra_op.allow_spinning", "0")
    so.log_severity_level = 3
    sess = ort.InferenceSession({model!r}, sess_options=so, providers=["CPUExecutionProvider"])
    t_load = time.time()
    img = Image.open({query!r})
    img.draft("RGB", (448, 448))
    img = img.convert("RGB").resize((224, 224), Image.BICUBIC)
    x = (np.asarray(img, dtype=np.float32) / 255.0 - np.array([0.4815, 0.4578, 0.4082], np.float32)) / np.array([0.2686, 0.2613, 0.2758], np.float32)
    out = sess.run(None, {{sess.get_inputs()[0].name: x.transpose(2, 0, 1)[None]}})[0]
    t = time.time()
    ru = resource.getrusage(resource.RUSAGE_SELF)
    print(json.dumps({{"s": t - t0, "rss_mb": vm_hwm_mb(), "cpu_s": ru.ru_utime + ru.ru_stime,
                      "phases": {{"imports": t_import - t0, "load": t_load - t_import, "answer": t - t_load}},
                      "n": int(out.shape[-1])}}))
    """
)


def run_server(artifact: Path, timeout: float) -> dict:
    """``serve ARTIFACT --workers 2`` from spawn to the first /ping 200 (fresh verification cache)."""
    import signal
    import socket
    import urllib.error
    import urllib.request

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    serve = str(Path(sys.executable).with_name("serve"))
    with tempfile.TemporaryDirectory(prefix="stygig-cold-") as cache:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SAGEMAKER_", "STYGIG_", "OMP_"))}
        env["STYGIG_CACHE_DIR"] = cache
        log = open(Path(cache) / "serve.log", "w+b")  # a pipe left unread would fill and stall the workers
        t0 = time.time()
        proc = subprocess.Popen([serve, str(artifact), "--host", "127.0.0.1", "--port", str(port), "--workers", "2"],
                                stdout=log, stderr=subprocess.STDOUT, env=env)
        ready = None
        try:
            while time.time() - t0 < timeout and proc.poll() is None:
                try:
                    with urllib.request.urlopen(f"http://127.0.0.1:{port}/ping", timeout=2) as r:
                        if r.status == 200:
                            ready = time.time() - t0
                            break
                except (urllib.error.URLError, ConnectionError, TimeoutError):
                    pass
                time.sleep(0.005)
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=40)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            log.seek(0)
            err = log.read()
            log.close()
    if ready is None:
        raise SystemExit(f"the server never answered /ping 200:\n{err.decode(errors='replace')[-2000:]}")
    return {"s": ready, "n": 1}


def run_cli(artifact: Path, query: Path, timeout: float) -> dict:
    """``stygig recommend ARTIFACT PHOTO --json`` from spawn to exit (fresh verification cache)."""
    with tempfile.TemporaryDirectory(prefix="stygig-cold-") as cache:
        env = dict(os.environ, STYGIG_CACHE_DIR=cache)
        t0 = time.time()
        r = subprocess.run([sys.executable, "-m", "stygig.cli", "recommend", str(artifact), str(query), "--json"],
                           capture_output=True, text=True, timeout=timeout, env=env)
        s = time.time() - t0
    if r.returncode != 0:
        raise SystemExit(f"stygig recommend failed:\n{r.stderr[-2000:]}")
    return {"s": s, "n": len(json.loads(r.stdout)["recommendations"])}


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
        "floor": HWM + FLOOR.format(model=str(arts["int8"] / "encoder" / "image_int8.onnx"), query=str(query)),
    }
    artifact_mb = sum(f.stat().st_size for f in arts["int8"].rglob("*") if f.is_file()) / 2**20
    print(C.RANDOM_NOTE)
    print(f"machine: {C.machine()}; {runs} fresh processes of each kind, alternating; catalog {catalog.name}")
    results: dict[str, list[dict]] = {k: [] for k in codes}
    for i in range(runs):
        for kind, code in codes.items():
            out = run_child(code, args.timeout)
            results[kind].append(out)
            print(f"  run {i + 1} {kind:6s} {out['s']:6.2f} s  (CPU {out['cpu_s']:5.2f} s)  peak RSS {out['rss_mb']:6.0f} MB")
        out = run_cli(arts["int8"], query, args.timeout)
        results.setdefault("cli", []).append(out)
        print(f"  run {i + 1} cli    {out['s']:6.2f} s  (stygig recommend --json, int8, spawn to exit)")
        out = run_server(arts["int8"], args.timeout)
        results.setdefault("server", []).append(out)
        print(f"  run {i + 1} server {out['s']:6.2f} s  to the first /ping 200 (2 workers, int8)")

    def med(kind, key):
        return C.median([r[key] for r in results[kind]])

    def phases(kind):
        names = results[kind][0]["phases"]
        return ", ".join(f"{n} {C.median([r['phases'][n] for r in results[kind]]):.2f}" for n in names)

    naive_s, int8_s, fp32_s = med("naive", "s"), med("int8", "s"), med("fp32", "s")
    floor_s, server_s, cli_s = med("floor", "s"), med("server", "s"), med("cli", "s")
    naive_rss, int8_rss, fp32_rss = med("naive", "rss_mb"), med("int8", "rss_mb"), med("fp32", "rss_mb")
    print(f"machine at the end: {C.machine()}")
    print()
    for label, kind in (("naive (open_clip + torch)", "naive"), ("stygig int8", "int8"), ("stygig fp32", "fp32"),
                        ("floor (ORT int8 tower)", "floor")):
        print(f"{label + ':':27s}{med(kind, 's'):.2f} s to first answer (CPU {med(kind, 'cpu_s'):.2f} s), "
              f"peak RSS {med(kind, 'rss_mb'):.0f} MB  [median s: {phases(kind)}]")
    ratio = naive_s / int8_s
    print(f"int8 is {ratio:.1f}x faster than naive and uses {100 * int8_rss / naive_rss:.0f}% of its memory; "
          f"fp32 {naive_s / fp32_s:.1f}x, {100 * fp32_rss / naive_rss:.0f}%")
    print(f"2-worker server (int8) to /ping 200: {server_s:.2f} s; int8 is {int8_s / floor_s:.2f}x the floor, "
          f"the server {server_s / floor_s:.2f}x; `stygig recommend` {cli_s:.2f} s ({cli_s / floor_s:.2f}x); the int8 artifact (what a deploy uploads) is {artifact_mb:.1f} MB")
    checks = {
        "int8 <= 1.0 s": int8_s <= 1.0,
        "fp32 <= 1.5 s": fp32_s <= 1.5,
        ">= 5x faster": ratio >= 5,
        "RSS <= 50% of naive": int8_rss <= 0.5 * naive_rss,
        "int8 <= 1.3x floor": int8_s <= 1.3 * floor_s,
        "server ready <= 1.6x floor": server_s <= 1.6 * floor_s,
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
        "floor_s": round(floor_s, 3),
        "server_ready_s": round(server_s, 3),
        "cli_int8_s": round(cli_s, 3),
        "int8_over_floor": round(int8_s / floor_s, 2),
        "server_over_floor": round(server_s / floor_s, 2),
        "cli_over_floor": round(cli_s / floor_s, 2),
        "int8_artifact_mb": round(artifact_mb, 1),
        "runs": runs,
        "random_weights": True,
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
