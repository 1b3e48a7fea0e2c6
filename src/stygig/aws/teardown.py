"""``teardown``: the endpoint, its endpoint configs (current and kept), their models and the autoscaling."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from stygig.aws.autoscaling import remove_autoscaling
from stygig.aws.config import base_name, check_resource_name
from stygig.aws.endpoint import endpoint_exists
from stygig.aws.errors import DeployError
from stygig.aws.names import owned_name_re
from stygig.aws.session import AwsError, AwsSession, is_dry


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
    ep = endpoint_exists(session, endpoint_name)
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
