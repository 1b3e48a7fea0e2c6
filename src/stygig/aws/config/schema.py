"""The schema of a StyGig deployment: one frozen dataclass per TOML section, and DeploymentConfig.

Every AWS command (deploy, redeploy, train, pipeline, invoke, doctor, teardown) takes its settings
from one :class:`DeploymentConfig`. Each section of the config file (``[aws]``, ``[endpoint]``,
``[async]``, ``[redeploy]``, ``[training]``) is a frozen dataclass below; each of its fields is one
key of that section, and carries (in its metadata) the command-line flag, the environment
variables, the help text and the allowed range. Everything else - the loader, the provenance
table, the range checks, the CLI flags - is derived from these classes, so a new section is one
more class and one more field of :class:`DeploymentConfig`.
"""

from __future__ import annotations

import dataclasses
import re
import types
import typing
from dataclasses import dataclass, field
from typing import Any, Mapping

from stygig import __version__, settings
from stygig.aws.config.audit import DEFAULT_ENVIRONMENT, FAIL, audit_settings, show
from stygig.errors import StygigError

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
    settings.SAGEMAKER_PROGRAM: "inference.py",
    settings.SAGEMAKER_SUBMIT_DIRECTORY: "/opt/ml/model/code",
    settings.SAGEMAKER_CONTAINER_LOG_LEVEL: "20",
}

STYGIG_REPOSITORY = "stygig"  # ECR repository of the StyGig server image (see Dockerfile)

_REGION_RE = re.compile(r"^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d$")
_ROLE_RE = re.compile(r"^arn:aws[a-z-]*:iam::(\d{12}):role/[\w+=,.@/-]{1,512}$")
_SNS_RE = re.compile(r"^arn:aws[a-z\-]*:sns:[a-z0-9\-]*:[0-9]{12}:[a-zA-Z0-9_.-]+$")
_IMAGE_RE = re.compile(r"^[a-z0-9.-]+(:\d+)?/[a-z0-9._/-]+(:[\w.-]{1,128}|@sha256:[0-9a-f]{64})?$")
_NAME_RE = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")
_INSTANCE_RE = re.compile(r"^ml\.[a-z0-9]+\.[a-z0-9]+$")
_PREFIX_RE = re.compile(r"^[A-Za-z0-9!_.*'()/-]{0,200}$")
_SUBNET_RE = re.compile(r"^subnet-[0-9a-f]{8}([0-9a-f]{9})?$")
_SECURITY_GROUP_RE = re.compile(r"^sg-[0-9a-f]{8}([0-9a-f]{9})?$")
_KMS_RE = re.compile(
    r"^(arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:(key/[\w-]+|alias/[\w/-]+)|alias/[\w/-]+|(mrk-)?[0-9a-f]{8}(-?[0-9a-f]{4}){3}-?[0-9a-f]{12}|mrk-[0-9a-f]{32})$"
)
MAX_SUBNETS, MAX_SECURITY_GROUPS = 16, 5  # SageMaker's VpcConfig limits

#: the placeholders of stygig.toml.example, which doctor warns about (they deploy nowhere)
EXAMPLE_ACCOUNT = "123456789012"
EXAMPLE_BUCKET = "my-stygig-models"


class ConfigError(StygigError):
    """A deployment configuration that is refused (one line per problem, joined on one line)."""

    status = 422
    code = "config_error"


# ---- one setting: a dataclass field with what the CLI and the loader need to know ----------------
def setting(
    default: Any = dataclasses.MISSING,
    *,
    factory: Any = dataclasses.MISSING,
    flag: str | None = None,
    env: tuple[str, ...] = (),
    help: str = "",
    metavar: str | None = None,
    range: tuple[float, float] | None = None,
) -> Any:
    """A field of a section. ``flag``: its command-line flag; ``env``: environment variables that
    set it (first one set wins); ``range``: inclusive bounds a number must keep."""
    meta = {"flag": flag, "env": tuple(env), "help": help, "metavar": metavar, "range": range}
    if factory is not dataclasses.MISSING:
        return field(default_factory=factory, metadata=meta)
    return field(default=default, metadata=meta)


