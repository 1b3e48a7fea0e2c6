"""Every environment variable StyGig reads or sets, by name, with its typed reader: once.

``STYGIG_*`` are ours; ``SAGEMAKER_*`` and ``SM_*`` are the names SageMaker's containers and
training jobs use (the inference toolkit's, and the training toolkit's). A module that needs a
value asks its :class:`Setting` here (``settings.MAX_QUEUE.read(environ)``) instead of spelling the
name itself, so a name is written down in one place and its parsing and error wording with it.
A bad value is one :class:`~stygig.errors.StygigError` naming the variable.

Readers take an optional mapping (tests, the environment handed to worker processes); without
one they read :data:`os.environ` at the time of the call.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping

from stygig.errors import StygigError


def _env(environ: Mapping[str, str] | None) -> Mapping[str, str]:
    return os.environ if environ is None else environ


@dataclass(frozen=True)
class Setting:
    """One environment variable: its name, what it means, and how its text becomes a value."""

    name: str
    doc: str
    default: Any = None
    parse: Callable[["Setting", str], Any] | None = None

    def raw(self, environ: Mapping[str, str] | None = None) -> str | None:
        """The text set, stripped; None when unset or blank."""
        value = _env(environ).get(self.name)
        if value is None or value.strip() == "":
            return None
        return value.strip()

    def is_set(self, environ: Mapping[str, str] | None = None) -> bool:
        return self.raw(environ) is not None

    def read(self, environ: Mapping[str, str] | None = None, default: Any = None) -> Any:
        """The typed value, else ``default`` (else the setting's own default)."""
        raw = self.raw(environ)
        if raw is None:
            return self.default if default is None else default
        return self.parse(self, raw) if self.parse else raw


def integer(lo: int, hi: int) -> Callable[[Setting, str], int]:
    def parse(setting: Setting, raw: str) -> int:
        try:
            value = int(raw)
        except ValueError:
            raise StygigError(f"{setting.name} must be an integer, got {raw!r}") from None
        if not lo <= value <= hi:
            raise StygigError(f"{setting.name} must be between {lo} and {hi}, got {value}")
        return value

    return parse


def _lower(setting: Setting, raw: str) -> str:
    return raw.lower()


def _names(setting: Setting, raw: str) -> frozenset[str]:
    return frozenset(part.strip() for part in raw.split(",") if part.strip())


def _path(setting: Setting, raw: str) -> Path:
    return Path(raw)


def _flag(setting: Setting, raw: str) -> bool:
    return raw == "1"


# ---- serving (read by stygig.serving.config; handed to worker processes) -----------------------
ARTIFACT = Setting("STYGIG_ARTIFACT", "artifact directory the server loads", Path("/opt/ml/model"), _path)
HOST = Setting("STYGIG_HOST", "address the server binds", "0.0.0.0")
PORT = Setting("SAGEMAKER_BIND_TO_PORT", "port the server binds (SageMaker may set it)", 8080, integer(1, 65535))
WORKERS = Setting("SAGEMAKER_MODEL_SERVER_WORKERS", "server worker processes", None, integer(1, 256))
#: the deep-learning containers' older spelling of :data:`WORKERS`
WORKERS_DLC = Setting("MODEL_SERVER_WORKERS", "server worker processes (DLC spelling)", None, integer(1, 256))
TIMEOUT = Setting("SAGEMAKER_MODEL_SERVER_TIMEOUT", "seconds a request may take", 60, integer(1, 3600))
MAX_REQUEST_SIZE = Setting("TS_MAX_REQUEST_SIZE", "largest request body, in bytes", 6 * 1024 * 1024, integer(1, 1 << 31))
ALLOWED_S3_BUCKETS = Setting("STYGIG_ALLOWED_S3_BUCKETS", "buckets an image_s3_uri may name (comma-separated)",
                             frozenset(), _names)
WORKER_CONCURRENCY = Setting("STYGIG_WORKER_CONCURRENCY", "engine calls running at once in one worker", 1, integer(1, 64))
MAX_QUEUE = Setting("STYGIG_MAX_QUEUE", "requests one worker holds before answering 503", 32, integer(1, 100_000))
WARMUP_ROUNDS = Setting(
    "STYGIG_WARMUP_ROUNDS",
    "warm-up passes over the request paths (picture, item, text) each worker's model gets before /ping says "
    "ready (a model `serve` loads before forking gets the first in the arbiter, shared by every worker)",
    1,
    integer(1, 1000),
)
LOG_LEVEL = Setting("STYGIG_LOG_LEVEL", "server log level", "info", _lower)
ARTIFACT_VERIFIED = Setting("STYGIG_ARTIFACT_VERIFIED", "set to 1 by the arbiter once it checked the artifact", False, _flag)
FAILURE_FILE = Setting("STYGIG_FAILURE_FILE", "where a worker that cannot load writes why", None, _path)
#: the live overlay (issue 14.5): a JSON Lines file or s3:// URI, and how often it is re-checked
OVERLAY = Setting("STYGIG_OVERLAY", "attribute overlay (file or s3:// URI) applied while serving")
OVERLAY_SECONDS = Setting("STYGIG_OVERLAY_SECONDS", "seconds between overlay checks", 30, integer(1, 86_400))

# ---- the engine --------------------------------------------------------------------------------
COMPATIBILITY = Setting("STYGIG_COMPATIBILITY", "compatibility kind to load instead of the artifact's", None, _lower)
WEIGHTS = Setting("STYGIG_WEIGHTS", "heuristic weights over the artifact's (similarity=…,color=…,…)")
NPROBE = Setting("STYGIG_NPROBE", "IVF lists searched, over the build's choice", None, integer(1, 1 << 20))
SEARCH_THREADS = Setting("STYGIG_SEARCH_THREADS", "FAISS OpenMP threads per search", 1, integer(1, 256))
FILTER_INDEX_MB = Setting(
    "STYGIG_FILTER_INDEX_MB",
    "memory (MB) each worker may give sub-indexes of repeated selective filters (0: none)",
    512,
    integer(0, 1 << 20),
)

# ---- the artifact and builds -------------------------------------------------------------------
CACHE_DIR = Setting("STYGIG_CACHE_DIR", "where checked artifacts are remembered", None, _path)
XDG_CACHE_HOME = Setting("XDG_CACHE_HOME", "the user's cache folder", None, _path)
WHEEL_CACHE = Setting("STYGIG_WHEEL_CACHE", "where stygig package keeps the DLC's wheels", None, _path)
VERIFY = Setting("STYGIG_VERIFY", "'full': hash every artifact file at every load", None, _lower)
SAMPLE_WORKERS = Setting("STYGIG_SAMPLE_WORKERS", "threads drawing the sample catalog", None, integer(0, 256))

# ---- AWS tooling -------------------------------------------------------------------------------
CONFIG = Setting("STYGIG_CONFIG", "the deployment config file", None, _path)
ROLE_ARN = Setting("STYGIG_ROLE_ARN", "SageMaker execution role")
S3_BUCKET = Setting("STYGIG_S3_BUCKET", "bucket for archives and outputs")

# ---- names StyGig writes into a SageMaker model's container environment (the DLC toolkit's) -----
MODEL_SERVER_TIMEOUT = "MODEL_SERVER_TIMEOUT"
TS_DEFAULT_RESPONSE_TIMEOUT = "TS_DEFAULT_RESPONSE_TIMEOUT"
TS_DEFAULT_WORKERS_PER_MODEL = "TS_DEFAULT_WORKERS_PER_MODEL"
TS_MAX_RESPONSE_SIZE = "TS_MAX_RESPONSE_SIZE"
SAGEMAKER_REGION = "SAGEMAKER_REGION"
SAGEMAKER_PROGRAM = "SAGEMAKER_PROGRAM"
SAGEMAKER_SUBMIT_DIRECTORY = "SAGEMAKER_SUBMIT_DIRECTORY"
SAGEMAKER_CONTAINER_LOG_LEVEL = "SAGEMAKER_CONTAINER_LOG_LEVEL"

# ---- a SageMaker training job's environment (the training toolkit's names) ---------------------
SM_CURRENT_HOST = Setting("SM_CURRENT_HOST", "this training host's name")
SM_HOSTS = Setting("SM_HOSTS", "every training host's name (a JSON list)")
SM_HPS = Setting("SM_HPS", "the job's hyperparameters (a JSON object)")
SM_MODEL_DIR = Setting("SM_MODEL_DIR", "where a training job leaves its model", Path("/opt/ml/model"), _path)
SM_OUTPUT_DATA_DIR = Setting("SM_OUTPUT_DATA_DIR", "a training job's output data", Path("/opt/ml/output/data"), _path)
SM_OUTPUT_DIR = Setting("SM_OUTPUT_DIR", "a training job's output folder (its failure file)", Path("/opt/ml/output"), _path)


def sm_channel(name: str) -> Setting:
    """``SM_CHANNEL_<NAME>``: the folder an input channel was downloaded to."""
    return Setting(f"SM_CHANNEL_{name.upper()}", f"the {name!r} input channel's folder", None, _path)


def cache_dir(environ: Mapping[str, str] | None = None) -> Path:
    """StyGig's cache folder: ``$STYGIG_CACHE_DIR``, else ``$XDG_CACHE_HOME/stygig``, else ``~/.cache/stygig``."""
    return CACHE_DIR.read(environ) or (XDG_CACHE_HOME.read(environ) or Path.home() / ".cache") / "stygig"


def wheel_cache(environ: Mapping[str, str] | None = None) -> Path:
    """The DLC wheels' cache: ``$STYGIG_WHEEL_CACHE``, else ``$XDG_CACHE_HOME/stygig/wheels``, else
    ``~/.cache/stygig/wheels`` (not under ``$STYGIG_CACHE_DIR``, which tests point at a fresh folder:
    the wheels are the same for every run and worth keeping)."""
    return WHEEL_CACHE.read(environ) or (XDG_CACHE_HOME.read(environ) or Path.home() / ".cache") / "stygig" / "wheels"


def server_workers(environ: Mapping[str, str] | None = None) -> int | None:
    """Worker processes asked for (SageMaker's name first, then the DLC's); None: not set."""
    for setting in (WORKERS, WORKERS_DLC):
        if setting.is_set(environ):
            return setting.read(environ)
    return None
