"""``stygig aws batch``: a transform job on the deployment's model, against moto's server on
127.0.0.1; the job's progress, completion and failure (which moto does not model: its jobs are
"Completed" at once and write nothing) with botocore's Stubber, the transform itself done by a
real ``stygig serve`` answering the staged JSON Lines files on its /invocations."""

from __future__ import annotations

import datetime as dt
import io
import json
import subprocess
import sys
import urllib.request

import pytest
from aws_conftest import BUCKET, ROLE, aws, moto_server  # noqa: F401 - fixtures
from botocore.stub import ANY, Stubber

from stygig.aws.batch import MERGED_NAME, batch_transform, split_ids, staging_uri
from stygig.aws.config import ConfigError, DeploymentConfig, load_config
from stygig.aws.errors import DeployError
from stygig.aws.requests import model_request, transform_job_request
from stygig.aws.session import AwsError, AwsSession
from stygig.cli import main
from stygig.serving.child import free_port, stop, wait_ready

NOW = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
JOB = "looks-20260101-000000-000"
OUTPUT = f"s3://{BUCKET}/looks/"


def _ids(artifact) -> list[str]:
    import numpy as np

    return [i.decode() for i in np.load(artifact / "items" / "ids.npy")]


def _cfg(values: dict | None = None) -> DeploymentConfig:
    return DeploymentConfig().with_values({"aws.role_arn": ROLE, "aws.bucket": BUCKET, **(values or {})}).validate()


def _objects(aws, prefix: str) -> dict[str, bytes]:
    s3 = aws.client("s3")
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET, Prefix=prefix).get("Contents", [])]
    return {k: s3.get_object(Bucket=BUCKET, Key=k)["Body"].read() for k in sorted(keys)}


# ---- the configuration and the request --------------------------------------------------------
def test_batch_section_is_validated(tmp_path):
    f = tmp_path / "stygig.toml"
    f.write_text("[batch]\nmax_payload_mb = 50\nmax_concurrent_transforms = 3\n")
    with pytest.raises(ConfigError) as e:
        load_config(f, environ={}).validate()
    assert e.value.message == (
        "batch.max_concurrent_transforms x batch.max_payload_mb must be at most 100 (SageMaker's limit), got 3 x 50 = 150"
    )
    f.write_text("[batch]\nmax_payload_mb = 101\n")
    with pytest.raises(ConfigError, match="batch.max_payload_mb must be between 1 and 100, got 101"):
        load_config(f, environ={}).validate()
    f.write_text('[batch]\ninstance_typ = "ml.c5.xlarge"\n')
    with pytest.raises(ConfigError, match="unknown key 'instance_typ' in \\[batch\\] \\(did you mean 'instance_type'\\?\\)"):
        load_config(f, environ={})
    f.write_text('[batch]\ninstance_type = "ml.c5.2xlarge"\ninstance_count = 4\nmax_payload_mb = 20\nmax_concurrent_transforms = 5\n')
    cfg = load_config(f, environ={}).validate()
    assert (cfg.batch.instance_type, cfg.batch.instance_count, cfg.sources["batch.instance_count"]) == ("ml.c5.2xlarge", 4, f"file {f}")


