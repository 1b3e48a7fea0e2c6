"""A server run as a child process: a free local port, waiting for ``/ping``, a SIGTERM stop.

Used by ``stygig demo --serve``, the tests and the benchmarks that start ``stygig serve``.
"""

from __future__ import annotations

import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request

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
