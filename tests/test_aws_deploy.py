"""`stygig aws` commands against moto's server on 127.0.0.1 with real boto3 HTTP calls.

Moto creates endpoints directly InService (no container runs), so these tests check what was
*requested*: the models, endpoint configs, scaling targets and policies carry exactly the
configured values; the waiting and failure paths are in test_aws_stubbed.py.
"""

from __future__ import annotations

import io
import json
import re
import socket
import tarfile
import threading
from pathlib import Path

import pytest
from aws_conftest import BUCKET, ROLE, aws, moto_server  # noqa: F401 - fixtures

from stygig.aws.config import load_config
from stygig.aws.names import owned_name_re
from stygig.aws.requests import endpoint_config_request, model_request
from stygig.cli import main

SNS = "arn:aws:sns:us-east-1:123456789012:stygig-done"


def _config(tmp_path: Path, extra: str = "") -> Path:
    p = tmp_path / "deploy.toml"
    p.write_text(
        f"""
[aws]
region = "us-east-1"
role_arn = "{ROLE}"
bucket = "{BUCKET}"
prefix = "shop"
[endpoint]
instance_type = "ml.c5.xlarge"
instance_count = 2
startup_health_check_timeout = 900
model_data_download_timeout = 720
allowed_s3_buckets = ["{BUCKET}", "catalog-images"]
[endpoint.environment]
MODEL_SERVER_WORKERS = "2"
OMP_NUM_THREADS = "1"
{extra}
""",
        encoding="utf-8",
    )
    return p


def _put_archive(aws, key: str = "models/existing/model.tar.gz") -> str:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tf:
        data = b"not a real model"
        info = tarfile.TarInfo("manifest.json")
        info.size = len(data)
        tf.addfile(info, io.BytesIO(data))
    aws.client("s3").put_object(Bucket=BUCKET, Key=key, Body=buf.getvalue())
    return f"s3://{BUCKET}/{key}"


def test_realtime_deploy_carries_exactly_the_configured_values(aws, tmp_path, lite_artifact, capsys):
    cfg_file = _config(tmp_path)
    rc = main(["aws", "deploy", str(lite_artifact), "--endpoint-name", "shop", "--config", str(cfg_file),
               "--env", "TS_MAX_REQUEST_SIZE=50000000", "--info", str(tmp_path / "info.json")])
    out = capsys.readouterr().out
    assert rc == 0, out
    cfg = load_config(cfg_file, env_flags={"TS_MAX_REQUEST_SIZE": "50000000"}, environ={})
    sm = aws.client("sagemaker")
    ep = sm.describe_endpoint(EndpointName="shop")
    assert ep["EndpointStatus"] == "InService"
    ec = sm.describe_endpoint_config(EndpointConfigName=ep["EndpointConfigName"])
    (variant,) = ec["ProductionVariants"]
    model = sm.describe_model(ModelName=variant["ModelName"])
    # what was created is exactly what the configuration says
    container = model["PrimaryContainer"]
    assert container["Environment"] == cfg.container_environment()
    assert container["Environment"]["TS_MAX_REQUEST_SIZE"] == "50000000"
    assert container["Environment"]["MODEL_SERVER_WORKERS"] == "2"
    assert container["Environment"]["SAGEMAKER_MODEL_SERVER_TIMEOUT"] == "300"
    assert container["Environment"]["STYGIG_ALLOWED_S3_BUCKETS"] == f"catalog-images,{BUCKET}"
    assert container["Image"] == "763104351884.dkr.ecr.us-east-1.amazonaws.com/pytorch-inference:2.6.0-cpu-py312"
    assert model["ExecutionRoleArn"] == ROLE
    expected = endpoint_config_request(cfg, ep["EndpointConfigName"], variant["ModelName"], "shop")["ProductionVariants"][0]
    assert {k: variant[k] for k in expected} == expected
    assert variant["InstanceType"] == "ml.c5.xlarge" and variant["InitialInstanceCount"] == 2
    assert variant["ContainerStartupHealthCheckTimeoutInSeconds"] == 900
    assert variant["ModelDataDownloadTimeoutInSeconds"] == 720
    assert "AsyncInferenceConfig" not in ec
    assert owned_name_re("shop").match(variant["ModelName"])
    # the uploaded archive is the packaged artifact, at a content-addressed key
    url = container["ModelDataUrl"]
    assert url.startswith(f"s3://{BUCKET}/shop/models/") and url.endswith("/model.tar.gz")
    body = aws.client("s3").get_object(Bucket=BUCKET, Key=url.split("/", 3)[3])["Body"].read()
    with tarfile.open(fileobj=io.BytesIO(body), mode="r:gz") as tf:
        names = set(tf.getnames())
    assert {"manifest.json", "items/ids.npy", "vectors.npy", "code/inference.py"} <= names
    # endpoint_info.json: names, ARNs, region, the effective timeouts
    info = json.loads((tmp_path / "info.json").read_text())
    assert info["endpoint_name"] == "shop" and info["endpoint_arn"] == ep["EndpointArn"]
    assert info["model_name"] == variant["ModelName"] and info["model_arn"] == model["ModelArn"]
    assert info["endpoint_config_name"] == ep["EndpointConfigName"] and info["region"] == "us-east-1"
    assert info["timeouts"] == {
        "SAGEMAKER_MODEL_SERVER_TIMEOUT": "300",
        "MODEL_SERVER_TIMEOUT": "300",
        "TS_DEFAULT_RESPONSE_TIMEOUT": "300",
        "ContainerStartupHealthCheckTimeoutInSeconds": 900,
        "ModelDataDownloadTimeoutInSeconds": 720,
    }
    assert "/aws/sagemaker/Endpoints/shop" in info["logs"]
    # a second deploy of the same artifact reuses the uploaded archive, and refuses the existing name
    rc = main(["aws", "deploy", str(lite_artifact), "--endpoint-name", "shop", "--config", str(cfg_file)])
    err = capsys.readouterr().err
    assert rc == 2 and "endpoint shop already exists" in err and err.count("\n") == 1