def test_transform_request_is_line_split_multirecord_on_the_deploy_model():
    cfg = _cfg({"batch.max_payload_mb": 10, "batch.max_concurrent_transforms": 4, "batch.invocations_timeout": 900,
                "aws.kms_key_id": "alias/shop"})
    req = transform_job_request(cfg, JOB, JOB, "s3://b/in/", "s3://b/out/parts/", instance_count=3)
    assert req["BatchStrategy"] == "MultiRecord" and req["MaxPayloadInMB"] == 10 and req["MaxConcurrentTransforms"] == 4
    assert req["TransformInput"] == {
        "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": "s3://b/in/"}},
        "ContentType": "application/jsonlines",
        "SplitType": "Line",
    }
    assert req["TransformOutput"] == {"S3OutputPath": "s3://b/out/parts/", "Accept": "application/jsonlines",
                                      "AssembleWith": "Line", "KmsKeyId": "alias/shop"}
    assert req["TransformResources"] == {"InstanceType": "ml.m5.xlarge", "InstanceCount": 3, "VolumeKmsKeyId": "alias/shop"}
    assert req["ModelClientConfig"] == {"InvocationsTimeoutInSeconds": 900, "InvocationsMaxRetries": 0}
    # the model is deploy's, with the image for the batch instance type (a GPU type gets the GPU DLC)
    gpu = _cfg({"batch.instance_type": "ml.g4dn.xlarge"})
    image = model_request(gpu, JOB, "s3://b/m.tar.gz", "looks", instance_type=gpu.batch.instance_type)["PrimaryContainer"]["Image"]
    assert image.endswith("pytorch-inference:2.6.0-gpu-py312")
    assert model_request(gpu, JOB, "s3://b/m.tar.gz", "looks")["PrimaryContainer"]["Environment"] == gpu.container_environment()


def test_ids_are_split_into_at_least_one_file_per_instance():
    ids = [f"i{n}" for n in range(10)]
    parts = split_ids(ids, 3)
    assert [len(p) for p in parts] == [4, 3, 3] and sum(parts, []) == ids
    assert split_ids(ids, 1) == [ids]
    assert len(split_ids(ids, 20)) == 10  # never an empty file
    assert len(split_ids([str(n) for n in range(120_001)], 1)) == 3  # and none too long


# ---- against moto's server ------------------------------------------------------------------------
def test_batch_creates_the_model_the_inputs_and_the_job(aws, lite_artifact, capsys):
    rc = main(["aws", "batch", str(lite_artifact), "--output", OUTPUT, "--instance-count", "3", "--job-name", "looks",
               "--no-wait", *aws.base_args()])
    out = capsys.readouterr().out
    assert rc == 0, out
    sm = aws.client("sagemaker")
    (job,) = sm.list_transform_jobs()["TransformJobSummaries"]
    name = job["TransformJobName"]
    assert name.startswith("looks-") and f"transform job {name}: InProgress (" in out
    desc = sm.describe_transform_job(TransformJobName=name)
    cfg = load_config(None, flags={"aws.region": "us-east-1", "aws.role_arn": ROLE, "aws.bucket": BUCKET}, environ={},
                      use_default_file=False)
    expected = transform_job_request(cfg, name, name, staging_uri(cfg, name), OUTPUT + "parts/", instance_count=3)
    for key in ("ModelName", "BatchStrategy", "MaxPayloadInMB", "MaxConcurrentTransforms", "TransformInput",
                "TransformOutput", "TransformResources"):
        assert desc[key] == expected[key], key
    # the model is deploy's: image, archive, the audited environment
    model = sm.describe_model(ModelName=name)
    assert model["PrimaryContainer"]["Environment"] == cfg.container_environment()
    assert model["PrimaryContainer"]["Image"] == cfg.image_uri()
    assert model["PrimaryContainer"]["ModelDataUrl"].endswith("/model.tar.gz")
    # every id once, as a JSON request a line, in three files
    files = _objects(aws, f"stygig/batch/{name}/input/")
    assert len(files) == 3
    lines = [json.loads(l) for body in files.values() for l in body.decode().splitlines()]
    assert lines == [{"item_id": i} for i in _ids(lite_artifact)]

    # doctor audits the job: its settings and the model's environment
    rc = main(["aws", "doctor", "--transform-job", name, "--region", "us-east-1"])
    report = capsys.readouterr().out
    assert rc == 0, report
    rows = [" ".join(l.split()) for l in report.splitlines()]
    assert "transform SplitType ok Line" in rows and "transform BatchStrategy ok MultiRecord" in rows
    assert "transform MaxConcurrentTransforms x MaxPayloadInMB ok 1 x 6 = 6 (at most 100)" in rows
    assert any(r.startswith("environment SAGEMAKER_MODEL_SERVER_TIMEOUT ok") for r in rows)

    # teardown removes what batch created: its model and its staged inputs
    rc = main(["aws", "teardown", "looks", "--yes", "--region", "us-east-1", "--bucket", BUCKET])
    assert rc == 0, capsys.readouterr()
    assert sm.list_models()["Models"] == []
    assert _objects(aws, f"stygig/batch/{name}/") == {}