@dataclass(frozen=True)
class AwsSettings:
    region: str = setting("us-east-1", flag="--region", env=("AWS_REGION", "AWS_DEFAULT_REGION"),
                          help="AWS region (e.g. eu-west-1)", metavar="REGION")
    role_arn: str | None = setting(None, flag="--role-arn", env=(settings.ROLE_ARN.name,),
                                   help="IAM role SageMaker runs as (arn:aws:iam::ACCOUNT:role/NAME)", metavar="ARN")
    bucket: str | None = setting(None, flag="--bucket", env=(settings.S3_BUCKET.name,),
                                 help="S3 bucket for model archives and outputs", metavar="BUCKET")
    prefix: str = setting("stygig", flag="--prefix", help="S3 key prefix inside the bucket (default stygig)",
                          metavar="PREFIX")
    subnets: tuple[str, ...] = setting((), flag="--subnet", metavar="SUBNET",
                                       help="VPC subnet id for the model and training containers (repeatable; "
                                       "with --security-group)")
    security_group_ids: tuple[str, ...] = setting((), flag="--security-group", metavar="GROUP",
                                                  help="VPC security group id (repeatable; with --subnet)")
    kms_key_id: str | None = setting(None, flag="--kms-key", metavar="KEY",
                                     help="KMS key (id, ARN or alias) for the instances' volumes and the S3 outputs")


@dataclass(frozen=True)
class EndpointSettings:
    image: str = setting("dlc", flag="--image", metavar="IMAGE",
                         help='"dlc" (the AWS PyTorch inference DLC), "stygig" (the StyGig image in your ECR, '
                         "see `stygig aws push-image`) or an image URI")
    framework_version: str = setting(DEFAULT_DLC_VERSION, flag="--framework-version", metavar="VERSION",
                                     help=f"PyTorch DLC version ({', '.join(DLC_PYTHON)})")
    instance_type: str = setting("ml.m5.xlarge", flag="--instance-type", metavar="TYPE",
                                 help="SageMaker instance type (e.g. ml.m5.xlarge)")
    instance_count: int = setting(1, flag="--instance-count", metavar="N", range=(1, 100), help="instances")
    environment: dict[str, Any] = setting(factory=lambda: dict(DEFAULT_ENVIRONMENT))
    startup_health_check_timeout: int = setting(600, flag="--startup-timeout", metavar="SECONDS",
                                                help="how long SageMaker waits for the first /ping 200 (minimum 600)")
    model_data_download_timeout: int = setting(600, flag="--download-timeout", metavar="SECONDS",
                                               help="how long SageMaker may take to download the model (minimum 600)")
    allow_short_timeouts: bool = setting(False, flag="--allow-short-timeouts",
                                         help="warn instead of refusing timeouts below the minimums")
    allowed_s3_buckets: tuple[str, ...] = setting((), flag="--allowed-s3-bucket", metavar="BUCKET",
                                                  help="a bucket the endpoint may read image_s3_uri pictures from "
                                                  "(repeatable; default none)")
    overlay: str | None = setting(None, flag="--overlay", metavar="S3_URI",
                                  help="s3:// JSON Lines attribute overlay the endpoint re-reads when it changes "
                                  "(STYGIG_OVERLAY; its bucket joins the allow-list)")
    overlay_seconds: int = setting(settings.OVERLAY_SECONDS.default, flag="--overlay-seconds", metavar="SECONDS",
                                   range=(1, 86_400), help="how often each worker looks whether the overlay changed "
                                   f"(STYGIG_OVERLAY_SECONDS; default {settings.OVERLAY_SECONDS.default})")
    wait_timeout: int = setting(1800, flag="--wait-timeout", metavar="SECONDS", range=(1, 6 * 3600),
                                help="how long to wait for the endpoint to be InService (default 1800)")
    network_isolation: bool = setting(False, flag="--network-isolation",
                                      help="EnableNetworkIsolation on the model: the container gets no network "
                                      "(the DLC archive then carries its dependencies in code/; image_s3_uri "
                                      "pictures cannot be read)")


