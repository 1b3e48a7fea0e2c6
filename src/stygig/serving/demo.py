"""The serving part of ``stygig demo --serve``: start a server, invoke it once, stop it."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from stygig.errors import StygigError


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_ready(url: str, proc: subprocess.Popen, timeout_s: float = 60.0) -> float:
    """Seconds until ``GET /ping`` answers 200; StygigError if the server exits or never gets ready."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout_s:
        if proc.poll() is not None:
            raise StygigError(f"the server exited with status {proc.returncode} before it was ready")
        try:
            with urllib.request.urlopen(f"{url}/ping", timeout=2) as r:
                if r.status == 200:
                    return time.monotonic() - t0
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.05)
    raise StygigError(f"the server at {url} was not ready within {timeout_s:.0f} s")


def stop(proc: subprocess.Popen, timeout_s: float = 30.0) -> int:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout_s)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    return proc.returncode


def demo_photo(artifact_dir: Path, category: str = "shirt") -> Path:
    """A catalog photo to send (the first item of ``category``, else the first item)."""
    from stygig.recommend.engine import Recommender

    rec = Recommender.load(artifact_dir, verify=False)
    chosen = next(iter(rec.items_in_category(category, 0, 1)), None) or rec.items[0]
    source = Path(str(chosen.get("source", "")))
    return source if source.is_file() else artifact_dir / chosen["thumbnail"]


def serve_demo(artifact_dir: str | Path, out_dir: str | Path, *, workers: int = 1) -> int:
    """Start ``stygig serve`` on a free port, ``stygig invoke`` it with a photo, print, stop."""
    from stygig.cli import main as cli_main

    artifact_dir = Path(artifact_dir).resolve()
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    cmd = [sys.executable, "-m", "stygig.cli", "serve", str(artifact_dir), "--port", str(port), "--workers", str(workers)]
    print(f"[serve] starting: stygig serve {artifact_dir} --port {port} --workers {workers}")
    log_path = Path(out_dir) / "server.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=dict(os.environ))
        try:
            ready = wait_ready(url, proc)
            print(f"[serve] GET /ping -> 200 after {ready:.1f} s")
            photo = demo_photo(artifact_dir)
            argv = ["invoke", "--url", url, str(photo), "--top-k", "4", "--items-per-category", "1", "--save-visual", str(out_dir)]
            print(f"[serve] stygig {' '.join(argv)}")
            rc = cli_main(argv)
            if rc != 0:
                raise StygigError(f"stygig invoke failed (status {rc}); server log: {log_path}")
        finally:
            code = stop(proc)
            print(f"[serve] server stopped (SIGTERM, exit status {code}); its log: {log_path}")
    print("To keep a server running:")
    print(f"  stygig serve {artifact_dir} --port 8080")
    print(f"  stygig invoke --url http://127.0.0.1:8080 {photo} --save-visual outfit/")
    return 0
