"""Server settings: one place that reads the environment SageMaker (and the user) sets.

Every knob has a documented environment variable, so the same container image runs unchanged on
SageMaker (which sets ``SAGEMAKER_*``), in the AWS deep-learning containers' style (``TS_*``,
``MODEL_SERVER_*``) and on a laptop (command-line flags override the environment).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Mapping

from stygig import settings
from stygig.errors import StygigError
from stygig.recommend.compat.registry import CHOICE_ENV, KINDS
from stygig.serving.overlay import check_source

#: where SageMaker unpacks model.tar.gz
SAGEMAKER_MODEL_DIR = str(settings.ARTIFACT.default)
#: SageMaker's real-time InvokeEndpoint payload limit (botocore: BodyBlob max 6291456)
DEFAULT_MAX_REQUEST_BYTES = settings.MAX_REQUEST_SIZE.default
#: the inference toolkit's default; the deployment config raises it (the audit's minimum is 300)
DEFAULT_TIMEOUT_S = float(settings.TIMEOUT.default)
DEFAULT_PORT = settings.PORT.default
#: like TorchServe's job queue: a worker holding this many requests answers the next one 503
DEFAULT_MAX_QUEUE = settings.MAX_QUEUE.default
#: SageMaker sends SIGKILL 30 s after SIGTERM; drain within this many seconds
DEFAULT_GRACEFUL_TIMEOUT_S = 25.0


def cpu_count() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # pragma: no cover - non-Linux
        return max(1, os.cpu_count() or 1)


@dataclass(frozen=True)
class ServingConfig:
    artifact_dir: Path = Path(SAGEMAKER_MODEL_DIR)
    host: str = "0.0.0.0"
    port: int = DEFAULT_PORT
    workers: int = 1
    #: seconds a request may take, body upload included (SAGEMAKER_MODEL_SERVER_TIMEOUT)
    timeout_s: float = DEFAULT_TIMEOUT_S
    #: largest request body accepted, in bytes (TS_MAX_REQUEST_SIZE)
    max_request_bytes: int = DEFAULT_MAX_REQUEST_BYTES
    #: buckets an ``image_s3_uri`` may name (STYGIG_ALLOWED_S3_BUCKETS, comma-separated; none by default)
    allowed_s3_buckets: frozenset[str] = field(default_factory=frozenset)
    #: engine calls running at once in one worker (STYGIG_WORKER_CONCURRENCY)
    concurrency: int = 1
    #: requests one worker holds at once (reading, queued or running); more are answered 503
    #: at once, before their bodies are read (STYGIG_MAX_QUEUE): bounds memory under a flood
    max_queue: int = DEFAULT_MAX_QUEUE
    graceful_timeout_s: float = DEFAULT_GRACEFUL_TIMEOUT_S
    log_level: str = "info"
    #: compatibility kind the workers load (STYGIG_COMPATIBILITY, --compatibility): None = the artifact's
    compatibility: str | None = None
    #: the live attribute overlay, a JSON Lines file or s3:// URI (STYGIG_OVERLAY), and how often
    #: each worker looks whether it changed (STYGIG_OVERLAY_SECONDS)
    overlay: str | None = None
    overlay_seconds: int = settings.OVERLAY_SECONDS.default

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides) -> "ServingConfig":
        """Settings from the environment; keyword arguments that are not None win."""
        env = os.environ if environ is None else environ
        values = dict(
            artifact_dir=settings.ARTIFACT.read(env),
            host=settings.HOST.read(env),
            port=settings.PORT.read(env),
            workers=settings.server_workers(env) or cpu_count(),
            timeout_s=float(settings.TIMEOUT.read(env)),
            max_request_bytes=settings.MAX_REQUEST_SIZE.read(env),
            allowed_s3_buckets=settings.ALLOWED_S3_BUCKETS.read(env),
            concurrency=settings.WORKER_CONCURRENCY.read(env),
            max_queue=settings.MAX_QUEUE.read(env),
            log_level=settings.LOG_LEVEL.read(env),
            compatibility=settings.COMPATIBILITY.read(env),
            overlay=settings.OVERLAY.read(env),
            overlay_seconds=settings.OVERLAY_SECONDS.read(env),
        )
        values.update({k: v for k, v in overrides.items() if v is not None})
        config = cls(**values)
        if config.workers < 1:
            raise StygigError(f"--workers must be at least 1, got {config.workers}")
        if not 1 <= config.port <= 65535:
            raise StygigError(f"--port must be 1..65535, got {config.port}")
        if config.compatibility is not None and config.compatibility not in KINDS:
            raise StygigError(f"{CHOICE_ENV} must be one of {', '.join(sorted(KINDS))}, got {config.compatibility!r}")
        if config.overlay:
            check_source(config.overlay, config.allowed_s3_buckets)
        return config

    def with_(self, **changes) -> "ServingConfig":
        return replace(self, **changes)

    def to_env(self) -> dict[str, str]:
        """The environment that reproduces these settings (handed to worker processes)."""
        return {
            settings.ARTIFACT.name: str(self.artifact_dir),
            settings.HOST.name: self.host,
            settings.PORT.name: str(self.port),
            settings.WORKERS.name: str(self.workers),
            settings.TIMEOUT.name: str(int(self.timeout_s)),
            settings.MAX_REQUEST_SIZE.name: str(self.max_request_bytes),
            settings.ALLOWED_S3_BUCKETS.name: ",".join(sorted(self.allowed_s3_buckets)),
            settings.WORKER_CONCURRENCY.name: str(self.concurrency),
            settings.MAX_QUEUE.name: str(self.max_queue),
            settings.LOG_LEVEL.name: self.log_level,
            CHOICE_ENV: self.compatibility or "",
            settings.OVERLAY.name: self.overlay or "",
            settings.OVERLAY_SECONDS.name: str(self.overlay_seconds),
        }
