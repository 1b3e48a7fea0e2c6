"""Server throughput and latency under bounded closed-loop load, against the engine in-process.

    python benchmarks/serve_load.py [--artifact DIR] [--requests 40] [--levels 1,2,4,8] [--workers N]

1. Starts ``serve`` on the artifact (a free port on 127.0.0.1) and times process start -> /ping 200.
3. From a second process, runs closed-loop clients at each concurrency level (each client sends a
   fixed number of raw JPEG requests over one keep-alive connection, waiting for each answer):
   requests/s, p50, p99, errors, and the server's RSS (arbiter + workers) at start and end.
   Before each level and after the last, the engine is measured in-process for a few seconds
   (decode + recommend, one after another); ``engine_rps`` is the median of those slices.
4. Stops the server with SIGTERM.

Without ``--artifact`` a lite artifact is built from the sample catalog (the output says which
encoder was measured). The last line is one JSON object: best_rps, engine_rps, ratio, errors,
rss_growth_pct, ping_ready_s (and a few more).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

# The in-process baseline runs with the server's OpenMP wait policy (set before numpy/FAISS load).
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as C  # noqa: E402


def query_photos(artifact: Path, n: int = 8) -> list[bytes]:
    """JPEG bytes of a few catalog pictures, one per category, as a client would send."""
    import io

    from PIL import Image

    from stygig.recommend.engine import Recommender

    rec = Recommender.load(artifact, verify=False)
    out = []
    for category in rec.taxonomy.categories:
        items = rec.items_in_category(category, 0, 1)
        if not items:
            continue
        src = Path(str(items[0].get("source", "")))
        path = src if src.is_file() else artifact / items[0]["thumbnail"]
        with Image.open(path) as im:
            buf = io.BytesIO()
            im.convert("RGB").save(buf, "JPEG", quality=90)
        out.append(buf.getvalue())
        if len(out) >= n:
            break
    return out


class EngineMeter:
    """The engine in-process (decode + recommend, one after another), measured in short slices
    between the load levels so that both see the same machine (it is shared and noisy).

    Measured with one intra-op thread and with every core; ``rps`` is the better of the two
    medians, so the server is compared with the engine at its best for a single caller.
    """

    def __init__(self, artifact: Path, photos: list[bytes]):
        from stygig.recommend.engine import Recommender
        from stygig.serving.state import warm_up

        self.configs: dict[int, object] = {}
        for threads in sorted({1, len(os.sched_getaffinity(0))}):
            old = os.environ.get("OMP_NUM_THREADS")
            os.environ["OMP_NUM_THREADS"] = str(threads)  # read when the encoder opens its sessions
            try:
                rec = Recommender.load(artifact)
                warm_up(rec)
            finally:
                if old is None:
                    os.environ.pop("OMP_NUM_THREADS", None)
                else:
                    os.environ["OMP_NUM_THREADS"] = old
            self.configs[threads] = rec
        self.photos = photos
        self.kind = rec.encoder.describe().get("kind", "?")
        self.slices: dict[int, list[float]] = {t: [] for t in self.configs}
        self.i = 0

    def measure(self, seconds: float) -> dict[int, float]:
        from stygig.images import decode_image
        from stygig.recommend.query import Query
        from stygig.schema import Options

        out = {}
        for threads, rec in self.configs.items():
            n, t0 = 0, time.perf_counter()
            while time.perf_counter() - t0 < seconds / len(self.configs) or n < 5:
                rec.recommend(Query(image=decode_image(self.photos[self.i % len(self.photos)])), Options())
                n += 1
                self.i += 1
            out[threads] = n / (time.perf_counter() - t0)
            self.slices[threads].append(out[threads])
        return out

    def medians(self) -> dict[int, float]:
        return {t: statistics.median(v) for t, v in self.slices.items()}

    @property
    def rps(self) -> float:
        return max(self.medians().values())


def _fmt_engine(m: dict[int, float]) -> str:
    return ", ".join(f"{v:.1f} rec/s with {t} thread{'s' if t > 1 else ''}" for t, v in m.items())


# ---- the load client (runs in its own process) --------------------------------------------------
def client_main(port: int, concurrency: int, requests: int, photos_dir: Path, max_seconds: float) -> None:
    photos = [p.read_bytes() for p in sorted(photos_dir.glob("*.jpg"))]
    latencies: list[float] = []
    errors: dict[str, int] = {}
    lock = threading.Lock()
    deadline = time.monotonic() + max_seconds

    def one_client(k: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        for i in range(requests):
            if time.monotonic() > deadline:
                with lock:
                    errors["time_budget"] = errors.get("time_budget", 0) + 1
                return
            body = photos[(k + i) % len(photos)]
            t0 = time.perf_counter()
            try:
                conn.request("POST", "/invocations", body=body, headers={"Content-Type": "image/jpeg"})
                resp = conn.getresponse()
                data = resp.read()
                ok = resp.status == 200 and data.startswith(b'{"query_item"')
                status = str(resp.status)
            except (OSError, http.client.HTTPException) as e:
                ok, status = False, type(e).__name__
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            dt = time.perf_counter() - t0
            with lock:
                if ok:
                    latencies.append(dt)
                else:
                    errors[status] = errors.get(status, 0) + 1
        conn.close()

    threads = [threading.Thread(target=one_client, args=(k,)) for k in range(concurrency)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    lat = sorted(latencies)
    q = statistics.quantiles(lat, n=100, method="inclusive") if len(lat) >= 2 else [lat[0] if lat else 0.0] * 99
    print(
        json.dumps(
            {
                "concurrency": concurrency,
                "ok": len(lat),
                "errors": sum(errors.values()),
                "error_kinds": errors,
                "rps": len(lat) / wall if wall else 0.0,
                "p50_ms": q[49] * 1000,
                "p99_ms": q[98] * 1000,
                "seconds": wall,
            }
        )
    )


# ---- orchestration -----------------------------------------------------------------------------
def build_lite_artifact(tmp: Path) -> Path:
    from stygig.build import build_artifact
    from stygig.catalog.sample import generate_sample_catalog

    generate_sample_catalog(tmp / "catalog", seed=0)
    build_artifact(tmp / "catalog", tmp / "artifact", encoder="lite")
    return tmp / "artifact"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--artifact", type=Path, help="artifact to serve (default: build a lite one from the sample catalog)")
    ap.add_argument("--requests", type=int, default=40, help="requests per client at each level (default 40)")
    ap.add_argument("--levels", default="1,2,4,8", help="concurrency levels (default 1,2,4,8)")
    ap.add_argument("--workers", type=int, default=None, help="server workers (default: the server's, one per core)")
    ap.add_argument("--engine-seconds", type=float, default=3.0, help="length of each in-process engine slice")
    ap.add_argument("--max-seconds", type=float, default=120.0, help="time budget per level")
    ap.add_argument("--client", nargs=4, metavar=("PORT", "CONC", "N", "PHOTOS"), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.client:
        port, conc, n, photos = args.client
        client_main(int(port), int(conc), int(n), Path(photos), args.max_seconds)
        return 0

    from stygig.serving.child import free_port, stop

    with tempfile.TemporaryDirectory(prefix="stygig-bench-") as tmpname:
        tmp = Path(tmpname)
        artifact = args.artifact or build_lite_artifact(tmp)
        photos = query_photos(artifact)
        (tmp / "photos").mkdir()
        for i, data in enumerate(photos):
            (tmp / "photos" / f"{i:02d}.jpg").write_bytes(data)

        engine = EngineMeter(artifact, photos)  # loaded before the server starts: not in its timing
        kind = engine.kind
        print(f"artifact: {artifact} (encoder: {kind}){'  [built lite: no CLIP artifact given]' if not args.artifact else ''}")
        print(f"cores: {len(os.sched_getaffinity(0))}; load average {os.getloadavg()[0]:.1f} (the machine is shared)")

        port = free_port()
        cmd = [str(Path(sys.executable).with_name("serve")), str(artifact), "--host", "127.0.0.1", "--port", str(port)]
        if args.workers:
            cmd += ["--workers", str(args.workers)]
        env = {k: v for k, v in os.environ.items() if k not in ("OMP_NUM_THREADS",)}
        env["STYGIG_LOG_LEVEL"] = "warning"
        t0 = time.monotonic()
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=open(tmp / "server.log", "wb"), env=env)
        ping_ready = None
        while time.monotonic() - t0 < 120:
            if proc.poll() is not None:
                print((tmp / "server.log").read_text()[-2000:], file=sys.stderr)
                raise SystemExit(f"server exited with {proc.returncode}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/ping", timeout=2) as r:
                    if r.status == 200:
                        ping_ready = time.monotonic() - t0
                        break
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.01)
        if ping_ready is None:
            stop(proc)
            raise SystemExit("server never answered /ping 200")
        print(f"process start -> /ping 200: {ping_ready:.2f} s")
        # every worker ready (a /ping 200 says one is): wait until 20 pings in a row say 200
        streak = 0
        while streak < 20 and time.monotonic() - t0 < 120:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/ping", timeout=2) as r:
                    streak = streak + 1 if r.status == 200 else 0
            except (urllib.error.URLError, OSError):
                streak = 0
            time.sleep(0.02)

        rss_start = C.rss_kib(proc.pid)
        results = []
        try:
            for level in [int(x) for x in args.levels.split(",")]:
                print(f"  engine in-process (decode + recommend, sequential): {_fmt_engine(engine.measure(args.engine_seconds))}")
                out = subprocess.run(
                    [sys.executable, __file__, "--max-seconds", str(args.max_seconds), "--client", str(port), str(level), str(args.requests), str(tmp / "photos")],
                    capture_output=True,
                    text=True,
                    timeout=args.max_seconds + 60,
                )
                if out.returncode != 0:
                    raise SystemExit(out.stderr[-2000:])
                res = json.loads(out.stdout.strip().splitlines()[-1])
                results.append(res)
                print(
                    f"  {level} client(s): {res['rps']:7.1f} req/s  p50 {res['p50_ms']:7.1f} ms  p99 {res['p99_ms']:7.1f} ms"
                    f"  ok {res['ok']}  errors {res['errors']} {res['error_kinds'] or ''}"
                )
            rss_end = C.rss_kib(proc.pid)
            print(f"  engine in-process (decode + recommend, sequential): {_fmt_engine(engine.measure(args.engine_seconds))}")
        finally:
            code = stop(proc)
        best = max(results, key=lambda r: r["rps"])
        errors = sum(r["errors"] for r in results)
        e_rps = engine.rps
        growth = 100.0 * (rss_end - rss_start) / rss_start if rss_start else 0.0
        print(f"server RSS: {rss_start / 1024:.0f} MB at start, {rss_end / 1024:.0f} MB at end ({growth:+.1f}%); SIGTERM exit {code}")
        print(f"engine in-process, median of slices: {_fmt_engine(engine.medians())}")
        summary = {
            "encoder": kind,
            "best_concurrency": best["concurrency"],
            "best_rps": round(best["rps"], 2),
            "engine_rps": round(e_rps, 2),
            "ratio": round(best["rps"] / e_rps, 3) if e_rps else None,
            "errors": errors,
            "rss_growth_pct": round(growth, 2),
            "ping_ready_s": round(ping_ready, 3),
            "p50_ms_best": round(best["p50_ms"], 1),
            "p99_ms_best": round(best["p99_ms"], 1),
        }
        print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
