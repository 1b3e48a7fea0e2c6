"""Soak: bounded closed-loop load of mixed valid and invalid requests against `serve`.

    python benchmarks/soak.py [--requests 3000] [--clients 4] [--max-seconds 900] [--workers N]
                              [--workdir DIR] [--lite]

1. The int8 CLIP artifact (full ViT-B-32 architecture with seeded RANDOM weights, built as the
   other CLIP benchmarks build it, see benchmarks/_common.py; ``--lite`` serves a lite artifact
   instead and says so).
2. ``serve`` on a free port of 127.0.0.1; a warm-up round of every request kind (not counted).
3. ``--clients`` closed-loop clients, each on one keep-alive connection, send a fixed, seeded
   schedule of requests (pictures raw and in JSON, item ids, unicode text, through /invocations
   and the InvokeEndpoint path; broken pictures, bad JSON and base64, unknown items, out-of-range
   options, unknown fields, wrong content types and Accept headers, unknown routes, S3 buckets
   off the allow-list) until ``--requests`` are answered or ``--max-seconds`` pass.
4. Reported: throughput, p50/p99 (all requests and per kind), statuses by kind (and any status a
   kind should not get), the server's RSS (arbiter + workers) at start, middle and end, and its
   open file descriptors at start and end (both measured with no client connection open).

Last line: one JSON object with requests, rps, p50_ms, p99_ms, status_5xx, rss_growth_pct,
fd_growth (and more).
"""

from __future__ import annotations

import argparse
import base64
import http.client
import io
import json
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as C  # noqa: E402


# ---- the server's processes: see _common ---------------------------------------------------------
server_pids = C.process_tree
open_fds = C.open_fds


def rss_mb(pid: int) -> float:
    return C.rss_kib(pid) / 1024


# ---- requests -----------------------------------------------------------------------------------
JSON = {"Content-Type": "application/json"}


def request_kinds(photos: list[bytes], item_ids: list[str], text: bool) -> dict[str, tuple[float, int, object]]:
    """kind -> (weight, expected status, make(rng) -> (method, path, body, headers))."""
    rnd_bytes = random.Random(1).randbytes(20_000)
    texts = ["a white cotton shirt", "navy linen blazer", "röd klänning med blommor", "黑色皮鞋", "👗 summer dress ✨",
             "chaussures à talons", "a" * 900, "baggy jeans, light wash"]

    def js(obj) -> bytes:
        return json.dumps(obj).encode()

    kinds = {
        # valid
        "image/jpeg": (30, 200, lambda r: ("POST", f"/invocations?top_k={r.randint(1, 8)}", r.choice(photos), {"Content-Type": "image/jpeg"})),
        "json image": (10, 200, lambda r: ("POST", "/invocations", js({"image": base64.b64encode(r.choice(photos)).decode(), "top_k": 5, "min_score": 0.1}), JSON)),
        "item_id": (12, 200, lambda r: ("POST", "/invocations", js({"item_id": r.choice(item_ids), "items_per_category": r.randint(1, 3), "gender": r.choice(["male", "female", "unisex"])}), JSON)),
        "text": (8, 200 if text else 422, lambda r: ("POST", "/invocations", js({"text": r.choice(texts), "top_k": 4}), JSON)),
        "invoke endpoint": (6, 200, lambda r: ("POST", "/endpoints/stygig-soak/invocations", js({"item_id": r.choice(item_ids)}), JSON)),
        "ping": (2, 200, lambda r: ("GET", "/ping", b"", {})),
        # invalid
        "random bytes": (4, 422, lambda r: ("POST", "/invocations", rnd_bytes[: r.randint(1, 20_000)], {"Content-Type": "image/jpeg"})),
        "truncated jpeg": (4, 422, lambda r: ("POST", "/invocations", r.choice(photos)[:2000], {"Content-Type": "image/jpeg"})),
        "bad json": (3, 400, lambda r: ("POST", "/invocations", b'{"item_id": ', JSON)),
        "bad base64": (3, 400, lambda r: ("POST", "/invocations", js({"image": "@@not base64@@"}), JSON)),
        "unknown item": (4, 422, lambda r: ("POST", "/invocations", js({"item_id": f"../no-such-{r.randint(0, 10**6)}"}), JSON)),
        "top_k out of range": (3, 422, lambda r: ("POST", "/invocations", js({"item_id": r.choice(item_ids), "top_k": r.choice([0, -1, 51, 10**9])}), JSON)),
        "unknown field": (3, 422, lambda r: ("POST", "/invocations", js({"item_id": r.choice(item_ids), "colour": "red"}), JSON)),
        "s3 not allowed": (2, 422, lambda r: ("POST", "/invocations", js({"image_s3_uri": "s3://someone-else/x.jpg"}), JSON)),
        "wrong content type": (2, 415, lambda r: ("POST", "/invocations", b"hello", {"Content-Type": "text/plain"})),
        "bad accept": (2, 406, lambda r: ("POST", "/invocations", js({"item_id": r.choice(item_ids)}), {**JSON, "Accept": "text/csv"})),
        "unknown route": (2, 404, lambda r: ("GET", f"/nope/{r.randint(0, 99)}", b"", {})),
    }
    return kinds


