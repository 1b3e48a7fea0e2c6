"""DeploymentConfig: the one description of a StyGig deployment, and the audit rules it must pass.

Every AWS command (deploy, redeploy, train, pipeline, invoke, doctor, teardown) takes its settings
from one :class:`DeploymentConfig`. Values come, in increasing precedence, from the defaults in
this module, a TOML file (``--config``, ``$STYGIG_CONFIG`` or ``./stygig.toml``), environment
variables and command-line flags; the config remembers where each value came from
(``stygig aws config show``).

The audit rules (:data:`ENV_MINIMUMS`, :data:`VARIANT_MINIMUMS`, :func:`audit_settings`) live here
too and are used both to validate a configuration before it is deployed and by ``stygig aws
doctor`` to check a live endpoint: one source of truth for the timeouts.
"""

from __future__ import annotations

import difflib
import json
import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping

from stygig import __version__
from stygig.errors import StygigError

# ---- the audit's reference values ---------------------------------------------------------------
#: the container environment every StyGig model gets (values are strings, as SageMaker requires)
DEFAULT_ENVIRONMENT: dict[str, str] = {
    "SAGEMAKER_MODEL_SERVER_TIMEOUT": "300",
    "MODEL_SERVER_TIMEOUT": "300",
    "TS_DEFAULT_RESPONSE_TIMEOUT": "300",
    "MODEL_SERVER_WORKERS": "1",
    "TS_DEFAULT_WORKERS_PER_MODEL": "1",
    "TS_MAX_REQUEST_SIZE": "100000000",
    "TS_MAX_RESPONSE_SIZE": "100000000",
    "OMP_NUM_THREADS": "2",
    "MKL_NUM_THREADS": "2",
    "TOKENIZERS_PARALLELISM": "false",
}

#: environment timeouts (seconds) that must be present and at least this large
ENV_MINIMUMS: dict[str, int] = {
    "SAGEMAKER_MODEL_SERVER_TIMEOUT": 300,
    "MODEL_SERVER_TIMEOUT": 300,
    "TS_DEFAULT_RESPONSE_TIMEOUT": 300,
}

#: production-variant timeouts (seconds) that must be present and at least this large
VARIANT_MINIMUMS: dict[str, int] = {
    "ContainerStartupHealthCheckTimeoutInSeconds": 600,
    "ModelDataDownloadTimeoutInSeconds": 600,
}
VARIANT_MAXIMUM = 3600  # SageMaker's limit for both variant timeouts

#: environment keys whose value must be a positive integer written as a string
INTEGER_ENV_KEYS = frozenset(
    set(ENV_MINIMUMS)
    | {
        "MODEL_SERVER_WORKERS",
        "SAGEMAKER_MODEL_SERVER_WORKERS",
        "TS_DEFAULT_WORKERS_PER_MODEL",
        "TS_MAX_REQUEST_SIZE",
        "TS_MAX_RESPONSE_SIZE",
        "OMP_NUM_THREADS",
        "MKL_NUM_THREADS",
    }
)
BOOLEAN_ENV_KEYS = frozenset({"TOKENIZERS_PARALLELISM"})

VARIANT_NAME = "AllTraffic"
MAX_BASE_NAME = 43  # "<base>-<YYYYmmdd-HHMMSS-mmm>" fits SageMaker's 63 characters

