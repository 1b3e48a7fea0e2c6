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

from stygig.errors import StygigError
from stygig.recommend.compat.registry import CHOICE_ENV, KINDS

#: where SageMaker unpacks model.tar.gz
SAGEMAKER_MODEL_DIR = "/opt/ml/model"
#: SageMaker's real-time InvokeEndpoint payload limit (botocore: BodyBlob max 6291456)
DEFAULT_MAX_REQUEST_BYTES = 6 * 1024 * 1024
#: the inference toolkit's default; the deployment config raises it (the audit's minimum is 300)
DEFAULT_TIMEOUT_S = 60.0
DEFAULT_PORT = 8080
#: like TorchServe's job queue: a worker holding this many requests answers the next one 503
DEFAULT_MAX_QUEUE = 32
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

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides) -> "ServingConfig":
        """Settings from the environment; keyword arguments that are not None win."""
        env = os.environ if environ is None else environ
        values = dict(
            artifact_dir=Path(env.get("STYGIG_ARTIFACT") or SAGEMAKER_MODEL_DIR),
            host=env.get("STYGIG_HOST") or "0.0.0.0",
            port=_int(env, "SAGEMAKER_BIND_TO_PORT", DEFAULT_PORT, 1, 65535),
            workers=_workers(env),
            timeout_s=float(_int(env, "SAGEMAKER_MODEL_SERVER_TIMEOUT", int(DEFAULT_TIMEOUT_S), 1, 3600)),
            max_request_bytes=_int(env, "TS_MAX_REQUEST_SIZE", DEFAULT_MAX_REQUEST_BYTES, 1, 1 << 31),
            allowed_s3_buckets=frozenset(
                b.strip() for b in (env.get("STYGIG_ALLOWED_S3_BUCKETS") or "").split(",") if b.strip()
            ),
            concurrency=_int(env, "STYGIG_WORKER_CONCURRENCY", 1, 1, 64),
            max_queue=_int(env, "STYGIG_MAX_QUEUE", DEFAULT_MAX_QUEUE, 1, 100_000),
            log_level=(env.get("STYGIG_LOG_LEVEL") or "info").lower(),
            compatibility=(env.get(CHOICE_ENV) or "").strip().lower() or None,
        )
        values.update({k: v for k, v in overrides.items() if v is not None})
        config = cls(**values)
        if config.workers < 1:
            raise StygigError(f"--workers must be at least 1, got {config.workers}")
        if not 1 <= config.port <= 65535:
            raise StygigError(f"--port must be 1..65535, got {config.port}")
        if config.compatibility is not None and config.compatibility not in KINDS:
            raise StygigError(f"{CHOICE_ENV} must be one of {', '.join(sorted(KINDS))}, got {config.compatibility!r}")
        return config

    def with_(self, **changes) -> "ServingConfig":
        return replace(self, **changes)

    def to_env(self) -> dict[str, str]:
        """The environment that reproduces these settings (handed to worker processes)."""
        return {
            "STYGIG_ARTIFACT": str(self.artifact_dir),
            "STYGIG_HOST": self.host,
            "SAGEMAKER_BIND_TO_PORT": str(self.port),
            "SAGEMAKER_MODEL_SERVER_WORKERS": str(self.workers),
            "SAGEMAKER_MODEL_SERVER_TIMEOUT": str(int(self.timeout_s)),
            "TS_MAX_REQUEST_SIZE": str(self.max_request_bytes),
            "STYGIG_ALLOWED_S3_BUCKETS": ",".join(sorted(self.allowed_s3_buckets)),
            "STYGIG_WORKER_CONCURRENCY": str(self.concurrency),
            "STYGIG_MAX_QUEUE": str(self.max_queue),
            "STYGIG_LOG_LEVEL": self.log_level,
            CHOICE_ENV: self.compatibility or "",
        }


def _int(env: Mapping[str, str], name: str, default: int, lo: int, hi: int) -> int:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw.strip())
    except ValueError:
        raise StygigError(f"{name} must be an integer, got {raw!r}") from None
    if not lo <= value <= hi:
        raise StygigError(f"{name} must be between {lo} and {hi}, got {value}")
    return value


def _workers(env: Mapping[str, str]) -> int:
    for name in ("SAGEMAKER_MODEL_SERVER_WORKERS", "MODEL_SERVER_WORKERS"):
        if (env.get(name) or "").strip():
            return _int(env, name, 1, 1, 256)
    return cpu_count()