@dataclass(frozen=True)
class AsyncSettings:
    output: str | None = setting(None, flag="--output", metavar="S3_URI",
                                 help="s3:// prefix for async results (default s3://BUCKET/PREFIX/async-output/)")
    sns_success: str | None = setting(None, flag="--sns-success", metavar="ARN", help="SNS topic told of each result")
    sns_error: str | None = setting(None, flag="--sns-error", metavar="ARN", help="SNS topic told of each failure")
    max_concurrent: int = setting(4, flag="--max-concurrent", metavar="N", range=(1, 1000),
                                  help="invocations per instance at once (default 4)")
    min_capacity: int = setting(0, flag="--min-capacity", metavar="N", range=(0, 100),
                                help="fewest instances; 0 lets the endpoint scale to zero (default 0)")
    max_capacity: int = setting(2, flag="--max-capacity", metavar="N", range=(1, 100), help="most instances (default 2)")
    target_backlog_per_instance: float = setting(5.0)
    scale_in_cooldown: int = setting(600, range=(0, 86400))
    scale_out_cooldown: int = setting(60, range=(0, 86400))


@dataclass(frozen=True)
class RedeploySettings:
    termination_wait: int = setting(300, range=(0, 3600))
    max_execution_timeout: int = setting(3600, range=(600, 28800))
    rollback_alarms: tuple[str, ...] = setting(())


@dataclass(frozen=True)
class TrainingSettings:
    image: str = setting("stygig", flag="--train-image", metavar="IMAGE",
                         help='"stygig" (the StyGig image in your ECR: run `stygig aws push-image` first, needs '
                         "docker) or an image URI")
    instance_type: str = setting("ml.m5.xlarge", flag="--train-instance-type", metavar="TYPE",
                                 help="training instance type (e.g. ml.m5.xlarge)")
    instance_count: int = setting(1, flag="--instance-count", metavar="N", range=(1, 100),
                                  help="training instances; more than 1 shards the catalog")
    volume_size_gb: int = setting(30, range=(1, 16384))
    max_runtime: int = setting(7200, range=(60, 28 * 86400))
    encoder: str = setting("lite", flag="--encoder", metavar="ENCODER",
                           help='"lite" or the s3:// prefix of an encoder made by `stygig export-clip`')
    precision: str | None = setting(None, flag="--precision", metavar="PRECISION", help="CLIP precision: fp32 or int8")


@dataclass(frozen=True)
class BatchSettings:
    """``stygig aws batch``: a Batch Transform job on the deployment's model (SplitType=Line, MultiRecord)."""

    instance_type: str = setting("ml.m5.xlarge", flag="--instance-type", metavar="TYPE",
                                 help="transform instance type (e.g. ml.m5.xlarge)")
    instance_count: int = setting(1, flag="--instance-count", metavar="N", range=(1, 100),
                                  help="transform instances; the ids are split into at least this many files")
    max_payload_mb: int = setting(6, flag="--max-payload-mb", metavar="MB", range=(1, 100),
                                  help="MaxPayloadInMB: the most lines sent in one request (default 6)")
    max_concurrent_transforms: int = setting(1, flag="--max-concurrent-transforms", metavar="N", range=(1, 100),
                                             help="MaxConcurrentTransforms: requests at once per instance (default 1; "
                                             "times --max-payload-mb at most 100)")
    invocations_timeout: int = setting(600, flag="--invocations-timeout", metavar="SECONDS", range=(1, 3600),
                                       help="InvocationsTimeoutInSeconds: how long one request may take (default 600)")
    wait_timeout: int = setting(6 * 3600, range=(60, 14 * 86400))


# ---- the configuration --------------------------------------------------------------------------
def section(name: str, cls: type) -> Any:
    return field(default_factory=cls, metadata={"section": name})