# ---- the AWS PyTorch inference DLC ----------------------------------------------------------------
#: ECR registry account of the AWS Deep Learning Containers per region (the "registries" map of the
#: SageMaker Python SDK's image_uri_config/pytorch.json). Most regions use 763104351884; newer
#: and partitioned regions have their own account.
DLC_ACCOUNTS: dict[str, str] = {
    "af-south-1": "626614931356",
    "ap-east-1": "871362719292",
    "ap-northeast-1": "763104351884",
    "ap-northeast-2": "763104351884",
    "ap-northeast-3": "364406365360",
    "ap-south-1": "763104351884",
    "ap-south-2": "772153158452",
    "ap-southeast-1": "763104351884",
    "ap-southeast-2": "763104351884",
    "ap-southeast-3": "907027046896",
    "ap-southeast-4": "457447274322",
    "ap-southeast-5": "550225433462",
    "ap-southeast-7": "590183813437",
    "ca-central-1": "763104351884",
    "ca-west-1": "204538143572",
    "cn-north-1": "727897471807",
    "cn-northwest-1": "727897471807",
    "eu-central-1": "763104351884",
    "eu-central-2": "380420809688",
    "eu-north-1": "763104351884",
    "eu-south-1": "692866216735",
    "eu-south-2": "503227376785",
    "eu-west-1": "763104351884",
    "eu-west-2": "763104351884",
    "eu-west-3": "763104351884",
    "il-central-1": "780543022126",
    "me-central-1": "914824155844",
    "me-south-1": "217643126080",
    "mx-central-1": "637423239942",
    "sa-east-1": "763104351884",
    "us-east-1": "763104351884",
    "us-east-2": "763104351884",
    "us-gov-east-1": "446045086412",
    "us-gov-west-1": "442386744353",
    "us-west-1": "763104351884",
    "us-west-2": "763104351884",
}

#: PyTorch inference DLC versions StyGig's handler is known to run on, with their Python tag
DLC_PYTHON: dict[str, str] = {
    "2.3.0": "py311",
    "2.4.0": "py311",
    "2.5.1": "py311",
    "2.6.0": "py312",
}
DEFAULT_DLC_VERSION = "2.6.0"

#: what the DLC's SageMaker toolkit needs to find StyGig's handler in the model archive
DLC_ENVIRONMENT: dict[str, str] = {
    "SAGEMAKER_PROGRAM": "inference.py",
    "SAGEMAKER_SUBMIT_DIRECTORY": "/opt/ml/model/code",
    "SAGEMAKER_CONTAINER_LOG_LEVEL": "20",
}

STYGIG_REPOSITORY = "stygig"  # ECR repository of the StyGig server image (see Dockerfile)

_REGION_RE = re.compile(r"^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d$")
_ROLE_RE = re.compile(r"^arn:aws[a-z-]*:iam::(\d{12}):role/[\w+=,.@/-]{1,512}$")
_SNS_RE = re.compile(r"^arn:aws[a-z\-]*:sns:[a-z0-9\-]*:[0-9]{12}:[a-zA-Z0-9_.-]+$")
_IMAGE_RE = re.compile(r"^[a-z0-9.-]+(:\d+)?/[a-z0-9._/-]+(:[\w.-]{1,128}|@sha256:[0-9a-f]{64})?$")
_ENV_KEY_RE = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]{0,1023}$")
_NAME_RE = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")
_INSTANCE_RE = re.compile(r"^ml\.[a-z0-9]+\.[a-z0-9]+$")
_PREFIX_RE = re.compile(r"^[A-Za-z0-9!_.*'()/-]{0,200}$")


class ConfigError(StygigError):
    """A deployment configuration that is refused (one line per problem, joined on one line)."""

    status = 422
    code = "config_error"


# ---- the configuration --------------------------------------------------------------------------
@dataclass(frozen=True)
class _Field:
    attr: str  # attribute on DeploymentConfig
    key: str  # dotted TOML key, e.g. "endpoint.instance_type"
    kind: type | tuple  # int, str, bool, float, list (of str)
    flag: str | None = None  # CLI flag (for provenance messages)
    env: tuple[str, ...] = ()
    optional: bool = False  # None allowed
    help: str = ""


