"""Bounded waits for what SageMaker creates (endpoints, training and transform jobs), naming the
failure and its log group."""

from __future__ import annotations

from typing import Any, Callable

from stygig.aws.config import DeploymentConfig
from stygig.aws.errors import DeployError
from stygig.aws.names import log_location
from stygig.aws.session import AwsSession, is_dry


def wait_endpoint(session: AwsSession, cfg: DeploymentConfig, endpoint_name: str, *, expect_config: str | None = None):
    sm = session.client("sagemaker")

    def failed(resp: dict[str, Any]) -> str:
        reason = resp.get("FailureReason") or "no FailureReason given"
        return (
            f"endpoint {endpoint_name} is {resp.get('EndpointStatus')}: {reason}; "
            f"logs: {log_location(cfg.aws.region, 'Endpoints', endpoint_name)}"
        )

    resp = session.wait_for(
        f"endpoint {endpoint_name}",
        lambda: sm.describe_endpoint(EndpointName=endpoint_name),
        status_key="EndpointStatus",
        done={"InService"},
        failed={"Failed", "OutOfService", "Deleting", "RollingBack"},
        timeout=cfg.endpoint.wait_timeout,
        interval=15.0,
        on_failed=failed,
    )
    if expect_config and not is_dry(resp) and resp.get("EndpointConfigName") != expect_config:
        reason = resp.get("FailureReason") or "the update did not complete"
        raise DeployError(
            f"endpoint {endpoint_name} rolled back to {resp.get('EndpointConfigName')}: {reason}; "
            f"logs: {log_location(cfg.aws.region, 'Endpoints', endpoint_name)}"
        )
    return resp


#: kind -> (log group kind, describe method, name parameter, status key)
_JOBS = {
    "training": ("TrainingJobs", "describe_training_job", "TrainingJobName", "TrainingJobStatus"),
    "transform": ("TransformJobs", "describe_transform_job", "TransformJobName", "TransformJobStatus"),
}


def wait_job(session: AwsSession, cfg: DeploymentConfig, kind: str, name: str, *, timeout: float,
             interval: float = 30.0, detail: Callable[[], str] | None = None) -> dict[str, Any]:
    """Until a training or transform job is Completed (at most ``timeout`` s); a Failed or Stopped
    job raises with its FailureReason and log group. ``detail()`` adds to each progress line."""
    logs, method, name_key, status_key = _JOBS[kind]
    sm = session.client("sagemaker")

    def failed(d: dict[str, Any]) -> str:
        return (
            f"{kind} job {name} {d.get(status_key)}: {d.get('FailureReason') or 'no FailureReason given'}; "
            f"logs: {log_location(cfg.aws.region, logs, name)}"
        )

    return session.wait_for(
        f"{kind} job {name}",
        lambda: getattr(sm, method)(**{name_key: name}),
        status_key=status_key,
        done={"Completed"},
        failed={"Failed", "Stopped"},
        timeout=timeout,
        interval=interval,
        on_failed=failed,
        detail=detail,
    )