def test_existing_model_uri_and_stygig_image(aws, tmp_path, capsys):
    uri = _put_archive(aws)
    rc = main(["aws", "deploy", "--model-uri", uri, "--endpoint-name", "byoc", "--image", "stygig", *aws.base_args()])
    assert rc == 0, capsys.readouterr()
    sm = aws.client("sagemaker")
    ep = sm.describe_endpoint(EndpointName="byoc")
    model = sm.describe_model(ModelName=sm.describe_endpoint_config(EndpointConfigName=ep["EndpointConfigName"])["ProductionVariants"][0]["ModelName"])
    c = model["PrimaryContainer"]
    assert c["ModelDataUrl"] == uri
    assert c["Image"].startswith("123456789012.dkr.ecr.us-east-1.amazonaws.com/stygig:")
    assert "SAGEMAKER_PROGRAM" not in c["Environment"]  # the DLC's handler variables only for the DLC
    assert c["Environment"]["SAGEMAKER_MODEL_SERVER_TIMEOUT"] == "300"
    assert json.loads(Path("endpoint_info.json").read_text())["model_data_url"] == uri
    # a model URI that does not exist is refused before anything is created
    rc = main(["aws", "deploy", "--model-uri", f"s3://{BUCKET}/nope/model.tar.gz", "--endpoint-name", "other", *aws.base_args()])
    err = capsys.readouterr().err
    assert rc == 2 and f"model archive not found: s3://{BUCKET}/nope/model.tar.gz" in err
    assert [m["ModelName"] for m in sm.list_models()["Models"]] == [model["ModelName"]]


def test_invalid_config_is_refused_before_any_request(aws, tmp_path, capsys):
    uri = _put_archive(aws)
    rc = main(["aws", "deploy", "--model-uri", uri, "--endpoint-name", "shop", *aws.base_args(),
               "--env", "MODEL_SERVER_TIMEOUT=180", "--startup-timeout", "300"])
    err = capsys.readouterr().err
    assert rc == 2
    assert err.count("\n") == 1 and "2 problems:" in err
    assert "MODEL_SERVER_TIMEOUT: 180 is below the minimum 300" in err
    assert "ContainerStartupHealthCheckTimeoutInSeconds: 300 is below the minimum 600" in err
    assert aws.client("sagemaker").list_models()["Models"] == []
    # --allow-short-timeouts lets the short startup through (the env minimum is still kept by it too)
    rc = main(["aws", "deploy", "--model-uri", uri, "--endpoint-name", "shop", *aws.base_args(),
               "--startup-timeout", "300", "--allow-short-timeouts"])
    assert rc == 0
    sm = aws.client("sagemaker")
    ec = sm.describe_endpoint_config(EndpointConfigName=sm.describe_endpoint(EndpointName="shop")["EndpointConfigName"])
    assert ec["ProductionVariants"][0]["ContainerStartupHealthCheckTimeoutInSeconds"] == 300
    # bad endpoint names are refused by name
    rc = main(["aws", "deploy", "--model-uri", uri, "--endpoint-name", "bad_name!", *aws.base_args()])
    assert rc == 2 and "endpoint name 'bad_name!'" in capsys.readouterr().err