def test_options_go_into_every_request(aws, lite_artifact, capsys):
    options = {"top_k": 3, "filters": {"in_stock": True}, "boost": {"popularity": 0.1}}
    rc = main(["aws", "batch", str(lite_artifact), "--output", OUTPUT, "--instance-count", "2", "--job-name", "opts",
               "--no-wait", "--options", json.dumps(options), *aws.base_args()])
    assert rc == 0, capsys.readouterr()
    (job,) = aws.client("sagemaker").list_transform_jobs()["TransformJobSummaries"]
    files = _objects(aws, f"stygig/batch/{job['TransformJobName']}/input/")
    lines = [json.loads(l) for body in files.values() for l in body.decode().splitlines()]
    assert lines == [{"item_id": i, **options} for i in _ids(lite_artifact)]


def test_refusals_name_the_problem_and_create_nothing(aws, lite_artifact, capsys):
    cases = [
        (["--output", OUTPUT], "give exactly one of ARTIFACT or --model-name"),
        ([str(lite_artifact), "--model-name", "m", "--output", OUTPUT], "give exactly one of ARTIFACT or --model-name"),
        ([str(lite_artifact), "--output", "https://example.com/out"], "not an s3:// URI"),
        ([str(lite_artifact), "--output", OUTPUT, "--max-payload-mb", "60", "--max-concurrent-transforms", "2"],
         "must be at most 100 (SageMaker's limit), got 2 x 60 = 120"),
        ([str(lite_artifact), "--output", OUTPUT, "--ids", f"s3://{BUCKET}/nope.txt"], f"not found: s3://{BUCKET}/nope.txt"),
        (["--model-name", "nope", "--output", OUTPUT], "model nope does not exist"),
    ]
    cases += [  # --options are checked as stygig batch checks them, before anything is created
        ([str(lite_artifact), "--output", OUTPUT, "--options", '{"top_k": 99}'], "--options: top_k must be"),
        ([str(lite_artifact), "--output", OUTPUT, "--options", '{"category": "cape"}'], "--options: category must be one of"),
        ([str(lite_artifact), "--output", OUTPUT, "--options", '{"item_id": "x"}'], "--options holds options only"),
        ([str(lite_artifact), "--output", OUTPUT, "--options", "{top_k: 3}"], "--options is not valid JSON"),
    ]
    a, b = _ids(lite_artifact)[:2]
    aws.client("s3").put_object(Bucket=BUCKET, Key="twice.txt", Body=f"{a}\n{b}\n{a}\n".encode())
    cases.append(([str(lite_artifact), "--output", OUTPUT, "--ids", f"s3://{BUCKET}/twice.txt"],
                  f"s3://{BUCKET}/twice.txt line 3: '{a}' is listed twice (first on line 1)"))
    aws.client("s3").put_object(Bucket=BUCKET, Key="unknown.txt", Body=b"no-such-item\n")
    cases.append(([str(lite_artifact), "--output", OUTPUT, "--ids", f"s3://{BUCKET}/unknown.txt"],
                  "unknown item_id 'no-such-item' (not in the artifact)"))
    for argv, expected in cases:
        rc = main(["aws", "batch", *argv, *aws.base_args()])
        err = capsys.readouterr().err
        assert rc == 2 and expected in err and err.count("\n") == 1, (argv, err)
    sm = aws.client("sagemaker")
    assert sm.list_transform_jobs()["TransformJobSummaries"] == [] and sm.list_models()["Models"] == []


