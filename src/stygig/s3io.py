"""Shared S3 helpers: the one place StyGig reads and writes ``s3://`` objects.

Used by catalog ingestion (``s3://`` manifests and images in ``build``), by the server
(``image_s3_uri`` requests, restricted to the allowed buckets) and by the AWS tooling (model
archives, training shards, async inputs and outputs).

boto3 is imported lazily, so importing this module costs nothing on paths that never touch S3.
Clients honour the standard environment (credentials chain, ``AWS_REGION`` /
``AWS_DEFAULT_REGION``, ``AWS_ENDPOINT_URL`` / ``AWS_ENDPOINT_URL_S3``), which is how the tests
point them at a local moto server.

Every failure a user can cause is a :class:`~stygig.errors.StygigError` with one line and a
status: 422 for a malformed URI, a bucket outside the allow-list, a missing or unreadable object,
or one over the size limit; 502 when S3 itself cannot be reached.
"""

from __future__ import annotations

import os
import re
import threading
from pathlib import Path, PurePosixPath
from typing import Any, Iterator

from stygig import settings
from stygig.errors import InvalidInput, StygigError

ALLOWED_BUCKETS_ENV = settings.ALLOWED_S3_BUCKETS.name

# https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html (general purpose)
_BUCKET_RE = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_IP_RE = re.compile(r"^\d+\.\d+\.\d+\.\d+$")


class S3AccessError(InvalidInput):
    """An object that does not exist, or that our credentials may not read (HTTP 422)."""

    code = "s3_error"


class S3BucketNotAllowed(InvalidInput):
    code = "s3_bucket_not_allowed"


class S3ObjectTooLarge(InvalidInput):
    code = "s3_object_too_large"


class S3Unavailable(StygigError):
    """S3 could not be reached or answered with a server error (HTTP 502)."""

    status = 502
    code = "s3_unavailable"


def is_valid_bucket_name(name: str) -> bool:
    return bool(_BUCKET_RE.match(name)) and ".." not in name and not _IP_RE.match(name)


def parse_s3_uri(uri: str) -> tuple[str, str]:
    """``s3://bucket/key/parts`` -> ``("bucket", "key/parts")``; the key may be empty (a bucket root).

    Raises :class:`InvalidInput` (422) naming what is wrong with a malformed URI.
    """
    if not isinstance(uri, str) or not uri.startswith("s3://"):
        raise InvalidInput(f"not an s3:// URI: {str(uri)[:200]!r}", code="invalid_s3_uri")
    rest = uri[5:]
    bucket, _, key = rest.partition("/")
    if not bucket:
        raise InvalidInput(f"s3 URI has no bucket: {uri[:200]!r}", code="invalid_s3_uri")
    if not is_valid_bucket_name(bucket):
        raise InvalidInput(f"s3 URI has an invalid bucket name {bucket[:80]!r}", code="invalid_s3_uri")
    if len(key.encode("utf-8")) > 1024:
        raise InvalidInput(f"s3 key longer than 1024 bytes in {uri[:80]!r}...", code="invalid_s3_uri")
    if any(ord(c) < 32 for c in key):
        raise InvalidInput(f"s3 key contains control characters: {uri[:200]!r}", code="invalid_s3_uri")
    return bucket, key


def s3_uri(bucket: str, key: str = "") -> str:
    return f"s3://{bucket}/{key}"


def allowed_buckets_from_env(environ: dict[str, str] | None = None) -> set[str]:
    """The buckets ``image_s3_uri`` requests may read, from ``STYGIG_ALLOWED_S3_BUCKETS``.

    Comma-separated bucket names; unset or empty means none (every S3 request is refused).
    """
    names = set(settings.ALLOWED_S3_BUCKETS.read(environ))
    bad = sorted(n for n in names if not is_valid_bucket_name(n))
    if bad:
        raise StygigError(f"{ALLOWED_BUCKETS_ENV} holds invalid bucket names: {', '.join(bad)}", status=500, code="config_error")
    return names


# ---- clients ------------------------------------------------------------------------------------
_clients: dict[tuple, Any] = {}
_clients_lock = threading.Lock()


def _env_key() -> tuple:
    e = os.environ
    return tuple(
        e.get(k)
        for k in (
            "AWS_ENDPOINT_URL",
            "AWS_ENDPOINT_URL_S3",
            "AWS_REGION",
            "AWS_DEFAULT_REGION",
            "AWS_ACCESS_KEY_ID",
            "AWS_PROFILE",
        )
    )


