"""``stygig aws batch``: an outfit for every item (or listed id) with SageMaker Batch Transform.

The same model as ``deploy`` (CreateModel from the one DeploymentConfig: image, archive, audited
environment, VPC), run as a transform job on ``batch.instance_count`` instances. The ids are
written as JSON Lines requests (``{"item_id": ID}``) into at least as many S3 objects as there are
instances (a transform job hands out work by object), sent with ``SplitType=Line`` and
``BatchStrategy=MultiRecord`` to the server's JSON Lines path, and joined back with
``AssembleWith=Line``. When the job completes, the per-object outputs are merged into one JSON
Lines file keyed by id, ``{"item_id": ID, "response": ANSWER}`` (or ``"error"``), the format of
the local ``stygig batch``, at ``OUTPUT/outfits.jsonl``.

What it creates is named ``<job>-<timestamp>`` (model and job alike) and its inputs live under
``s3://BUCKET/PREFIX/batch/<job>-<timestamp>/``: ``stygig aws teardown <job>`` removes them.
"""

from __future__ import annotations

import json
import math
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence

from stygig.aws.archive import ITEM_IDS, item_ids, read_object, resolve_model
from stygig.aws.config import ConfigError, DeploymentConfig, check_resource_name
from stygig.aws.errors import DeployError
from stygig.aws.names import log_location, resource_name, stamp
from stygig.aws.requests import JSONLINES, model_request, transform_job_request
from stygig.aws.session import AwsError, AwsSession, is_dry
from stygig.aws.waiting import wait_job
from stygig.artifact.manifest import read_manifest
from stygig.batch import keyed_line, parse_ids, parse_options
from stygig.errors import StygigError
from stygig.taxonomy import Taxonomy

DEFAULT_JOB_NAME = "stygig-batch"
#: at most this many ids in one input object (more objects than instances then, which is fine)
MAX_IDS_PER_FILE = 50_000
MERGED_NAME = "outfits.jsonl"


@dataclass
class BatchResult:
    job_name: str
    model_name: str
    status: str
    n_ids: int
    n_files: int
    n_errors: int
    output_uri: str  # the merged JSON Lines file
    logs: str

    def lines(self) -> list[str]:
        out = [f"transform job {self.job_name}: {self.status} ({self.n_ids} ids in {self.n_files} input files, model {self.model_name})"]
        if self.status == "Completed":
            out.append(f"wrote {self.output_uri}" + (f" ({self.n_errors} lines are errors)" if self.n_errors else ""))
        out.append(f"logs: {self.logs}")
        return out


def staging_uri(cfg: DeploymentConfig, job_name: str) -> str:
    """Where a job's input objects go: ``s3://BUCKET/PREFIX/batch/<job>/input/``."""
    return cfg.s3_prefix_uri("batch", job_name, "input") + "/"


def split_ids(ids: Sequence[str], n_instances: int) -> list[list[str]]:
    """The ids in contiguous, balanced runs: at least one per instance (when there are that many
    ids), and none longer than :data:`MAX_IDS_PER_FILE`."""
    n = min(len(ids), max(n_instances, math.ceil(len(ids) / MAX_IDS_PER_FILE)))
    size, extra = divmod(len(ids), n)
    out, start = [], 0
    for i in range(n):
        end = start + size + (1 if i < extra else 0)
        out.append(list(ids[start:end]))
        start = end
    return out


def request_lines(ids: Sequence[str], options: Mapping[str, Any] | None = None) -> bytes:
    """One input object: a JSON request ``{"item_id": ID, **options}`` a line."""
    extra = dict(options or {})
    return b"".join(json.dumps({"item_id": i, **extra}, ensure_ascii=False).encode("utf-8") + b"\n" for i in ids)


def _local_taxonomy(artifact: Path) -> Taxonomy | None:
    """The taxonomy of a local artifact directory (None for a model.tar.gz)."""
    if not artifact.is_dir():
        return None
    return Taxonomy.load(artifact / read_manifest(artifact)["taxonomy"]["file"])


def _local_ids(artifact: Path) -> list[str] | None:
    """The ids of a local artifact directory (None for a model.tar.gz: read after the upload)."""
    if not artifact.is_dir():
        return None
    import numpy as np

    try:
        ids = np.load(artifact / ITEM_IDS, allow_pickle=False)
    except (OSError, ValueError) as e:
        raise StygigError(f"{artifact}: cannot read {ITEM_IDS}: {e}") from None
    return [i.decode("utf-8") if isinstance(i, bytes) else str(i) for i in ids]


def _read_s3(session: AwsSession, uri: str) -> bytes | None:
    """An object that must be there: its bytes (None in a dry run, which reads nothing)."""
    data = read_object(session, uri)
    if data is None and not session.dry_run:
        raise DeployError(f"not found: {uri}")
    return data


def _model_data_url(session: AwsSession, model_name: str) -> str | None:
    try:
        desc = session.client("sagemaker").describe_model(ModelName=model_name)
    except AwsError as e:
        if e.not_found or e.aws_code == "ValidationException":
            raise DeployError(f"model {model_name} does not exist (deploy or batch with an artifact creates one)") from None
        raise
    if is_dry(desc):
        return None
    container = desc.get("PrimaryContainer") or (desc.get("Containers") or [{}])[0]
    return container.get("ModelDataUrl")


