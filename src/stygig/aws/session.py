"""One way to talk to AWS: a session whose clients record every request, and can send none.

All AWS commands get their clients from :class:`AwsSession`. Each API call goes through
:class:`RecordingClient`, which

* checks the parameters against botocore's service model (the same check boto3 makes before
  sending), so a dry run prints only requests the service would accept as well-formed;
* records ``{"service", "operation", "params"}`` in :attr:`AwsSession.calls`;
* with ``dry_run=True`` prints that record as one JSON line and returns a placeholder response
  built from the operation's output shape (strings read ``<Operation.Field>``) without sending;
* turns botocore errors into :class:`AwsError`: one line naming the operation and AWS's message.

That is the whole ``--dry-run`` implementation: commands are written once and run unchanged.
Waiting (:meth:`AwsSession.wait_for`) is bounded and prints progress.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, TextIO

from stygig.errors import StygigError


class AwsError(StygigError):
    """An AWS API call that failed (one line: operation, AWS error code, AWS message)."""

    status = 502
    code = "aws_error"

    def __init__(
        self, message: str, *, operation: str = "", aws_code: str = "", http_status: int = 0, response: dict | None = None
    ):
        super().__init__(message)
        self.operation = operation
        self.aws_code = aws_code
        self.http_status = http_status
        self.response = response  # botocore's parsed error response, when there is one

    @property
    def no_such_object(self) -> bool:
        """An S3 object that is not there (HeadObject answers a bare 404; GetObject NoSuchKey)."""
        return self.http_status == 404 or self.aws_code in ("404", "NoSuchKey", "NotFound")

    @property
    def not_found(self) -> bool:
        text = self.message.lower()
        return (
            self.aws_code in ("ResourceNotFoundException", "NoSuchKey", "404", "NotFound", "NoSuchEntity")
            or "could not find" in text
            or "does not exist" in text
            or "not found" in text
        )


class DryRunResult(dict):
    """A placeholder response returned instead of sending a request in a dry run."""

    dry_run = True


def is_dry(response: Any) -> bool:
    return isinstance(response, DryRunResult)


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (bytes, bytearray)):
        return f"<{len(value)} bytes sha256:{hashlib.sha256(value).hexdigest()[:16]}>"
    if isinstance(value, (_dt.datetime, _dt.date)):
        return value.isoformat()
    if hasattr(value, "read"):
        return "<stream>"
    return value


def _skeleton(shape, operation: str, path: str = "", depth: int = 0) -> Any:
    """A placeholder value for an output shape: what a dry run "receives"."""
    if shape is None:
        return None
    t = shape.type_name
    if t == "structure":
        if depth > 3:
            return {}
        return {
            name: _skeleton(member, operation, f"{path}.{name}" if path else name, depth + 1)
            for name, member in shape.members.items()
            if member.type_name not in ("blob",) and not member.metadata.get("streaming")
        }
    if t == "list":
        return []
    if t == "map":
        return {}
    if t == "string":
        return f"<{operation}.{path}>"
    if t in ("integer", "long"):
        return 0
    if t in ("float", "double"):
        return 0.0
    if t == "boolean":
        return False
    if t == "timestamp":
        return _dt.datetime(1970, 1, 1, tzinfo=_dt.timezone.utc)
    return None


class RecordingClient:
    """Wraps a boto3 client: validate, record, then send (or, in a dry run, print and pretend)."""

    def __init__(self, session: "AwsSession", service: str, client):
        self._session = session
        self._service = service
        self._client = client

    @property
    def raw(self):
        """The underlying boto3 client (for tests; commands must go through the wrapper)."""
        return self._client

    @property
    def meta(self):
        return self._client.meta

    def __getattr__(self, name: str):
        mapping = self._client.meta.method_to_api_mapping
        if name not in mapping:
            raise AttributeError(f"{self._service} client has no operation {name!r}")
        operation = mapping[name]

        def call(**params):
            return self._session._call(self._service, self._client, name, operation, params)

        call.__name__ = name
        return call


@dataclass
class AwsSession:
    """Clients for one region; ``dry_run`` prints requests instead of sending them."""

    region: str
    dry_run: bool = False
    out: TextIO = field(default_factory=lambda: sys.stdout)
    progress: TextIO | None = field(default_factory=lambda: sys.stderr)
    #: every request made (or, in a dry run, that would have been made), in order
    calls: list[dict[str, Any]] = field(default_factory=list)
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic
    #: wall-clock time, for the timestamps in resource names
    now: Callable[[], _dt.datetime] = lambda: _dt.datetime.now(_dt.timezone.utc)
    _clients: dict[str, Any] = field(default_factory=dict, repr=False)
    _boto: Any = field(default=None, repr=False)

    def _boto_session(self):
        if self._boto is None:
            import boto3

            self._boto = boto3.session.Session(region_name=self.region)
        return self._boto

    def raw_client(self, service: str):
        client = self._clients.get(service)
        if client is None:
            from botocore.config import Config

            cfg = Config(connect_timeout=10, read_timeout=70, retries={"max_attempts": 5, "mode": "standard"})
            client = self._boto_session().client(service, region_name=self.region, config=cfg)
            self._clients[service] = client
        return client

    def client(self, service: str) -> RecordingClient:
        return RecordingClient(self, service, self.raw_client(service))

    def note(self, message: str) -> None:
        """A progress line (stderr), e.g. what a dry run skips."""
        if self.progress is not None:
            print(message, file=self.progress, flush=True)

    def doing(self, doing: str, would: str, rest: str) -> None:
        """A progress line for a step: ``uploading X ...``, or in a dry run ``dry run: would upload X``."""
        self.note(f"dry run: {would} {rest}" if self.dry_run else f"{doing} {rest} ...")

    # ---- the one place requests are sent ------------------------------------------------------
    def _call(self, service: str, client, method: str, operation: str, params: dict[str, Any]):
        from botocore.exceptions import BotoCoreError, ClientError, ParamValidationError
        from botocore.validate import validate_parameters

        op_model = client.meta.service_model.operation_model(operation)
        try:
            validate_parameters(params, op_model.input_shape)
        except ParamValidationError as e:
            detail = " ".join(str(e).split())
            raise AwsError(f"{operation}: invalid request: {detail}", operation=operation) from None
        record = {"service": service, "operation": operation, "params": _jsonable(params)}
        self.calls.append(record)
        if self.dry_run:
            print(json.dumps(record, sort_keys=False), file=self.out, flush=True)
            return DryRunResult(_skeleton(op_model.output_shape, operation) or {})
        try:
            return getattr(client, method)(**params)
        except ClientError as e:
            err = e.response.get("Error", {})
            code = str(err.get("Code", "")) or "Error"
            msg = " ".join(str(err.get("Message", "") or e).split())
            status = int(e.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
            raise AwsError(
                f"{operation} failed: {code}: {msg}", operation=operation, aws_code=code, http_status=status, response=e.response
            ) from None
        except BotoCoreError as e:
            raise AwsError(f"{operation} failed: {' '.join(str(e).split())}", operation=operation) from None

    def upload_file(self, path: str | Path, bucket: str, key: str) -> str:
        """Upload a local file (PutObject, multipart when large); recorded like any other request."""
        path = Path(path)
        size = path.stat().st_size
        h = hashlib.sha256()
        with open(path, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                h.update(chunk)
        digest = h.hexdigest()
        record = {
            "service": "s3",
            "operation": "PutObject",
            "params": {"Bucket": bucket, "Key": key, "Body": f"<file {path.name}, {size} bytes, sha256:{digest[:16]}>"},
        }
        self.calls.append(record)
        uri = f"s3://{bucket}/{key}"
        if self.dry_run:
            print(json.dumps(record), file=self.out, flush=True)
            return uri
        from boto3.s3.transfer import TransferConfig
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self.raw_client("s3").upload_file(str(path), bucket, key, Config=TransferConfig(multipart_threshold=64 << 20))
        except (ClientError, BotoCoreError) as e:
            raise AwsError(f"upload of {path.name} to {uri} failed: {' '.join(str(e).split())}", operation="PutObject") from None
        except Exception as e:  # S3UploadFailedError wraps ClientError
            raise AwsError(f"upload of {path.name} to {uri} failed: {' '.join(str(e).split())}", operation="PutObject") from None
        return uri

    # ---- bounded waiting -----------------------------------------------------------------------
    def wait_for(
        self,
        what: str,
        describe: Callable[[], dict[str, Any]],
        *,
        status_key: str,
        done: set[str],
        failed: set[str],
        timeout: float,
        interval: float = 15.0,
        on_failed: Callable[[dict[str, Any]], str] | None = None,
        detail: Callable[[], str] | None = None,
    ) -> dict[str, Any]:
        """Poll ``describe()`` until ``status_key`` is in ``done``; at most ``timeout`` seconds.

        Prints one progress line per status change (and one a minute while it stays the same),
        ending with ``detail()`` when given (e.g. how much of a job's output exists).
        A status in ``failed`` raises :class:`AwsError` with ``on_failed(response)`` as message;
        running out of time raises one naming the last status. In a dry run: one describe, no wait.
        """
        start = self.clock()
        last_status, last_print = None, -1e9
        while True:
            resp = describe()
            if is_dry(resp):
                self.note(f"dry run: would wait up to {int(timeout)} s for {what} to reach {'/'.join(sorted(done))}")
                return resp
            status = resp.get(status_key)
            elapsed = self.clock() - start
            if status != last_status or elapsed - last_print >= 60:
                more = f", {detail()}" if detail is not None and status not in done else ""
                self.note(f"  {what}: {status} ({int(elapsed)} s{more})")
                last_status, last_print = status, elapsed
            if status in done:
                return resp
            if status in failed:
                raise AwsError(on_failed(resp) if on_failed else f"{what} is {status}", aws_code=str(status))
            if elapsed + interval > timeout:
                raise AwsError(
                    f"{what} still {status} after {int(elapsed)} s (limit {int(timeout)} s); "
                    "it continues in AWS - check again with `stygig aws doctor`",
                    aws_code="Timeout",
                )
            self.sleep(interval)
