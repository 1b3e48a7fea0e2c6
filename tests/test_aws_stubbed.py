"""What moto cannot do, checked with botocore's Stubber against the real service models.

UpdateEndpoint (redeploy), an endpoint that fails to come up (FailureReason + where the logs
are), a wait that runs out of time, and a rolled-back update. The Stubber validates every
request against botocore's service model before answering it, exactly as a real call would be.
"""

from __future__ import annotations

import datetime as dt

import pytest
from botocore.stub import ANY, Stubber

from stygig.aws.config import DeploymentConfig
from stygig.aws.endpoint import deploy
from stygig.aws.errors import DeployError
from stygig.aws.redeploy import redeploy
from stygig.aws.session import AwsError, AwsSession

ROLE = "arn:aws:iam::123456789012:role/StygigSageMaker"
MODEL_URI = "s3://stygig-test/models/abc/model.tar.gz"
ARN = "arn:aws:sagemaker:us-east-1:123456789012"
NOW = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
#: resource names are the endpoint's name and the session's wall clock
NEW = "shop-20260101-000000-000"


class FakeClock:
    def __init__(self):
        self.t = 0.0

    def __call__(self) -> float:
        return self.t

    def sleep(self, s: float) -> None:
        self.t += s


@pytest.fixture
def session(monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    clock = FakeClock()
    s = AwsSession("us-east-1", progress=None, sleep=clock.sleep, clock=clock, now=lambda: NOW)
    stubs = {name: Stubber(s.raw_client(name)) for name in ("sagemaker", "s3", "application-autoscaling", "cloudwatch")}
    for st in stubs.values():
        st.activate()
    s.stubs = stubs
    yield s
    for st in stubs.values():
        st.deactivate()


def _cfg(values: dict | None = None) -> DeploymentConfig:
    return DeploymentConfig().with_values({"aws.role_arn": ROLE, "aws.bucket": "stygig-test", **(values or {})}).validate()


def _endpoint(status: str, config: str, **extra) -> dict:
    return {
        "EndpointName": "shop",
        "EndpointArn": f"{ARN}:endpoint/shop",
        "EndpointConfigName": config,
        "EndpointStatus": status,
        "CreationTime": NOW,
        "LastModifiedTime": NOW,
        **extra,
    }


def _old_config(name: str = "shop-20250101-000000-000", *, instance_type: str = "ml.m5.xlarge", asynchronous: bool = False) -> dict:
    out = {
        "EndpointConfigName": name,
        "EndpointConfigArn": f"{ARN}:endpoint-config/{name}",
        "ProductionVariants": [{"VariantName": "AllTraffic", "ModelName": name, "InstanceType": instance_type, "InitialInstanceCount": 1}],
        "CreationTime": NOW,
    }
    if asynchronous:
        out["AsyncInferenceConfig"] = {"OutputConfig": {"S3OutputPath": "s3://stygig-test/out"}}
    return out


def test_redeploy_applies_a_blue_green_update(session, tmp_path):
    cfg = _cfg({"redeploy.rollback_alarms": ["shop-5xx"], "redeploy.termination_wait": 120})
    sm, s3, aas = session.stubs["sagemaker"], session.stubs["s3"], session.stubs["application-autoscaling"]
    sm.add_response("describe_endpoint", _endpoint("InService", "shop-20250101-000000-000"), {"EndpointName": "shop"})
    sm.add_response("describe_endpoint_config", _old_config(), {"EndpointConfigName": "shop-20250101-000000-000"})
    aas.add_response("describe_scalable_targets", {"ScalableTargets": []}, {
        "ServiceNamespace": "sagemaker", "ResourceIds": ["endpoint/shop/variant/AllTraffic"],
        "ScalableDimension": "sagemaker:variant:DesiredInstanceCount"})
    s3.add_response("head_object", {"ContentLength": 1234}, {"Bucket": "stygig-test", "Key": "models/abc/model.tar.gz"})
    sm.add_response("create_model", {"ModelArn": f"{ARN}:model/new"}, {
        "ModelName": ANY, "ExecutionRoleArn": ROLE,
        "PrimaryContainer": {"Image": cfg.image_uri(), "ModelDataUrl": MODEL_URI, "Environment": cfg.container_environment()},
        "EnableNetworkIsolation": False, "Tags": ANY})
    sm.add_response("create_endpoint_config", {"EndpointConfigArn": f"{ARN}:endpoint-config/new"}, {
        "EndpointConfigName": ANY, "Tags": ANY,
        "ProductionVariants": [{
            "VariantName": "AllTraffic", "ModelName": ANY, "InstanceType": "ml.m5.xlarge", "InitialInstanceCount": 1,
            "InitialVariantWeight": 1.0, "ContainerStartupHealthCheckTimeoutInSeconds": 600,
            "ModelDataDownloadTimeoutInSeconds": 600}]})
    sm.add_response("update_endpoint", {"EndpointArn": f"{ARN}:endpoint/shop"}, {
        "EndpointName": "shop",
        "EndpointConfigName": NEW,
        "RetainAllVariantProperties": False,
        "DeploymentConfig": {
            "BlueGreenUpdatePolicy": {
                "TrafficRoutingConfiguration": {"Type": "ALL_AT_ONCE", "WaitIntervalInSeconds": 0},
                "TerminationWaitInSeconds": 120,
                "MaximumExecutionTimeoutInSeconds": 3600,
            },
            "AutoRollbackConfiguration": {"Alarms": [{"AlarmName": "shop-5xx"}]},
        },
    })
    updating = _endpoint("Updating", "shop-20250101-000000-000")
    sm.add_response("describe_endpoint", updating, {"EndpointName": "shop"})
    sm.add_response("describe_endpoint", updating, {"EndpointName": "shop"})
    sm.add_response("describe_endpoint", _endpoint("InService", NEW), {"EndpointName": "shop"})
    dep = redeploy(session, cfg, "shop", model_uri=MODEL_URI, info_path=tmp_path / "info.json")
    for st in session.stubs.values():
        st.assert_no_pending_responses()
    assert dep.status == "InService"
    assert dep.endpoint_config_name == dep.model_name == NEW
    ops = [c["operation"] for c in session.calls]
    assert ops == ["DescribeEndpoint", "DescribeEndpointConfig", "DescribeScalableTargets", "HeadObject", "CreateModel",
                   "CreateEndpointConfig", "UpdateEndpoint", "DescribeEndpoint", "DescribeEndpoint", "DescribeEndpoint"]
    # the old config is never deleted: it is what a rollback goes back to
    assert not any(op.startswith("Delete") for op in ops)
    assert (tmp_path / "info.json").is_file()


def test_redeploy_of_an_autoscaled_endpoint_with_a_new_instance_type(session, tmp_path):
    cfg = _cfg({"endpoint.instance_type": "ml.c5.xlarge"})
    sm, s3, aas, cw = (session.stubs[n] for n in ("sagemaker", "s3", "application-autoscaling", "cloudwatch"))
    rid = "endpoint/shop/variant/AllTraffic"
    dim = "sagemaker:variant:DesiredInstanceCount"
    target = {"ServiceNamespace": "sagemaker", "ResourceId": rid, "ScalableDimension": dim, "MinCapacity": 0, "MaxCapacity": 2,
              "RoleARN": "arn:aws:iam::123456789012:role/aas", "CreationTime": NOW}
    sm.add_response("describe_endpoint", _endpoint("InService", "shop-20250101-000000-000"), {"EndpointName": "shop"})
    sm.add_response("describe_endpoint_config", _old_config(asynchronous=True), {"EndpointConfigName": "shop-20250101-000000-000"})
    aas.add_response("describe_scalable_targets", {"ScalableTargets": [target]}, None)
    s3.add_response("head_object", {"ContentLength": 1}, None)
    sm.add_response("create_model", {"ModelArn": f"{ARN}:model/new"}, None)
    sm.add_response("create_endpoint_config", {"EndpointConfigArn": f"{ARN}:endpoint-config/new"}, None)
    # SageMaker refuses to change the instance type of an autoscaled variant: deregister first
    aas.add_response("describe_scaling_policies", {"ScalingPolicies": [{
        "PolicyARN": "arn:p", "PolicyName": "shop-stygig-backlog", "ServiceNamespace": "sagemaker", "ResourceId": rid,
        "ScalableDimension": dim, "PolicyType": "TargetTrackingScaling", "CreationTime": NOW}]}, None)
    aas.add_response("delete_scaling_policy", {}, {"PolicyName": "shop-stygig-backlog", "ServiceNamespace": "sagemaker",
                                                   "ResourceId": rid, "ScalableDimension": dim})
    aas.add_response("describe_scalable_targets", {"ScalableTargets": [target]}, None)
    aas.add_response("deregister_scalable_target", {}, {"ServiceNamespace": "sagemaker", "ResourceId": rid, "ScalableDimension": dim})
    cw.add_response("describe_alarms", {"MetricAlarms": []}, None)
    sm.add_response("update_endpoint", {"EndpointArn": f"{ARN}:endpoint/shop"}, {
        "EndpointName": "shop", "EndpointConfigName": ANY, "RetainAllVariantProperties": False, "DeploymentConfig": ANY})
    sm.add_response("describe_endpoint", _endpoint("InService", NEW), None)
    # ... and registered again afterwards, with the scale-to-zero policies
    aas.add_response("register_scalable_target", {}, {"ServiceNamespace": "sagemaker", "ResourceId": rid, "ScalableDimension": dim,
                                                      "MinCapacity": 0, "MaxCapacity": 2})
    aas.add_response("put_scaling_policy", {"PolicyARN": "arn:backlog", "Alarms": []}, None)
    aas.add_response("put_scaling_policy", {"PolicyARN": "arn:zero", "Alarms": []}, None)
    cw.add_response("put_metric_alarm", {}, None)

    dep = redeploy(session, cfg, "shop", model_uri=MODEL_URI, info_path=None)
    for st in session.stubs.values():
        st.assert_no_pending_responses()
    assert dep.asynchronous and dep.instance_type == "ml.c5.xlarge"
    ops = [c["operation"] for c in session.calls]
    assert ops.index("DeregisterScalableTarget") < ops.index("UpdateEndpoint") < ops.index("RegisterScalableTarget")
    alarm = next(c for c in session.calls if c["operation"] == "PutMetricAlarm")["params"]
    assert alarm["AlarmActions"] == ["arn:zero"]


def _deploy_until_wait(session, cfg):
    sm, s3 = session.stubs["sagemaker"], session.stubs["s3"]
    sm.add_client_error("describe_endpoint", "ValidationException", "Could not find endpoint \"shop\".", 400)
    s3.add_response("head_object", {"ContentLength": 1}, None)
    sm.add_response("create_model", {"ModelArn": f"{ARN}:model/m"}, None)
    sm.add_response("create_endpoint_config", {"EndpointConfigArn": f"{ARN}:endpoint-config/c"}, None)
    sm.add_response("create_endpoint", {"EndpointArn": f"{ARN}:endpoint/shop"}, None)


def test_failed_endpoint_reports_failure_reason_and_logs(session, tmp_path):
    cfg = _cfg()
    _deploy_until_wait(session, cfg)
    sm = session.stubs["sagemaker"]
    sm.add_response("describe_endpoint", _endpoint("Creating", "c"), None)
    reason = "The primary container for production variant AllTraffic did not pass the ping health check."
    sm.add_response("describe_endpoint", _endpoint("Failed", "c", FailureReason=reason), None)
    with pytest.raises(AwsError) as e:
        deploy(session, cfg, "shop", model_uri=MODEL_URI, info_path=tmp_path / "info.json")
    msg = e.value.message
    assert "endpoint shop is Failed: " + reason in msg
    assert "/aws/sagemaker/Endpoints/shop" in msg and "console.aws.amazon.com/cloudwatch" in msg
    assert "\n" not in msg
    assert not (tmp_path / "info.json").exists()


def test_wait_is_bounded(session, tmp_path):
    cfg = _cfg({"endpoint.wait_timeout": 60})
    _deploy_until_wait(session, cfg)
    sm = session.stubs["sagemaker"]
    for _ in range(5):  # polls at 0, 15, 30, 45, 60 s; the next would pass the limit
        sm.add_response("describe_endpoint", _endpoint("Creating", "c"), None)
    with pytest.raises(AwsError) as e:
        deploy(session, cfg, "shop", model_uri=MODEL_URI, info_path=None)
    assert "endpoint shop still Creating after 60 s (limit 60 s)" in e.value.message
    assert sum(c["operation"] == "DescribeEndpoint" for c in session.calls) == 1 + 5
    session.stubs["sagemaker"].assert_no_pending_responses()
    assert session.clock() <= 60


def test_rolled_back_update_is_an_error(session):
    cfg = _cfg()
    sm, s3, aas = session.stubs["sagemaker"], session.stubs["s3"], session.stubs["application-autoscaling"]
    sm.add_response("describe_endpoint", _endpoint("InService", "shop-20250101-000000-000"), None)
    sm.add_response("describe_endpoint_config", _old_config(), None)
    aas.add_response("describe_scalable_targets", {"ScalableTargets": []}, None)
    s3.add_response("head_object", {"ContentLength": 1}, None)
    sm.add_response("create_model", {"ModelArn": f"{ARN}:model/new"}, None)
    sm.add_response("create_endpoint_config", {"EndpointConfigArn": f"{ARN}:endpoint-config/new"}, None)
    sm.add_response("update_endpoint", {"EndpointArn": f"{ARN}:endpoint/shop"}, None)
    sm.add_response("describe_endpoint", _endpoint("InService", "shop-20250101-000000-000",
                                                    FailureReason="Alarm shop-5xx went off during the update"), None)
    with pytest.raises(DeployError) as e:
        redeploy(session, cfg, "shop", model_uri=MODEL_URI, info_path=None)
    assert "rolled back to shop-20250101-000000-000: Alarm shop-5xx went off during the update" in e.value.message


def test_redeploy_refuses_an_endpoint_not_in_service(session):
    session.stubs["sagemaker"].add_response("describe_endpoint", _endpoint("Updating", "c"), None)
    with pytest.raises(DeployError, match="shop is Updating; it must be InService"):
        redeploy(session, _cfg(), "shop", model_uri=MODEL_URI)


def test_invalid_requests_are_caught_before_sending(session):
    # the session checks every request against the service model (here: a negative count)
    with pytest.raises(AwsError) as e:
        session.client("sagemaker").create_endpoint_config(
            EndpointConfigName="x", ProductionVariants=[{"VariantName": "v", "ModelName": "m", "InitialInstanceCount": -1}]
        )
    assert e.value.message.startswith("CreateEndpointConfig: invalid request:")
    assert "\n" not in e.value.message


def test_doctor_reports_network_isolation_moto_does_not_keep(session):
    """moto drops EnableNetworkIsolation from DescribeModel; the service returns it."""
    from stygig.aws.doctor import doctor_endpoint

    sm, s3 = session.stubs["sagemaker"], session.stubs["s3"]
    config = _old_config()
    sm.add_response("describe_endpoint", _endpoint("InService", config["EndpointConfigName"]), {"EndpointName": "shop"})
    sm.add_response("describe_endpoint_config", config, {"EndpointConfigName": config["EndpointConfigName"]})
    model = {"ModelName": config["EndpointConfigName"], "ModelArn": f"{ARN}:model/m", "CreationTime": NOW,
             "PrimaryContainer": {"Image": "img", "ModelDataUrl": MODEL_URI, "Environment": {}},
             "ExecutionRoleArn": ROLE, "EnableNetworkIsolation": True}
    sm.add_response("describe_model", model, {"ModelName": config["EndpointConfigName"]})
    s3.add_response("head_object", {"ContentLength": 1000}, {"Bucket": ANY, "Key": ANY})
    checks = {c.item: c for c in doctor_endpoint(session, "shop")}
    assert checks["network isolation"].status == "ok"
    assert checks["network isolation"].detail.startswith("on: the container has no network")