FIELDS: tuple[_Field, ...] = (
    _Field("region", "aws.region", str, "--region", ("AWS_REGION", "AWS_DEFAULT_REGION"), help="AWS region"),
    _Field("role_arn", "aws.role_arn", str, "--role-arn", ("STYGIG_ROLE_ARN",), True, "SageMaker execution role"),
    _Field("bucket", "aws.bucket", str, "--bucket", ("STYGIG_S3_BUCKET",), True, "S3 bucket for archives and outputs"),
    _Field("prefix", "aws.prefix", str, "--prefix", (), help="S3 key prefix"),
    _Field("image", "endpoint.image", str, "--image", (), help='"dlc", "stygig" or an image URI'),
    _Field("framework_version", "endpoint.framework_version", str, "--framework-version", (), help="PyTorch DLC version"),
    _Field("instance_type", "endpoint.instance_type", str, "--instance-type"),
    _Field("instance_count", "endpoint.instance_count", int, "--instance-count"),
    _Field("startup_health_check_timeout", "endpoint.startup_health_check_timeout", int, "--startup-timeout"),
    _Field("model_data_download_timeout", "endpoint.model_data_download_timeout", int, "--download-timeout"),
    _Field("allow_short_timeouts", "endpoint.allow_short_timeouts", bool, "--allow-short-timeouts"),
    _Field("allowed_s3_buckets", "endpoint.allowed_s3_buckets", list, "--allowed-s3-bucket"),
    _Field("wait_timeout", "endpoint.wait_timeout", int, "--wait-timeout", help="seconds to wait for InService"),
    _Field("async_output", "async.output", str, "--output", (), True, "s3:// prefix for async results"),
    _Field("async_sns_success", "async.sns_success", str, "--sns-success", (), True),
    _Field("async_sns_error", "async.sns_error", str, "--sns-error", (), True),
    _Field("async_max_concurrent", "async.max_concurrent", int, "--max-concurrent"),
    _Field("async_min_capacity", "async.min_capacity", int, "--min-capacity"),
    _Field("async_max_capacity", "async.max_capacity", int, "--max-capacity"),
    _Field("async_target_backlog", "async.target_backlog_per_instance", (int, float)),
    _Field("async_scale_in_cooldown", "async.scale_in_cooldown", int),
    _Field("async_scale_out_cooldown", "async.scale_out_cooldown", int),
    _Field("termination_wait", "redeploy.termination_wait", int),
    _Field("max_update_time", "redeploy.max_execution_timeout", int),
    _Field("rollback_alarms", "redeploy.rollback_alarms", list),
    _Field("train_image", "training.image", str, "--train-image"),
    _Field("train_instance_type", "training.instance_type", str, "--train-instance-type"),
    _Field("train_instance_count", "training.instance_count", int, "--instance-count (train)"),
    _Field("train_volume_size", "training.volume_size_gb", int),
    _Field("train_max_runtime", "training.max_runtime", int),
    _Field("train_encoder", "training.encoder", str, "--encoder"),
    _Field("train_precision", "training.precision", str, "--precision", (), True),
)
_BY_KEY = {f.key: f for f in FIELDS}
_BY_ATTR = {f.attr: f for f in FIELDS}
SECTIONS = ("aws", "endpoint", "async", "redeploy", "training")