@dataclass(frozen=True)
class DeploymentConfig:
    """Everything a StyGig deployment needs. Build with :func:`~stygig.aws.config.load_config`;
    check with :meth:`validate`; change with :meth:`with_values` (a new config)."""

    aws: AwsSettings = section("aws", AwsSettings)
    endpoint: EndpointSettings = section("endpoint", EndpointSettings)
    async_: AsyncSettings = section("async", AsyncSettings)
    redeploy: RedeploySettings = section("redeploy", RedeploySettings)
    training: TrainingSettings = section("training", TrainingSettings)
    batch: BatchSettings = section("batch", BatchSettings)
    #: where each value came from: dotted key -> "default" | "file <path>" | "env <VAR>" | "flag <--x>"
    sources: dict[str, str] = field(default_factory=dict, compare=False, repr=False)

    def get(self, key: str) -> Any:
        """The value of a dotted key, e.g. ``"endpoint.instance_type"``."""
        s = SETTINGS[key]
        return getattr(getattr(self, s.attr), s.name)

    def with_values(self, values: Mapping[str, Any], sources: Mapping[str, str] | None = None) -> "DeploymentConfig":
        """A copy with ``{dotted key: value}`` changed (lists become tuples); unknown keys are refused."""
        per: dict[str, dict[str, Any]] = {}
        for key, value in values.items():
            if key not in _PLACES:
                raise ConfigError(f"unknown setting {key}")
            attr, name = _PLACES[key]
            per.setdefault(attr, {})[name] = tuple(value) if isinstance(value, list) else value
        changed = {attr: dataclasses.replace(getattr(self, attr), **kw) for attr, kw in per.items()}
        return dataclasses.replace(self, **changed, sources={**self.sources, **(sources or {})})

    # ---- derived values -------------------------------------------------------------------------
    @property
    def account_id(self) -> str | None:
        m = _ROLE_RE.match(self.aws.role_arn or "")
        return m.group(1) if m else None

    @property
    def is_dlc(self) -> bool:
        return self.endpoint.image == "dlc"

    def dlc_python(self) -> str | None:
        """The DLC's Python tag (``"py312"``) the archive's vendored code/ is built for; None off the DLC."""
        return DLC_PYTHON.get(self.endpoint.framework_version) if self.is_dlc else None

    def image_uri(self, instance_type: str | None = None) -> str:
        """The serving image for the endpoint's instance type (or ``instance_type``: CPU or GPU DLC)."""
        e = self.endpoint
        return resolve_image(e.image, self.aws.region, e.framework_version, instance_type or e.instance_type, self.account_id)

    def train_image_uri(self) -> str:
        t = self.training
        if t.image == "dlc":
            raise ConfigError('training.image cannot be "dlc": training runs the StyGig image ("stygig" or an image URI)')
        return resolve_image(t.image, self.aws.region, self.endpoint.framework_version, t.instance_type, self.account_id)

    def container_environment(self) -> dict[str, str]:
        """The exact Environment of the SageMaker model: the configured values plus the derived ones."""
        env = dict(self.endpoint.environment)
        if self.is_dlc:
            env.update(DLC_ENVIRONMENT)
            env[settings.SAGEMAKER_REGION] = self.aws.region
        buckets = set(self.endpoint.allowed_s3_buckets)
        if self.endpoint.overlay:
            env[settings.OVERLAY.name] = self.endpoint.overlay
            env[settings.OVERLAY_SECONDS.name] = str(self.endpoint.overlay_seconds)
            bucket = _bucket_of(self.endpoint.overlay)
            if bucket:
                buckets.add(bucket)  # the allow-list covers the overlay: the server reads it only there
        if buckets:
            env[settings.ALLOWED_S3_BUCKETS.name] = ",".join(sorted(buckets))
        return env

    def s3_prefix_uri(self, *parts: str) -> str:
        if not self.aws.bucket:
            raise ConfigError("no S3 bucket configured: set aws.bucket in the config file or pass --bucket")
        key = "/".join(p.strip("/") for p in (self.aws.prefix, *parts) if p and p.strip("/"))
        return f"s3://{self.aws.bucket}/{key}"

    def async_output_uri(self) -> str:
        return self.async_.output or self.s3_prefix_uri("async-output") + "/"

    def vpc_config(self) -> dict[str, list[str]] | None:
        """SageMaker's ``VpcConfig`` (CreateModel, CreateTrainingJob), or None without subnets."""
        if not self.aws.subnets:
            return None
        return {"SecurityGroupIds": list(self.aws.security_group_ids), "Subnets": list(self.aws.subnets)}

    def variant_timeouts(self) -> dict[str, int]:
        return {
            "ContainerStartupHealthCheckTimeoutInSeconds": self.endpoint.startup_health_check_timeout,
            "ModelDataDownloadTimeoutInSeconds": self.endpoint.model_data_download_timeout,
        }

    # ---- validation -----------------------------------------------------------------------------
    def problems(self, *, need_role: bool = False, need_bucket: bool = False) -> list[str]:
        """Every reason to refuse this configuration, one line each (empty: deployable)."""
        # types first: everything else assumes them
        out = [err for s in SETTINGS.values() if (err := s.type_error(self.get(s.key)))]
        if out:
            return out
        a, e, asy, r, t = self.aws, self.endpoint, self.async_, self.redeploy, self.training
        if not _REGION_RE.match(a.region):
            out.append(f"aws.region {a.region!r} is not an AWS region name (e.g. us-east-1)")
        if a.role_arn is not None and not _ROLE_RE.match(a.role_arn):
            out.append(f"aws.role_arn {a.role_arn!r} is not an IAM role ARN (arn:aws:iam::<12-digit account>:role/<name>)")
        if need_role and not a.role_arn:
            out.append("aws.role_arn is not set: SageMaker needs an execution role (--role-arn or STYGIG_ROLE_ARN)")
        from stygig.s3io import is_valid_bucket_name

        if a.bucket is not None and not is_valid_bucket_name(a.bucket):
            out.append(f"aws.bucket {a.bucket!r} is not a valid S3 bucket name")
        if need_bucket and not a.bucket:
            out.append("aws.bucket is not set: StyGig needs a bucket for model archives (--bucket or STYGIG_S3_BUCKET)")
        if not _PREFIX_RE.match(a.prefix):
            out.append(f"aws.prefix {a.prefix!r} has characters unsafe in an S3 key")
        out += _network_problems(a)
        out += _image_problems("endpoint.image", e.image, a.region)
        if e.image == "dlc" and e.framework_version not in DLC_PYTHON:
            out.append(
                f"endpoint.framework_version {e.framework_version!r} is not a supported PyTorch DLC version"
                f" (one of {', '.join(DLC_PYTHON)})"
            )
        b = self.batch
        for key, value in (("endpoint.instance_type", e.instance_type), ("training.instance_type", t.instance_type),
                           ("batch.instance_type", b.instance_type)):
            if not _INSTANCE_RE.match(value):
                out.append(f"{key} {value!r} is not a SageMaker instance type (e.g. ml.m5.xlarge)")
        if e.image == "dlc" and e.instance_type.split(".")[1].startswith(("inf", "trn")):
            out.append(f"endpoint.instance_type {e.instance_type} needs a Neuron image; the PyTorch DLC runs on CPU or GPU instances")
        for s in SETTINGS.values():
            if s.range is not None:
                lo, hi = s.range
                value = self.get(s.key)
                if not lo <= value <= hi:
                    out.append(f"{s.key} must be between {lo} and {hi}, got {value}")
        if b.max_concurrent_transforms * b.max_payload_mb > 100:
            out.append(
                f"batch.max_concurrent_transforms x batch.max_payload_mb must be at most 100 (SageMaker's limit), got "
                f"{b.max_concurrent_transforms} x {b.max_payload_mb} = {b.max_concurrent_transforms * b.max_payload_mb}"
            )
        if asy.min_capacity > asy.max_capacity:
            out.append(f"async.min_capacity ({asy.min_capacity}) is above async.max_capacity ({asy.max_capacity})")
        if not asy.target_backlog_per_instance > 0:
            out.append(f"async.target_backlog_per_instance must be positive, got {asy.target_backlog_per_instance}")
        if asy.output is not None:
            out += _s3_uri_problems("async.output", asy.output)
        for key, value in (("async.sns_success", asy.sns_success), ("async.sns_error", asy.sns_error)):
            if value is not None and not _SNS_RE.match(value):
                out.append(f"{key} {value!r} is not an SNS topic ARN")
        for name in e.allowed_s3_buckets:
            if not is_valid_bucket_name(name):
                out.append(f"endpoint.allowed_s3_buckets: {name!r} is not a valid S3 bucket name")
        if e.overlay is not None:
            out += _overlay_problems(e.overlay, e.network_isolation)
        for name in r.rollback_alarms:
            if not name.strip() or len(name) > 255:
                out.append(f"redeploy.rollback_alarms: {name!r} is not a CloudWatch alarm name")
        if len(r.rollback_alarms) > 10:
            out.append("redeploy.rollback_alarms: at most 10 alarms")
        out += _image_problems("training.image", t.image, a.region, training=True)
        if not (t.encoder == "lite" or t.encoder.startswith("s3://")):
            out.append(f"training.encoder must be \"lite\" or the s3:// prefix of an exported encoder, got {t.encoder!r}")
        if t.precision not in (None, "fp32", "int8"):
            out.append(f"training.precision must be fp32 or int8, got {t.precision!r}")
        # the audit: environment and variant timeouts
        for check in audit_settings(self.container_environment(), self.variant_timeouts(), allow_short=e.allow_short_timeouts):
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
        for s in SETTINGS.values():
            value = self.get(s.key)
            rows.append((s.key, list(value) if isinstance(value, tuple) else value, self.sources.get(s.key, "default")))
            if s.key == "endpoint.allowed_s3_buckets":
                env = self.endpoint.environment
                for k in sorted(env):
                    rows.append((f"endpoint.environment.{k}", env[k], self.sources.get(f"endpoint.environment.{k}", "default")))
        derived = self.container_environment()
        for k in sorted(set(derived) - set(self.endpoint.environment)):
            rows.append((f"endpoint.environment.{k}", derived[k], "derived"))
        try:
            rows.append(("endpoint.image_uri", self.image_uri(), "derived"))
        except ConfigError as e:
            rows.append(("endpoint.image_uri", f"<{e.message}>", "derived"))
        return rows

    def to_dict(self) -> dict[str, Any]:
        """The configuration as nested TOML-shaped data (what a config file with these values holds)."""
        out: dict[str, Any] = {name: {} for name in SECTIONS}
        for s in SETTINGS.values():
            value = self.get(s.key)
            if value is not None:
                out[s.section][s.name] = list(value) if isinstance(value, tuple) else value
        out["endpoint"]["environment"] = dict(self.endpoint.environment)
        return out


