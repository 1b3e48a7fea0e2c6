"""One recommendation through boto3's ``sagemaker-runtime`` client.

The same call reaches a local server (``--url``, or ``AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME``) and a
SageMaker endpoint (``--endpoint-name``): what works here works on AWS. Against a local URL the
client signs with throw-away credentials, so real ones are never needed (nor sent).

Pictures go as raw bytes with the options in ``CustomAttributes`` (no base64 inflation against the
6 MB limit); text and item queries go as JSON. Errors come back as SageMaker reports them
(``ModelError`` with the server's JSON error inside) and are turned into one readable line.
"""

from __future__ import annotations

import base64
import ipaddress
import json
import os
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

from stygig.errors import StygigError
from stygig.serving.config import DEFAULT_MAX_REQUEST_BYTES

LOCAL_ENDPOINT_NAME = "stygig-local"
LOCAL_CREDENTIALS = {"aws_access_key_id": "stygig-local", "aws_secret_access_key": "stygig-local"}
MAX_CUSTOM_ATTRIBUTES = 1024


def _is_local(url: str) -> bool:
    host = (urlsplit(url).hostname or "").lower()
    if host in ("localhost",) or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise StygigError(f"--url must be an http(s) URL such as http://127.0.0.1:8080, got {url!r}")
    return url.rstrip("/")


def runtime_client(url: str | None = None, *, region: str | None = None, timeout_s: float = 70.0):
    """A ``sagemaker-runtime`` client: for ``url`` (a local server) or for AWS (environment, profile)."""
    import boto3
    from botocore.config import Config

    config = Config(
        connect_timeout=5,
        read_timeout=timeout_s,
        retries={"max_attempts": 4, "mode": "standard"},  # 503 while a server is still loading
    )
    env_url = os.environ.get("AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME") or os.environ.get("AWS_ENDPOINT_URL")
    target = url or env_url
    region = region or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
    kwargs: dict[str, Any] = {"config": config}
    if url:
        kwargs["endpoint_url"] = check_url(url)
    if target and _is_local(target):
        kwargs.update(LOCAL_CREDENTIALS)
        region = region or "us-east-1"
    session = boto3.session.Session()
    region = region or session.region_name
    if not region:
        raise StygigError("no AWS region: pass --region or set AWS_REGION")
    return session.client("sagemaker-runtime", region_name=region, **kwargs)


def sniff_image_type(data: bytes) -> str:
    if data[:3] == b"\xff\xd8\xff":
        return "image/jpeg"
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return "image/png"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return "application/x-image"


def _custom_attributes(options: dict[str, Any], include_thumbnails: bool) -> str | None:
    pairs: list[tuple[str, str]] = []
    for key, value in options.items():
        if key == "exclude_ids":
            value = ",".join(value)
        elif key == "filters" and isinstance(value, (list, tuple)):  # text expressions: one filter= each
            pairs.extend(("filter", str(v)) for v in value)
            continue
        elif key == "boost":  # one boost= each: NAME:WEIGHT from an object, text (NAME=WEIGHT) as given
            if isinstance(value, dict):
                pairs.extend(("boost", f"{name}:{weight}") for name, weight in value.items())
            else:
                pairs.extend(("boost", str(v)) for v in (value if isinstance(value, (list, tuple)) else [value]))
            continue
        pairs.append((key, str(value)))
    if include_thumbnails:
        pairs.append(("include_thumbnails", "true"))
    if not pairs:
        return None
    text = urlencode(pairs)
    if len(text) > MAX_CUSTOM_ATTRIBUTES:
        raise StygigError(
            f"options for a picture query take {len(text)} characters; InvokeEndpoint's CustomAttributes "
            f"allow {MAX_CUSTOM_ATTRIBUTES} (exclude fewer ids)"
        )
    return text


