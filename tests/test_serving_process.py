"""The process model under stress: SIGTERM drains, a SIGKILLed worker is replaced, /ping never
waits for a busy recommendation, a request past the timeout is a 504, a broken artifact stops
`serve` with a non-zero status."""

from __future__ import annotations

import io
import json
import os
import shutil
import signal
import threading
import time
from pathlib import Path

import httpx
import pytest
from PIL import Image

from stygig.serving.child import stop
from test_serving_server import assert_error, start_server, wait_for, wait_workers_ready


def children(pid: int) -> set[int]:
    out: set[int] = set()
    for task in Path(f"/proc/{pid}/task").iterdir():
        text = (task / "children").read_text().split()
        out.update(int(t) for t in text)
    return out


def slow_png(side: int) -> bytes:
    """A large, noisy picture: cheap to send, slow to decode and analyse."""
    import numpy as np

    rng = np.random.default_rng(0)
    small = Image.fromarray(rng.integers(0, 255, (side // 8, side // 8, 3), dtype=np.uint8))
    buf = io.BytesIO()
    small.resize((side, side), Image.NEAREST).save(buf, "PNG", compress_level=1)
    return buf.getvalue()


@pytest.fixture(scope="module")
def heavy() -> bytes:
    return slow_png(6000)  # ~36 MP: well under the 64 MP limit, about a second of work


def timed_post(url: str, body: bytes, results: list, ctype: str = "image/png") -> None:
    t0 = time.monotonic()
    try:
        r = httpx.post(url + "/invocations", content=body, headers={"Content-Type": ctype}, timeout=60)
        results.append((r.status_code, time.monotonic() - t0, r))
    except httpx.HTTPError as e:  # pragma: no cover - reported by the assertion
        results.append((type(e).__name__, time.monotonic() - t0, None))


def test_ping_answers_while_a_recommendation_is_busy(lite_artifact, tmp_path, heavy):
    srv = start_server(lite_artifact, tmp_path, workers=1)
    try:
        wait_for(srv)
        results: list = []
        threads = [threading.Thread(target=timed_post, args=(srv.url, heavy, results)) for _ in range(2)]
        for t in threads:
            t.start()
        time.sleep(0.3)
        pings = []
        while any(t.is_alive() for t in threads):
            t0 = time.monotonic()
            r = httpx.get(srv.url + "/ping", timeout=5)
            pings.append((r.status_code, time.monotonic() - t0))
            time.sleep(0.05)
        for t in threads:
            t.join()
        assert [s for s, _, _ in results] == [200, 200]
        assert len(pings) >= 3, "the heavy requests finished too fast to overlap"
        assert all(s == 200 for s, _ in pings)
        assert max(d for _, d in pings) < 2.0, pings
    finally:
        assert stop(srv.proc) == 0


def test_sigterm_drains_in_flight_requests_then_exits(lite_artifact, tmp_path, heavy):
    srv = start_server(lite_artifact, tmp_path, workers=1)
    wait_for(srv)
    results: list = []
    t = threading.Thread(target=timed_post, args=(srv.url, heavy, results))
    t.start()
    time.sleep(0.4)  # the request is in flight
    t0 = time.monotonic()
    srv.proc.send_signal(signal.SIGTERM)
    t.join(40)
    code = srv.proc.wait(35)
    elapsed = time.monotonic() - t0
    assert results and results[0][0] == 200, results  # finished, not dropped
    assert results[0][2].json()["recommendations"]
    assert code == 0
    assert elapsed < 30
    with pytest.raises(httpx.ConnectError):
        httpx.get(srv.url + "/ping", timeout=2)


def test_sigkilled_worker_is_replaced(lite_artifact, tmp_path):
    srv = start_server(lite_artifact, tmp_path, workers=2)
    try:
        wait_for(srv)
        wait_workers_ready(srv, 2)
        before = children(srv.proc.pid)
        assert len(before) == 2
        victim = sorted(before)[0]
        os.kill(victim, signal.SIGKILL)
        t0 = time.monotonic()
        replaced = None
        while time.monotonic() - t0 < 5:
            now = children(srv.proc.pid)
            if len(now) == 2 and victim not in now:
                replaced = now - before
                break
            time.sleep(0.05)
        assert replaced and len(replaced) == 1, children(srv.proc.pid)
        new_pid = next(iter(replaced))
        # the replacement loads the model and serves; meanwhile the other worker kept serving
        while time.monotonic() - t0 < 10:
            if any(l.get("event") == "model_ready" and l.get("pid") == new_pid for l in srv.log_lines()):
                break
            r = httpx.post(srv.url + "/invocations", json={"item_id": "shirt-0000"}, timeout=10)
            assert r.status_code == 200, r.text  # the replacement holds a request until it is ready
            time.sleep(0.05)
        else:
            pytest.fail("the replacement worker never became ready")
        assert time.monotonic() - t0 < 5
        statuses = {httpx.get(srv.url + "/ping").status_code for _ in range(10)}
        assert statuses == {200}
    finally:
        assert stop(srv.proc) == 0


def test_timeout_is_504_and_the_server_carries_on(lite_artifact, tmp_path, heavy):
    srv = start_server(lite_artifact, tmp_path, workers=1, env={"SAGEMAKER_MODEL_SERVER_TIMEOUT": "1"})
    try:
        wait_for(srv)
        results: list = []
        threads = [threading.Thread(target=timed_post, args=(srv.url, heavy, results)) for _ in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        statuses = sorted(s for s, _, _ in results)
        assert 504 in statuses, statuses  # three heavy requests cannot all finish within 1 s
        for status, seconds, r in results:
            if status == 504:
                err = assert_error(r, 504, "timeout")
                assert "SAGEMAKER_MODEL_SERVER_TIMEOUT" in err["message"]
                assert seconds < 15  # the 504 comes at the 1 s timeout, not when the work ends; slack for a loaded CI machine
        time.sleep(3)  # the abandoned work finishes in its thread
        r = httpx.post(srv.url + "/invocations", json={"item_id": "shirt-0000"}, timeout=10)
        assert r.status_code == 200
    finally:
        assert stop(srv.proc) == 0


def test_a_corrupted_artifact_stops_serve_before_it_listens(lite_artifact, tmp_path):
    broken = tmp_path / "broken"
    shutil.copytree(lite_artifact, broken)
    with open(broken / "vectors.npy", "r+b") as fh:  # flip bytes: the checksum no longer matches
        fh.seek(200)
        fh.write(b"\x13\x37\x13\x37")
    srv = start_server(broken, tmp_path, workers=1)
    statuses = ping_until_exit(srv)
    assert srv.proc.wait(30) == 2
    assert statuses == []  # never listened, so never looked healthy
    last = srv.log.read_text().strip().splitlines()[-1]
    assert last == "serve: error: artifact file vectors.npy does not match its checksum (corrupted or modified)"


def test_an_artifact_that_cannot_load_never_looks_healthy(lite_artifact, tmp_path):
    """Checksums match (the manifest was updated) but the index is garbage: the worker's load fails."""
    import hashlib

    broken = tmp_path / "unloadable"
    shutil.copytree(lite_artifact, broken)
    manifest = json.loads((broken / "manifest.json").read_text())
    rel = next(k for k in manifest["files"] if k.startswith("index/") and k.endswith(".faiss"))
    (broken / rel).write_bytes(b"not a faiss index" * 10)
    manifest["files"][rel] = hashlib.sha256((broken / rel).read_bytes()).hexdigest()
    (broken / "manifest.json").write_text(json.dumps(manifest))
    srv = start_server(broken, tmp_path, workers=2)
    statuses = ping_until_exit(srv)
    assert srv.proc.wait(30) == 3
    assert 200 not in statuses
    failures = [l for l in srv.log_lines() if l.get("event") == "model_load_failed"]
    assert failures and "\n" not in failures[0]["message"]
    last = srv.log.read_text().strip().splitlines()[-1]
    assert last.startswith("serve: error: the model failed to load: ")
    assert failures[0]["message"] in last


def ping_until_exit(srv, timeout: float = 60.0) -> list[int]:
    statuses = []
    t0 = time.monotonic()
    while srv.proc.poll() is None and time.monotonic() - t0 < timeout:
        try:
            statuses.append(httpx.get(srv.url + "/ping", timeout=2).status_code)
        except httpx.TransportError:
            pass
        time.sleep(0.01)
    return statuses


def test_serve_on_a_missing_artifact_fails_in_one_line(tmp_path):
    import subprocess

    from test_serving_server import SERVE

    r = subprocess.run([SERVE, str(tmp_path / "nothing"), "--port", "1"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 2
    assert r.stderr.strip().count("\n") == 0 and "artifact not found" in r.stderr


# ---- issue 16.1: once /ping has said 200, nothing is refused as still loading ----------------
#: real warm-up work (STYGIG_WARMUP_ROUNDS passes over the request paths) makes a worker's load
#: take seconds instead of a fraction of one, as a CLIP artifact's does
SLOW_LOAD = {"STYGIG_WARMUP_ROUNDS": "40"}


def log_time(line: dict) -> float:
    from datetime import datetime

    return datetime.strptime(line["time"], "%Y-%m-%dT%H:%M:%S.%fZ").timestamp()


def ready_times(srv) -> dict[int, float]:
    return {l["pid"]: log_time(l) for l in srv.log_lines() if l.get("event") == "model_ready"}


def held_while_loading(srv) -> list[dict]:
    """/invocations requests that started before the worker answering them had its model ready."""
    ready = ready_times(srv)
    out = []
    for l in srv.log_lines():
        if l.get("event") == "request" and l.get("path") == "/invocations":
            started = log_time(l) - l["ms"] / 1000
            if started < ready.get(l["pid"], float("inf")) - 0.005:
                out.append(l)
    return out


def burst(url: str, n: int) -> list:
    """n requests at once, each on its own connection (so they spread over the workers)."""
    results: list = []

    def one() -> None:
        try:
            r = httpx.post(url + "/invocations", json={"item_id": "shirt-0000", "top_k": 2}, timeout=60)
            results.append(r.status_code if r.status_code == 200 else (r.status_code, r.text[:200]))
        except httpx.HTTPError as e:  # pragma: no cover - reported by the assertion
            results.append(type(e).__name__)

    threads = [threading.Thread(target=one) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(90)
    return results


def test_a_burst_right_after_the_first_ping_200_is_answered(lite_artifact, tmp_path):
    """The failure as reported: 2 workers, bursts of 16 from the moment /ping first says 200 until
    both workers are ready. A worker still loading then (gunicorn starts them up to 0.1 s apart,
    and their loads finish apart) holds its share until ready: all 200. Starts are repeated (at
    most 5) until a burst did reach a worker still loading."""
    reached_a_loading_worker = 0
    for attempt in range(5):
        srv = start_server(lite_artifact, tmp_path, workers=2, env=SLOW_LOAD)
        try:
            wait_for(srv, timeout=120)
            t0 = time.monotonic()
            while True:
                results = burst(srv.url, 16)
                assert results == [200] * 16, results
                if len(ready_times(srv)) == 2 or time.monotonic() - t0 > 60:
                    break
            wait_workers_ready(srv, 2, timeout=120)
            reached_a_loading_worker += bool(held_while_loading(srv))
        finally:
            assert stop(srv.proc) == 0
        if reached_a_loading_worker:
            break
    assert reached_a_loading_worker, "no burst reached a worker still loading: the test proved nothing"


def test_bursts_while_a_killed_worker_is_replaced_are_answered(lite_artifact, tmp_path):
    """Kill one of 2 workers by PID: while its replacement loads, bursts keep getting 200 (the
    replacement holds what reaches it until ready) and /ping answers fast throughout."""
    srv = start_server(lite_artifact, tmp_path, workers=2, env=SLOW_LOAD)
    try:
        wait_for(srv, timeout=120)
        wait_workers_ready(srv, 2, timeout=120)
        before = children(srv.proc.pid)
        victim = sorted(before)[0]
        os.kill(victim, signal.SIGKILL)
        t0 = time.monotonic()
        results: list = []
        pings: list = []
        new_pid = None
        while time.monotonic() - t0 < 60:
            if new_pid is None:
                now = children(srv.proc.pid)
                if len(now) == 2 and victim not in now:
                    (new_pid,) = now - before
            elif new_pid in ready_times(srv):
                break
            results += burst(srv.url, 8)
            p0 = time.monotonic()
            pings.append((httpx.get(srv.url + "/ping", timeout=5).status_code, time.monotonic() - p0))
        else:
            pytest.fail("the replacement worker never became ready")
        assert new_pid is not None
        assert results and all(r == 200 for r in results), [r for r in results if r != 200][:5]
        held = [l for l in held_while_loading(srv) if l["pid"] == new_pid]
        assert held, "no request reached the replacement while it loaded: the test proved nothing"
        assert all(s in (200, 503) for s, _ in pings) and max(d for _, d in pings) < 2.0, pings
    finally:
        assert stop(srv.proc) == 0
