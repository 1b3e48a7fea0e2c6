"""``stygig aws doctor``: audit a live endpoint, a transform job, or a configuration before it is deployed.

For a live endpoint it reads the endpoint, its endpoint config and every model behind it and
checks each item of the audit with :func:`stygig.aws.config.audit_settings` - the same rules that
refuse a bad configuration before deployment - plus what only a live endpoint has: its status,
whether the model archive is reachable, the async output location and autoscaling.
"""

from __future__ import annotations

import time
from typing import Any, Mapping

from stygig import settings
from stygig.artifact.overlay import MAX_OVERLAY_BYTES

from stygig.aws.autoscaling import scalable_target
from stygig.aws.config import FAIL, OK, WARN, Check, DeploymentConfig, audit_settings
from stygig.aws.config.schema import EXAMPLE_ACCOUNT, EXAMPLE_BUCKET
from stygig.aws.requests import JSONLINES
from stygig.aws.session import AwsError, AwsSession, is_dry
from stygig.wording import plural


def doctor_endpoint(session: AwsSession, endpoint_name: str) -> list[Check]:
    sm = session.client("sagemaker")
    checks: list[Check] = []
    try:
        ep = sm.describe_endpoint(EndpointName=endpoint_name)
    except AwsError as e:
        if e.not_found or e.aws_code == "ValidationException":
            return [Check("endpoint", FAIL, f"{endpoint_name} not found in {session.region}")]
        raise
    if is_dry(ep):
        return []
    status = ep.get("EndpointStatus")
    if status == "InService":
        checks.append(Check("endpoint status", OK, "InService"))
    elif status in ("Creating", "Updating", "SystemUpdating"):
        checks.append(Check("endpoint status", WARN, f"{status} (not yet serving the checked configuration)"))
    else:
        reason = ep.get("FailureReason")
        checks.append(Check("endpoint status", FAIL, f"{status}" + (f": {reason}" if reason else "")))

    config_name = ep.get("EndpointConfigName")
    try:
        config = sm.describe_endpoint_config(EndpointConfigName=config_name)
    except AwsError as e:
        checks.append(Check("endpoint config", FAIL, f"{config_name}: {e.message}"))
        return checks
    variants = config.get("ProductionVariants", [])
    if not variants:
        checks.append(Check("endpoint config", FAIL, f"{config_name} has no production variants"))
    several = len(variants) > 1
    for variant in variants:
        where = f"[{variant.get('VariantName')}]" if several else ""
        checks += _model_checks(session, variant.get("ModelName"), variant, where)
    checks.append(encryption_check(config.get("KmsKeyId")))
    if "AsyncInferenceConfig" in config:
        out = config["AsyncInferenceConfig"].get("OutputConfig", {}).get("S3OutputPath")
        checks.append(Check("async output", OK if out else FAIL, out or "no S3OutputPath"))
        try:
            target = scalable_target(session, endpoint_name, variants[0]["VariantName"]) if variants else None
        except AwsError as e:
            checks.append(Check("autoscaling", WARN, f"cannot read: {e.message}"))
        else:
            if target is None:
                checks.append(Check("autoscaling", WARN, "no scalable target: the endpoint never scales (nor to zero)"))
            else:
                checks.append(Check("autoscaling", OK, f"{target['MinCapacity']}..{target['MaxCapacity']} instances"))
    return checks


def doctor_transform_job(session: AwsSession, job_name: str) -> list[Check]:
    """A transform job (``stygig aws batch``): its status, how it splits and packs the lines, and
    the audit of the model it runs (environment, archive)."""
    sm = session.client("sagemaker")
    try:
        job = sm.describe_transform_job(TransformJobName=job_name)
    except AwsError as e:
        if e.not_found or e.aws_code == "ValidationException":
            return [Check("transform job", FAIL, f"{job_name} not found in {session.region}")]
        raise
    if is_dry(job):
        return []
    status = job.get("TransformJobStatus")
    if status == "Completed":
        checks = [Check("transform job status", OK, "Completed")]
    elif status in ("InProgress", "Stopping"):
        checks = [Check("transform job status", WARN, f"{status} (not finished)")]
    else:
        reason = job.get("FailureReason")
        checks = [Check("transform job status", FAIL, f"{status}" + (f": {reason}" if reason else ""))]
    ti, to = job.get("TransformInput") or {}, job.get("TransformOutput") or {}
    for item, value, want in (
        ("transform SplitType", ti.get("SplitType"), "Line"),
        ("transform BatchStrategy", job.get("BatchStrategy"), "MultiRecord"),
        ("transform AssembleWith", to.get("AssembleWith"), "Line"),
        ("transform ContentType", ti.get("ContentType"), JSONLINES),
    ):
        checks.append(Check(item, OK, str(value)) if value == want else
                      Check(item, FAIL, f"{value} (StyGig's JSON Lines path needs {want})"))
    payload, concurrent = job.get("MaxPayloadInMB") or 6, job.get("MaxConcurrentTransforms") or 1
    product = f"{concurrent} x {payload} = {concurrent * payload}"
    checks.append(Check("transform MaxConcurrentTransforms x MaxPayloadInMB", OK if concurrent * payload <= 100 else FAIL,
                        f"{product} (at most 100)"))
    timeout = (job.get("ModelClientConfig") or {}).get("InvocationsTimeoutInSeconds")
    checks.append(Check("transform InvocationsTimeoutInSeconds", OK if timeout else WARN,
                        str(timeout) if timeout else "not set (SageMaker's default 600)"))
    return checks + _model_checks(session, job.get("ModelName"), None)


