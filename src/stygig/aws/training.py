"""``train``: ``stygig build`` as a SageMaker training job (StyGig's own entry point), sharded over N instances."""

from __future__ import annotations

from dataclasses import dataclass

from stygig.aws.archive import object_exists
from stygig.aws.config import ConfigError, DeploymentConfig, check_resource_name
from stygig.aws.names import stamp
from stygig.aws.requests import training_request
from stygig.aws.session import AwsSession, is_dry
from stygig.aws.waiting import wait_job


def catalog_kind(session: AwsSession, catalog_uri: str) -> tuple[str, str]:
    """``("manifest", manifest_uri)`` or ``("folders", prefix_uri)`` for an ``s3://`` catalog."""
    from stygig.s3io import parse_s3_uri

    bucket, key = parse_s3_uri(catalog_uri)
    if key.endswith((".jsonl", ".csv")):
        return "manifest", catalog_uri
    prefix = key if key.endswith("/") or not key else key + "/"
    for name in ("manifest.jsonl", "manifest.csv"):
        if object_exists(session, bucket, prefix + name):
            return "manifest", f"s3://{bucket}/{prefix}{name}"
    return "folders", f"s3://{bucket}/{prefix}"


@dataclass
class TrainingResult:
    job_name: str
    job_arn: str | None
    status: str
    model_uri: str


def train(
    session: AwsSession,
    cfg: DeploymentConfig,
    catalog_uri: str,
    *,
    instance_count: int | None = None,
    job_name: str | None = None,
    wait: bool = True,
) -> TrainingResult:
    from stygig.s3io import parse_s3_uri

    parse_s3_uri(catalog_uri)
    cfg.validate(need_role=True, need_bucket=True)
    n = instance_count if instance_count is not None else cfg.training.instance_count
    if not 1 <= n <= 100:
        raise ConfigError(f"--instance-count must be between 1 and 100, got {n}")
    job_name = check_resource_name(job_name or f"stygig-build-{stamp(session.now())}", "training job name")
    if cfg.training.image == "stygig":
        session.note(
            f"training image {cfg.train_image_uri()}: the StyGig image in your ECR; it must be pushed first "
            "(`stygig aws push-image`, which needs docker), or give --train-image URI"
        )
    kind, uri = catalog_kind(session, catalog_uri)
    session.note(f"catalog {catalog_uri}: {kind}" + (f" ({uri})" if uri != catalog_uri else ""))
    sm = session.client("sagemaker")
    resp = sm.create_training_job(**training_request(cfg, job_name, uri, kind=kind, instance_count=n))
    model_uri = f"{cfg.s3_prefix_uri('training')}/{job_name}/output/model.tar.gz"
    status = "InProgress"
    if wait:
        d = wait_job(session, cfg, "training", job_name, timeout=cfg.training.max_runtime + 900)
        if not is_dry(d):
            status = d.get("TrainingJobStatus", status)
            model_uri = d.get("ModelArtifacts", {}).get("S3ModelArtifacts") or model_uri
    return TrainingResult(job_name, resp.get("TrainingJobArn"), str(status), model_uri)