@dataclass
class DeploymentConfig:
    """Everything a StyGig deployment needs. Build with :func:`load_config`; check with :meth:`validate`."""

    region: str = "us-east-1"
    role_arn: str | None = None
    bucket: str | None = None
    prefix: str = "stygig"
    # hosting
    image: str = "dlc"
    framework_version: str = DEFAULT_DLC_VERSION
    instance_type: str = "ml.m5.xlarge"
    instance_count: int = 1
    environment: dict[str, Any] = field(default_factory=lambda: dict(DEFAULT_ENVIRONMENT))
    startup_health_check_timeout: int = 600
    model_data_download_timeout: int = 600
    allow_short_timeouts: bool = False
    allowed_s3_buckets: list[str] = field(default_factory=list)
    wait_timeout: int = 1800
    # asynchronous endpoints
    async_output: str | None = None
    async_sns_success: str | None = None
    async_sns_error: str | None = None
    async_max_concurrent: int = 4
    async_min_capacity: int = 0
    async_max_capacity: int = 2
    async_target_backlog: float = 5.0
    async_scale_in_cooldown: int = 600
    async_scale_out_cooldown: int = 60
    # redeploy (blue/green through UpdateEndpoint)
    termination_wait: int = 300
    max_update_time: int = 3600
    rollback_alarms: list[str] = field(default_factory=list)
    # training jobs (stygig build on SageMaker)
    train_image: str = "stygig"
    train_instance_type: str = "ml.m5.xlarge"
    train_instance_count: int = 1
    train_volume_size: int = 30
    train_max_runtime: int = 7200
    train_encoder: str = "lite"
    train_precision: str | None = None
    #: where each value came from: dotted key -> "default" | "file <path>" | "env <VAR>" | "flag <--x>"
    sources: dict[str, str] = field(default_factory=dict, compare=False, repr=False)

    # ---- derived values -------------------------------------------------------------------------
    @property
    def account_id(self) -> str | None:
        m = _ROLE_RE.match(self.role_arn or "")
        return m.group(1) if m else None

    @property
    def is_dlc(self) -> bool:
        return self.image == "dlc"

    def image_uri(self) -> str:
        return resolve_image(self.image, self.region, self.framework_version, self.instance_type, self.account_id)

    def train_image_uri(self) -> str:
        if self.train_image == "dlc":
            raise ConfigError('training.image cannot be "dlc": training runs the StyGig image ("stygig" or an image URI)')
        return resolve_image(self.train_image, self.region, self.framework_version, self.train_instance_type, self.account_id)

    def container_environment(self) -> dict[str, str]:
        """The exact Environment of the SageMaker model: the configured values plus the derived ones."""
        env = {k: v for k, v in self.environment.items()}
        if self.is_dlc:
            env.update(DLC_ENVIRONMENT)
            env["SAGEMAKER_REGION"] = self.region
        if self.allowed_s3_buckets:
            env["STYGIG_ALLOWED_S3_BUCKETS"] = ",".join(sorted(self.allowed_s3_buckets))
        return env

    def s3_prefix_uri(self, *parts: str) -> str:
        if not self.bucket:
            raise ConfigError("no S3 bucket configured: set aws.bucket in the config file or pass --bucket")
        key = "/".join(p.strip("/") for p in (self.prefix, *parts) if p and p.strip("/"))
        return f"s3://{self.bucket}/{key}"

    def async_output_uri(self) -> str:
        return self.async_output or self.s3_prefix_uri("async-output") + "/"

    def variant_timeouts(self) -> dict[str, int]:
        return {
            "ContainerStartupHealthCheckTimeoutInSeconds": self.startup_health_check_timeout,
            "ModelDataDownloadTimeoutInSeconds": self.model_data_download_timeout,
        }

    # ---- validation -----------------------------------------------------------------------------
    def problems(self, *, need_role: bool = False, need_bucket: bool = False) -> list[str]:
        """Every reason to refuse this configuration, one line each (empty: deployable)."""
        out: list[str] = []
        # types first: everything else assumes them
        for f in FIELDS:
            value = getattr(self, f.attr)
            if value is None and f.optional:
                continue
            err = _type_error(f, value)
            if err:
                out.append(err)
        if out:
            return out
        if not _REGION_RE.match(self.region):
            out.append(f"aws.region {self.region!r} is not an AWS region name (e.g. us-east-1)")
        if self.role_arn is not None and not _ROLE_RE.match(self.role_arn):
            out.append(f"aws.role_arn {self.role_arn!r} is not an IAM role ARN (arn:aws:iam::<12-digit account>:role/<name>)")
        if need_role and not self.role_arn:
            out.append("aws.role_arn is not set: SageMaker needs an execution role (--role-arn or STYGIG_ROLE_ARN)")
        from stygig.s3io import is_valid_bucket_name

        if self.bucket is not None and not is_valid_bucket_name(self.bucket):
            out.append(f"aws.bucket {self.bucket!r} is not a valid S3 bucket name")
        if need_bucket and not self.bucket:
            out.append("aws.bucket is not set: StyGig needs a bucket for model archives (--bucket or STYGIG_S3_BUCKET)")
        if not _PREFIX_RE.match(self.prefix):
            out.append(f"aws.prefix {self.prefix!r} has characters unsafe in an S3 key")
        out += _image_problems("endpoint.image", self.image, self)
        if self.image == "dlc" and self.framework_version not in DLC_PYTHON:
            out.append(
                f"endpoint.framework_version {self.framework_version!r} is not a supported PyTorch DLC version"
                f" (one of {', '.join(DLC_PYTHON)})"
            )
        for key, value in (("endpoint.instance_type", self.instance_type), ("training.instance_type", self.train_instance_type)):
            if not _INSTANCE_RE.match(value):
                out.append(f"{key} {value!r} is not a SageMaker instance type (e.g. ml.m5.xlarge)")
        if self.image == "dlc" and self.instance_type.split(".")[1].startswith(("inf", "trn")):
            out.append(f"endpoint.instance_type {self.instance_type} needs a Neuron image; the PyTorch DLC runs on CPU or GPU instances")
        for key, value, lo, hi in (
            ("endpoint.instance_count", self.instance_count, 1, 100),
            ("endpoint.wait_timeout", self.wait_timeout, 1, 6 * 3600),
            ("async.max_concurrent", self.async_max_concurrent, 1, 1000),
            ("async.min_capacity", self.async_min_capacity, 0, 100),
            ("async.max_capacity", self.async_max_capacity, 1, 100),
            ("async.scale_in_cooldown", self.async_scale_in_cooldown, 0, 86400),
            ("async.scale_out_cooldown", self.async_scale_out_cooldown, 0, 86400),
            ("redeploy.termination_wait", self.termination_wait, 0, 3600),
            ("redeploy.max_execution_timeout", self.max_update_time, 600, 28800),
            ("training.instance_count", self.train_instance_count, 1, 100),
            ("training.volume_size_gb", self.train_volume_size, 1, 16384),
            ("training.max_runtime", self.train_max_runtime, 60, 28 * 86400),
        ):
            if not lo <= value <= hi:
                out.append(f"{key} must be between {lo} and {hi}, got {value}")
        if self.async_min_capacity > self.async_max_capacity:
            out.append(f"async.min_capacity ({self.async_min_capacity}) is above async.max_capacity ({self.async_max_capacity})")
        if not self.async_target_backlog > 0:
            out.append(f"async.target_backlog_per_instance must be positive, got {self.async_target_backlog}")
        if self.async_output is not None:
            out += _s3_uri_problems("async.output", self.async_output)
        for key, value in (("async.sns_success", self.async_sns_success), ("async.sns_error", self.async_sns_error)):
            if value is not None and not _SNS_RE.match(value):
                out.append(f"{key} {value!r} is not an SNS topic ARN")
        for name in self.allowed_s3_buckets:
            if not is_valid_bucket_name(name):
                out.append(f"endpoint.allowed_s3_buckets: {name!r} is not a valid S3 bucket name")
        for name in self.rollback_alarms:
            if not name.strip() or len(name) > 255:
                out.append(f"redeploy.rollback_alarms: {name!r} is not a CloudWatch alarm name")
        if len(self.rollback_alarms) > 10:
            out.append("redeploy.rollback_alarms: at most 10 alarms")
        out += _image_problems("training.image", self.train_image, self, training=True)
        if not (self.train_encoder == "lite" or self.train_encoder.startswith("s3://")):
            out.append(f"training.encoder must be \"lite\" or the s3:// prefix of an exported encoder, got {self.train_encoder!r}")
        if self.train_precision not in (None, "fp32", "int8"):
            out.append(f"training.precision must be fp32 or int8, got {self.train_precision!r}")
        # the audit: environment and variant timeouts
        for check in audit_settings(
            self.container_environment(), self.variant_timeouts(), allow_short=self.allow_short_timeouts
        ):
            if check.status == FAIL:
                out.append(check.line())
        return out

    def validate(self, *, need_role: bool = False, need_bucket: bool = False) -> "DeploymentConfig":
        problems = self.problems(need_role=need_role, need_bucket=need_bucket)
        if problems:
            raise ConfigError(_join_problems(problems))
        return self

    # ---- presentation ---------------------------------------------------------------------------
    def effective(self) -> list[tuple[str, Any, str]]:
        """``(dotted key, value, source)`` for every setting, then the derived values."""
        rows: list[tuple[str, Any, str]] = []
        for f in FIELDS:
            if f.attr == "environment":
                continue
            rows.append((f.key, getattr(self, f.attr), self.sources.get(f.key, "default")))
            if f.key == "endpoint.allowed_s3_buckets":
                for k in sorted(self.environment):
                    rows.append(
                        (f"endpoint.environment.{k}", self.environment[k], self.sources.get(f"endpoint.environment.{k}", "default"))
                    )
        derived = self.container_environment()
        for k in sorted(set(derived) - set(self.environment)):
            rows.append((f"endpoint.environment.{k}", derived[k], "derived"))
        try:
            rows.append(("endpoint.image_uri", self.image_uri(), "derived"))
        except ConfigError as e:
            rows.append(("endpoint.image_uri", f"<{e.message}>", "derived"))
        return rows

    def to_dict(self) -> dict[str, Any]:
        """The configuration as nested TOML-shaped data (what a config file with these values holds)."""
        out: dict[str, Any] = {s: {} for s in SECTIONS}
        for f in FIELDS:
            section, key = f.key.split(".", 1)
            value = getattr(self, f.attr)
            if value is not None:
                out[section][key] = value
        out["endpoint"]["environment"] = dict(self.environment)
        return out


