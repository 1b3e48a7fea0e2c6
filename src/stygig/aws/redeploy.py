"""``redeploy``: a new model and endpoint config applied with a blue/green UpdateEndpoint."""

from __future__ import annotations

from pathlib import Path

from stygig.aws.archive import resolve_model
from stygig.aws.autoscaling import remove_autoscaling, scalable_target, setup_autoscaling
from stygig.aws.config import VARIANT_NAME, DeploymentConfig, check_resource_name
from stygig.aws.endpoint import Deployment, create_model_and_config, record_deployment
from stygig.aws.errors import DeployError
from stygig.aws.requests import update_endpoint_request
from stygig.aws.session import AwsError, AwsSession, is_dry
from stygig.aws.waiting import wait_endpoint


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
    reregister = autoscaled and old_instance_type is not None and old_instance_type != cfg.endpoint.instance_type
    model_uri = resolve_model(session, cfg, artifact, model_uri)
    model_name, model_arn, config_name, config_arn = create_model_and_config(
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
        if not session.dry_run:  # the dry run's wait says "would wait" itself
            session.note(f"waiting for endpoint {endpoint_name} to finish updating (at most {cfg.endpoint.wait_timeout} s) ...")
        status = wait_endpoint(session, cfg, endpoint_name, expect_config=config_name).get("EndpointStatus", status)
        if reregister and asynchronous:
            setup_autoscaling(session, cfg, endpoint_name, variant_name)
    return record_deployment(
        session, cfg, endpoint_name, ep.get("EndpointArn"), (model_name, model_arn, config_name, config_arn),
        model_uri, asynchronous, status, info_path,
    )