# ---- the settings, derived from the classes above -----------------------------------------------
@dataclass(frozen=True)
class Setting:
    """One key of the config file, as the loader, the checks and the CLI see it."""

    section: str  # TOML section, e.g. "endpoint"
    attr: str  # DeploymentConfig attribute of the section, e.g. "endpoint" ("async_" for [async])
    name: str  # key in the section, e.g. "instance_type"
    kind: type  # int, float, str, bool or tuple (of strings)
    optional: bool  # None allowed
    default: Any
    flag: str | None
    env: tuple[str, ...]
    help: str
    metavar: str | None
    range: tuple[float, float] | None

    @property
    def key(self) -> str:
        return f"{self.section}.{self.name}"

    def type_error(self, value: Any) -> str | None:
        if value is None and self.optional:
            return None
        if self.kind is tuple:
            if not isinstance(value, (tuple, list)) or not all(isinstance(v, str) for v in value):
                return f"{self.key} must be a list of strings, got {show(value)}"
            return None
        if self.kind in (int, float):
            ok = isinstance(value, int if self.kind is int else (int, float)) and not isinstance(value, bool)
            return None if ok else f"{self.key} must be {'an integer' if self.kind is int else 'a number'}, got {show(value)}"
        if self.kind is bool:
            return None if isinstance(value, bool) else f"{self.key} must be true or false, got {show(value)}"
        return None if isinstance(value, str) else f"{self.key} must be a string, got {show(value)}"


