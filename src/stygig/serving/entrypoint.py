"""``serve``: the process SageMaker starts (``docker run IMAGE serve``), also ``stygig serve``.

Process model: gunicorn's arbiter supervising uvicorn workers (``uvicorn_worker.UvicornWorker``).

* The arbiter replaces a worker that dies (SIGKILL, OOM) and kills one whose event loop stops
  answering its heartbeat. (uvicorn's own ``--workers`` supervisor also restarts dead workers, but
  it spawns rather than forks — every worker re-imports everything — and its health check runs
  in a side thread, so it cannot see a stuck event loop.)
* SIGTERM: the arbiter stops accepting, each worker finishes its in-flight requests and exits;
  anything still running after ``graceful_timeout`` (25 s, under SageMaker's 30 s) is killed.
* Each worker loads the model in a background thread at start (its ``/ping`` answers 503
  meanwhile; a request reaching it waits for the model instead of being refused);
  a worker whose load fails exits with status 3, which makes the arbiter stop the server with a
  non-zero status — a broken artifact never looks healthy.
* The artifact's checksums are verified once, in the arbiter, while it imports; a corrupted
  artifact stops ``serve`` with one line before anything listens.
* Heavy modules are imported, and the app built, in the arbiter before forking, so a new worker is
  ready quickly. When each worker runs single-threaded (``OMP_NUM_THREADS=1``: one worker per core,
  the default) the model too is loaded there, once, beside the imports, with its first warm-up
  pass (:func:`stygig.serving.state.preload`): neither ONNX Runtime nor OpenMP has a thread pool
  then, and every worker -- a replacement too -- forks with it. Otherwise each worker loads its own
  after the fork (ONNX Runtime and OpenMP thread pools do not survive fork).
* ``OMP_NUM_THREADS`` defaults to cores / workers so that workers do not oversubscribe the CPU,
  and ``OMP_WAIT_POLICY`` to ``PASSIVE`` so idle OpenMP threads do not spin.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from stygig import settings
from stygig.errors import StygigError
from stygig.serving.config import ServingConfig, cpu_count

#: set by `serve` once it has verified the artifact's checksums, for its workers
VERIFIED_ENV = settings.ARTIFACT_VERIFIED.name


def gunicorn_options(config: ServingConfig) -> dict:
    options = {
        "bind": [f"{config.host}:{config.port}"],
        "workers": config.workers,
        "worker_class": "stygig.serving.worker.StygigWorker",
        "graceful_timeout": int(config.graceful_timeout_s),
        # heartbeat: the event loop never blocks on the model, so a silent worker is stuck
        "timeout": 60,
        # longer than the SageMaker front end's idle timeout, so it closes idle connections first
        "keepalive": 75,
        "accesslog": None,  # one JSON line per request comes from the app itself
        "errorlog": "-",
        "loglevel": "warning" if config.log_level == "warning" else "info",
        "proc_name": "stygig-serve",
        "preload_app": True,
        "capture_output": False,
        "control_socket_disable": True,
    }
    if Path("/dev/shm").is_dir():
        options["worker_tmp_dir"] = "/dev/shm"
    return options


class _Gunicorn:
    """A gunicorn application serving ``asgi`` (:func:`stygig.serving.app.worker_app`, built once in
    the arbiter: every worker forks with it, and starts its model in its own lifespan)."""

    def __new__(cls, config: ServingConfig, asgi):
        from gunicorn.app.base import BaseApplication

        class App(BaseApplication):
            def __init__(self) -> None:
                self._options = gunicorn_options(config)
                super().__init__()

            def load_config(self) -> None:
                for key, value in self._options.items():
                    self.cfg.set(key, value)

            def load(self):
                return asgi

        return App()


def _preload() -> None:
    """Import what every worker needs before forking (not the model: it loads after the fork)."""
    import numpy  # noqa: F401
    import PIL.Image  # noqa: F401

    import stygig.recommend.engine  # noqa: F401
    import stygig.serving.app  # noqa: F401
    import stygig.serving.codec  # noqa: F401
    import stygig.serving.worker  # noqa: F401


class PortInUse(StygigError):
    code = "port_in_use"


def check_port(host: str, port: int) -> None:
    """One line and no server when the address is taken (gunicorn would retry for five seconds and
    print ten lines): bind it as gunicorn will (SO_REUSEADDR), then let go."""
    import errno
    import socket

    try:
        infos = socket.getaddrinfo(host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as e:
        raise StygigError(f"cannot listen on {host}: {e.strerror or e}") from None
    family, _, _, _, address = infos[0]
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(address)
        except OSError as e:
            if e.errno == errno.EADDRINUSE:
                raise PortInUse(f"port {port} is in use (choose another with --port)") from None
            raise StygigError(f"cannot listen on {host}:{port}: {e.strerror or e}") from None


def page_url(config: ServingConfig) -> str:
    """Where a browser on this machine finds the web page."""
    host = config.host if config.host not in ("", "0.0.0.0", "::") else "127.0.0.1"
    host = f"[{host}]" if ":" in host else host
    return f"http://{host}:{config.port}/"


#: glibc's mallopt parameters (malloc.h)
_M_MMAP_THRESHOLD, _M_ARENA_MAX = -3, -8


def bound_malloc() -> bool:
    """Keep a worker's heap from creeping up (glibc; elsewhere nothing changes; False).

    glibc raises its mmap threshold each time a large block is freed, so after the first 5 MB
    request body such bodies come from the heap and stay there, fragmented, and each new thread
    may open another arena: a worker's RSS rose 10 MB a pass over the same hostile-input corpus in
    CI runs (tests/test_hostile_inputs.py) with nothing leaking. A fixed 1 MB threshold sends large
    blocks to mmap, given back when freed, and two arenas (unless ``MALLOC_ARENA_MAX`` is set)
    serve a worker's few threads. Set in the arbiter before any thread starts; forked workers keep
    it."""
    import ctypes

    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    ok = mallopt(_M_MMAP_THRESHOLD, 1 << 20) == 1
    if "MALLOC_ARENA_MAX" not in os.environ:
        ok = mallopt(_M_ARENA_MAX, 2) == 1 and ok
    return ok


def run(config: ServingConfig) -> int:
    """Serve until SIGTERM/SIGINT. Returns the exit status (non-zero when a worker could not load)."""
    bound_malloc()
    # Before anything imports numpy, FAISS or ONNX Runtime: their thread pools size themselves
    # when first loaded, and forked workers inherit them.
    os.environ.setdefault("OMP_NUM_THREADS", str(max(1, cpu_count() // config.workers)))
    # Workers and their event loops share the cores: idle OpenMP threads must sleep, not spin
    # (spinning made a lite request 3-15x slower on a busy 2-core machine).
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    import threading

    from stygig.artifact import read_manifest, verify_artifact

    config = config.with_(artifact_dir=config.artifact_dir.resolve())
    read_manifest(config.artifact_dir)  # a wrong path fails here, in one line, before binding
    check_port(config.host, config.port)  # before anything slow: a busy port is one line, at once
    # Checksums are verified once, here, while the heavy imports run (hashing releases the GIL):
    # a corrupted artifact stops `serve` in one line before anything listens, and workers (also
    # replacements of killed ones) load what was verified without hashing it again.
    verdict: dict[str, BaseException] = {}

    def verify() -> None:
        try:
            verify_artifact(config.artifact_dir)
        except BaseException as e:  # noqa: BLE001 - re-raised below
            verdict["error"] = e

    threads = [threading.Thread(target=verify, name="stygig-verify", daemon=True)]
    if os.environ.get("OMP_NUM_THREADS") == "1":
        # Single-threaded workers: the model loads once, here, beside the imports and the hashing
        # (ONNX Runtime opens sessions without the GIL), and every worker forked afterwards starts
        # with it. A load that fails here is left to the workers, which fail as they always did.
        def load() -> None:
            from stygig.serving.state import preload

            try:
                preload(config.artifact_dir, config.compatibility, settings.WARMUP_ROUNDS.read())
            except Exception:  # noqa: BLE001 - each worker loads (and reports) it again
                pass

        threads.append(threading.Thread(target=load, name="stygig-preload", daemon=True))
    os.environ.update(config.to_env())  # what the workers read, and the preload with them
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    for t in threads:
        t.start()
    _preload()
    from stygig.serving.app import worker_app

    # the app's Python work while the model's sessions open beside it; its workers will not hash the
    # artifact again (serve stops below unless the check passes)
    asgi = worker_app(verified=True)
    for t in threads:
        t.join()
    if "error" in verdict:
        raise verdict["error"]
    os.environ[VERIFIED_ENV] = "1"
    import tempfile


    with tempfile.TemporaryDirectory(prefix="stygig-serve-") as tmp:
        failure = Path(tmp) / "load-failure.txt"
        os.environ[settings.FAILURE_FILE.name] = str(failure)
        app = _Gunicorn(config, asgi)
        print(f"serving {config.artifact_dir} on {page_url(config)} (the web page; GET /ping says 200 once the "
              f"model is loaded)", file=sys.stderr, flush=True)
        from gunicorn.errors import HaltServer

        try:
            app.run()
            code = 0
        except SystemExit as e:
            code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
        except HaltServer as e:
            # two workers failing at once: gunicorn's halt() reaps the second failure and raises
            # HaltServer again from inside its own handler; it is the same verdict
            code = e.exit_status
        if failure.is_file():
            raise ModelLoadFailed(f"the model failed to load: {failure.read_text(encoding='utf-8').strip()}")
    return code


class ModelLoadFailed(StygigError):
    status = 500
    code = "model_load_failed"


#: what ``serve --help`` and ``stygig serve --help`` say the server answers
ROUTES = (
    "Routes: GET / (the web page), GET /items (the catalog, paged), GET /items/ID/thumbnail, "
    "GET /model (what the artifact holds), GET /ping (200 once the model is loaded), "
    "POST /invocations (an outfit: JSON, JSON Lines or a picture), POST /endpoints/NAME/invocations "
    "(SageMaker InvokeEndpoint, for boto3), GET /openapi.json. SIGTERM drains and stops."
)
DESCRIPTION = "Serve a StyGig artifact over HTTP (SageMaker hosting contract). " + ROUTES


def build_parser(prog: str = "serve", *, default_host: str = "0.0.0.0") -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=prog, description=DESCRIPTION)
    add_arguments(p, default_host=default_host)
    return p


def add_arguments(p: argparse.ArgumentParser, *, default_host: str) -> None:
    p.add_argument(
        "artifact",
        nargs="?",
        help="artifact directory (default: $STYGIG_ARTIFACT or /opt/ml/model, where SageMaker unpacks the model)",
    )
    p.add_argument("--host", default=None, help=f"address to bind (default: $STYGIG_HOST or {default_host})")
    p.add_argument("--port", type=int, default=None, help="port (default: $SAGEMAKER_BIND_TO_PORT or 8080)")
    p.add_argument(
        "--workers",
        type=int,
        default=None,
        help="worker processes (default: $SAGEMAKER_MODEL_SERVER_WORKERS, $MODEL_SERVER_WORKERS or one per core)",
    )
    p.add_argument("--timeout", type=float, default=None, help="seconds per request (default: $SAGEMAKER_MODEL_SERVER_TIMEOUT or 60)")
    p.add_argument("--compatibility", choices=("heuristic", "learned"), default=None,
                   help="compatibility model (default: $STYGIG_COMPATIBILITY, else the one the artifact carries)")
    p.set_defaults(default_host=default_host)


def config_from_args(args: argparse.Namespace) -> ServingConfig:
    host = args.host or settings.HOST.raw() or args.default_host
    return ServingConfig.from_env(
        artifact_dir=Path(args.artifact) if args.artifact else None,
        host=host,
        port=args.port,
        workers=args.workers,
        timeout_s=args.timeout,
        compatibility=getattr(args, "compatibility", None),
    )


def main(argv: list[str] | None = None) -> int:
    """The ``serve`` console script."""
    args = build_parser().parse_args(argv)
    try:
        return run(config_from_args(args))
    except ModelLoadFailed as e:
        print(f"serve: error: {e.message}", file=sys.stderr)
        return 3
    except StygigError as e:
        print(f"serve: error: {e.message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
