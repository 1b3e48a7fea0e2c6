"""Call an endpoint: real-time (InvokeEndpoint) or async (S3 in, InvokeEndpointAsync, poll S3 out)."""

from __future__ import annotations

import json
import uuid
from typing import Any

from stygig.aws.archive import read_object
from stygig.aws.config import DeploymentConfig
from stygig.aws.errors import DeployError
from stygig.aws.names import log_location
from stygig.aws.session import AwsError, AwsSession, is_dry
from stygig.errors import StygigError


def _parse_response(raw: bytes, where: str) -> dict[str, Any]:
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise DeployError(f"{where} answered with something that is not JSON: {raw[:120]!r}") from None
    if not isinstance(data, dict):
        raise DeployError(f"{where} answered with JSON that is not an object")
    if isinstance(data.get("error"), dict):
        err = data["error"]
        raise StygigError(f"{where}: {err.get('message', '')} ({err.get('code', 'error')})", code=str(err.get("code", "error")))
    return data


def _model_error(e: AwsError, where: str) -> StygigError:
    """SageMaker's ModelError carries the container's status and JSON error: one line from it."""
    resp = e.response or {}
    status = int(resp.get("OriginalStatusCode") or 0)
    try:
        inner = json.loads(resp.get("OriginalMessage") or "")["error"]
        return StygigError(f"{where}: {inner['message']} (HTTP {status}, {inner['code']})", status=status or 500, code=inner["code"])
    except (ValueError, KeyError, TypeError):
        return StygigError(f"{where}: {e.message}", status=status or 502, code="model_error")


def invoke_realtime(session: AwsSession, endpoint_name: str, invocation: dict[str, Any]) -> dict[str, Any]:
    rt = session.client("sagemaker-runtime")
    try:
        resp = rt.invoke_endpoint(EndpointName=endpoint_name, **invocation)
    except AwsError as e:
        if e.aws_code == "ModelError":
            raise _model_error(e, f"endpoint {endpoint_name}") from None
        raise
    if is_dry(resp):
        return {}
    return _parse_response(resp["Body"].read(), f"endpoint {endpoint_name}")


def invoke_async(
    session: AwsSession,
    cfg: DeploymentConfig,
    endpoint_name: str,
    invocation: dict[str, Any],
    *,
    timeout: float = 900.0,
    interval: float = 5.0,
) -> dict[str, Any]:
    """Upload the request body, InvokeEndpointAsync, then poll the output (and failure) location."""
    from stygig.s3io import parse_s3_uri

    content_type = invocation.get("ContentType", "application/json")
    suffix = ".json" if content_type == "application/json" else ".bin"
    in_uri = cfg.s3_prefix_uri("async-input", f"{uuid.uuid4().hex}{suffix}")
    bucket, key = parse_s3_uri(in_uri)
    session.client("s3").put_object(Bucket=bucket, Key=key, Body=invocation["Body"], ContentType=content_type)
    extra = {"CustomAttributes": invocation["CustomAttributes"]} if invocation.get("CustomAttributes") else {}
    resp = session.client("sagemaker-runtime").invoke_endpoint_async(
        EndpointName=endpoint_name,
        InputLocation=in_uri,
        ContentType=content_type,
        Accept=invocation.get("Accept", "application/json"),
        **extra,
    )
    if is_dry(resp):
        session.note(f"dry run: would poll the output location for at most {int(timeout)} s")
        return {}
    out_uri = resp["OutputLocation"]
    fail_uri = resp.get("FailureLocation")
    session.note(f"inference {resp.get('InferenceId')}: waiting for {out_uri} (at most {int(timeout)} s)")
    start = session.clock()
    while True:
        data = read_object(session, out_uri)
        if data is not None:
            return _parse_response(data, f"async endpoint {endpoint_name}")
        if fail_uri:
            failure = read_object(session, fail_uri)
            if failure is not None:
                text = " ".join(failure.decode("utf-8", "replace").split())[:500]
                raise DeployError(f"async inference failed: {text}; logs: {log_location(cfg.aws.region, 'Endpoints', endpoint_name)}")
        elapsed = session.clock() - start
        if elapsed + interval > timeout:
            raise DeployError(f"no async result at {out_uri} after {int(elapsed)} s; it may still arrive there")
        session.sleep(interval)
