"""The model archive on S3: package and upload (content-addressed), check a given URI, read its first item."""

from __future__ import annotations

import hashlib
import io
import tarfile
import tempfile
from pathlib import Path

from stygig.aws.config import ConfigError, DeploymentConfig
from stygig.aws.errors import DeployError
from stygig.aws.package import package_artifact
from stygig.aws.session import AwsError, AwsSession, is_dry
from stygig.errors import StygigError

#: the item ids of an artifact (sorted, fixed-width UTF-8), relative to its root
ITEM_IDS = "items/ids.npy"


def sha256_of(path: Path) -> str:
    """sha256 of a file, streamed (hashlib.file_digest, Python 3.11+)."""
    with open(path, "rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def upload_model(session: AwsSession, cfg: DeploymentConfig, artifact: str | Path) -> str:
    """Package (if a directory) and upload; content-addressed key, skipped when already there."""
    from stygig.s3io import parse_s3_uri

    artifact = Path(artifact)
    if not artifact.exists():
        raise StygigError(f"artifact not found: {artifact}")
    with tempfile.TemporaryDirectory(prefix="stygig-package-") as tmp:
        if artifact.is_dir():
            session.note(f"packaging {artifact} ...")  # done here, in a dry run too
            archive = package_artifact(artifact, Path(tmp) / "model.tar.gz", python=cfg.dlc_python(), notes=session.note,
                                       require_vendored=cfg.endpoint.network_isolation)
        elif artifact.name.endswith(".tar.gz"):
            archive = artifact
        else:
            raise StygigError(f"{artifact} is neither an artifact directory nor a model.tar.gz")
        digest = sha256_of(archive)
        uri = cfg.s3_prefix_uri("models", digest[:16], "model.tar.gz")
        bucket, key = parse_s3_uri(uri)
        if object_exists(session, bucket, key):
            session.note(f"model archive already uploaded: {uri}")
            return uri
        session.doing("uploading", "would upload", f"{archive.stat().st_size / 1e6:.1f} MB to {uri}")
        return session.upload_file(archive, bucket, key)


def object_exists(session: AwsSession, bucket: str, key: str) -> bool:
    try:
        resp = session.client("s3").head_object(Bucket=bucket, Key=key)
    except AwsError as e:
        if e.no_such_object:
            return False
        raise
    return not is_dry(resp)


def read_object(session: AwsSession, uri: str) -> bytes | None:
    """An S3 object's bytes; None if it is not there (or in a dry run)."""
    from stygig.s3io import parse_s3_uri

    bucket, key = parse_s3_uri(uri)
    try:
        resp = session.client("s3").get_object(Bucket=bucket, Key=key)
    except AwsError as e:
        if e.no_such_object:
            return None
        raise
    if is_dry(resp):
        return None
    return resp["Body"].read()


def check_model_uri(session: AwsSession, model_uri: str) -> str:
    from stygig.s3io import parse_s3_uri

    bucket, key = parse_s3_uri(model_uri)
    if not key.endswith(".tar.gz"):
        raise ConfigError(f"--model-uri must point to a model.tar.gz, got {model_uri}")
    try:
        resp = session.client("s3").head_object(Bucket=bucket, Key=key)
    except AwsError as e:
        if e.no_such_object:
            raise DeployError(f"model archive not found: {model_uri}") from None
        raise
    del resp
    return model_uri


def resolve_model(session: AwsSession, cfg: DeploymentConfig, artifact: str | Path | None, model_uri: str | None) -> str:
    if (artifact is None) == (model_uri is None):
        raise ConfigError("give exactly one of ARTIFACT or --model-uri")
    if model_uri is not None:
        return check_model_uri(session, model_uri)
    return upload_model(session, cfg, artifact)


def item_ids(session: AwsSession, model_uri: str, *, max_members: int = 100_000) -> list[str] | None:
    """Every item id (sorted) of a model archive on S3, streamed: reads up to :data:`ITEM_IDS`.
    None in a dry run."""
    import numpy as np

    from stygig.s3io import parse_s3_uri

    bucket, key = parse_s3_uri(model_uri)
    resp = session.client("s3").get_object(Bucket=bucket, Key=key)
    if is_dry(resp):
        return None
    with tarfile.open(fileobj=resp["Body"], mode="r|gz") as tf:
        for n, member in enumerate(tf):
            if n >= max_members:
                break
            if member.name.removeprefix("./") == ITEM_IDS and member.isfile() and member.size < (256 << 20):
                fh = tf.extractfile(member)
                ids = np.load(io.BytesIO(fh.read()), allow_pickle=False) if fh is not None else []
                return [i.decode("utf-8") if isinstance(i, bytes) else str(i) for i in ids]
    raise DeployError(f"{model_uri} has no {ITEM_IDS}: is it a StyGig model archive?")


def first_item_id(session: AwsSession, model_uri: str) -> str | None:
    """The first item id of a model archive (the pipeline's sample query)."""
    ids = item_ids(session, model_uri)
    if ids is None:
        return None
    if not ids:
        raise DeployError(f"{model_uri} has no items")
    return ids[0]