def test_async_deploy_creates_scaling_target_and_policies(aws, tmp_path, capsys):
    uri = _put_archive(aws)
    rc = main(["aws", "deploy", "--model-uri", uri, "--endpoint-name", "shop-async", "--async",
               "--output", f"s3://{BUCKET}/async/out/", "--sns-success", SNS, "--max-concurrent", "3",
               "--max-capacity", "4", *aws.base_args()])
    assert rc == 0, capsys.readouterr()
    sm = aws.client("sagemaker")
    ep = sm.describe_endpoint(EndpointName="shop-async")
    ec = sm.describe_endpoint_config(EndpointConfigName=ep["EndpointConfigName"])
    assert ec["AsyncInferenceConfig"] == {
        "ClientConfig": {"MaxConcurrentInvocationsPerInstance": 3},
        "OutputConfig": {
            "S3OutputPath": f"s3://{BUCKET}/async/out",
            "S3FailurePath": f"s3://{BUCKET}/async/out-failures",
            "NotificationConfig": {"SuccessTopic": SNS},
        },
    }
    aas = aws.client("application-autoscaling")
    rid = "endpoint/shop-async/variant/AllTraffic"
    (target,) = aas.describe_scalable_targets(ServiceNamespace="sagemaker", ResourceIds=[rid])["ScalableTargets"]
    assert (target["MinCapacity"], target["MaxCapacity"]) == (0, 4)
    assert target["ScalableDimension"] == "sagemaker:variant:DesiredInstanceCount"
    policies = {p["PolicyName"]: p for p in aas.describe_scaling_policies(ServiceNamespace="sagemaker", ResourceId=rid)["ScalingPolicies"]}
    backlog = policies["shop-async-stygig-backlog"]
    assert backlog["PolicyType"] == "TargetTrackingScaling"
    tt = backlog["TargetTrackingScalingPolicyConfiguration"]
    assert tt["TargetValue"] == 5.0
    assert tt["CustomizedMetricSpecification"]["MetricName"] == "ApproximateBacklogSizePerInstance"
    assert tt["CustomizedMetricSpecification"]["Dimensions"] == [{"Name": "EndpointName", "Value": "shop-async"}]
    zero = policies["shop-async-stygig-scale-from-zero"]
    assert zero["PolicyType"] == "StepScaling"
    assert zero["StepScalingPolicyConfiguration"]["StepAdjustments"] == [{"MetricIntervalLowerBound": 0.0, "ScalingAdjustment": 1}]
    (alarm,) = aws.client("cloudwatch").describe_alarms(AlarmNames=["shop-async-stygig-backlog-without-capacity"])["MetricAlarms"]
    assert alarm["MetricName"] == "HasBacklogWithoutCapacity"
    assert alarm["AlarmActions"] == [zero["PolicyARN"]]
    assert json.loads(Path("endpoint_info.json").read_text())["async_output"] == f"s3://{BUCKET}/async/out/"
    # doctor sees the async parts
    rc = main(["aws", "doctor", "shop-async", "--region", "us-east-1"])
    out = capsys.readouterr().out
    assert rc == 0, out
    assert "autoscaling" in out and "0..4 instances" in out


def _old_script_endpoint(aws, name: str = "legacy") -> None:
    """What the original deploy scripts created: MODEL_SERVER_TIMEOUT=180, no SAGEMAKER_MODEL_SERVER_TIMEOUT,
    300 s startup and download timeouts."""
    uri = _put_archive(aws, "legacy/model.tar.gz")
    sm = aws.client("sagemaker")
    sm.create_model(
        ModelName=f"{name}-model",
        ExecutionRoleArn=ROLE,
        PrimaryContainer={
            "Image": "763104351884.dkr.ecr.us-east-1.amazonaws.com/pytorch-inference:2.0.1-cpu-py310",
            "ModelDataUrl": uri,
            "Environment": {
                "SAGEMAKER_PROGRAM": "inference.py",
                "SAGEMAKER_SUBMIT_DIRECTORY": "/opt/ml/model/code",
                "MODEL_SERVER_TIMEOUT": "180",
                "MODEL_SERVER_WORKERS": "1",
                "TS_DEFAULT_RESPONSE_TIMEOUT": "300",
            },
        },
    )
    sm.create_endpoint_config(
        EndpointConfigName=f"{name}-config",
        ProductionVariants=[{
            "VariantName": "AllTraffic", "ModelName": f"{name}-model", "InstanceType": "ml.m5.large",
            "InitialInstanceCount": 1, "ContainerStartupHealthCheckTimeoutInSeconds": 300,
            "ModelDataDownloadTimeoutInSeconds": 300,
        }],
    )
    sm.create_endpoint(EndpointName=name, EndpointConfigName=f"{name}-config")