def test_dry_run_prints_the_requests_and_writes_nothing(aws, lite_artifact, capsys):
    rc = main(["aws", "batch", str(lite_artifact), "--output", OUTPUT, "--instance-count", "2", *aws.base_args(), "--dry-run"])
    captured = capsys.readouterr()
    assert rc == 0, captured.err
    ops = [json.loads(l)["operation"] for l in captured.out.splitlines() if l.startswith("{")]
    assert ops == ["HeadObject", "PutObject", "CreateModel", "PutObject", "PutObject", "CreateTransformJob", "DescribeTransformJob"]
    err = captured.err
    assert f"dry run: would write {len(_ids(lite_artifact))} ids in 2 input files to s3://{BUCKET}/stygig/batch/stygig-batch-" in err
    assert "dry run: would wait up to 21600 s for transform job" in err and "dry run: would merge" in err
    assert aws.client("sagemaker").list_models()["Models"] == []
    assert aws.client("s3").list_objects_v2(Bucket=BUCKET).get("KeyCount", 0) == 0


# ---- the job's life, stubbed; the transform done by a real server -------------------------------
class FakeClock:
    def __init__(self):
        self.t = 0.0
        self.on_sleep = None

    def __call__(self) -> float:
        return self.t

    def sleep(self, s: float) -> None:
        self.t += s
        if self.on_sleep is not None:
            self.on_sleep()
            self.on_sleep = None


@pytest.fixture
def stubbed(aws):
    """A session whose SageMaker client is stubbed and whose S3 is moto's."""
    clock = FakeClock()
    s = AwsSession("us-east-1", progress=io.StringIO(), sleep=clock.sleep, clock=clock, now=lambda: NOW)
    stub = Stubber(s.raw_client("sagemaker"))
    stub.activate()
    s.stub, s.fake_clock = stub, clock
    yield s
    stub.deactivate()


def _job(status: str, **extra) -> dict:
    return {
        "TransformJobName": JOB, "TransformJobArn": f"arn:aws:sagemaker:us-east-1:123456789012:transform-job/{JOB}",
        "TransformJobStatus": status, "ModelName": JOB, "CreationTime": NOW,
        "TransformInput": {"DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": "s3://x/"}}},
        "TransformResources": {"InstanceType": "ml.m5.xlarge", "InstanceCount": 2},
        **extra,
    }


def _expect_start(stub):
    stub.add_response("create_model", {"ModelArn": f"arn:aws:sagemaker:us-east-1:123456789012:model/{JOB}"},
                      {"ModelName": JOB, "ExecutionRoleArn": ROLE, "PrimaryContainer": ANY,
                       "EnableNetworkIsolation": False, "Tags": ANY})
    stub.add_response("create_transform_job", {"TransformJobArn": f"arn:aws:sagemaker:us-east-1:123456789012:transform-job/{JOB}"}, None)