def s3_client():
    """A shared boto3 S3 client (thread-safe; recreated when the AWS environment changes).

    Bounded timeouts and standard retries: a request never hangs a worker for long.
    """
    key = _env_key()
    client = _clients.get(key)
    if client is None:
        with _clients_lock:
            client = _clients.get(key)
            if client is None:
                import boto3
                from botocore.config import Config

                cfg = Config(
                    connect_timeout=5,
                    read_timeout=30,
                    retries={"max_attempts": 3, "mode": "standard"},
                    max_pool_connections=32,
                )
                region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
                client = boto3.session.Session().client("s3", region_name=region, config=cfg)
                _clients[key] = client
    return client


def _translate(e: Exception, uri: str) -> StygigError:
    """A botocore exception -> one-line StygigError with the right status."""
    from botocore.exceptions import BotoCoreError, ClientError

    if isinstance(e, ClientError):
        err = e.response.get("Error", {})
        code = str(err.get("Code", ""))
        status = int(e.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
        if code in ("NoSuchKey", "404", "NotFound"):
            return S3AccessError(f"{uri}: no such object")
        if code == "NoSuchBucket":
            return S3AccessError(f"{uri}: no such bucket")
        if code in ("AccessDenied", "403", "Forbidden", "AllAccessDisabled", "InvalidObjectState"):
            return S3AccessError(f"{uri}: access denied")
        if status >= 500 or code in ("SlowDown", "ServiceUnavailable", "InternalError"):
            return S3Unavailable(f"{uri}: S3 error {code or status}")
        return S3AccessError(f"{uri}: S3 refused the request ({code or status})")
    if isinstance(e, BotoCoreError):
        # NoCredentialsError, EndpointConnectionError, ReadTimeoutError, ...
        return S3Unavailable(f"{uri}: cannot reach S3 ({type(e).__name__})")
    return S3Unavailable(f"{uri}: {type(e).__name__}: {e}")


def _check_allowed(bucket: str, uri: str, allowed_buckets: set[str] | frozenset[str] | None) -> None:
    if allowed_buckets is not None and bucket not in allowed_buckets:
        if not allowed_buckets:
            raise S3BucketNotAllowed(f"{uri}: S3 reads are disabled here (set {ALLOWED_BUCKETS_ENV} to allow buckets)")
        raise S3BucketNotAllowed(f"{uri}: bucket {bucket!r} is not in the allowed buckets")


# ---- reading ------------------------------------------------------------------------------------
def read_s3_bytes(uri: str, *, allowed_buckets: set[str] | frozenset[str] | None, max_bytes: int) -> bytes:
    """The bytes of one object, at most ``max_bytes``.

    ``allowed_buckets=None`` reads any bucket the credentials can (trusted callers: ``build``);
    a set restricts reads to those buckets (an empty set refuses everything: the server's default).
    """
    bucket, key = parse_s3_uri(uri)
    if not key or key.endswith("/"):
        raise InvalidInput(f"s3 URI names no object: {uri[:200]!r}", code="invalid_s3_uri")
    _check_allowed(bucket, uri, allowed_buckets)
    client = s3_client()
    try:
        resp = client.get_object(Bucket=bucket, Key=key)
    except Exception as e:  # noqa: BLE001 - translated to one line
        raise _translate(e, uri) from e
    body = resp["Body"]
    try:
        length = resp.get("ContentLength")
        if length is not None and int(length) > max_bytes:
            raise S3ObjectTooLarge(f"{uri}: object is {int(length)} bytes, over the {max_bytes}-byte limit")
        data = body.read(max_bytes + 1)
        if len(data) > max_bytes:
            raise S3ObjectTooLarge(f"{uri}: object is over the {max_bytes}-byte limit")
        return data
    except StygigError:
        raise
    except Exception as e:  # noqa: BLE001
        raise _translate(e, uri) from e
    finally:
        body.close()


def head_s3(uri: str, *, allowed_buckets: set[str] | frozenset[str] | None) -> dict[str, Any]:
    """HeadObject of one object (``ETag``, ``LastModified``, ``ContentLength``), within the allow-list."""
    bucket, key = parse_s3_uri(uri)
    if not key or key.endswith("/"):
        raise InvalidInput(f"s3 URI names no object: {uri[:200]!r}", code="invalid_s3_uri")
    _check_allowed(bucket, uri, allowed_buckets)
    try:
        return s3_client().head_object(Bucket=bucket, Key=key)
    except Exception as e:  # noqa: BLE001 - translated to one line
        raise _translate(e, uri) from e


def exists(uri: str) -> bool:
    """Whether the object exists (HeadObject). Access problems other than 404 raise."""
    bucket, key = parse_s3_uri(uri)
    try:
        s3_client().head_object(Bucket=bucket, Key=key)
        return True
    except Exception as e:  # noqa: BLE001
        err = _translate(e, uri)
        if "no such object" in err.message:
            return False
        raise err from e


def iter_s3(prefix_uri: str, *, limit: int | None = None) -> Iterator[tuple[str, int]]:
    """``(uri, size)`` of every object under a prefix, in key order (S3 lists keys sorted)."""
    bucket, prefix = parse_s3_uri(prefix_uri)
    paginator = s3_client().get_paginator("list_objects_v2")
    n = 0
    try:
        for page in paginator.paginate(Bucket=bucket, Prefix=prefix):
            for obj in page.get("Contents", []):
                yield s3_uri(bucket, obj["Key"]), int(obj.get("Size", 0))
                n += 1
                if limit is not None and n >= limit:
                    return
    except StygigError:
        raise
    except Exception as e:  # noqa: BLE001
        raise _translate(e, prefix_uri) from e


def list_s3(prefix_uri: str, *, limit: int | None = None) -> list[str]:
    """The URIs of every object under ``prefix_uri`` (sorted by key)."""
    return [uri for uri, _ in iter_s3(prefix_uri, limit=limit)]


def _safe_relative(key: str, prefix: str) -> PurePosixPath:
    rel = key[len(prefix):].lstrip("/") if prefix else key
    p = PurePosixPath(rel)
    if not rel or p.is_absolute() or any(part in ("..", "") for part in rel.split("/")):
        raise InvalidInput(f"s3 key {key!r} would escape the download folder", code="invalid_s3_uri")
    return p


def download_prefix(uri: str, local_dir: str | Path, *, max_bytes: int | None = None) -> list[Path]:
    """Download every object under ``uri`` into ``local_dir`` keeping the relative key layout.

    Keys that would land outside ``local_dir`` (``..``, absolute, empty parts) are refused;
    "folder marker" keys ending in ``/`` are skipped. ``max_bytes`` bounds the total size.
    Returns the written paths in key order.
    """
    bucket, prefix = parse_s3_uri(uri)
    if prefix and not prefix.endswith("/"):
        prefix += "/"
    local_dir = Path(local_dir)
    local_dir.mkdir(parents=True, exist_ok=True)
    client = s3_client()
    written: list[Path] = []
    total = 0
    for obj_uri, size in iter_s3(s3_uri(bucket, prefix)):
        key = parse_s3_uri(obj_uri)[1]
        if key.endswith("/"):
            continue
        rel = _safe_relative(key, prefix)
        total += size
        if max_bytes is not None and total > max_bytes:
            raise S3ObjectTooLarge(f"{uri}: objects total over the {max_bytes}-byte limit")
        dest = local_dir.joinpath(*rel.parts)
        dest.parent.mkdir(parents=True, exist_ok=True)
        try:
            client.download_file(bucket, key, str(dest))
        except Exception as e:  # noqa: BLE001
            raise _translate(e, obj_uri) from e
        written.append(dest)
    return written


def download_file(uri: str, path: str | Path) -> Path:
    """Download one object to ``path`` (multipart-parallel for large objects)."""
    bucket, key = parse_s3_uri(uri)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        s3_client().download_file(bucket, key, str(path))
    except Exception as e:  # noqa: BLE001
        raise _translate(e, uri) from e
    return path


# ---- writing ------------------------------------------------------------------------------------
def write_s3_bytes(uri: str, data: bytes, *, content_type: str | None = None) -> str:
    bucket, key = parse_s3_uri(uri)
    if not key or key.endswith("/"):
        raise InvalidInput(f"s3 URI names no object: {uri[:200]!r}", code="invalid_s3_uri")
    extra = {"ContentType": content_type} if content_type else {}
    try:
        s3_client().put_object(Bucket=bucket, Key=key, Body=data, **extra)
    except Exception as e:  # noqa: BLE001
        raise _translate(e, uri) from e
    return uri


def upload_file(path: str | Path, uri: str) -> str:
    """Upload one local file (multipart for large files, via boto3's transfer manager)."""
    bucket, key = parse_s3_uri(uri)
    if not key or key.endswith("/"):
        raise InvalidInput(f"s3 URI names no object: {uri[:200]!r}", code="invalid_s3_uri")
    try:
        s3_client().upload_file(str(path), bucket, key)
    except Exception as e:  # noqa: BLE001
        raise _translate(e, uri) from e
    return uri


def upload_dir(local_dir: str | Path, uri: str) -> list[str]:
    """Upload every file under ``local_dir`` to ``uri`` + relative path (sorted; returns URIs)."""
    bucket, prefix = parse_s3_uri(uri)
    if prefix and not prefix.endswith("/"):
        prefix += "/"
    local_dir = Path(local_dir)
    out = []
    for p in sorted(local_dir.rglob("*")):
        if p.is_file():
            out.append(upload_file(p, s3_uri(bucket, prefix + p.relative_to(local_dir).as_posix())))
    return out