def _model_checks(session: AwsSession, model_name: str | None, variant: dict[str, Any] | None, where: str = "") -> list[Check]:
    """The audit of one model (its image, environment, archive, network) and of the production
    variant that serves it (None for a transform job)."""
    try:
        model = session.client("sagemaker").describe_model(ModelName=model_name)
    except AwsError as e:
        return [Check(f"{where} model".strip(), FAIL, f"{model_name}: {e.message}"),
                *audit_settings(None, variant, where=where)]
    container = model.get("PrimaryContainer") or (model.get("Containers") or [{}])[0]
    environment = container.get("Environment", {})
    return [
        Check(f"{where} image".strip(), OK, str(container.get("Image"))),
        *audit_settings(environment, variant, where=where),
        _model_data_check(session, container, where),
        *overlay_checks(session, environment, where),
        *network_checks(model.get("VpcConfig"), _is_dlc_image(str(container.get("Image", ""))), where),
        network_isolation_check(bool(model.get("EnableNetworkIsolation")), where),
    ]


def network_isolation_check(enabled: bool, where: str = "") -> Check:
    """EnableNetworkIsolation, reported either way (endpoint.network_isolation sets it)."""
    item = f"{where} network isolation".strip()
    if enabled:
        return Check(item, OK, "on: the container has no network (dependencies vendored in the archive's code/)")
    return Check(item, OK, "off: the container may reach the network (endpoint.network_isolation = true cuts it)")


def _model_data_check(session: AwsSession, container: dict[str, Any], where: str) -> Check:
    from stygig.s3io import parse_s3_uri

    item = f"{where} model data".strip()
    url = container.get("ModelDataUrl") or (
        container.get("ModelDataSource", {}).get("S3DataSource", {}).get("S3Uri")
    )
    if not url:
        return Check(item, WARN, "no ModelDataUrl (the image must carry the model)")
    try:
        bucket, key = parse_s3_uri(url)
    except Exception as e:  # noqa: BLE001 - reported in the table
        return Check(item, FAIL, f"{url}: {e}")
    try:
        head = session.client("s3").head_object(Bucket=bucket, Key=key)
    except AwsError as e:
        if e.no_such_object:
            return Check(item, FAIL, f"{url}: not found")
        if e.http_status == 403 or e.aws_code in ("403", "AccessDenied", "Forbidden"):
            return Check(item, FAIL, f"{url}: access denied to these credentials")
        return Check(item, FAIL, f"{url}: {e.message}")
    size = head.get("ContentLength")
    return Check(item, OK, f"{url} ({size / 1e6:.1f} MB)" if isinstance(size, int) else url)


def overlay_checks(session: AwsSession, environment: Mapping[str, Any], where: str = "") -> list[Check]:
    """The live overlay a model's environment names (STYGIG_OVERLAY): in the allow-list, readable,
    its rows and its age (none when the model has no overlay)."""
    from stygig.s3io import parse_s3_uri

    uri = environment.get(settings.OVERLAY.name)
    if not uri:
        return []
    item = f"{where} overlay".strip()
    every = environment.get(settings.OVERLAY_SECONDS.name) or settings.OVERLAY_SECONDS.default
    try:
        bucket, key = parse_s3_uri(str(uri))
    except Exception as e:  # noqa: BLE001 - reported in the table
        return [Check(item, FAIL, f"{str(uri)[:200]}: {e}")]
    allowed = settings.ALLOWED_S3_BUCKETS.read({settings.ALLOWED_S3_BUCKETS.name: str(
        environment.get(settings.ALLOWED_S3_BUCKETS.name, ""))})
    if bucket not in allowed:
        return [Check(item, FAIL, f"{uri}: bucket {bucket!r} is not in {settings.ALLOWED_S3_BUCKETS.name}: the "
                      "server refuses to start")]
    try:
        obj = session.client("s3").get_object(Bucket=bucket, Key=key)
    except AwsError as e:
        if e.no_such_object:
            return [Check(item, WARN, f"{uri}: not found (the endpoint serves the artifact's attributes until it "
                          f"appears; looked at every {every} s)")]
        return [Check(item, FAIL, f"{uri}: {e.message}")]
    data = obj["Body"].read(MAX_OVERLAY_BYTES + 1)
    if len(data) > MAX_OVERLAY_BYTES:
        return [Check(item, FAIL, f"{uri}: over the {MAX_OVERLAY_BYTES}-byte limit (the endpoint refuses it)")]
    rows = sum(1 for line in data.split(b"\n") if line.strip())
    modified = obj.get("LastModified")
    age = f", {_age(time.time() - modified.timestamp())} old" if modified is not None else ""
    return [Check(item, OK, f"{uri}: {plural(rows, 'row')}{age} (looked at every {every} s)")]