def batch_transform(
    session: AwsSession,
    cfg: DeploymentConfig,
    *,
    output: str,
    artifact: str | Path | None = None,
    model_name: str | None = None,
    ids_uri: str | None = None,
    instance_count: int | None = None,
    job_name: str | None = None,
    wait: bool = True,
    options_json: str | None = None,
) -> BatchResult:
    """``options_json``: request options for every item (``stygig batch --options``), checked
    before anything is created (a category against a local artifact's taxonomy)."""
    from stygig.s3io import parse_s3_uri

    if (artifact is None) == (model_name is None):
        raise ConfigError("give exactly one of ARTIFACT or --model-name")
    parse_s3_uri(output)
    if ids_uri is not None:
        parse_s3_uri(ids_uri)
    options = parse_options(options_json, _local_taxonomy(Path(artifact)) if artifact is not None else None)
    cfg.validate(need_role=True, need_bucket=True)
    n_instances = instance_count if instance_count is not None else cfg.batch.instance_count
    if not 1 <= n_instances <= 100:
        raise ConfigError(f"--instance-count must be between 1 and 100, got {n_instances}")
    base = check_resource_name(job_name or DEFAULT_JOB_NAME, "batch job name")
    name = resource_name(base, stamp(session.now()))

    # the ids: the listed ones, else every item of the artifact
    catalog = _local_ids(Path(artifact)) if artifact is not None else None
    known = set(catalog) if catalog is not None else None
    ids: list[str] | None = None
    if ids_uri is not None:
        data = _read_s3(session, ids_uri)
        if data is not None:
            ids = parse_ids(data.decode("utf-8-sig"), ids_uri, known.__contains__ if known is not None else None)
    # the model: created from the config (as deploy does), or an existing one
    sm = session.client("sagemaker")
    if artifact is not None:
        model_uri = resolve_model(session, cfg, artifact, None)
        sm.create_model(**model_request(cfg, name, model_uri, base, instance_type=cfg.batch.instance_type))
        used_model = name
    else:
        used_model = check_resource_name(model_name, "model name")
        model_uri = _model_data_url(session, used_model)
    if ids is None and ids_uri is None:
        ids = catalog if catalog is not None else (item_ids(session, model_uri) if model_uri else None)
    if ids is None:  # a dry run that could not read them: one placeholder id per instance
        session.note(f"dry run: would read the ids from {ids_uri or model_uri or 'the model archive'}")
        ids = [f"<id {i}>" for i in range(n_instances)]
    if len(ids) < n_instances:
        session.note(f"{len(ids)} ids: {len(ids)} instances instead of {n_instances} (a transform job splits by file)")
        n_instances = len(ids)

    # the input objects: at least one per instance
    parts = split_ids(ids, n_instances)
    staging = staging_uri(cfg, name)
    bucket, key = parse_s3_uri(staging)
    session.doing("writing", "would write", f"{len(ids)} ids in {len(parts)} input files to {staging}")
    s3 = session.client("s3")
    for i, part in enumerate(parts):
        s3.put_object(Bucket=bucket, Key=f"{key}part-{i:05d}.jsonl", Body=request_lines(part, options),
                      ContentType=JSONLINES)

    raw = output.rstrip("/") + "/parts/"
    req = transform_job_request(cfg, name, used_model, staging, raw, instance_count=n_instances)
    sm.create_transform_job(**req)
    logs = log_location(cfg.aws.region, "TransformJobs", name)
    merged = output.rstrip("/") + "/" + MERGED_NAME
    status, n_errors = "InProgress", 0
    if wait:
        desc = wait_job(session, cfg, "transform", name, timeout=cfg.batch.wait_timeout,
                    detail=lambda: f"{answered(session, raw)} of {len(parts)} input files answered")
        if not is_dry(desc):
            status = str(desc.get("TransformJobStatus", status))
            n_errors = merge_outputs(session, parts, raw, merged)
        else:
            session.note(f"dry run: would merge {raw}part-*.jsonl.out into {merged}")
    return BatchResult(name, used_model, status, len(ids), len(parts), n_errors, merged, logs)


def answered(session: AwsSession, raw: str) -> int:
    """How many ``.out`` objects a job has written so far (its progress, by file)."""
    from stygig.s3io import parse_s3_uri

    bucket, prefix = parse_s3_uri(raw)
    resp = session.client("s3").list_objects_v2(Bucket=bucket, Prefix=prefix)
    return sum(1 for o in resp.get("Contents", []) if o["Key"].endswith(".out"))


def merge_outputs(session: AwsSession, parts: Sequence[Sequence[str]], raw: str, merged: str) -> int:
    """Join each input object's ids with its ``.out`` lines into one JSON Lines file keyed by id,
    uploaded to ``merged``. Returns how many lines are errors."""
    from stygig.s3io import parse_s3_uri

    n_errors = 0
    with tempfile.TemporaryDirectory(prefix="stygig-batch-") as tmp:
        path = Path(tmp) / MERGED_NAME
        with open(path, "wb") as fh:
            for i, part in enumerate(parts):
                uri = f"{raw}part-{i:05d}.jsonl.out"
                data = _read_s3(session, uri) or b""
                lines = [line for line in data.split(b"\n") if line.strip()]
                if len(lines) != len(part):
                    raise DeployError(f"{uri} has {len(lines)} answers for {len(part)} ids: the job's output is incomplete")
                for item_id, line in zip(part, lines):
                    try:
                        obj = json.loads(line)
                    except ValueError:
                        raise DeployError(f"{uri}: an answer that is not JSON for {item_id!r}") from None
                    if isinstance(obj, dict) and isinstance(obj.get("error"), dict):
                        n_errors += 1
                        fh.write(keyed_line(item_id, error=obj["error"]))
                    else:
                        fh.write(keyed_line(item_id, answer=line.strip()))
        bucket, key = parse_s3_uri(merged)
        session.upload_file(path, bucket, key)
    return n_errors