class Load:
    def __init__(self, port: int, kinds: dict, total: int, clients: int, deadline: float, seed: int = 0):
        self.port, self.kinds, self.total, self.clients, self.deadline = port, kinds, total, clients, deadline
        rng = random.Random(seed)
        names = list(kinds)
        self.schedule = rng.choices(names, weights=[kinds[n][0] for n in names], k=total)
        self.next = 0
        self.done = 0
        self.lock = threading.Lock()
        self.records: list[tuple[str, int | str, float]] = []
        self.half = threading.Event()
        self.stopped_by_time = False

    def _take(self) -> tuple[int, str] | None:
        with self.lock:
            if self.next >= self.total:
                return None
            if time.monotonic() > self.deadline:
                self.stopped_by_time = True
                return None
            i = self.next
            self.next += 1
            return i, self.schedule[i]

    def client(self, k: int) -> None:
        rng = random.Random(1000 + k)
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
        while (job := self._take()) is not None:
            _, kind = job
            method, path, body, headers = self.kinds[kind][2](rng)
            t0 = time.perf_counter()
            try:
                conn.request(method, path, body=body or None, headers=headers)
                resp = conn.getresponse()
                data = resp.read()
                status: int | str = resp.status
                if status == 200 and path.endswith("invocations") and not data.startswith(b'{"query_item"'):
                    status = "200-not-an-outfit"
                if resp.getheader("connection", "").lower() == "close":
                    conn.close()
                    conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
            except (OSError, http.client.HTTPException) as e:
                status = type(e).__name__
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
            dt = time.perf_counter() - t0
            with self.lock:
                self.records.append((kind, status, dt))
                self.done += 1
                if self.done >= self.total // 2:
                    self.half.set()
        conn.close()

    def run(self) -> float:
        threads = [threading.Thread(target=self.client, args=(k,), daemon=True) for k in range(self.clients)]
        t0 = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.half.set()
        return time.perf_counter() - t0


def pct(xs: list[float], q: float) -> float:
    return C.percentile(xs, q) * 1000 if xs else float("nan")


# ---- artifacts ----------------------------------------------------------------------------------
def clip_int8_artifact(work: Path) -> Path:
    from stygig.artifact import read_manifest
    from stygig.build import build_artifact
    from stygig.errors import ArtifactError

    art = C.artifact(work, "int8")
    try:
        read_manifest(art)
        return art
    except ArtifactError as e:  # built by an older StyGig: rebuild beside it
        C.log(f"cached int8 artifact unusable ({e.message}); rebuilding")
        out = work / "artifact-int8-soak"
        if not (out / "manifest.json").is_file():
            build_artifact(C.sample_catalog(work), out, encoder=str(C.clip_export(work)), precision="int8")
        return out


def lite_artifact(work: Path) -> Path:
    from stygig.build import build_artifact

    out = work / "artifact-lite-soak"
    if not (out / "manifest.json").is_file():
        build_artifact(C.sample_catalog(work), out, encoder="lite")
    return out