def test_doctor_passes_stygig_and_fails_the_old_scripts(aws, capsys):
    uri = _put_archive(aws)
    assert main(["aws", "deploy", "--model-uri", uri, "--endpoint-name", "shop", *aws.base_args()]) == 0
    capsys.readouterr()
    rc = main(["aws", "doctor", "shop", "--region", "us-east-1"])
    out = capsys.readouterr().out
    assert rc == 0, out
    assert " FAIL " not in out and "0 failed" in out
    for item in ("endpoint status", "environment SAGEMAKER_MODEL_SERVER_TIMEOUT", "environment MODEL_SERVER_TIMEOUT",
                 "variant ContainerStartupHealthCheckTimeoutInSeconds", "variant ModelDataDownloadTimeoutInSeconds",
                 "model data", "environment values"):
        assert any(line.startswith(item) and " ok " in line for line in out.splitlines()), item

    _old_script_endpoint(aws)
    rc = main(["aws", "doctor", "legacy", "--region", "us-east-1"])
    out = capsys.readouterr().out
    assert rc == 1
    fails = [line for line in out.splitlines() if " FAIL " in line]
    assert len(fails) == 4, out
    assert any("environment SAGEMAKER_MODEL_SERVER_TIMEOUT" in l and "missing" in l for l in fails)
    assert any("environment MODEL_SERVER_TIMEOUT" in l and "180 is below the minimum 300" in l for l in fails)
    assert any("ContainerStartupHealthCheckTimeoutInSeconds" in l and "300 is below the minimum 600" in l for l in fails)
    assert any("ModelDataDownloadTimeoutInSeconds" in l and "300 is below the minimum 600" in l for l in fails)
    assert "4 failed" in out

    # model data gone, endpoint missing: both named
    aws.client("s3").delete_object(Bucket=BUCKET, Key="legacy/model.tar.gz")
    main(["aws", "doctor", "legacy", "--region", "us-east-1"])
    out = capsys.readouterr().out
    assert any(l.startswith("model data") and " FAIL " in l and "not found" in l for l in out.splitlines())
    rc = main(["aws", "doctor", "no-such-endpoint", "--region", "us-east-1"])
    out = capsys.readouterr().out
    assert rc == 1 and "no-such-endpoint not found in us-east-1" in out


