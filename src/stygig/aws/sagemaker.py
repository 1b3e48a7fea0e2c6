"""The deploy functions: every AWS command is built from these, on one :class:`DeploymentConfig`.

* :func:`deploy` - archive (package + upload, or an existing ``s3://.../model.tar.gz``) -> model ->
  endpoint config -> endpoint -> bounded wait -> ``endpoint_info.json``; real-time or async
  (with autoscaling that can scale to zero).
* :func:`redeploy` - a new model and endpoint config applied with UpdateEndpoint (blue/green,
  the endpoint stays in service, optional alarm-based rollback); old configs are kept.
* :func:`train` - a SageMaker training job running StyGig's own entry point
  (:mod:`stygig.aws.train_entry`), sharded over N instances.
* :func:`invoke_realtime` / :func:`invoke_async` - call an endpoint.
* :func:`teardown` - endpoint, configs, models, autoscaling and alarms.

Requests are built by small pure functions (``*_request``) so that tests can compare what was
created with what the configuration says, and the dry run prints exactly what would be sent.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import io
import json
import re
import tarfile
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from stygig import __version__
from stygig.atomic import write_bytes
from stygig.aws.config import (
    ENV_MINIMUMS,
    VARIANT_NAME,
    ConfigError,
    DeploymentConfig,
    base_name,
    check_resource_name,
)
from stygig.aws.package import package_artifact
from stygig.aws.session import AwsError, AwsSession, is_dry
from stygig.errors import StygigError

SCALABLE_DIMENSION = "sagemaker:variant:DesiredInstanceCount"


class DeployError(StygigError):
    status = 502
    code = "deploy_failed"


# ---- names --------------------------------------------------------------------------------------
def stamp(now: _dt.datetime | None = None) -> str:
    now = now or _dt.datetime.now(_dt.timezone.utc)
    return now.strftime("%Y%m%d-%H%M%S-") + f"{now.microsecond // 1000:03d}"


def resource_name(endpoint_name: str, when: str) -> str:
    return f"{base_name(endpoint_name)}-{when}"


def owned_name_re(endpoint_name: str) -> re.Pattern:
    """Names of the models / endpoint configs StyGig created for ``endpoint_name``."""
    return re.compile(rf"^{re.escape(base_name(endpoint_name))}-\d{{8}}-\d{{6}}-\d{{3}}$")


def resource_id(endpoint_name: str, variant: str = VARIANT_NAME) -> str:
    return f"endpoint/{endpoint_name}/variant/{variant}"


def alarm_name(endpoint_name: str) -> str:
    return f"{endpoint_name}-stygig-backlog-without-capacity"


def log_location(region: str, kind: str, name: str) -> str:
    group = f"/aws/sagemaker/{kind}/{name}"
    enc = group.replace("/", "$252F")
    return (
        f"CloudWatch log group {group} "
        f"(https://{region}.console.aws.amazon.com/cloudwatch/home?region={region}#logsV2:log-groups/log-group/{enc})"
    )


def tags(endpoint_name: str) -> list[dict[str, str]]:
    return [{"Key": "stygig:endpoint", "Value": endpoint_name}, {"Key": "stygig:version", "Value": __version__}]


# ---- request builders (pure) -------------------------------------------------------------------
def model_request(cfg: DeploymentConfig, model_name: str, model_uri: str, endpoint_name: str) -> dict[str, Any]:
    return {
        "ModelName": model_name,
        "ExecutionRoleArn": cfg.role_arn,
        "PrimaryContainer": {
            "Image": cfg.image_uri(),
            "ModelDataUrl": model_uri,
            "Environment": cfg.container_environment(),
        },
        "Tags": tags(endpoint_name),
    }


def endpoint_config_request(
    cfg: DeploymentConfig,
    config_name: str,
    model_name: str,
    endpoint_name: str,
    *,
    asynchronous: bool = False,
    variant_name: str = VARIANT_NAME,
) -> dict[str, Any]:
    variant = {
        "VariantName": variant_name,
        "ModelName": model_name,
        "InstanceType": cfg.instance_type,
        "InitialInstanceCount": cfg.instance_count,
        "InitialVariantWeight": 1.0,
        **cfg.variant_timeouts(),
    }
    req: dict[str, Any] = {"EndpointConfigName": config_name, "ProductionVariants": [variant], "Tags": tags(endpoint_name)}
    if asynchronous:
        output: dict[str, Any] = {"S3OutputPath": cfg.async_output_uri().rstrip("/")}
        failure = cfg.async_output_uri().rstrip("/") + "-failures"
        output["S3FailurePath"] = failure
        notify = {}
        if cfg.async_sns_success:
            notify["SuccessTopic"] = cfg.async_sns_success
        if cfg.async_sns_error:
            notify["ErrorTopic"] = cfg.async_sns_error
        if notify:
            output["NotificationConfig"] = notify
        req["AsyncInferenceConfig"] = {
            "ClientConfig": {"MaxConcurrentInvocationsPerInstance": cfg.async_max_concurrent},
            "OutputConfig": output,
        }
    return req


def update_endpoint_request(
    cfg: DeploymentConfig, endpoint_name: str, config_name: str, *, retain_variant_properties: bool = False
) -> dict[str, Any]:
    policy: dict[str, Any] = {
        "BlueGreenUpdatePolicy": {
            "TrafficRoutingConfiguration": {"Type": "ALL_AT_ONCE", "WaitIntervalInSeconds": 0},
            "TerminationWaitInSeconds": cfg.termination_wait,
            "MaximumExecutionTimeoutInSeconds": cfg.max_update_time,
        }
    }
    if cfg.rollback_alarms:
        policy["AutoRollbackConfiguration"] = {"Alarms": [{"AlarmName": a} for a in cfg.rollback_alarms]}
    return {
        "EndpointName": endpoint_name,
        "EndpointConfigName": config_name,
        "RetainAllVariantProperties": retain_variant_properties,
        "DeploymentConfig": policy,
    }


def scaling_requests(cfg: DeploymentConfig, endpoint_name: str, variant: str = VARIANT_NAME) -> dict[str, Any]:
    """RegisterScalableTarget + the target-tracking policy (+ scale-from-zero step policy and alarm)."""
    rid = resource_id(endpoint_name, variant)
    common = {"ServiceNamespace": "sagemaker", "ResourceId": rid, "ScalableDimension": SCALABLE_DIMENSION}
    out: dict[str, Any] = {
        "target": {**common, "MinCapacity": cfg.async_min_capacity, "MaxCapacity": cfg.async_max_capacity},
        "backlog_policy": {
            **common,
            "PolicyName": f"{endpoint_name}-stygig-backlog",
            "PolicyType": "TargetTrackingScaling",
            "TargetTrackingScalingPolicyConfiguration": {
                "TargetValue": float(cfg.async_target_backlog),
                "CustomizedMetricSpecification": {
                    "MetricName": "ApproximateBacklogSizePerInstance",
                    "Namespace": "AWS/SageMaker",
                    "Dimensions": [{"Name": "EndpointName", "Value": endpoint_name}],
                    "Statistic": "Average",
                },
                "ScaleInCooldown": cfg.async_scale_in_cooldown,
                "ScaleOutCooldown": cfg.async_scale_out_cooldown,
            },
        },
    }
    if cfg.async_min_capacity == 0:
        # target tracking cannot leave zero instances (no backlog-per-instance without instances):
        # a step policy driven by HasBacklogWithoutCapacity starts the first one.
        out["zero_policy"] = {
            **common,
            "PolicyName": f"{endpoint_name}-stygig-scale-from-zero",
            "PolicyType": "StepScaling",
            "StepScalingPolicyConfiguration": {
                "AdjustmentType": "ChangeInCapacity",
                "MetricAggregationType": "Average",
                "Cooldown": cfg.async_scale_out_cooldown,
                "StepAdjustments": [{"MetricIntervalLowerBound": 0.0, "ScalingAdjustment": 1}],
            },
        }
        out["alarm"] = {
            "AlarmName": alarm_name(endpoint_name),
            "AlarmDescription": f"StyGig: start an instance of {endpoint_name} when requests wait with none running",
            "MetricName": "HasBacklogWithoutCapacity",
            "Namespace": "AWS/SageMaker",
            "Dimensions": [{"Name": "EndpointName", "Value": endpoint_name}],
            "Statistic": "Average",
            "Period": 60,
            "EvaluationPeriods": 2,
            "DatapointsToAlarm": 2,
            "Threshold": 1.0,
            "ComparisonOperator": "GreaterThanOrEqualToThreshold",
            "TreatMissingData": "missing",
            # AlarmActions: the step policy's ARN, known once it exists
        }
    return out


# ---- the model archive --------------------------------------------------------------------------
def sha256_of(path: Path) -> str:
    """sha256 of a file, streamed (hashlib.file_digest, Python 3.11+)."""
    with open(path, "rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def upload_model(session: AwsSession, cfg: DeploymentConfig, artifact: str | Path) -> str:
    """Package (if a directory) and upload; content-addressed key, skipped when already there."""
    from stygig.s3io import parse_s3_uri

    artifact = Path(artifact)
    if not artifact.exists():
        raise StygigError(f"artifact not found: {artifact}")
    with tempfile.TemporaryDirectory(prefix="stygig-package-") as tmp:
        if artifact.is_dir():
            session.note(f"packaging {artifact} ...")
            archive = package_artifact(artifact, Path(tmp) / "model.tar.gz")
        elif artifact.name.endswith(".tar.gz"):
            archive = artifact
        else:
            raise StygigError(f"{artifact} is neither an artifact directory nor a model.tar.gz")
        digest = sha256_of(archive)
        uri = cfg.s3_prefix_uri("models", digest[:16], "model.tar.gz")
        bucket, key = parse_s3_uri(uri)
        if _object_exists(session, bucket, key):
            session.note(f"model archive already uploaded: {uri}")
            return uri
        session.note(f"uploading {archive.stat().st_size / 1e6:.1f} MB to {uri} ...")
        return session.upload_file(archive, bucket, key)


def _object_exists(session: AwsSession, bucket: str, key: str) -> bool:
    try:
        resp = session.client("s3").head_object(Bucket=bucket, Key=key)
    except AwsError as e:
        if e.http_status == 404 or e.aws_code in ("404", "NoSuchKey", "NotFound"):
            return False
        raise
    return not is_dry(resp)


def check_model_uri(session: AwsSession, model_uri: str) -> str:
    from stygig.s3io import parse_s3_uri

    bucket, key = parse_s3_uri(model_uri)
    if not key.endswith(".tar.gz"):
        raise ConfigError(f"--model-uri must point to a model.tar.gz, got {model_uri}")
    try:
        resp = session.client("s3").head_object(Bucket=bucket, Key=key)
    except AwsError as e:
        if e.http_status == 404 or e.aws_code in ("404", "NoSuchKey", "NotFound"):
            raise DeployError(f"model archive not found: {model_uri}") from None
        raise
    del resp
    return model_uri


def resolve_model(session: AwsSession, cfg: DeploymentConfig, artifact: str | Path | None, model_uri: str | None) -> str:
    if (artifact is None) == (model_uri is None):
        raise ConfigError("give exactly one of ARTIFACT or --model-uri")
    if model_uri is not None:
        return check_model_uri(session, model_uri)
    return upload_model(session, cfg, artifact)


# ---- waiting ------------------------------------------------------------------------------------
def wait_endpoint(session: AwsSession, cfg: DeploymentConfig, endpoint_name: str, *, expect_config: str | None = None):
    sm = session.client("sagemaker")

    def failed(resp: dict[str, Any]) -> str:
        reason = resp.get("FailureReason") or "no FailureReason given"
        return (
            f"endpoint {endpoint_name} is {resp.get('EndpointStatus')}: {reason}; "
            f"logs: {log_location(cfg.region, 'Endpoints', endpoint_name)}"
        )

    resp = session.wait_for(
        f"endpoint {endpoint_name}",
        lambda: sm.describe_endpoint(EndpointName=endpoint_name),
        status_key="EndpointStatus",
        done={"InService"},
        failed={"Failed", "OutOfService", "Deleting", "RollingBack"},
        timeout=cfg.wait_timeout,
        interval=15.0,
        on_failed=failed,
    )
    if expect_config and not is_dry(resp) and resp.get("EndpointConfigName") != expect_config:
        reason = resp.get("FailureReason") or "the update did not complete"
        raise DeployError(
            f"endpoint {endpoint_name} rolled back to {resp.get('EndpointConfigName')}: {reason}; "
            f"logs: {log_location(cfg.region, 'Endpoints', endpoint_name)}"
        )
    return resp


# ---- deploy -------------------------------------------------------------------------------------
@dataclass
class Deployment:
    endpoint_name: str
    region: str
    endpoint_arn: str | None
    endpoint_config_name: str
    endpoint_config_arn: str | None
    model_name: str
    model_arn: str | None
    model_data_url: str
    image: str
    instance_type: str
    instance_count: int
    asynchronous: bool
    async_output: str | None
    environment: dict[str, str]
    variant_timeouts: dict[str, int]
    status: str
    logs: str
    dry_run: bool = False

    def info(self) -> dict[str, Any]:
        timeouts = {k: self.environment[k] for k in ENV_MINIMUMS if k in self.environment}
        timeouts.update(self.variant_timeouts)
        return {
            "endpoint_name": self.endpoint_name,
            "endpoint_arn": self.endpoint_arn,
            "endpoint_config_name": self.endpoint_config_name,
            "endpoint_config_arn": self.endpoint_config_arn,
            "model_name": self.model_name,
            "model_arn": self.model_arn,
            "model_data_url": self.model_data_url,
            "region": self.region,
            "image": self.image,
            "instance_type": self.instance_type,
            "instance_count": self.instance_count,
            "asynchronous": self.asynchronous,
            "async_output": self.async_output,
            "timeouts": timeouts,
            "environment": self.environment,
            "status": self.status,
            "logs": self.logs,
            "stygig_version": __version__,
        }


def write_info(deployment: Deployment, path: str | Path | None) -> Path | None:
    if path is None or deployment.dry_run:
        return None
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_bytes(path, (json.dumps(deployment.info(), indent=2) + "\n").encode("utf-8"))
    return path


def _endpoint_exists(session: AwsSession, endpoint_name: str) -> dict[str, Any] | None:
    try:
        resp = session.client("sagemaker").describe_endpoint(EndpointName=endpoint_name)
    except AwsError as e:
        if e.not_found or e.aws_code == "ValidationException":
            return None
        raise
    return None if is_dry(resp) else resp


def _create_model_and_config(
    session: AwsSession,
    cfg: DeploymentConfig,
    endpoint_name: str,
    model_uri: str,
    *,
    asynchronous: bool,
    variant_name: str = VARIANT_NAME,
) -> tuple[str, str | None, str, str | None]:
    sm = session.client("sagemaker")
    when = stamp(session.now())
    model_name = config_name = resource_name(endpoint_name, when)
    model = sm.create_model(**model_request(cfg, model_name, model_uri, endpoint_name))
    config = sm.create_endpoint_config(
        **endpoint_config_request(cfg, config_name, model_name, endpoint_name, asynchronous=asynchronous, variant_name=variant_name)
    )
    return model_name, model.get("ModelArn"), config_name, config.get("EndpointConfigArn")


def _record_deployment(
    session: AwsSession,
    cfg: DeploymentConfig,
    endpoint_name: str,
    endpoint_arn: str | None,
    created: tuple[str, str | None, str, str | None],
    model_uri: str,
    asynchronous: bool,
    status: str,
    info_path: str | Path | None,
) -> Deployment:
    """What deploy and redeploy both report: the resources, the effective settings, the logs."""
    model_name, model_arn, config_name, config_arn = created
    dep = Deployment(
        endpoint_name=endpoint_name,
        region=cfg.region,
        endpoint_arn=endpoint_arn,
        endpoint_config_name=config_name,
        endpoint_config_arn=config_arn,
        model_name=model_name,
        model_arn=model_arn,
        model_data_url=model_uri,
        image=cfg.image_uri(),
        instance_type=cfg.instance_type,
        instance_count=cfg.instance_count,
        asynchronous=asynchronous,
        async_output=cfg.async_output_uri() if asynchronous else None,
        environment=cfg.container_environment(),
        variant_timeouts=cfg.variant_timeouts(),
        status=str(status),
        logs=log_location(cfg.region, "Endpoints", endpoint_name),
        dry_run=session.dry_run,
    )
    write_info(dep, info_path)
    return dep


def deploy(
    session: AwsSession,
    cfg: DeploymentConfig,
    endpoint_name: str,
    *,
    artifact: str | Path | None = None,
    model_uri: str | None = None,
    asynchronous: bool = False,
    wait: bool = True,
    info_path: str | Path | None = "endpoint_info.json",
) -> Deployment:
    check_resource_name(endpoint_name)
    cfg.validate(need_role=True, need_bucket=artifact is not None or asynchronous)
    if _endpoint_exists(session, endpoint_name) is not None:
        raise DeployError(
            f"endpoint {endpoint_name} already exists; update it with `stygig aws redeploy {endpoint_name} ...`"
            f" or remove it with `stygig aws teardown {endpoint_name}`"
        )
    model_uri = resolve_model(session, cfg, artifact, model_uri)
    model_name, model_arn, config_name, config_arn = _create_model_and_config(
        session, cfg, endpoint_name, model_uri, asynchronous=asynchronous
    )
    sm = session.client("sagemaker")
    ep = sm.create_endpoint(EndpointName=endpoint_name, EndpointConfigName=config_name, Tags=tags(endpoint_name))
    status = "Creating"
    if wait:
        session.note(f"waiting for endpoint {endpoint_name} (at most {cfg.wait_timeout} s) ...")
        status = wait_endpoint(session, cfg, endpoint_name).get("EndpointStatus", status)
        if asynchronous:
            setup_autoscaling(session, cfg, endpoint_name)
    elif asynchronous:
        session.note("autoscaling not configured: it needs the endpoint InService (run deploy without --no-wait)")
    return _record_deployment(
        session, cfg, endpoint_name, ep.get("EndpointArn"), (model_name, model_arn, config_name, config_arn),
        model_uri, asynchronous, status, info_path,
    )


# ---- autoscaling (async endpoints) ---------------------------------------------------------------
def setup_autoscaling(session: AwsSession, cfg: DeploymentConfig, endpoint_name: str, variant: str = VARIANT_NAME) -> dict[str, Any]:
    reqs = scaling_requests(cfg, endpoint_name, variant)
    aas = session.client("application-autoscaling")
    aas.register_scalable_target(**reqs["target"])
    out = {"backlog_policy": aas.put_scaling_policy(**reqs["backlog_policy"]).get("PolicyARN")}
    if "zero_policy" in reqs:
        arn = aas.put_scaling_policy(**reqs["zero_policy"]).get("PolicyARN")
        out["zero_policy"] = arn
        session.client("cloudwatch").put_metric_alarm(**reqs["alarm"], AlarmActions=[arn])
        out["alarm"] = reqs["alarm"]["AlarmName"]
    session.note(
        f"autoscaling: {cfg.async_min_capacity}..{cfg.async_max_capacity} instances, "
        f"target backlog {cfg.async_target_backlog:g} per instance"
    )
    return out


def scalable_target(session: AwsSession, endpoint_name: str, variant: str = VARIANT_NAME) -> dict[str, Any] | None:
    resp = session.client("application-autoscaling").describe_scalable_targets(
        ServiceNamespace="sagemaker", ResourceIds=[resource_id(endpoint_name, variant)], ScalableDimension=SCALABLE_DIMENSION
    )
    targets = resp.get("ScalableTargets", [])
    return targets[0] if targets else None


def remove_autoscaling(session: AwsSession, endpoint_name: str, variant: str = VARIANT_NAME) -> bool:
    aas = session.client("application-autoscaling")
    rid = resource_id(endpoint_name, variant)
    removed = False
    policies = aas.describe_scaling_policies(ServiceNamespace="sagemaker", ResourceId=rid, ScalableDimension=SCALABLE_DIMENSION)
    for p in policies.get("ScalingPolicies", []):
        aas.delete_scaling_policy(
            PolicyName=p["PolicyName"], ServiceNamespace="sagemaker", ResourceId=rid, ScalableDimension=SCALABLE_DIMENSION
        )
        removed = True
    if scalable_target(session, endpoint_name, variant) is not None or session.dry_run:
        aas.deregister_scalable_target(ServiceNamespace="sagemaker", ResourceId=rid, ScalableDimension=SCALABLE_DIMENSION)
        removed = True
    cw = session.client("cloudwatch")
    alarms = cw.describe_alarms(AlarmNames=[alarm_name(endpoint_name)]).get("MetricAlarms", [])
    if alarms or session.dry_run:
        cw.delete_alarms(AlarmNames=[alarm_name(endpoint_name)])
        removed = True
    return removed


# ---- redeploy -----------------------------------------------------------------------------------
def redeploy(
    session: AwsSession,
    cfg: DeploymentConfig,
    endpoint_name: str,
    *,
    artifact: str | Path | None = None,
    model_uri: str | None = None,
    wait: bool = True,
    info_path: str | Path | None = "endpoint_info.json",
) -> Deployment:
    """A new model + endpoint config, applied with a blue/green UpdateEndpoint.

    The endpoint keeps serving the old fleet until the new one passes its health checks; with
    ``redeploy.rollback_alarms`` SageMaker rolls back on those alarms. The old endpoint configs
    and models are kept (roll back by hand with UpdateEndpoint to one of them; teardown removes all).
    """
    check_resource_name(endpoint_name)
    cfg.validate(need_role=True, need_bucket=artifact is not None)
    sm = session.client("sagemaker")
    try:
        ep = sm.describe_endpoint(EndpointName=endpoint_name)
    except AwsError as e:
        if e.not_found or e.aws_code == "ValidationException":
            raise DeployError(f"endpoint {endpoint_name} does not exist; create it with `stygig aws deploy`") from None
        raise
    variant_name = VARIANT_NAME
    asynchronous = False
    old_instance_type = None
    if not is_dry(ep):
        if ep.get("EndpointStatus") != "InService":
            raise DeployError(f"endpoint {endpoint_name} is {ep.get('EndpointStatus')}; it must be InService to update")
    old = sm.describe_endpoint_config(EndpointConfigName=ep["EndpointConfigName"])
    if not is_dry(old):
        variants = old.get("ProductionVariants", [])
        if len(variants) != 1:
            raise DeployError(f"endpoint {endpoint_name} has {len(variants)} variants; StyGig manages single-variant endpoints")
        variant_name = variants[0]["VariantName"]
        old_instance_type = variants[0].get("InstanceType")
        asynchronous = "AsyncInferenceConfig" in old
    autoscaled = scalable_target(session, endpoint_name, variant_name) is not None
    reregister = autoscaled and old_instance_type is not None and old_instance_type != cfg.instance_type
    model_uri = resolve_model(session, cfg, artifact, model_uri)
    model_name, model_arn, config_name, config_arn = _create_model_and_config(
        session, cfg, endpoint_name, model_uri, asynchronous=asynchronous, variant_name=variant_name
    )
    if reregister:
        # SageMaker refuses an update that changes the instance type of an autoscaled variant
        session.note("instance type changes: autoscaling is removed for the update and set up again after it")
        remove_autoscaling(session, endpoint_name, variant_name)
    sm.update_endpoint(
        **update_endpoint_request(cfg, endpoint_name, config_name, retain_variant_properties=autoscaled and not reregister)
    )
    status = "Updating"
    if wait:
        session.note(f"waiting for endpoint {endpoint_name} to finish updating (at most {cfg.wait_timeout} s) ...")
        status = wait_endpoint(session, cfg, endpoint_name, expect_config=config_name).get("EndpointStatus", status)
        if reregister and asynchronous:
            setup_autoscaling(session, cfg, endpoint_name, variant_name)
    return _record_deployment(
        session, cfg, endpoint_name, ep.get("EndpointArn"), (model_name, model_arn, config_name, config_arn),
        model_uri, asynchronous, status, info_path,
    )


# ---- teardown -----------------------------------------------------------------------------------
@dataclass
class TeardownPlan:
    endpoint: str | None
    endpoint_configs: list[str]
    models: list[str]

    def lines(self) -> list[str]:
        out = [f"endpoint        {self.endpoint}" if self.endpoint else "endpoint        (none)"]
        out += [f"endpoint config {c}" for c in self.endpoint_configs]
        out += [f"model           {m}" for m in self.models]
        out.append("autoscaling     scalable target, scaling policies and StyGig's alarm, if any")
        return out


def _list_names(session: AwsSession, method: str, key: str, name_key: str, contains: str) -> list[str]:
    client = session.client("sagemaker")
    names: list[str] = []
    token = None
    for _ in range(100):  # bounded: 100 pages x 100 names
        params: dict[str, Any] = {"NameContains": contains, "MaxResults": 100}
        if token:
            params["NextToken"] = token
        resp = getattr(client, method)(**params)
        names += [r[name_key] for r in resp.get(key, [])]
        token = resp.get("NextToken")
        if not token or is_dry(resp):
            break
    return names


def teardown_plan(session: AwsSession, endpoint_name: str) -> TeardownPlan:
    check_resource_name(endpoint_name)
    sm = session.client("sagemaker")
    ep = _endpoint_exists(session, endpoint_name)
    configs: list[str] = []
    models: list[str] = []
    if ep is not None:
        configs.append(ep["EndpointConfigName"])
    owned = owned_name_re(endpoint_name)
    contains = base_name(endpoint_name)
    configs += sorted(n for n in _list_names(session, "list_endpoint_configs", "EndpointConfigs", "EndpointConfigName", contains) if owned.match(n))
    configs = list(dict.fromkeys(configs))
    for c in configs:
        try:
            desc = sm.describe_endpoint_config(EndpointConfigName=c)
        except AwsError as e:
            if e.not_found or e.aws_code == "ValidationException":
                continue
            raise
        models += [v["ModelName"] for v in desc.get("ProductionVariants", []) if "ModelName" in v]
    models += sorted(n for n in _list_names(session, "list_models", "Models", "ModelName", contains) if owned.match(n))
    return TeardownPlan(endpoint_name if ep is not None else None, configs, list(dict.fromkeys(models)))


def teardown(
    session: AwsSession, endpoint_name: str, *, confirm: Callable[[TeardownPlan], bool] | None = None
) -> TeardownPlan | None:
    """Delete the endpoint, its configs (current and kept), their models and the autoscaling.

    ``confirm(plan)`` is asked first (None: no question). Returns the plan, or None if declined.
    """
    plan = teardown_plan(session, endpoint_name)
    if not session.dry_run and not plan.endpoint and not plan.endpoint_configs and not plan.models:
        remove_autoscaling(session, endpoint_name)
        raise DeployError(f"nothing to tear down: no endpoint, endpoint config or model belongs to {endpoint_name}")
    if confirm is not None and not confirm(plan):
        return None
    sm = session.client("sagemaker")
    remove_autoscaling(session, endpoint_name)
    if plan.endpoint or session.dry_run:
        sm.delete_endpoint(EndpointName=endpoint_name)
    for c in plan.endpoint_configs:
        _ignore_missing(lambda: sm.delete_endpoint_config(EndpointConfigName=c))
    for m in plan.models:
        _ignore_missing(lambda: sm.delete_model(ModelName=m))
    return plan


def _ignore_missing(fn: Callable[[], Any]) -> None:
    try:
        fn()
    except AwsError as e:
        if not (e.not_found or e.aws_code == "ValidationException"):
            raise


# ---- invoke -------------------------------------------------------------------------------------
def _parse_response(raw: bytes, where: str) -> dict[str, Any]:
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise DeployError(f"{where} answered with something that is not JSON: {raw[:120]!r}") from None
    if not isinstance(data, dict):
        raise DeployError(f"{where} answered with JSON that is not an object")
    if isinstance(data.get("error"), dict):
        err = data["error"]
        raise StygigError(f"{where}: {err.get('message', '')} ({err.get('code', 'error')})", code=str(err.get("code", "error")))
    return data


def _model_error(e: AwsError, where: str) -> StygigError:
    """SageMaker's ModelError carries the container's status and JSON error: one line from it."""
    resp = e.response or {}
    status = int(resp.get("OriginalStatusCode") or 0)
    try:
        inner = json.loads(resp.get("OriginalMessage") or "")["error"]
        return StygigError(f"{where}: {inner['message']} (HTTP {status}, {inner['code']})", status=status or 500, code=inner["code"])
    except (ValueError, KeyError, TypeError):
        return StygigError(f"{where}: {e.message}", status=status or 502, code="model_error")


def invoke_realtime(session: AwsSession, endpoint_name: str, invocation: dict[str, Any]) -> dict[str, Any]:
    rt = session.client("sagemaker-runtime")
    try:
        resp = rt.invoke_endpoint(EndpointName=endpoint_name, **invocation)
    except AwsError as e:
        if e.aws_code == "ModelError":
            raise _model_error(e, f"endpoint {endpoint_name}") from None
        raise
    if is_dry(resp):
        return {}
    return _parse_response(resp["Body"].read(), f"endpoint {endpoint_name}")


def invoke_async(
    session: AwsSession,
    cfg: DeploymentConfig,
    endpoint_name: str,
    invocation: dict[str, Any],
    *,
    timeout: float = 900.0,
    interval: float = 5.0,
) -> dict[str, Any]:
    """Upload the request body, InvokeEndpointAsync, then poll the output (and failure) location."""
    from stygig.s3io import parse_s3_uri

    content_type = invocation.get("ContentType", "application/json")
    suffix = ".json" if content_type == "application/json" else ".bin"
    in_uri = cfg.s3_prefix_uri("async-input", f"{uuid.uuid4().hex}{suffix}")
    bucket, key = parse_s3_uri(in_uri)
    session.client("s3").put_object(Bucket=bucket, Key=key, Body=invocation["Body"], ContentType=content_type)
    extra = {"CustomAttributes": invocation["CustomAttributes"]} if invocation.get("CustomAttributes") else {}
    resp = session.client("sagemaker-runtime").invoke_endpoint_async(
        EndpointName=endpoint_name,
        InputLocation=in_uri,
        ContentType=content_type,
        Accept=invocation.get("Accept", "application/json"),
        **extra,
    )
    if is_dry(resp):
        session.note(f"dry run: would poll the output location for at most {int(timeout)} s")
        return {}
    out_uri = resp["OutputLocation"]
    fail_uri = resp.get("FailureLocation")
    session.note(f"inference {resp.get('InferenceId')}: waiting for {out_uri} (at most {int(timeout)} s)")
    start = session.clock()
    while True:
        data = _get_if_exists(session, out_uri)
        if data is not None:
            return _parse_response(data, f"async endpoint {endpoint_name}")
        if fail_uri:
            failure = _get_if_exists(session, fail_uri)
            if failure is not None:
                text = " ".join(failure.decode("utf-8", "replace").split())[:500]
                raise DeployError(f"async inference failed: {text}; logs: {log_location(cfg.region, 'Endpoints', endpoint_name)}")
        elapsed = session.clock() - start
        if elapsed + interval > timeout:
            raise DeployError(f"no async result at {out_uri} after {int(elapsed)} s; it may still arrive there")
        session.sleep(interval)


def _get_if_exists(session: AwsSession, uri: str) -> bytes | None:
    from stygig.s3io import parse_s3_uri

    bucket, key = parse_s3_uri(uri)
    try:
        resp = session.client("s3").get_object(Bucket=bucket, Key=key)
    except AwsError as e:
        if e.http_status == 404 or e.aws_code in ("NoSuchKey", "404", "NotFound"):
            return None
        raise
    if is_dry(resp):
        return None
    return resp["Body"].read()


# ---- training -----------------------------------------------------------------------------------
TRAIN_ENTRYPOINT = ["python", "-m", "stygig.aws.train_entry"]


def catalog_kind(session: AwsSession, catalog_uri: str) -> tuple[str, str]:
    """``("manifest", manifest_uri)`` or ``("folders", prefix_uri)`` for an ``s3://`` catalog."""
    from stygig.s3io import parse_s3_uri

    bucket, key = parse_s3_uri(catalog_uri)
    if key.endswith((".jsonl", ".csv")):
        return "manifest", catalog_uri
    prefix = key if key.endswith("/") or not key else key + "/"
    for name in ("manifest.jsonl", "manifest.csv"):
        if _object_exists(session, bucket, prefix + name):
            return "manifest", f"s3://{bucket}/{prefix}{name}"
    return "folders", f"s3://{bucket}/{prefix}"


