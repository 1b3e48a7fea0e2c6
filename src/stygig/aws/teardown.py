"""``teardown``: the endpoint, its endpoint configs (current and kept), their models and the autoscaling;
for a ``stygig aws batch`` job name, its running transform jobs, models and staged input files."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from stygig.aws.autoscaling import remove_autoscaling
from stygig.aws.config import DeploymentConfig, base_name, check_resource_name
from stygig.aws.endpoint import endpoint_exists
from stygig.aws.errors import DeployError
from stygig.aws.names import owned_name_re
from stygig.aws.session import AwsError, AwsSession, is_dry


@dataclass
class TeardownPlan:
    endpoint: str | None
    endpoint_configs: list[str]
    models: list[str]
    transform_jobs: list[str] = field(default_factory=list)  # running ones, to stop
    staged: list[str] = field(default_factory=list)  # s3:// input files of batch jobs

    def lines(self) -> list[str]:
        out = [f"endpoint        {self.endpoint}" if self.endpoint else "endpoint        (none)"]
        out += [f"endpoint config {c}" for c in self.endpoint_configs]
        out += [f"model           {m}" for m in self.models]
        out += [f"transform job   {j} (running: stopped)" for j in self.transform_jobs]
        if self.staged:
            out.append(f"batch inputs    {len(self.staged)} files under {self.staged[0].rsplit('/', 2)[0]}/")
        out.append("autoscaling     scalable target, scaling policies and StyGig's alarm, if any")
        return out

    @property
    def empty(self) -> bool:
        return not (self.endpoint or self.endpoint_configs or self.models or self.transform_jobs or self.staged)


def _list_names(session: AwsSession, method: str, key: str, name_key: str, contains: str, **extra: Any) -> list[str]:
    client = session.client("sagemaker")
    names: list[str] = []
    token = None
    for _ in range(100):  # bounded: 100 pages x 100 names
        params: dict[str, Any] = {"NameContains": contains, "MaxResults": 100, **extra}
        if token:
            params["NextToken"] = token
        resp = getattr(client, method)(**params)
        names += [r[name_key] for r in resp.get(key, [])]
        token = resp.get("NextToken")
        if not token or is_dry(resp):
            break
    return names


def _staged_inputs(session: AwsSession, cfg: DeploymentConfig, name: str) -> list[str]:
    """The input files ``stygig aws batch`` staged for jobs named ``name-<timestamp>``."""
    from stygig.s3io import parse_s3_uri

    bucket, prefix = parse_s3_uri(cfg.s3_prefix_uri("batch") + "/")
    owned = owned_name_re(name)
    out: list[str] = []
    token = None
    s3 = session.client("s3")
    for _ in range(1000):  # bounded: 1000 pages x 1000 keys
        params: dict[str, Any] = {"Bucket": bucket, "Prefix": f"{prefix}{base_name(name)}-"}
        if token:
            params["ContinuationToken"] = token
        resp = s3.list_objects_v2(**params)
        for obj in resp.get("Contents", []):
            job = obj["Key"][len(prefix):].split("/", 1)[0]
            if owned.match(job):
                out.append(f"s3://{bucket}/{obj['Key']}")
        token = resp.get("NextContinuationToken")
        if not token or is_dry(resp):
            break
    return out


def teardown_plan(session: AwsSession, endpoint_name: str, cfg: DeploymentConfig | None = None) -> TeardownPlan:
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
    jobs = sorted(n for n in _list_names(session, "list_transform_jobs", "TransformJobSummaries", "TransformJobName", contains,
                                         StatusEquals="InProgress") if owned.match(n))
    staged = _staged_inputs(session, cfg, endpoint_name) if cfg is not None and cfg.aws.bucket else []
    return TeardownPlan(endpoint_name if ep is not None else None, configs, list(dict.fromkeys(models)), jobs, staged)


def teardown(
    session: AwsSession,
    endpoint_name: str,
    *,
    confirm: Callable[[TeardownPlan], bool] | None = None,
    cfg: DeploymentConfig | None = None,
) -> TeardownPlan | None:
    """Delete the endpoint, its configs (current and kept), their models and the autoscaling; stop
    the running transform jobs of that name and delete their staged inputs (``cfg``'s bucket).

    ``confirm(plan)`` is asked first (None: no question). Returns the plan, or None if declined.
    """
    plan = teardown_plan(session, endpoint_name, cfg)
    if not session.dry_run and plan.empty:
        remove_autoscaling(session, endpoint_name)
        raise DeployError(f"nothing to tear down: no endpoint, endpoint config, model or batch job belongs to {endpoint_name}")
    if confirm is not None and not confirm(plan):
        return None
    sm = session.client("sagemaker")
    remove_autoscaling(session, endpoint_name)
    if plan.endpoint or session.dry_run:
        sm.delete_endpoint(EndpointName=endpoint_name)
    for c in plan.endpoint_configs:
        _ignore_missing(lambda: sm.delete_endpoint_config(EndpointConfigName=c))
    for j in plan.transform_jobs:
        _ignore_missing(lambda: sm.stop_transform_job(TransformJobName=j))
    for m in plan.models:
        _ignore_missing(lambda: sm.delete_model(ModelName=m))
    if plan.staged:
        from stygig.s3io import parse_s3_uri

        s3 = session.client("s3")
        for i in range(0, len(plan.staged), 1000):  # DeleteObjects takes 1000 keys
            chunk = [parse_s3_uri(u) for u in plan.staged[i:i + 1000]]
            s3.delete_objects(Bucket=chunk[0][0], Delete={"Objects": [{"Key": k} for _, k in chunk], "Quiet": True})
    return plan


def _ignore_missing(fn: Callable[[], Any]) -> None:
    try:
        fn()
    except AwsError as e:
        if not (e.not_found or e.aws_code == "ValidationException"):
            raise