class _Listener:
    """A TCP listener that counts connections: the dry run must make none."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.connections = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.sock.getsockname()[1]}"

    def _run(self):
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.connections += 1
            conn.close()

    def close(self):
        self._stop.set()
        self._thread.join(timeout=2)
        self.sock.close()


def _requests(out: str) -> list[dict]:
    return [json.loads(line) for line in out.splitlines() if line.startswith("{")]


def test_dry_run_prints_the_requests_and_sends_nothing(aws, tmp_path, monkeypatch, capsys, lite_artifact):
    listener = _Listener()
    monkeypatch.setenv("AWS_ENDPOINT_URL", listener.url)
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    base = [*aws.base_args(), "--dry-run"]
    try:
        rc = main(["aws", "deploy", str(lite_artifact), "--endpoint-name", "shop", *base, "--info", str(tmp_path / "i.json")])
        deploy_reqs = _requests(capsys.readouterr().out)
        rc2 = main(["aws", "deploy", "--model-uri", f"s3://{BUCKET}/m/model.tar.gz", "--endpoint-name", "shop-async", "--async", *base])
        async_reqs = _requests(capsys.readouterr().out)
        others = [
            ["aws", "redeploy", "shop", "--model-uri", f"s3://{BUCKET}/m/model.tar.gz", *base],
            ["aws", "train", "--catalog", f"s3://{BUCKET}/catalog/manifest.jsonl", "--instance-count", "2", *base],
            ["aws", "pipeline", "--catalog", f"s3://{BUCKET}/catalog/manifest.jsonl", "--endpoint-name", "p", "--item", "x", *base],
            ["aws", "invoke", "--endpoint-name", "shop", "--item", "shirt-0000", *base],
            ["aws", "invoke", "--endpoint-name", "shop-async", "--async", "--text", "red dress", *base],
            ["aws", "doctor", "shop", *base],
            ["aws", "teardown", "shop", *base],
            ["aws", "push-image", *base],
        ]
        other_reqs = {}
        for argv in others:
            assert main(argv) == 0, argv
            other_reqs[" ".join(argv[1:4]) if argv[1] == "invoke" else argv[1]] = _requests(capsys.readouterr().out)
    finally:
        listener.close()
    assert rc == 0 and rc2 == 0
    assert listener.connections == 0
    assert not (tmp_path / "i.json").exists()
    ops = [r["operation"] for r in deploy_reqs]
    assert ops == ["DescribeEndpoint", "HeadObject", "PutObject", "CreateModel", "CreateEndpointConfig", "CreateEndpoint", "DescribeEndpoint"]
    # the printed CreateModel is exactly the request the configuration makes
    cfg = load_config(None, flags={"aws.region": "us-east-1", "aws.role_arn": ROLE, "aws.bucket": BUCKET}, environ={}, use_default_file=False)
    create_model = deploy_reqs[3]["params"]
    assert create_model == model_request(cfg, create_model["ModelName"], create_model["PrimaryContainer"]["ModelDataUrl"], "shop")
    assert deploy_reqs[2]["params"]["Body"].startswith("<file model.tar.gz, ")
    assert [r["operation"] for r in async_reqs][-5:] == [
        "DescribeEndpoint", "RegisterScalableTarget", "PutScalingPolicy", "PutScalingPolicy", "PutMetricAlarm",
    ]
    assert "AsyncInferenceConfig" in async_reqs[3]["params"]
    assert "UpdateEndpoint" in [r["operation"] for r in other_reqs["redeploy"]]
    assert [r["operation"] for r in other_reqs["train"]][-2:] == ["CreateTrainingJob", "DescribeTrainingJob"]
    assert [r["operation"] for r in other_reqs["invoke --endpoint-name shop"]] == ["InvokeEndpoint"]
    assert [r["operation"] for r in other_reqs["pipeline"]][-2:] == ["DescribeEndpoint", "InvokeEndpoint"]
    assert [r["operation"] for r in other_reqs["invoke --endpoint-name shop-async"]] == ["PutObject", "InvokeEndpointAsync"]
    assert "DeleteEndpoint" in [r["operation"] for r in other_reqs["teardown"]]
    assert {"CreateRepository", "GetAuthorizationToken"} <= {r["operation"] for r in other_reqs["push-image"]}
    # and nothing reached moto either
    monkeypatch.setenv("AWS_ENDPOINT_URL", aws.url)
    assert aws.client("sagemaker").list_models()["Models"] == []
    assert aws.client("s3").list_objects_v2(Bucket=BUCKET).get("KeyCount", 0) == 0


def test_teardown_removes_what_belongs_to_the_endpoint(aws, capsys, monkeypatch):
    uri = _put_archive(aws)
    assert main(["aws", "deploy", "--model-uri", uri, "--endpoint-name", "shop", "--async", *aws.base_args()]) == 0
    sm = aws.client("sagemaker")
    # a config and model kept by an earlier redeploy, and another endpoint's sharing the prefix
    for name in ("shop-20200101-000000-000", "shop-eu-20200101-000000-000"):
        sm.create_model(ModelName=name, ExecutionRoleArn=ROLE, PrimaryContainer={"Image": "x.dkr.ecr.us-east-1.amazonaws.com/y:1", "ModelDataUrl": uri})
        sm.create_endpoint_config(EndpointConfigName=name, ProductionVariants=[{"VariantName": "AllTraffic", "ModelName": name, "InstanceType": "ml.m5.large", "InitialInstanceCount": 1}])
    capsys.readouterr()
    # without --yes and without a terminal: refused, nothing deleted
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    rc = main(["aws", "teardown", "shop", "--region", "us-east-1"])
    captured = capsys.readouterr()
    assert rc == 2 and "run with --yes" in captured.err
    assert sm.describe_endpoint(EndpointName="shop")["EndpointStatus"] == "InService"
    rc = main(["aws", "teardown", "shop", "--yes", "--region", "us-east-1"])
    out = capsys.readouterr().out
    assert rc == 0, out
    assert "deleted endpoint config shop-20200101-000000-000" in out
    with pytest.raises(Exception, match="Could not find endpoint"):
        sm.describe_endpoint(EndpointName="shop")
    assert [m["ModelName"] for m in sm.list_models()["Models"]] == ["shop-eu-20200101-000000-000"]
    assert [c["EndpointConfigName"] for c in sm.list_endpoint_configs()["EndpointConfigs"]] == ["shop-eu-20200101-000000-000"]
    aas = aws.client("application-autoscaling")
    assert aas.describe_scalable_targets(ServiceNamespace="sagemaker")["ScalableTargets"] == []
    assert aas.describe_scaling_policies(ServiceNamespace="sagemaker")["ScalingPolicies"] == []
    assert aws.client("cloudwatch").describe_alarms()["MetricAlarms"] == []
    rc = main(["aws", "teardown", "shop", "--yes", "--region", "us-east-1"])
    assert rc == 2 and "nothing to tear down" in capsys.readouterr().err


def _engine_response(artifact: Path, item_id: str | None = None) -> dict:
    from stygig.recommend.engine import Recommender
    from stygig.recommend.query import Query
    from stygig.schema import Options

    rec = Recommender.load(artifact)
    return rec.recommend(Query(item_id=item_id or rec.items[0]["id"]), Options(top_k=4))


def test_invoke_realtime_and_async(aws, tmp_path, capsys, lite_artifact):
    from stygig.recommend.engine import Recommender

    first = Recommender.load(lite_artifact).items[0]["id"]
    response = _engine_response(lite_artifact, first)
    aws.queue_invoke_result(json.dumps(response))
    rc = main(["aws", "invoke", "--endpoint-name", "shop", "--item", first, "--region", "us-east-1",
               "--save-visual", str(tmp_path / "vis"), "--artifact", str(lite_artifact)])
    out = capsys.readouterr().out
    assert rc == 0, out
    for rec in response["recommendations"]:
        assert rec["item_id"] in out
    assert (tmp_path / "vis" / "outfit.png").stat().st_size > 1000
    assert json.loads((tmp_path / "vis" / "outfit.json").read_text()) == response

    # async: the request goes to S3, the result is read back from the output location
    aws.queue_async_result(json.dumps(response))
    rc = main(["aws", "invoke", "--endpoint-name", "shop-async", "--async", "--item", first, "--top-k", "4",
               "--json", *aws.base_args()])
    out = capsys.readouterr().out
    assert rc == 0, out
    assert json.loads(out) == response
    (key,) = [o["Key"] for o in aws.client("s3").list_objects_v2(Bucket=BUCKET, Prefix="stygig/async-input/")["Contents"]]
    sent = json.loads(aws.client("s3").get_object(Bucket=BUCKET, Key=key)["Body"].read())
    assert sent == {"item_id": first, "top_k": 4}

    # a picture with options goes as the V4 JSON request; a bare picture as raw bytes
    import base64

    thumb = sorted((lite_artifact / "thumbs").rglob("*.jpg"))[0]
    for extra in (["--top-k", "3"], []):
        aws.queue_async_result(json.dumps(response))
        assert main(["aws", "invoke", "--endpoint-name", "shop-async", "--async", str(thumb), *extra, *aws.base_args()]) == 0
    capsys.readouterr()
    objs = aws.client("s3").list_objects_v2(Bucket=BUCKET, Prefix="stygig/async-input/")["Contents"]
    by_suffix = {o["Key"].rsplit(".", 1)[1]: o["Key"] for o in objs if o["Key"] != key}
    with_options = json.loads(aws.client("s3").get_object(Bucket=BUCKET, Key=by_suffix["json"])["Body"].read())
    assert with_options == {"image": base64.b64encode(thumb.read_bytes()).decode(), "top_k": 3}
    bare = aws.client("s3").get_object(Bucket=BUCKET, Key=by_suffix["bin"])
    assert bare["Body"].read() == thumb.read_bytes() and bare["ContentType"] == "image/jpeg"

    # an error from the container is one line, never printed as an outfit
    aws.queue_invoke_result(json.dumps({"error": {"code": "unknown_item", "message": "no item 'nope' in this catalog"}}))
    rc = main(["aws", "invoke", "--endpoint-name", "shop", "--item", "nope", "--region", "us-east-1"])
    err = capsys.readouterr().err
    assert rc == 2 and err.count("\n") == 1 and "no item 'nope' in this catalog (unknown_item)" in err
    # a picture the container cannot decode: the error names the file it came from
    notes = tmp_path / "notes.jpg"
    notes.write_text("a text file renamed .jpg")
    aws.queue_invoke_result(json.dumps({"error": {"code": "invalid_image", "message": "not an image (unrecognised format)"}}))
    rc = main(["aws", "invoke", "--endpoint-name", "shop", str(notes), "--region", "us-east-1"])
    err = capsys.readouterr().err
    assert rc == 2 and err.startswith(f"stygig: error: {notes}: ") and err.count("\n") == 1, err
    aws.queue_async_result("model exploded", failure=True)
    rc = main(["aws", "invoke", "--endpoint-name", "shop-async", "--async", "--item", first, *aws.base_args()])
    err = capsys.readouterr().err
    assert rc == 2 and "async inference failed: model exploded" in err


def test_train_requests(aws, capsys):
    s3 = aws.client("s3")
    s3.put_object(Bucket=BUCKET, Key="cat-manifest/manifest.jsonl", Body=b'{"id": "a", "image": "a.jpg", "category": "shirt"}\n')
    s3.put_object(Bucket=BUCKET, Key="cat-folders/train/upperwear/shirt/a.jpg", Body=b"x")
    sm = aws.client("sagemaker")

    rc = main(["aws", "train", "--catalog", f"s3://{BUCKET}/cat-manifest/", "--instance-count", "3", "--job-name", "job-m", *aws.base_args()])
    out = capsys.readouterr().out
    assert rc == 0, out
    job = sm.describe_training_job(TrainingJobName="job-m")
    hp = job["HyperParameters"]
    assert hp["catalog_kind"] == "manifest" and hp["catalog"] == f"s3://{BUCKET}/cat-manifest/manifest.jsonl"
    assert hp["shard_exchange"] == f"s3://{BUCKET}/stygig/training/job-m/shards/"
    assert hp["encoder"] == "lite"
    assert job["ResourceConfig"]["InstanceCount"] == 3
    assert job["AlgorithmSpecification"]["ContainerEntrypoint"] == ["python", "-m", "stygig.aws.train_entry"]
    assert job["AlgorithmSpecification"]["TrainingImage"].startswith("123456789012.dkr.ecr.us-east-1.amazonaws.com/stygig:")
    assert not job.get("InputDataConfig")
    assert f"model archive: s3://{BUCKET}/stygig/training/job-m/output/model.tar.gz" in out

    rc = main(["aws", "train", "--catalog", f"s3://{BUCKET}/cat-folders", "--instance-count", "2", "--job-name", "job-f", *aws.base_args()])
    assert rc == 0
    job = sm.describe_training_job(TrainingJobName="job-f")
    assert job["HyperParameters"]["catalog_kind"] == "folders"
    (channel,) = job["InputDataConfig"]
    assert channel["ChannelName"] == "catalog"
    assert channel["DataSource"]["S3DataSource"]["S3Uri"] == f"s3://{BUCKET}/cat-folders/"
    assert channel["DataSource"]["S3DataSource"]["S3DataDistributionType"] == "ShardedByS3Key"

    rc = main(["aws", "train", "--catalog", f"s3://{BUCKET}/cat-folders/", "--job-name", "job-1", *aws.base_args(),
               "--encoder", f"s3://{BUCKET}/encoders/clip/"])
    assert rc == 0
    job = sm.describe_training_job(TrainingJobName="job-1")
    channels = {c["ChannelName"]: c["DataSource"]["S3DataSource"] for c in job["InputDataConfig"]}
    assert channels["catalog"]["S3DataDistributionType"] == "FullyReplicated"
    assert channels["encoder"]["S3Uri"] == f"s3://{BUCKET}/encoders/clip/"
    assert job["HyperParameters"]["encoder"] == "channel"


def test_push_image_prepares_ecr_and_needs_docker(aws, monkeypatch, capsys):
    monkeypatch.setenv("PATH", "/nonexistent")  # no docker here
    repo_root = Path(__file__).resolve().parents[1]
    rc = main(["aws", "push-image", "--context", str(repo_root), *aws.base_args()])
    captured = capsys.readouterr()
    assert rc == 2 and "docker not found on PATH" in captured.err
    # the repository exists and the docker steps were printed for running elsewhere
    (repo,) = aws.client("ecr").describe_repositories(repositoryNames=["stygig"])["repositories"]
    assert repo["repositoryName"] == "stygig"
    assert "$ docker build --platform linux/amd64 -t 123456789012.dkr.ecr.us-east-1.amazonaws.com/stygig:" in captured.err
    assert "$ docker push 123456789012.dkr.ecr.us-east-1.amazonaws.com/stygig:" in captured.err
    # a second run finds the repository instead of creating it again
    assert main(["aws", "push-image", "--context", str(repo_root), *aws.base_args()]) == 2
    assert len(aws.client("ecr").describe_repositories()["repositories"]) == 1


def test_vpc_and_kms_reach_the_model_and_endpoint_config(aws, capsys):
    uri = _put_archive(aws)
    vpc = ["--subnet", "subnet-0123456789abcdef0", "--subnet", "subnet-0fedcba9", "--security-group", "sg-0123abcd"]
    rc = main(["aws", "deploy", "--model-uri", uri, "--endpoint-name", "shop", *aws.base_args(), *vpc,
               "--kms-key", "alias/shop", "--image", "stygig"])
    assert rc == 0, capsys.readouterr()
    sm = aws.client("sagemaker")
    ep = sm.describe_endpoint(EndpointName="shop")
    ec = sm.describe_endpoint_config(EndpointConfigName=ep["EndpointConfigName"])
    model = sm.describe_model(ModelName=ec["ProductionVariants"][0]["ModelName"])
    assert model["VpcConfig"] == {"SecurityGroupIds": ["sg-0123abcd"], "Subnets": ["subnet-0123456789abcdef0", "subnet-0fedcba9"]}
    assert ec["KmsKeyId"] == "alias/shop"
    capsys.readouterr()
    # doctor reads them back from the live endpoint
    assert main(["aws", "doctor", "shop", "--region", "us-east-1"]) == 0
    rows = [" ".join(l.split()) for l in capsys.readouterr().out.splitlines()]
    assert "network ok VPC subnets subnet-0123456789abcdef0, subnet-0fedcba9; security groups sg-0123abcd" in rows
    assert "encryption ok KMS key alias/shop" in rows
    # a refused VPC setting: one line, nothing created
    rc = main(["aws", "deploy", "--model-uri", uri, "--endpoint-name", "shop2", *aws.base_args(), "--subnet", "subnet-0123abcd"])
    err = capsys.readouterr().err
    assert rc == 2 and "aws.subnets and aws.security_group_ids go together" in err and err.count("\n") == 1
    assert [m["ModelName"] for m in sm.list_models()["Models"]] == [model["ModelName"]]


def test_dry_run_says_would_and_train_names_its_image(aws, monkeypatch, capsys, lite_artifact):
    rc = main(["aws", "deploy", str(lite_artifact), "--endpoint-name", "shop", *aws.base_args(), "--dry-run"])
    err = capsys.readouterr().err
    assert rc == 0, err
    assert re.search(r"^dry run: would upload \d+\.\d MB to s3://stygig-test/stygig/models/\w+/model\.tar\.gz$", err, re.M), err
    assert "dry run: would wait up to 1800 s for endpoint shop to reach InService" in err
    assert "uploading" not in err and "waiting for" not in err
    rc = main(["aws", "train", "--catalog", f"s3://{BUCKET}/c/manifest.jsonl", *aws.base_args(), "--dry-run"])
    err = capsys.readouterr().err
    assert rc == 0, err
    assert ("training image 123456789012.dkr.ecr.us-east-1.amazonaws.com/stygig:" in err
            and "it must be pushed first (`stygig aws push-image`, which needs docker)" in err), err


def test_network_isolated_dlc_deploy_vendors_code(aws, tmp_path, lite_artifact, capsys):
    """endpoint.network_isolation reaches CreateModel as EnableNetworkIsolation (moto does not keep
    it: the request is read from --dry-run; doctor's report of it is in test_aws_stubbed.py); the DLC
    archive then carries faiss and pydantic in code/ (built for the DLC's Python) and installs nothing."""
    args = ["aws", "deploy", str(lite_artifact), "--endpoint-name", "isolated", "--network-isolation",
            "--framework-version", "2.5.1", *aws.base_args()]
    assert main([*args, "--dry-run"]) == 0
    requests = [json.loads(l) for l in capsys.readouterr().out.splitlines() if l.startswith("{")]
    create = [r for r in requests if r.get("operation") == "CreateModel"]
    assert create and create[0]["params"]["EnableNetworkIsolation"] is True, requests
    rc = main(args)
    out = capsys.readouterr()
    assert rc == 0, out
    assert "vendored into code/ for cp311 manylinux x86_64" in out.err + out.out
    sm = aws.client("sagemaker")
    ep = sm.describe_endpoint(EndpointName="isolated")
    model_name = sm.describe_endpoint_config(EndpointConfigName=ep["EndpointConfigName"])["ProductionVariants"][0]["ModelName"]
    url = sm.describe_model(ModelName=model_name)["PrimaryContainer"]["ModelDataUrl"]
    body = aws.client("s3").get_object(Bucket=BUCKET, Key=url.split("/", 3)[3])["Body"].read()
    with tarfile.open(fileobj=io.BytesIO(body), mode="r:gz") as tf:
        names = set(tf.getnames())
        requirements = tf.extractfile("code/requirements.txt").read().decode()
    assert {"code/faiss/__init__.py", "code/pydantic/__init__.py"} <= names
    assert any(n.startswith("code/pydantic_core/_pydantic_core.cpython-311-x86_64-linux-gnu") for n in names)
    assert all(l.startswith("#") for l in requirements.splitlines() if l.strip())
    assert model_request(load_config(None, environ={}, use_default_file=False), "m", "s3://b/k", "e")["EnableNetworkIsolation"] is False
