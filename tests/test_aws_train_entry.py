"""The training job's entry point, run locally with the SM_* environment of a SageMaker job.

One host builds straight into the model directory; two hosts (two real processes, exchanging
shards through moto's S3) build a shard each and the first merges them into an artifact equal
to the single-host build. Also `stygig aws pipeline`, whose training output is produced here.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
from aws_conftest import BUCKET, aws, moto_server  # noqa: F401 - fixtures

from stygig.artifact import verify_artifact
from stygig.aws.train_entry import JobEnv, collect_shards, job_env, run
from stygig.cli import main
from stygig.errors import StygigError


def _content(artifact: Path) -> tuple[str, dict[str, str]]:
    """model_version and the sha256 of every file but the (timing) report."""
    m = json.loads((artifact / "manifest.json").read_text())
    return m["model_version"], {k: v for k, v in m["files"].items() if k != "build_report.json"}


def _env(tmp: Path, host: str, hosts: list[str], hp: dict[str, str], catalog: Path | None = None) -> dict[str, str]:
    env = {
        "SM_CURRENT_HOST": host,
        "SM_HOSTS": json.dumps(hosts),
        "SM_MODEL_DIR": str(tmp / host / "model"),
        "SM_OUTPUT_DATA_DIR": str(tmp / host / "output"),
        "SM_HPS": json.dumps(hp),
    }
    if catalog is not None:
        env["SM_CHANNEL_CATALOG"] = str(catalog)
    return env


def _upload_catalog(aws, root: Path, prefix: str = "catalog") -> str:
    s3 = aws.client("s3")
    for p in sorted(root.rglob("*")):
        if p.is_file():
            s3.upload_file(str(p), BUCKET, f"{prefix}/{p.relative_to(root).as_posix()}")
    return f"s3://{BUCKET}/{prefix}/manifest.jsonl"


def test_job_env_reads_sm_variables_and_sagemaker_files(tmp_path):
    env = job_env(_env(tmp_path, "algo-2", ["algo-2", "algo-1"], {"encoder": "lite"}, tmp_path / "cat"), config_dir=tmp_path)
    assert (env.current_host, env.hosts, env.index, env.n, env.leader) == ("algo-2", ["algo-1", "algo-2"], 1, 2, False)
    assert env.catalog_channel == tmp_path / "cat" and env.hyperparameters == {"encoder": "lite"}
    # a bring-your-own-container job has no SM_* variables: SageMaker's files say the same
    (tmp_path / "resourceconfig.json").write_text(json.dumps({"current_host": "algo-1", "hosts": ["algo-1", "algo-2"]}))
    (tmp_path / "hyperparameters.json").write_text(json.dumps({"catalog_kind": "manifest", "catalog": "s3://b/m.jsonl"}))
    env = job_env({}, config_dir=tmp_path)
    assert (env.current_host, env.n, env.leader) == ("algo-1", 2, True)
    assert env.hyperparameters["catalog"] == "s3://b/m.jsonl"
    assert env.model_dir == Path("/opt/ml/model")
    with pytest.raises(StygigError, match="not in SM_HOSTS"):
        job_env({"SM_CURRENT_HOST": "algo-9", "SM_HOSTS": '["algo-1"]'}, config_dir=tmp_path)


def test_single_host_builds_the_serving_package(tmp_path, sample_catalog, lite_artifact):
    env = job_env(_env(tmp_path, "algo-1", ["algo-1"], {"catalog_kind": "folders", "encoder": "lite"}, sample_catalog),
                  config_dir=tmp_path)
    model = run(env)
    assert model == tmp_path / "algo-1" / "model"
    verify_artifact(model)
    assert _content(model) == _content(lite_artifact)
    # laid out as `stygig package` lays it out, so the DLC finds its handler
    assert "stygig.serving.handler" in (model / "code" / "inference.py").read_text()
    assert (model / "code" / "requirements.txt").is_file()
    assert not any((tmp_path / "algo-1" / "output").iterdir())  # the work folder is cleaned up


def test_two_hosts_merge_to_the_single_host_build(aws, tmp_path, sample_catalog):
    manifest_uri = _upload_catalog(aws, sample_catalog)
    hp = {
        "catalog_kind": "manifest",
        "catalog": manifest_uri,
        "encoder": "lite",
        "shard_exchange": f"s3://{BUCKET}/stygig/training/job/shards/",
        "shard_poll_seconds": "0.5",
        "shard_wait_seconds": "120",
    }
    hosts = ["algo-1", "algo-2"]
    base = {k: v for k, v in os.environ.items() if not k.startswith("SM_")}
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "stygig.aws.train_entry", "train"],
            env={**base, **_env(tmp_path, host, hosts, hp)},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for host in hosts
    ]
    outs = []
    for p in procs:
        out, _ = p.communicate(timeout=180)
        outs.append(out)
        assert p.returncode == 0, out
    leader_model = tmp_path / "algo-1" / "model"
    assert not (tmp_path / "algo-2" / "model").exists() or not any((tmp_path / "algo-2" / "model").iterdir())
    verify_artifact(leader_model)
    # each host built only its shard; the markers say how many items each had
    markers = [json.loads(aws.client("s3").get_object(Bucket=BUCKET, Key=f"stygig/training/job/shards/shard-00{i}.done")["Body"].read())
               for i in range(2)]
    assert [m["host"] for m in markers] == hosts
    n_total = json.loads((leader_model / "manifest.json").read_text())["counts"]["items"]
    assert sum(m["items"] for m in markers) == n_total and all(0 < m["items"] < n_total for m in markers)
    # the same job on one host gives the same artifact
    single = job_env(_env(tmp_path / "single", "algo-1", ["algo-1"], hp), config_dir=tmp_path)
    run(single)
    assert _content(leader_model) == _content(tmp_path / "single" / "algo-1" / "model")
    assert (leader_model / "code" / "inference.py").is_file()


def test_sharded_by_s3_key_folder_catalog(aws, tmp_path, sample_catalog):
    """A folder catalog: SageMaker hands each host a share of the files (ShardedByS3Key)."""
    files = sorted(p for p in (sample_catalog / "train").rglob("*") if p.is_file())
    channel = tmp_path / "input" / "data" / "catalog"  # the same path on every host, as on SageMaker

    def receive(share: list[Path]) -> Path:
        shutil.rmtree(channel, ignore_errors=True)
        for p in share:
            dest = channel / p.relative_to(sample_catalog)
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(p, dest)
        return channel

    hp = {"catalog_kind": "folders", "encoder": "lite", "shard_exchange": f"s3://{BUCKET}/x/shards/"}
    hosts = ["algo-1", "algo-2"]
    assert run(job_env(_env(tmp_path, "algo-2", hosts, hp, receive(files[1::2])), config_dir=tmp_path)) is None
    model = run(job_env(_env(tmp_path, "algo-1", hosts, hp, receive(files[0::2])), config_dir=tmp_path))
    single = run(job_env(_env(tmp_path / "one", "algo-1", ["algo-1"], hp, receive(files)), config_dir=tmp_path))
    assert _content(model) == _content(single)
    assert json.loads((model / "manifest.json").read_text())["counts"]["items"] == len(files)


def test_leader_wait_is_bounded(aws, tmp_path):
    hp = {"shard_exchange": f"s3://{BUCKET}/y/shards/"}
    aws.client("s3").put_object(Bucket=BUCKET, Key="y/shards/shard-000.done", Body=b'{"items": 0}')
    env = JobEnv("algo-1", ["algo-1", "algo-2"], tmp_path / "m", tmp_path / "o", None, None, hp)
    slept: list[float] = []
    with pytest.raises(StygigError, match=r"shards \[1\] not ready after 30 s"):
        collect_shards(env, tmp_path / "w", timeout=30, interval=10, sleep=slept.append, clock=lambda: sum(slept))
    assert slept == [10, 10, 10]


def _tar_dir(root: Path) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tf:
        for p in sorted(root.rglob("*")):
            if p.is_file():
                tf.add(p, arcname=p.relative_to(root).as_posix())
    return buf.getvalue()


def test_pipeline_train_deploy_invoke(aws, tmp_path, sample_catalog, capsys):
    from stygig.recommend.engine import Recommender
    from stygig.recommend.query import Query
    from stygig.schema import Options

    manifest_uri = _upload_catalog(aws, sample_catalog)
    # what the training job produces: the entry point's model directory, archived by SageMaker
    hp = {"catalog_kind": "manifest", "catalog": manifest_uri, "encoder": "lite"}
    model = run(job_env(_env(tmp_path / "job", "algo-1", ["algo-1"], hp), config_dir=tmp_path))
    aws.client("s3").put_object(Bucket=BUCKET, Key="stygig/training/job-p/output/model.tar.gz", Body=_tar_dir(model))
    rec = Recommender.load(model)
    first = rec.items[0]["id"]
    response = rec.recommend(Query(item_id=first), Options())
    aws.queue_invoke_result(json.dumps(response))

    rc = main(["aws", "pipeline", "--catalog", f"s3://{BUCKET}/catalog/", "--endpoint-name", "shop", "--job-name", "job-p",
               *aws.base_args()])
    captured = capsys.readouterr()
    assert rc == 0, captured
    assert f"3/3 invoke with item {first}" in captured.err
    for r in response["recommendations"]:
        assert r["item_id"] in captured.out
    sm = aws.client("sagemaker")
    job = sm.describe_training_job(TrainingJobName="job-p")
    assert job["HyperParameters"]["catalog"] == manifest_uri
    ep = sm.describe_endpoint(EndpointName="shop")
    variant = sm.describe_endpoint_config(EndpointConfigName=ep["EndpointConfigName"])["ProductionVariants"][0]
    url = sm.describe_model(ModelName=variant["ModelName"])["PrimaryContainer"]["ModelDataUrl"]
    assert url == f"s3://{BUCKET}/stygig/training/job-p/output/model.tar.gz"
    assert json.loads(Path("endpoint_info.json").read_text())["model_data_url"] == url
