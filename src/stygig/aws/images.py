"""``stygig aws push-image``: build the StyGig server image (``Dockerfile``) and push it to ECR.

The repository is created when missing; docker logs in with a token from
GetAuthorizationToken. The docker steps are printed (and in a dry run only printed), so they can
be run by hand where this machine has no docker.
"""

from __future__ import annotations

import base64
import shutil
import subprocess
from pathlib import Path

from stygig.aws.config import STYGIG_REPOSITORY, DeploymentConfig, resolve_image
from stygig.aws.session import AwsError, AwsSession, is_dry
from stygig.errors import StygigError


def docker_steps(image_uri: str, context: str | Path) -> list[list[str]]:
    registry = image_uri.split("/", 1)[0]
    return [
        ["docker", "build", "--platform", "linux/amd64", "-t", image_uri, str(context)],
        ["docker", "login", "--username", "AWS", "--password-stdin", registry],
        ["docker", "push", image_uri],
    ]


def ensure_repository(session: AwsSession, name: str = STYGIG_REPOSITORY) -> None:
    ecr = session.client("ecr")
    try:
        resp = ecr.describe_repositories(repositoryNames=[name])
        if is_dry(resp):
            ecr.create_repository(repositoryName=name, imageScanningConfiguration={"scanOnPush": True})
    except AwsError as e:
        if e.aws_code != "RepositoryNotFoundException":
            raise
        ecr.create_repository(repositoryName=name, imageScanningConfiguration={"scanOnPush": True})


def push_image(session: AwsSession, cfg: DeploymentConfig, *, context: str | Path = ".") -> str:
    if cfg.account_id is None:
        raise StygigError("push-image needs aws.role_arn (its account hosts the image)")
    uri = resolve_image("stygig", cfg.aws.region, cfg.endpoint.framework_version, cfg.endpoint.instance_type, cfg.account_id)
    if not session.dry_run and not (Path(context) / "Dockerfile").is_file():
        raise StygigError(f"no Dockerfile in {context}: run from the repository root or pass --context")
    ensure_repository(session)
    token = session.client("ecr").get_authorization_token()
    steps = docker_steps(uri, context)
    for step in steps:
        session.note("$ " + " ".join(step))
    if session.dry_run:
        return uri
    docker = shutil.which("docker")
    if docker is None:
        raise StygigError("docker not found on PATH: run the printed docker steps on a machine that has it")
    password = base64.b64decode(token["authorizationData"][0]["authorizationToken"]).decode().split(":", 1)[1]
    for step in steps:
        stdin = password if step[1] == "login" else None
        proc = subprocess.run(step, input=stdin, text=True, check=False)
        if proc.returncode != 0:
            raise StygigError(f"`{' '.join(step[:2])}` failed with exit status {proc.returncode}")
    return uri