def _join_problems(problems: list[str]) -> str:
    if len(problems) == 1:
        return problems[0]
    return f"{len(problems)} problems: " + "; ".join(problems)


def _type_error(f: _Field, value: Any) -> str | None:
    kind = f.kind
    if kind is list:
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            return f"{f.key} must be a list of strings, got {_show(value)}"
        return None
    if kind is int or kind == (int, float):
        ok = isinstance(value, (int, float) if kind != int else int) and not isinstance(value, bool)
        if not ok:
            return f"{f.key} must be {'an integer' if kind is int else 'a number'}, got {_show(value)}"
        return None
    if kind is bool:
        return None if isinstance(value, bool) else f"{f.key} must be true or false, got {_show(value)}"
    if kind is str:
        return None if isinstance(value, str) else f"{f.key} must be a string, got {_show(value)}"
    return None


def _show(value: Any) -> str:
    return json.dumps(value) if isinstance(value, (str, int, float, bool, list)) else repr(value)


def _image_problems(key: str, image: str, cfg: DeploymentConfig, *, training: bool = False) -> list[str]:
    if image in ("dlc", "stygig"):
        if image == "dlc" and not training and cfg.region not in DLC_ACCOUNTS:
            return [f"{key}: no PyTorch DLC registry is known for region {cfg.region}; give an image URI"]
        return []
    if not _IMAGE_RE.match(image):
        return [f'{key} {image!r} must be "dlc", "stygig" or an image URI (<registry>/<repository>:<tag>)']
    return []