def build_invocation(
    *,
    image: str | Path | None = None,
    text: str | None = None,
    item: str | None = None,
    options: dict[str, Any] | None = None,
    include_thumbnails: bool = False,
    picture_as_json: bool = False,
) -> dict[str, Any]:
    """The keyword arguments of ``invoke_endpoint`` (minus EndpointName) for one query.

    Text and item queries go as JSON, a picture as raw bytes with its options in
    CustomAttributes. With ``picture_as_json`` (SageMaker endpoints), a picture *with options*
    goes as JSON ``{"image": <base64>, ...options}`` - the V4 request - because the DLC's toolkit
    does not pass per-request CustomAttributes to the handler, and options must never be dropped
    silently; and an ``s3://`` picture goes as ``{"image_s3_uri": ...}``.
    """
    given = [x for x in (image, text, item) if x is not None]
    if len(given) != 1:
        raise StygigError("give exactly one of IMAGE, --text or --item")
    options = dict(options or {})
    kwargs: dict[str, Any] = {"Accept": "application/json"}
    on_s3 = image is not None and str(image).startswith("s3://")
    if image is not None and not (picture_as_json and (on_s3 or options or include_thumbnails)):
        data = _read_picture(image)
        if len(data) > DEFAULT_MAX_REQUEST_BYTES:
            raise StygigError(
                f"{image} is {len(data)} bytes; an InvokeEndpoint request carries at most {DEFAULT_MAX_REQUEST_BYTES}"
            )
        kwargs.update(Body=data, ContentType=sniff_image_type(data))
        attrs = _custom_attributes(options, include_thumbnails)
        if attrs:
            kwargs["CustomAttributes"] = attrs
        return kwargs
    if image is None:
        body: dict[str, Any] = {"text": text} if text is not None else {"item_id": item}
    elif on_s3:
        body = {"image_s3_uri": str(image)}
    else:
        body = {"image": base64.b64encode(_read_picture(image)).decode("ascii")}
    body.update(options)
    if include_thumbnails:
        body["include_thumbnails"] = True
    raw = json.dumps(body).encode("utf-8")
    if image is not None and len(raw) > 6 * 1024 * 1024:
        raise StygigError(f"{image} makes a {len(raw)}-byte request; a real-time endpoint takes at most 6 MB (use --async)")
    kwargs.update(Body=raw, ContentType="application/json")
    return kwargs


def _read_picture(image: str | Path) -> bytes:
    try:
        return Path(image).read_bytes()
    except OSError as e:
        raise StygigError(f"cannot read {image}: {e.strerror or e}") from None


def _translate_client_error(e: Exception, target: str) -> StygigError:
    from botocore.exceptions import BotoCoreError, ClientError, EndpointConnectionError, NoCredentialsError

    if isinstance(e, ClientError):
        err = e.response.get("Error", {})
        code = err.get("Code", "")
        if code == "ModelError":
            status = int(e.response.get("OriginalStatusCode") or 0)
            try:
                inner = json.loads(e.response.get("OriginalMessage") or "")["error"]
                return StygigError(f"{inner['message']} (HTTP {status}, {inner['code']})", status=status or 500, code=inner["code"])
            except (ValueError, KeyError, TypeError):
                return StygigError(err.get("Message") or str(e), status=status or 500, code="model_error")
        if code == "ServiceUnavailable":
            return StygigError(f"{target} is not ready yet: {err.get('Message', 'service unavailable')}", status=503, code="not_ready")
        return StygigError(f"{target}: {code}: {err.get('Message', str(e))}", code=code or "client_error")
    if isinstance(e, EndpointConnectionError):
        return StygigError(f"cannot reach {target}: is the server running?", status=502, code="unreachable")
    if isinstance(e, NoCredentialsError):
        return StygigError("no AWS credentials found (configure a profile, or use --url for a local server)", code="no_credentials")
    if isinstance(e, BotoCoreError):
        return StygigError(f"{target}: {e}", status=502, code="client_error")
    raise e


def naming_picture(error: StygigError, image: str | Path | None) -> StygigError:
    """A server's ``invalid_image`` answer to a picture sent from a file, naming the file (as
    decoding it here would): ``t.jpg: not an image (unrecognised format) (HTTP 422, invalid_image)``."""
    if image is None or error.code != "invalid_image":
        return error
    return StygigError(f"{image}: {error.message}", code=error.code, status=error.status)


def invoke(client, endpoint_name: str, **query) -> dict[str, Any]:
    """Send one query; return the decoded JSON response. Raises StygigError with one line."""
    kwargs = build_invocation(**query)
    target = getattr(client.meta, "endpoint_url", endpoint_name)
    try:
        response = client.invoke_endpoint(EndpointName=endpoint_name, **kwargs)
        body = response["Body"].read()
    except Exception as e:  # noqa: BLE001 - translated to one line
        raise naming_picture(_translate_client_error(e, target), query.get("image")) from None
    try:
        return json.loads(body)
    except ValueError:
        raise StygigError(f"{target} answered with something that is not JSON ({len(body)} bytes)", code="bad_response") from None