def photos_and_ids(artifact: Path) -> tuple[list[bytes], list[str], bool]:
    from PIL import Image

    from stygig.recommend.engine import Recommender

    rec = Recommender.load(artifact, verify=False)
    photos = []
    for category in rec.taxonomy.categories:
        for it in rec.items_in_category(category, 0, 1):
            src = Path(str(it.get("source", "")))
            path = src if src.is_file() else artifact / it["thumbnail"]
            with Image.open(path) as im:
                im = im.convert("RGB")
                for side in (480, 1000):  # a phone upload and a product shot
                    buf = io.BytesIO()
                    im.resize((side, side)).save(buf, "JPEG", quality=88)
                    photos.append(buf.getvalue())
    ids = [rec.items[i]["id"] for i in range(0, rec.n_items, max(1, rec.n_items // 60))]
    return photos, ids, bool(getattr(rec.encoder, "supports_text", False))


# ---- main ---------------------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--requests", type=int, default=3000, help="requests to send (default 3000)")
    ap.add_argument("--clients", type=int, default=4, help="concurrent closed-loop clients (default 4)")
    ap.add_argument("--max-seconds", type=float, default=900.0, help="stop sending after this long (default 900)")
    ap.add_argument("--workers", type=int, default=None, help="server workers (default: the server's, one per core)")
    ap.add_argument("--workdir", type=Path, default=None, help="where artifacts are cached (default $TMPDIR/stygig-bench)")
    ap.add_argument("--lite", action="store_true", help="serve a lite artifact instead of the int8 CLIP one")
    args = ap.parse_args(argv)

    from stygig.serving.child import free_port, stop

    work = args.workdir or C.default_workdir()
    work.mkdir(parents=True, exist_ok=True)
    if args.lite:
        artifact = lite_artifact(work)
        print("NOTE: --lite: serving a LITE artifact (no CLIP), not the int8 CLIP one the soak is meant for")
    else:
        artifact = clip_int8_artifact(work)
        print(C.RANDOM_NOTE)
    photos, item_ids, text = photos_and_ids(artifact)
    manifest = json.loads((artifact / "manifest.json").read_text())
    enc = manifest["encoder"]
    print(f"artifact: {artifact} (encoder {enc.get('kind')} {enc.get('model', '')} {enc.get('precision', '')}, "
          f"{manifest['counts']['items']} items)")
    print(f"machine: {C.machine()} (shared with other work)")

    port = free_port()
    cmd = [str(Path(sys.executable).with_name("serve")), str(artifact), "--host", "127.0.0.1", "--port", str(port)]
    if args.workers:
        cmd += ["--workers", str(args.workers)]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SAGEMAKER_", "TS_", "STYGIG_")) and k != "OMP_NUM_THREADS"}
    env["STYGIG_LOG_LEVEL"] = "warning"
    with tempfile.TemporaryDirectory(prefix="stygig-soak-") as tmp:
        log_path = Path(tmp) / "server.log"
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=open(log_path, "wb"), env=env)
        try:
            try:
                wait_ready(port, proc)
            except SystemExit:
                print(log_path.read_text()[-3000:], file=sys.stderr)
                raise
            kinds = request_kinds(photos, item_ids, text)
            # warm-up: every kind a few times on every worker (not counted)
            warm = Load(port, kinds, total=len(kinds) * 6, clients=args.clients, deadline=time.monotonic() + 300, seed=99)
            warm.schedule = [k for k in kinds for _ in range(6)]
            warm.run()
            time.sleep(1.0)  # the server closes the warm-up connections
            pids_start = server_pids(proc.pid)
            rss = {"start": rss_mb(proc.pid)}
            fds_start = open_fds(proc.pid)
            print(f"server: {len(pids_start) - 1} worker(s); RSS {rss['start']:.0f} MB and {sum(fds_start.values())} open fds after warm-up")

            load = Load(port, kinds, total=args.requests, clients=args.clients, deadline=time.monotonic() + args.max_seconds)
            sampler_done = threading.Event()

            def sample_middle() -> None:
                load.half.wait()
                if not sampler_done.is_set():
                    rss["middle"] = rss_mb(proc.pid)

            sampler = threading.Thread(target=sample_middle, daemon=True)
            sampler.start()
            wall = load.run()
            sampler_done.set()
            sampler.join(5)
            time.sleep(1.0)  # every client connection closed
            rss["end"] = rss_mb(proc.pid)
            fds_end = open_fds(proc.pid)
            pids_end = server_pids(proc.pid)
            ping_after = _ping(port)
        finally:
            code = stop(proc)
        server_errors = [l for l in log_path.read_text(errors="replace").splitlines() if '"level": "error"' in l]

    # ---- report ---------------------------------------------------------------------------------
    recs = load.records
    n = len(recs)
    lat_all = [dt for _, _, dt in recs]
    statuses = Counter(s for _, s, _ in recs)
    status_5xx = sum(c for s, c in statuses.items() if isinstance(s, int) and s >= 500)
    transport = sum(c for s, c in statuses.items() if not isinstance(s, int))
    print(f"\n{n} requests from {args.clients} clients in {wall:.1f} s: {n / wall:.1f} req/s"
          + ("  (stopped by --max-seconds)" if load.stopped_by_time else ""))
    print(f"latency, all requests: p50 {pct(lat_all, 0.5):.1f} ms, p99 {pct(lat_all, 0.99):.1f} ms")
    print(f"{'kind':<20} {'n':>5} {'expect':>6}  statuses{'':<18} {'p50 ms':>8} {'p99 ms':>8}")
    by_kind: dict[str, list] = defaultdict(list)
    for kind, s, dt in recs:
        by_kind[kind].append((s, dt))
    unexpected = {}
    for kind in kinds:
        rows = by_kind.get(kind, [])
        if not rows:
            continue
        expect = kinds[kind][1]
        st = Counter(s for s, _ in rows)
        bad = {str(s): c for s, c in st.items() if s != expect}
        if bad:
            unexpected[kind] = bad
        lats = [dt for _, dt in rows]
        shown = ", ".join(f"{s}: {c}" for s, c in sorted(st.items(), key=lambda x: str(x[0])))
        print(f"{kind:<20} {len(rows):>5} {expect:>6}  {shown:<26} {pct(lats, 0.5):>8.1f} {pct(lats, 0.99):>8.1f}")
    print(f"statuses: {dict(sorted(((str(k), v) for k, v in statuses.items())))}; 5xx: {status_5xx}; transport errors: {transport}")
    if unexpected:
        print(f"UNEXPECTED statuses by kind: {unexpected}")
    growth = 100.0 * (rss["end"] - rss["start"]) / rss["start"]
    print(f"server RSS (arbiter + workers): start {rss['start']:.0f} MB, middle {rss.get('middle', float('nan')):.0f} MB, "
          f"end {rss['end']:.0f} MB ({growth:+.1f}%)")
    fd_growth = sum(fds_end.values()) - sum(fds_start.values())
    print(f"open fds (arbiter + workers, no client connected): start {sum(fds_start.values())} {list(fds_start.values())}, "
          f"end {sum(fds_end.values())} {list(fds_end.values())} ({fd_growth:+d})")
    same = sorted(pids_start) == sorted(pids_end)
    print(f"server processes {'unchanged' if same else 'CHANGED (a worker was replaced)'}; /ping after the soak: {ping_after}; "
          f"error log lines: {len(server_errors)}; SIGTERM exit {code}")
    summary = {
        "requests": n,
        "rps": round(n / wall, 2),
        "p50_ms": round(pct(lat_all, 0.5), 1),
        "p99_ms": round(pct(lat_all, 0.99), 1),
        "status_5xx": status_5xx,
        "rss_growth_pct": round(growth, 2),
        "fd_growth": fd_growth,
        "transport_errors": transport,
        "unexpected": sum(sum(v.values()) for v in unexpected.values()),
        "rss_mb": [round(rss["start"], 1), round(rss.get("middle", float("nan")), 1), round(rss["end"], 1)],
        "workers": len(pids_start) - 1,
        "workers_replaced": not same,
        "encoder": enc.get("kind"),
        "random_weights": not args.lite,
        "seconds": round(wall, 1),
        "exit": code,
    }
    print(json.dumps(summary))
    return 0


def _ping(port: int) -> int | str:
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        conn.request("GET", "/ping")
        status = conn.getresponse().status
        conn.close()
        return status
    except (OSError, http.client.HTTPException) as e:
        return type(e).__name__


def wait_ready(port: int, proc: subprocess.Popen) -> None:
    """Until every worker answers: 20 pings in a row say 200."""
    t0 = time.monotonic()
    streak = 0
    while streak < 20:
        if proc.poll() is not None:
            raise SystemExit(f"serve exited with {proc.returncode}")
        if time.monotonic() - t0 > 180:
            raise SystemExit("serve never answered /ping 200")
        streak = streak + 1 if _ping(port) == 200 else 0
        time.sleep(0.02)
    C.log(f"serve ready in {time.monotonic() - t0:.1f} s")


if __name__ == "__main__":
    sys.exit(main())