def _s3_uri_problems(key: str, uri: str) -> list[str]:
    from stygig.s3io import parse_s3_uri

    try:
        parse_s3_uri(uri)
    except StygigError as e:
        return [f"{key}: {e.message}"]
    return []


def resolve_image(image: str, region: str, framework_version: str, instance_type: str, account_id: str | None) -> str:
    """The container image URI for ``image`` ("dlc", "stygig" or a URI) in ``region``. No network."""
    domain = "amazonaws.com.cn" if region.startswith("cn-") else "amazonaws.com"
    if image == "dlc":
        account = DLC_ACCOUNTS.get(region)
        if account is None:
            raise ConfigError(f"no PyTorch DLC registry is known for region {region}; give an image URI")
        py = DLC_PYTHON.get(framework_version)
        if py is None:
            raise ConfigError(f"PyTorch DLC version {framework_version!r} is not supported (one of {', '.join(DLC_PYTHON)})")
        family = instance_type.split(".")[1] if instance_type.count(".") >= 2 else ""
        processor = "gpu" if family.startswith(("g", "p")) else "cpu"
        return f"{account}.dkr.ecr.{region}.{domain}/pytorch-inference:{framework_version}-{processor}-{py}"
    if image == "stygig":
        if account_id is None:
            raise ConfigError('image "stygig" needs aws.role_arn (its account hosts the image) or a full image URI')
        return f"{account_id}.dkr.ecr.{region}.{domain}/{STYGIG_REPOSITORY}:{__version__}"
    return image


# ---- the audit ------------------------------------------------------------------------------------
OK, WARN, FAIL = "ok", "warn", "FAIL"


@dataclass(frozen=True)
class Check:
    item: str
    status: str  # OK | WARN | FAIL
    detail: str

    def line(self) -> str:
        return f"{self.item}: {self.detail}"


