"""``deploy``: archive -> model -> endpoint config -> endpoint -> bounded wait -> ``endpoint_info.json``;
real-time or async (with autoscaling that can scale to zero)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from stygig import __version__
from stygig.atomic import write_bytes
from stygig.aws.archive import resolve_model
from stygig.aws.autoscaling import setup_autoscaling
from stygig.aws.config import ENV_MINIMUMS, VARIANT_NAME, DeploymentConfig, check_resource_name
from stygig.aws.errors import DeployError
from stygig.aws.names import log_location, resource_name, stamp, tags
from stygig.aws.requests import endpoint_config_request, model_request
from stygig.aws.session import AwsError, AwsSession, is_dry
from stygig.aws.waiting import wait_endpoint


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


def endpoint_exists(session: AwsSession, endpoint_name: str) -> dict[str, Any] | None:
    try:
        resp = session.client("sagemaker").describe_endpoint(EndpointName=endpoint_name)
    except AwsError as e:
        if e.not_found or e.aws_code == "ValidationException":
            return None
        raise
    return None if is_dry(resp) else resp


def create_model_and_config(
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


def record_deployment(
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
        region=cfg.aws.region,
        endpoint_arn=endpoint_arn,
        endpoint_config_name=config_name,
        endpoint_config_arn=config_arn,
        model_name=model_name,
        model_arn=model_arn,
        model_data_url=model_uri,
        image=cfg.image_uri(),
        instance_type=cfg.endpoint.instance_type,
        instance_count=cfg.endpoint.instance_count,
        asynchronous=asynchronous,
        async_output=cfg.async_output_uri() if asynchronous else None,
        environment=cfg.container_environment(),
        variant_timeouts=cfg.variant_timeouts(),
        status=str(status),
        logs=log_location(cfg.aws.region, "Endpoints", endpoint_name),
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
    if endpoint_exists(session, endpoint_name) is not None:
        raise DeployError(
            f"endpoint {endpoint_name} already exists; update it with `stygig aws redeploy {endpoint_name} ...`"
            f" or remove it with `stygig aws teardown {endpoint_name}`"
        )
    model_uri = resolve_model(session, cfg, artifact, model_uri)
    model_name, model_arn, config_name, config_arn = create_model_and_config(
        session, cfg, endpoint_name, model_uri, asynchronous=asynchronous
    )
    sm = session.client("sagemaker")
    ep = sm.create_endpoint(EndpointName=endpoint_name, EndpointConfigName=config_name, Tags=tags(endpoint_name))
    status = "Creating"
    if wait:
        if not session.dry_run:  # the dry run's wait says "would wait" itself
            session.note(f"waiting for endpoint {endpoint_name} (at most {cfg.endpoint.wait_timeout} s) ...")
        status = wait_endpoint(session, cfg, endpoint_name).get("EndpointStatus", status)
        if asynchronous:
            setup_autoscaling(session, cfg, endpoint_name)
    elif asynchronous:
        session.note("autoscaling not configured: it needs the endpoint InService (run deploy without --no-wait)")
    return record_deployment(
        session, cfg, endpoint_name, ep.get("EndpointArn"), (model_name, model_arn, config_name, config_arn),
        model_uri, asynchronous, status, info_path,
    )