def _age(seconds: float) -> str:
    seconds = max(0.0, seconds)
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 2 * 3600:
        return f"{seconds / 60:.0f} min"
    if seconds < 2 * 86400:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} days"


def _is_dlc_image(uri: str) -> bool:
    return "/pytorch-inference:" in uri


def network_checks(vpc: dict[str, Any] | None, dlc: bool, where: str = "") -> list[Check]:
    """Where the containers run: in the account's VPC (subnets, security groups) or not."""
    item = f"{where} network".strip()
    if not vpc or not vpc.get("Subnets"):
        return [Check(item, OK, "no VpcConfig: SageMaker's network, with internet access")]
    checks = [Check(item, OK, f"VPC subnets {', '.join(vpc['Subnets'])}; security groups {', '.join(vpc.get('SecurityGroupIds', []))}")]
    if dlc:
        checks.append(Check(item, WARN, "a DLC archive that still lists packages in code/requirements.txt (made with "
                            "stygig package --no-vendor) pip-installs them at every start: these subnets then need a "
                            "route to PyPI (a NAT gateway); stygig package vendors them by default"))
    return checks


def encryption_check(kms_key_id: str | None) -> Check:
    """The instances' storage volumes: a customer KMS key or SageMaker's AWS-managed one."""
    return Check("encryption", OK, f"KMS key {kms_key_id}" if kms_key_id else "volumes with the AWS-managed key (no aws.kms_key_id)")


def doctor_config(cfg: DeploymentConfig) -> list[Check]:
    """The audit of a configuration before it is deployed (``doctor --config FILE``)."""
    checks = audit_settings(cfg.container_environment(), cfg.variant_timeouts(), allow_short=cfg.endpoint.allow_short_timeouts)
    covered = {c.line() for c in checks}
    for problem in cfg.problems():
        if problem not in covered:
            checks.append(Check("config", FAIL, problem))
    if not any(c.item == "config" for c in checks):
        try:
            checks.append(Check("image", OK, cfg.image_uri()))
        except Exception as e:  # noqa: BLE001
            checks.append(Check("image", FAIL, str(e)))
    checks.append(network_isolation_check(cfg.endpoint.network_isolation))
    if cfg.endpoint.overlay and not any(c.item == "config" and "endpoint.overlay" in c.detail for c in checks):
        checks.append(Check("overlay", OK, f"{cfg.endpoint.overlay} (looked at every {cfg.endpoint.overlay_seconds} s; "
                            f"its bucket joins {settings.ALLOWED_S3_BUCKETS.name})"))
    for key, value in (("aws.role_arn", cfg.aws.role_arn), ("aws.bucket", cfg.aws.bucket)):
        if not value:
            checks.append(Check(key, WARN, "not set: needed to deploy"))
    if cfg.account_id == EXAMPLE_ACCOUNT:
        checks.append(Check("aws.role_arn", WARN, f"account {EXAMPLE_ACCOUNT} is stygig.toml.example's placeholder: "
                            "put your own execution role's ARN"))
    if cfg.aws.bucket == EXAMPLE_BUCKET:
        checks.append(Check("aws.bucket", WARN, f"{EXAMPLE_BUCKET} is stygig.toml.example's placeholder: put your own bucket"))
    checks += network_checks(cfg.vpc_config(), cfg.is_dlc)
    checks.append(encryption_check(cfg.aws.kms_key_id))
    return checks


def failed(checks: list[Check]) -> list[Check]:
    return [c for c in checks if c.status == FAIL]


def render(checks: list[Check]) -> str:
    """A fixed-width table: CHECK | STATUS | DETAIL."""
    if not checks:
        return "(nothing checked)"
    w_item = max(len("CHECK"), *(len(c.item) for c in checks))
    w_status = max(len("STATUS"), *(len(c.status) for c in checks))
    lines = [f"{'CHECK':<{w_item}}  {'STATUS':<{w_status}}  DETAIL", f"{'-' * w_item}  {'-' * w_status}  {'-' * 6}"]
    lines += [f"{c.item:<{w_item}}  {c.status:<{w_status}}  {c.detail}" for c in checks]
    n_fail = len(failed(checks))
    n_warn = sum(c.status == WARN for c in checks)
    lines.append("")
    lines.append(f"{n_fail} failed, {plural(n_warn, 'warning')}, {len(checks) - n_fail - n_warn} ok")
    return "\n".join(lines)