def audit_settings(
    environment: Mapping[str, Any] | None,
    variant: Mapping[str, Any] | None,
    *,
    allow_short: bool = False,
    where: str = "",
) -> list[Check]:
    """Check a container environment and a production variant against the audit.

    Used for a configuration before it is deployed and for a live endpoint (``doctor``).
    ``allow_short`` turns "below the minimum" from FAIL into WARN (``--allow-short-timeouts``);
    a missing timeout, a non-string value or an unparseable number always fails. ``None`` for
    ``environment`` or ``variant`` skips that half.
    """
    env = dict(environment or {})
    var = dict(variant or {})
    checks: list[Check] = []
    prefix = f"{where} " if where else ""
    short = WARN if allow_short else FAIL
    short_note = " (allowed by --allow-short-timeouts)" if allow_short else ""

    if environment is not None:
        for key, value in sorted(env.items()):
            if not isinstance(key, str) or not _ENV_KEY_RE.match(key):
                checks.append(Check(f"{prefix}environment {key}", FAIL, "is not a valid environment variable name"))
            elif not isinstance(value, str):
                checks.append(
                    Check(
                        f"{prefix}environment {key}",
                        FAIL,
                        f"must be a string, got {type(value).__name__} {_show(value)} (write \"{value}\" with quotes)",
                    )
                )
            elif len(value) > 1024:
                checks.append(Check(f"{prefix}environment {key}", FAIL, "is longer than SageMaker's 1024 characters"))
        if len(env) > 100:
            checks.append(Check(f"{prefix}environment", FAIL, f"has {len(env)} variables; SageMaker allows 100"))
        elif env and all(isinstance(v, str) for v in env.values()):
            checks.append(Check(f"{prefix}environment values", OK, f"all {len(env)} are strings"))

        for key, minimum in ENV_MINIMUMS.items():
            item = f"{prefix}environment {key}"
            if key not in env:
                checks.append(Check(item, FAIL, f"missing (must be set, at least {minimum})"))
                continue
            if not isinstance(env[key], str):
                continue  # the non-string failure is already reported
            n = _as_int(env[key])
            if n is None:
                checks.append(Check(item, FAIL, f"{env[key]!r} is not a whole number of seconds"))
                continue
            if n < minimum:
                checks.append(Check(item, short, f"{n} is below the minimum {minimum}{short_note}"))
            else:
                checks.append(Check(item, OK, f"{n} (minimum {minimum})"))

        for key in sorted(INTEGER_ENV_KEYS - set(ENV_MINIMUMS)):
            if key in env and isinstance(env[key], str):
                n = _as_int(env[key])
                if n is None or n < 1:
                    checks.append(Check(f"{prefix}environment {key}", FAIL, f"{env[key]!r} must be a positive whole number"))
        for key in sorted(BOOLEAN_ENV_KEYS):
            if key in env and isinstance(env[key], str) and env[key] not in ("true", "false"):
                checks.append(Check(f"{prefix}environment {key}", FAIL, f"{env[key]!r} must be \"true\" or \"false\""))
        missing_reference = sorted(k for k in DEFAULT_ENVIRONMENT if k not in env and k not in ENV_MINIMUMS)
        if missing_reference:
            checks.append(Check(f"{prefix}environment", WARN, "reference values not set: " + ", ".join(missing_reference)))

    if variant is not None:
        for key, minimum in VARIANT_MINIMUMS.items():
            item = f"{prefix}variant {key}"
            if key not in var or var[key] is None:
                checks.append(Check(item, FAIL, f"missing (SageMaker's default is too short; must be at least {minimum})"))
                continue
            value = var[key]
            if isinstance(value, bool) or not isinstance(value, int):
                checks.append(Check(item, FAIL, f"must be an integer, got {_show(value)}"))
            elif value > VARIANT_MAXIMUM:
                checks.append(Check(item, FAIL, f"{value} is above SageMaker's maximum {VARIANT_MAXIMUM}"))
            elif value < minimum:
                checks.append(Check(item, short, f"{value} is below the minimum {minimum}{short_note}"))
            else:
                checks.append(Check(item, OK, f"{value} (minimum {minimum})"))
    return checks


def _as_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and re.fullmatch(r"\s*\d+\s*", value):
        return int(value)
    return None


# ---- loading --------------------------------------------------------------------------------------
def find_config_file(explicit: str | Path | None, environ: Mapping[str, str] | None = None) -> Path | None:
    environ = os.environ if environ is None else environ
    if explicit:
        return Path(explicit)
    if environ.get("STYGIG_CONFIG"):
        return Path(environ["STYGIG_CONFIG"])
    default = Path("stygig.toml")
    return default if default.is_file() else None