def training_request(
    cfg: DeploymentConfig,
    job_name: str,
    catalog_uri: str,
    *,
    kind: str,
    instance_count: int,
) -> dict[str, Any]:
    """CreateTrainingJob for ``stygig build`` on SageMaker.

    * a manifest catalog: every host reads the manifest from S3 and builds the items of its shard
      (``shard_of(id) == host index``), fetching only those images - no input channel;
    * a folder catalog: the ``catalog`` channel is ``ShardedByS3Key`` (each host receives a share of
      the image files) and each host builds what it received.
    With more than one host each uploads its shard under ``shard_exchange``; the first host merges
    them into the one artifact the job outputs.
    """
    out_prefix = cfg.s3_prefix_uri("training")
    hp = {
        "catalog_kind": kind,
        "encoder": "lite" if cfg.train_encoder == "lite" else "channel",
        "shard_exchange": cfg.s3_prefix_uri("training", job_name, "shards") + "/",
        "shard_wait_seconds": str(cfg.train_max_runtime),
        "stygig_version": __version__,
    }
    if cfg.train_precision:
        hp["precision"] = cfg.train_precision
    channels: list[dict[str, Any]] = []
    if kind == "manifest":
        hp["catalog"] = catalog_uri
    else:
        channels.append(
            {
                "ChannelName": "catalog",
                "DataSource": {
                    "S3DataSource": {
                        "S3DataType": "S3Prefix",
                        "S3Uri": catalog_uri,
                        "S3DataDistributionType": "ShardedByS3Key" if instance_count > 1 else "FullyReplicated",
                    }
                },
                "InputMode": "File",
            }
        )
    if cfg.train_encoder.startswith("s3://"):
        channels.append(
            {
                "ChannelName": "encoder",
                "DataSource": {
                    "S3DataSource": {
                        "S3DataType": "S3Prefix",
                        "S3Uri": cfg.train_encoder,
                        "S3DataDistributionType": "FullyReplicated",
                    }
                },
                "InputMode": "File",
            }
        )
    req: dict[str, Any] = {
        "TrainingJobName": job_name,
        "RoleArn": cfg.role_arn,
        "AlgorithmSpecification": {
            "TrainingImage": cfg.train_image_uri(),
            "TrainingInputMode": "File",
            "ContainerEntrypoint": TRAIN_ENTRYPOINT,
        },
        "HyperParameters": hp,
        "OutputDataConfig": {"S3OutputPath": out_prefix},
        "ResourceConfig": {
            "InstanceType": cfg.train_instance_type,
            "InstanceCount": instance_count,
            "VolumeSizeInGB": cfg.train_volume_size,
        },
        "StoppingCondition": {"MaxRuntimeInSeconds": cfg.train_max_runtime},
        "Tags": [{"Key": "stygig:version", "Value": __version__}],
    }
    if channels:
        req["InputDataConfig"] = channels
    return req


