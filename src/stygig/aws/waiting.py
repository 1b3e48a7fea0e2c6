"""Bounded waits for what SageMaker creates, naming the failure and its log group."""

from __future__ import annotations

from typing import Any

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
