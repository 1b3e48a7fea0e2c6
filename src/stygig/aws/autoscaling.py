"""Autoscaling of async endpoints: register, read and remove the scalable target, policies and alarm."""

from __future__ import annotations

from typing import Any

from stygig.aws.config import VARIANT_NAME, DeploymentConfig
from stygig.aws.names import SCALABLE_DIMENSION, alarm_name, resource_id
from stygig.aws.requests import scaling_requests
from stygig.aws.session import AwsSession


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
    a = cfg.async_
    session.note(
        ("dry run: would set " if session.dry_run else "")
        + f"autoscaling: {a.min_capacity}..{a.max_capacity} instances, target backlog {a.target_backlog_per_instance:g} per instance"
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