def _kind(hint: Any) -> tuple[type, bool]:
    args = typing.get_args(hint)
    if isinstance(hint, types.UnionType):
        inner = [a for a in args if a is not type(None)]
        return _kind(inner[0])[0], True
    origin = typing.get_origin(hint) or hint
    return origin, False


def _settings() -> dict[str, Setting]:
    out: dict[str, Setting] = {}
    for sec in dataclasses.fields(DeploymentConfig):
        if "section" not in sec.metadata:
            continue
        cls = sec.default_factory
        hints = typing.get_type_hints(cls)
        for f in dataclasses.fields(cls):
            kind, optional = _kind(hints[f.name])
            if kind is dict:
                continue  # endpoint.environment: a table of its own (see the loader)
            default = f.default if f.default is not dataclasses.MISSING else f.default_factory()
            m = f.metadata
            s = Setting(sec.metadata["section"], sec.name, f.name, kind, optional, default, m.get("flag"), m.get("env", ()),
                        m.get("help", ""), m.get("metavar"), m.get("range"))
            out[s.key] = s
    return out


SETTINGS: dict[str, Setting] = _settings()
#: every field of every section (``endpoint.environment`` included): dotted key -> (attribute, name)
_PLACES: dict[str, tuple[str, str]] = {
    f"{sec.metadata['section']}.{f.name}": (sec.name, f.name)
    for sec in dataclasses.fields(DeploymentConfig) if "section" in sec.metadata
    for f in dataclasses.fields(sec.default_factory)
}
#: TOML section name -> DeploymentConfig attribute
SECTIONS: dict[str, str] = {f.metadata["section"]: f.name for f in dataclasses.fields(DeploymentConfig) if "section" in f.metadata}