def read_config_file(path: str | Path) -> dict[str, Any]:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"config file not found: {path}") from None
    except OSError as e:
        raise ConfigError(f"cannot read config file {path}: {e.strerror}") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{path}: not valid TOML: {e}") from None


def _flatten_file(data: dict[str, Any], path: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """TOML data -> ({dotted key: value}, environment table). Unknown keys are refused by name."""
    values: dict[str, Any] = {}
    environment: dict[str, Any] = {}
    for section, table in data.items():
        if section not in SECTIONS:
            raise ConfigError(f"{path}: unknown section [{section}]{_did_you_mean(section, SECTIONS)}")
        if not isinstance(table, dict):
            raise ConfigError(f"{path}: {section} must be a table ([{section}])")
        for key, value in table.items():
            dotted = f"{section}.{key}"
            if dotted == "endpoint.environment":
                if not isinstance(value, dict):
                    raise ConfigError(f"{path}: endpoint.environment must be a table ([endpoint.environment])")
                environment.update(value)
            elif dotted in _BY_KEY:
                values[dotted] = value
            else:
                known = [k.split(".", 1)[1] for k in _BY_KEY if k.startswith(section + ".")]
                if section == "endpoint":
                    known.append("environment")
                raise ConfigError(f"{path}: unknown key {key!r} in [{section}]{_did_you_mean(key, known)}")
    return values, environment


def _did_you_mean(word: str, options: Iterable[str]) -> str:
    close = difflib.get_close_matches(word, list(options), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def load_config(
    path: str | Path | None = None,
    *,
    flags: Mapping[str, Any] | None = None,
    env_flags: Mapping[str, str] | None = None,
    environ: Mapping[str, str] | None = None,
    use_default_file: bool = True,
) -> DeploymentConfig:
    """Build the effective configuration: defaults < file < environment variables < flags.

    ``flags`` maps attribute names to values given on the command line (None = not given);
    ``env_flags`` holds ``--env KEY=VALUE`` container environment overrides.
    Nothing is validated here (see :meth:`DeploymentConfig.validate`), so ``config show`` and
    ``doctor --config`` can display a configuration that would be refused.
    """
    environ = os.environ if environ is None else environ
    cfg = DeploymentConfig()
    sources: dict[str, str] = {f.key: "default" for f in FIELDS}
    for k in cfg.environment:
        sources[f"endpoint.environment.{k}"] = "default"

    file = find_config_file(path, environ) if (path or use_default_file) else None
    if file is not None:
        values, environment = _flatten_file(read_config_file(file), file)
        for dotted, value in values.items():
            setattr(cfg, _BY_KEY[dotted].attr, value)
            sources[dotted] = f"file {file}"
        for k, v in environment.items():
            cfg.environment[k] = v
            sources[f"endpoint.environment.{k}"] = f"file {file}"

    for f in FIELDS:
        for var in f.env:
            if environ.get(var):
                setattr(cfg, f.attr, environ[var])
                sources[f.key] = f"env {var}"
                break

    for attr, value in (flags or {}).items():
        if value is None:
            continue
        f = _BY_ATTR[attr]
        setattr(cfg, attr, value)
        sources[f.key] = f"flag {f.flag}" if f.flag else "flag"
    for k, v in (env_flags or {}).items():
        cfg.environment[k] = v
        sources[f"endpoint.environment.{k}"] = "flag --env"
    cfg.sources = sources
    return cfg


def parse_env_flags(items: Iterable[str] | None) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in items or ():
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ConfigError(f"--env takes KEY=VALUE, got {item!r}")
        out[key] = value
    return out


def check_resource_name(name: str, what: str = "endpoint name") -> str:
    if not isinstance(name, str) or not _NAME_RE.match(name):
        raise ConfigError(f"{what} {name!r} must be 1-63 letters, digits and hyphens, starting with a letter or digit")
    return name


def base_name(endpoint_name: str) -> str:
    """The prefix of the model and endpoint-config names StyGig creates for an endpoint."""
    return endpoint_name[:MAX_BASE_NAME].rstrip("-")