@dataclass
class TrainingResult:
    job_name: str
    job_arn: str | None
    status: str
    model_uri: str


def train(
    session: AwsSession,
    cfg: DeploymentConfig,
    catalog_uri: str,
    *,
    instance_count: int | None = None,
    job_name: str | None = None,
    wait: bool = True,
) -> TrainingResult:
    from stygig.s3io import parse_s3_uri

    parse_s3_uri(catalog_uri)
    cfg.validate(need_role=True, need_bucket=True)
    n = instance_count if instance_count is not None else cfg.train_instance_count
    if not 1 <= n <= 100:
        raise ConfigError(f"--instance-count must be between 1 and 100, got {n}")
    job_name = check_resource_name(job_name or f"stygig-build-{stamp(session.now())}", "training job name")
    kind, uri = catalog_kind(session, catalog_uri)
    session.note(f"catalog {catalog_uri}: {kind}" + (f" ({uri})" if uri != catalog_uri else ""))
    sm = session.client("sagemaker")
    resp = sm.create_training_job(**training_request(cfg, job_name, uri, kind=kind, instance_count=n))
    model_uri = f"{cfg.s3_prefix_uri('training')}/{job_name}/output/model.tar.gz"
    status = "InProgress"
    if wait:

        def failed(d: dict[str, Any]) -> str:
            return (
                f"training job {job_name} {d.get('TrainingJobStatus')}: {d.get('FailureReason') or 'no FailureReason given'}; "
                f"logs: {log_location(cfg.region, 'TrainingJobs', job_name)}"
            )

        d = session.wait_for(
            f"training job {job_name}",
            lambda: sm.describe_training_job(TrainingJobName=job_name),
            status_key="TrainingJobStatus",
            done={"Completed"},
            failed={"Failed", "Stopped"},
            timeout=cfg.train_max_runtime + 900,
            interval=30.0,
            on_failed=failed,
        )
        if not is_dry(d):
            status = d.get("TrainingJobStatus", status)
            model_uri = d.get("ModelArtifacts", {}).get("S3ModelArtifacts") or model_uri
    return TrainingResult(job_name, resp.get("TrainingJobArn"), str(status), model_uri)


def first_item_id(session: AwsSession, model_uri: str, *, max_members: int = 100_000) -> str | None:
    """The first item id (ids are sorted) in a model archive, streamed: reads up to ``items/ids.npy``."""
    import numpy as np

    from stygig.s3io import parse_s3_uri

    bucket, key = parse_s3_uri(model_uri)
    resp = session.client("s3").get_object(Bucket=bucket, Key=key)
    if is_dry(resp):
        return None
    with tarfile.open(fileobj=resp["Body"], mode="r|gz") as tf:
        for n, member in enumerate(tf):
            if n >= max_members:
                break
            if member.name.removeprefix("./") == "items/ids.npy" and member.isfile() and member.size < (256 << 20):
                fh = tf.extractfile(member)
                ids = np.load(io.BytesIO(fh.read()), allow_pickle=False) if fh is not None else []
                if len(ids):
                    first = ids[0]
                    return first.decode("utf-8") if isinstance(first, bytes) else str(first)
                break
    raise DeployError(f"{model_uri} has no items/ids.npy: is it a StyGig model archive?")