@pytest.fixture
def server(lite_artifact, tmp_path):
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = open(tmp_path / "server.log", "wb")
    proc = subprocess.Popen([sys.executable, "-m", "stygig.cli", "serve", str(lite_artifact), "--port", str(port), "--workers", "1"],
                            stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_ready(url, proc, timeout_s=120)
        yield url
    finally:
        stop(proc)
        log.close()


def _transform_with(url: str, aws, cfg: DeploymentConfig):
    """What the transform job does: each staged file to /invocations as JSON Lines, the answer to .out."""
    def run():
        s3 = aws.client("s3")
        staged = _objects(aws, staging_uri(cfg, JOB).split("/", 3)[3])
        for key, body in staged.items():
            req = urllib.request.Request(f"{url}/invocations", data=body, headers={"Content-Type": "application/jsonlines"})
            with urllib.request.urlopen(req, timeout=60) as r:
                answer = r.read()
            s3.put_object(Bucket=BUCKET, Key="looks/parts/" + key.rsplit("/", 1)[1] + ".out", Body=answer)
    return run


def test_waits_then_merges_one_line_per_id_keyed_by_id(stubbed, aws, lite_artifact, server):
    """An --ids list over an existing model: every id answered in order; an unknown id gets its
    error line (never a failed batch)."""
    cfg = _cfg({"batch.instance_count": 2})
    stub = stubbed.stub
    stub.add_response("describe_model", {"ModelName": "shop-model", "ModelArn": "arn:aws:sagemaker:us-east-1:123456789012:model/m",
                                         "CreationTime": NOW, "PrimaryContainer": {"Image": "x", "ModelDataUrl": "s3://x/m.tar.gz"}},
                      {"ModelName": "shop-model"})
    stub.add_response("create_transform_job", {"TransformJobArn": f"arn:aws:sagemaker:us-east-1:123456789012:transform-job/{JOB}"},
                      transform_job_request(cfg, JOB, "shop-model", staging_uri(cfg, JOB), OUTPUT + "parts/", instance_count=2))
    stub.add_response("describe_transform_job", _job("InProgress"), {"TransformJobName": JOB})
    stub.add_response("describe_transform_job", _job("Completed"), {"TransformJobName": JOB})
    stubbed.fake_clock.on_sleep = _transform_with(server, aws, cfg)
    ids = _ids(lite_artifact)[:7]
    aws.client("s3").put_object(Bucket=BUCKET, Key="ids.txt", Body=("\n".join(ids) + "\n\nnot-an-item\n").encode())
    res = batch_transform(stubbed, cfg, output=OUTPUT, model_name="shop-model", ids_uri=f"s3://{BUCKET}/ids.txt", job_name="looks")
    assert res.status == "Completed" and res.n_ids == 8 and res.n_files == 2 and res.n_errors == 1
    # the wait showed its progress, by file
    assert f"  transform job {JOB}: InProgress (0 s, 0 of 2 input files answered)" in stubbed.progress.getvalue()
    assert f"  transform job {JOB}: Completed (30 s)" in stubbed.progress.getvalue()
    merged = _objects(aws, "looks/" + MERGED_NAME)["looks/" + MERGED_NAME].decode().splitlines()
    rows = [json.loads(l) for l in merged]
    assert [r["item_id"] for r in rows] == [*ids, "not-an-item"]
    assert rows[-1]["error"]["code"] == "unknown_item"
    # each answer is the one a single request for that id gets
    first = rows[0]
    req = urllib.request.Request(f"{server}/invocations", data=json.dumps({"item_id": first["item_id"]}).encode(),
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=60) as r:
        single = json.loads(r.read())
    for answer in (single, first["response"]):
        answer.get("metadata", {}).pop("processing_time_ms", None)
        answer.get("metadata", {}).pop("request_id", None)
    assert first["response"] == single
    assert "/aws/sagemaker/TransformJobs/looks-20260101-000000-000" in res.logs
    stubbed.stub.assert_no_pending_responses()


def test_a_failed_job_names_its_reason_and_log_group(stubbed, aws, lite_artifact):
    cfg = _cfg()
    _expect_start(stubbed.stub)
    stubbed.stub.add_response("describe_transform_job", _job("Failed", FailureReason="ClientError: model container failed the ping"),
                              {"TransformJobName": JOB})
    with pytest.raises(AwsError) as e:
        batch_transform(stubbed, cfg, output=OUTPUT, artifact=lite_artifact, job_name="looks")
    msg = e.value.message
    assert msg.startswith(f"transform job {JOB} Failed: ClientError: model container failed the ping; logs: CloudWatch log group "
                          f"/aws/sagemaker/TransformJobs/{JOB}")
    assert "\n" not in msg


def test_incomplete_output_is_named(stubbed, aws, lite_artifact):
    cfg = _cfg()
    _expect_start(stubbed.stub)
    stubbed.stub.add_response("describe_transform_job", _job("Completed"), {"TransformJobName": JOB})
    aws.client("s3").put_object(Bucket=BUCKET, Key="looks/parts/part-00000.jsonl.out", Body=b'{"recommendations": []}\n')
    with pytest.raises(DeployError, match=f"s3://{BUCKET}/looks/parts/part-00000.jsonl.out has 1 answers for "
                                          f"{len(_ids(lite_artifact))} ids: the job's output is incomplete"):
        batch_transform(stubbed, cfg, output=OUTPUT, artifact=lite_artifact, job_name="looks")