def _network_problems(a: AwsSettings) -> list[str]:
    out = []
    for name in a.subnets:
        if not _SUBNET_RE.match(name):
            out.append(f"aws.subnets: {name!r} is not a subnet id (subnet-0123abcd...)")
    for name in a.security_group_ids:
        if not _SECURITY_GROUP_RE.match(name):
            out.append(f"aws.security_group_ids: {name!r} is not a security group id (sg-0123abcd...)")
    if bool(a.subnets) != bool(a.security_group_ids):
        out.append("aws.subnets and aws.security_group_ids go together: a VPC needs both (or neither)")
    if len(a.subnets) > MAX_SUBNETS:
        out.append(f"aws.subnets: at most {MAX_SUBNETS}, got {len(a.subnets)}")
    if len(a.security_group_ids) > MAX_SECURITY_GROUPS:
        out.append(f"aws.security_group_ids: at most {MAX_SECURITY_GROUPS}, got {len(a.security_group_ids)}")
    if a.kms_key_id is not None and not _KMS_RE.match(a.kms_key_id):
        out.append(f"aws.kms_key_id {a.kms_key_id!r} is not a KMS key id, key ARN or alias")
    return out


def _join_problems(problems: list[str]) -> str:
    if len(problems) == 1:
        return problems[0]
    return f"{len(problems)} problems: " + "; ".join(problems)


def _image_problems(key: str, image: str, region: str, *, training: bool = False) -> list[str]:
    if image in ("dlc", "stygig"):
        if image == "dlc" and not training and region not in DLC_ACCOUNTS:
            return [f"{key}: no PyTorch DLC registry is known for region {region}; give an image URI"]
        return []
    if not _IMAGE_RE.match(image):
        return [f'{key} {image!r} must be "dlc", "stygig" or an image URI (<registry>/<repository>:<tag>)']
    return []


def _bucket_of(uri: str) -> str | None:
    from stygig.s3io import parse_s3_uri

    try:
        return parse_s3_uri(uri)[0]
    except StygigError:
        return None


def _overlay_problems(uri: str, network_isolation: bool) -> list[str]:
    if not uri.startswith("s3://"):
        return [f"endpoint.overlay must be an s3:// URI of a JSON Lines object, got {uri[:200]!r}"]
    out = _s3_uri_problems("endpoint.overlay", uri)
    if not out and (uri.endswith("/") or uri.count("/") < 3):
        out.append(f"endpoint.overlay {uri[:200]} names no object (s3://BUCKET/KEY.jsonl)")
    if network_isolation:
        out.append("endpoint.overlay needs the network, but endpoint.network_isolation is on: the container "
                   "could not read it")
    return out


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


def check_resource_name(name: str, what: str = "endpoint name") -> str:
    if not isinstance(name, str) or not _NAME_RE.match(name):
        raise ConfigError(f"{what} {name!r} must be 1-63 letters, digits and hyphens, starting with a letter or digit")
    return name


def base_name(endpoint_name: str) -> str:
    """The prefix of the model and endpoint-config names StyGig creates for an endpoint."""
    return endpoint_name[:MAX_BASE_NAME].rstrip("-")
