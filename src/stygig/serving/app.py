"""The HTTP app: SageMaker's hosting contract plus the SageMaker Runtime API, on one port.

Routes:

* ``GET /ping`` — 200 once the model is loaded and warmed up; 503 while loading or after a fatal
  load error. Never waits on the model or on a busy recommendation. Every other route, reaching
  a worker that is still loading, waits for its model (within the timeout) instead of refusing.
* ``POST /invocations`` — the container contract (what SageMaker forwards InvokeEndpoint to).
* ``POST /endpoints/{name}/invocations`` — InvokeEndpoint's own wire format, so boto3's
  ``sagemaker-runtime`` client (and the SageMaker SDK) work against a local server unchanged.
  Errors come back as SageMaker's do: ``ModelError`` (424) with ``OriginalStatusCode`` and
  ``OriginalMessage`` (our JSON error), or ``ServiceUnavailable`` (503) after a failed load or when overloaded.
* ``GET /items``, ``GET /items/{item_id}/thumbnail`` (read-only, never outside the artifact),
  ``GET /model`` — for clients that draw the outfit and for the web page.
* ``GET /openapi.json`` — generated from the schema types in :mod:`stygig.serving.codec`.

Every response carries ``X-Request-Id``; every request is logged as one JSON line; every error is
``{"error": {"code", "message", "request_id"}}`` with the status from the error's type.
"""

from __future__ import annotations

import asyncio
import functools
import importlib
import inspect
import json
import logging
import os
import re
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, Callable, Literal

from fastapi import FastAPI, Path, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, Response
from pydantic import BaseModel, Field
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException as StarletteHTTPException

from stygig import __version__, schema, settings
from stygig.errors import StygigError
from stygig.serving import catalog, codec, logs
from stygig.serving.config import ServingConfig
from stygig.serving.drain import DrainUnreadBody
from stygig.serving.errors import (
    BadRequest,
    InferenceTimeout,
    ModelNotReady,
    NotFound,
    Overloaded,
    PayloadTooLarge,
    RequestTimeout,
    error_body,
    internal_error_message,
)
from stygig.serving.state import FAILED, ModelState
from stygig.serving.transformer import handle, thumbnail_url
from stygig.taxonomy import GENDERS

CUSTOM_ATTRIBUTES = "X-Amzn-SageMaker-Custom-Attributes"
INVOKED_VARIANT = "x-Amzn-Invoked-Production-Variant"
LOCAL_VARIANT = "AllTraffic"
#: botocore's EndpointName pattern and length
_ENDPOINT_NAME = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
MAX_S3_IMAGE_BYTES = 20 * 1024 * 1024
#: where a worker that cannot load the model writes why, for `serve` to print
FAILURE_FILE_ENV = settings.FAILURE_FILE.name

_ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": codec.ErrorResponse, "description": text}
    for status, text in (
        (400, "Bad JSON or base64"),
        (406, "Unsupported Accept"),
        (408, "Body not received in time"),
        (413, "Body over TS_MAX_REQUEST_SIZE"),
        (415, "Unsupported Content-Type"),
        (422, "Not a usable image, option out of range, unknown item, S3 bucket not allowed"),
        (500, "A fault of ours (logged with the request id)"),
        (502, "S3 could not be reached"),
        (503, "The model failed to load, or the worker holds STYGIG_MAX_QUEUE requests"),
        (504, "Past SAGEMAKER_MODEL_SERVER_TIMEOUT (also while waiting for a loading worker's model)"),
    )
}


_JSONLINES_REQUEST = (
    "JSON Lines: one RecommendRequest a line (what Batch Transform sends with SplitType=Line and "
    "BatchStrategy=MultiRecord). The body limit applies to the whole batch."
)
_JSONLINES_RESPONSE = (
    "JSON Lines (a JSON Lines request): one line per request line, in order; a RecommendResponse, "
    "or the ErrorResponse a single request would get for that line."
)


# ---- running the engine off the event loop -----------------------------------------------------
class EngineRunner:
    """Runs blocking work in a small thread pool (``concurrency`` threads per worker).

    The event loop stays free for ``/ping``. A request that times out is answered 504 at once;
    work of its that has not started yet is skipped, work that has started runs to completion in
    its thread (Python threads cannot be interrupted) and its result is dropped.
    """

    def __init__(self, concurrency: int):
        self.concurrency = concurrency
        self.executor = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="stygig-engine")

    async def run(self, fn: Callable[[], Any], deadline: float, timeout_s: float) -> Any:
        def guarded() -> Any:
            if time.monotonic() >= deadline:
                raise InferenceTimeout("skipped: the request had already timed out")
            return fn()

        fut = asyncio.get_running_loop().run_in_executor(self.executor, guarded)
        remaining = deadline - time.monotonic()
        try:
            return await asyncio.wait_for(asyncio.shield(fut), timeout=max(remaining, 0.001))
        except asyncio.TimeoutError:
            fut.add_done_callback(_consume)
            raise InferenceTimeout(
                f"the request took longer than {timeout_s:g} s (SAGEMAKER_MODEL_SERVER_TIMEOUT)"
            ) from None

    def shutdown(self) -> None:
        self.executor.shutdown(wait=False, cancel_futures=True)


def _consume(fut: "asyncio.Future[Any]") -> None:
    if not fut.cancelled():
        fut.exception()


# ---- request context: id, access log, last-resort 500 ------------------------------------------
class RequestContext:
    """Pure ASGI middleware: request id, one JSON log line per request, JSON 500 for our faults."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        incoming = _header(scope, b"x-request-id")
        rid = incoming if incoming and _REQUEST_ID.match(incoming) else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = rid
        t0 = time.perf_counter()
        status: list[int] = []

        async def send_with_id(message):
            if message["type"] == "http.response.start":
                status.append(message["status"])
                MutableHeaders(scope=message).append("X-Request-Id", rid)
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception:  # noqa: BLE001 - a fault of ours: log it, answer 500, keep serving
            logs.event(logs.LOG, logging.ERROR, "unhandled_error", exc_info=True, request_id=rid, path=scope.get("path", ""))
            if not status:
                body = json.dumps(error_body("internal_error", internal_error_message(rid), rid)).encode()
                await send_with_id(
                    {"type": "http.response.start", "status": 500, "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]}
                )
                await send({"type": "http.response.body", "body": body})
        finally:
            logs.access(rid, scope.get("method", ""), scope.get("path", ""), status[0] if status else 0, (time.perf_counter() - t0) * 1000)


def _header(scope, name: bytes) -> str | None:
    for k, v in scope.get("headers", ()):
        if k == name:
            return v.decode("latin-1")
    return None


# ---- body ---------------------------------------------------------------------------------------
async def read_body(request: Request, limit: int, deadline: float) -> bytes:
    """The request body, refused with 413 as soon as it is known to exceed ``limit`` bytes:
    from Content-Length before reading anything, else while streaming."""
    declared = request.headers.get("content-length")
    if declared is not None:
        try:
            n = int(declared)
        except ValueError:
            raise BadRequest("Content-Length is not a number") from None
        if n > limit:
            raise PayloadTooLarge(f"request body is {n} bytes; the limit is {limit} (TS_MAX_REQUEST_SIZE)")
    chunks: list[bytes] = []
    total = 0

    async def consume() -> None:
        nonlocal total
        async for chunk in request.stream():
            total += len(chunk)
            if total > limit:
                raise PayloadTooLarge(f"request body is over the limit of {limit} bytes (TS_MAX_REQUEST_SIZE)")
            chunks.append(chunk)

    try:
        await asyncio.wait_for(consume(), timeout=max(deadline - time.monotonic(), 0.001))
    except asyncio.TimeoutError:
        raise RequestTimeout("the request body was not received within SAGEMAKER_MODEL_SERVER_TIMEOUT") from None
    return b"".join(chunks)


# ---- responses ----------------------------------------------------------------------------------
def _error_response(err: StygigError, request_id: str | None) -> JSONResponse:
    headers = {"Retry-After": "1" if isinstance(err, Overloaded) else "5"} if err.status == 503 else None
    return JSONResponse(error_body(err.code, err.message, request_id), status_code=err.status, headers=headers)


def _sagemaker_error_response(err: StygigError, request_id: str) -> JSONResponse:
    """An error as InvokeEndpoint reports it, so boto3 raises the same exception it would on AWS."""
    headers = {"x-amzn-RequestId": request_id}
    if isinstance(err, (ModelNotReady, Overloaded)):
        headers["x-amzn-ErrorType"] = "ServiceUnavailable"
        return JSONResponse({"Message": err.message}, status_code=503, headers=headers)
    original = json.dumps(error_body(err.code, err.message, request_id), ensure_ascii=False)
    side = "client" if err.status < 500 else "server"
    headers["x-amzn-ErrorType"] = "ModelError"
    return JSONResponse(
        {
            "ErrorCode": f"{side.upper()}_ERROR_FROM_MODEL",
            "Message": f'Received {side} error ({err.status}) from primary with message "{original}". '
            f"See the server log (request id {request_id}).",
            "OriginalStatusCode": err.status,
            "OriginalMessage": original,
        },
        status_code=424,
        headers=headers,
    )


class SageMakerMessage(BaseModel):
    Message: str


class SageMakerModelError(BaseModel):
    ErrorCode: str
    Message: str
    OriginalStatusCode: int
    OriginalMessage: str = Field(description="The model's JSON error body, as a string.")


class PingResponse(BaseModel):
    status: str
    model_version: str | None = None
    error: str | None = None


WearerGender = Literal[GENDERS]  # type: ignore[valid-type]


class CatalogItem(BaseModel):
    item_id: str
    name: str | None = None
    category: str
    group: str | None = None
    gender: str | None = None
    thumbnail_url: str


class ItemsPage(BaseModel):
    total: int
    offset: int
    limit: int
    items: list[CatalogItem]


@dataclass
class ServerContext:
    config: ServingConfig
    model: ModelState
    runner: EngineRunner
    s3_reader: codec.S3Reader
    #: invocations this worker holds (reading, queued or running); one event loop, no lock
    inflight: int = 0


# ---- the app ------------------------------------------------------------------------------------
def create_app(
    config: ServingConfig,
    *,
    state: ModelState | None = None,
    on_load_failure: Callable[[str], None] | None = None,
) -> FastAPI:
    """The ASGI app for one worker. The model starts loading when the app starts (lifespan)."""
    model = state or ModelState(config.artifact_dir, on_failure=on_load_failure, **model_state_options(config))
    runner = EngineRunner(config.concurrency)
    ctx = ServerContext(
        config=config,
        model=model,
        runner=runner,
        s3_reader=codec.s3_reader_for(config.allowed_s3_buckets, MAX_S3_IMAGE_BYTES),
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        model.start()
        try:
            yield
        finally:
            runner.shutdown()

    app = FastAPI(
        title="StyGig",
        version=__version__,
        summary="Complete an outfit from one garment, over your own catalog.",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url="/openapi.json",
    )
    app.state.stygig = ctx
    app.add_middleware(RequestContext)
    # outermost: whatever answers, a client still writing its body can read the answer
    app.add_middleware(DrainUnreadBody)

    @app.exception_handler(StygigError)
    async def _stygig_error(request: Request, exc: StygigError):
        rid = request.state.request_id
        if exc.status >= 500 and exc.status not in (502, 503, 504):
            logs.event(logs.LOG, logging.ERROR, "server_error", exc.message, request_id=rid, code=exc.code)
        return _error_response(exc, rid)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException):
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        message = {404: f"no route {request.url.path[:200]!r}", 405: f"{request.method} is not allowed on {request.url.path[:200]}"}.get(
            exc.status_code, str(exc.detail)
        )
        resp = JSONResponse(error_body(code, message, request.state.request_id), status_code=exc.status_code)
        if exc.headers:
            resp.headers.update(exc.headers)
        return resp

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError):
        first = exc.errors()[0] if exc.errors() else {}
        loc = codec.shorten(".".join(str(p) for p in first.get("loc", ()) if p not in ("query", "path", "body")) or "request")
        msg = f"{loc}: {first.get('msg', 'invalid')}"
        return JSONResponse(error_body("invalid_input", msg, request.state.request_id), status_code=422)

    # ---- contract ----------------------------------------------------------------------------
    @app.get("/ping", response_model=PingResponse, responses={503: {"model": PingResponse}}, tags=["contract"])
    async def ping() -> JSONResponse:
        """200 once this worker's model is loaded and warmed up; 503 while loading or after a failed
        load. (A request reaching a worker that is loading waits for its model.)"""
        if model.ready:
            return JSONResponse({"status": "ready", "model_version": model.recommender.model_version})
        body: dict[str, Any] = {"status": model.status}
        if model.error:
            body["error"] = model.public_error
        return JSONResponse(body, status_code=503, headers={"Retry-After": "1"})

    invocation_doc = dict(
        response_model=codec.RecommendResponse,
        responses=_ERROR_RESPONSES,
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {
                    codec.JSON: {"schema": {"$ref": "#/components/schemas/RecommendRequest"}},
                    **{t: {"schema": {"type": "string", "description": _JSONLINES_REQUEST}} for t in codec.JSONLINES_CONTENT_TYPES},
                    **{t: {"schema": {"type": "string", "format": "binary"}} for t in codec.IMAGE_CONTENT_TYPES},
                },
            },
            "responses": {
                "200": {
                    "content": {
                        t: {"schema": {"type": "string", "description": _JSONLINES_RESPONSE}} for t in codec.JSONLINES_CONTENT_TYPES
                    }
                }
            },
        },
    )

    sagemaker_doc = dict(
        invocation_doc,
        responses={
            400: {"model": SageMakerMessage, "description": "ValidationError: not a valid endpoint name"},
            424: {
                "model": SageMakerModelError,
                "description": "ModelError: the model answered with an error (its JSON error in OriginalMessage)",
            },
            503: {"model": SageMakerMessage, "description": "ServiceUnavailable: the model is loading, or the worker is full"},
        },
    )

    async def invocations(request: Request, **_options: Any) -> Response:
        """Recommend an outfit. JSON body (RecommendRequest) or a raw picture with options in the
        query string or in X-Amzn-SageMaker-Custom-Attributes (``top_k=5&gender=female``)."""
        return await _invoke(request, ctx, sagemaker_api=False)

    # the query-string options, documented (and type-checked by FastAPI) from the one schema
    invocations.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [inspect.Parameter("request", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=Request),
         *_query_string_parameters()],
        return_annotation=Response,
    )
    app.post("/invocations", tags=["contract"], **invocation_doc)(invocations)

    @app.post("/endpoints/{endpoint_name}/invocations", tags=["sagemaker-runtime"], **sagemaker_doc)
    async def invoke_endpoint(
        request: Request,
        endpoint_name: str = Path(description="Any valid SageMaker endpoint name (1-63 of a-z A-Z 0-9 -)."),
    ) -> Response:
        """SageMaker Runtime InvokeEndpoint, served locally (any endpoint name)."""
        rid = request.state.request_id
        if not _ENDPOINT_NAME.match(endpoint_name):
            return JSONResponse(
                {"Message": f"1 validation error detected: Value '{endpoint_name[:63]}' at 'endpointName' failed to satisfy constraint"},
                status_code=400,
                headers={"x-amzn-ErrorType": "ValidationError", "x-amzn-RequestId": rid},
            )
        return await _invoke(request, ctx, sagemaker_api=True)

    # ---- catalog (read-only) -----------------------------------------------------------------
    @app.get("/model", tags=["catalog"], responses={503: {"model": codec.ErrorResponse}})
    async def model_info() -> dict[str, Any]:
        """What the loaded artifact holds: version, encoder (text queries need supports_text), categories,
        typed attributes, and the live overlay this worker applies (STYGIG_OVERLAY: source, rows, age;
        null without one)."""
        recommender = await model.wait_ready(time.monotonic() + config.timeout_s, config.timeout_s)
        info = recommender.describe()
        info["overlay"] = model.overlay.describe() if model.overlay is not None else None
        info["stygig_version"] = __version__
        return info

    @app.get("/items", response_model=ItemsPage, tags=["catalog"], responses={422: {"model": codec.ErrorResponse}, 503: {"model": codec.ErrorResponse}})
    async def list_items(
        category: str | None = Query(None, max_length=codec.MAX_ID_CHARS, description="only items of this category"),
        gender: WearerGender | None = Query(
            None, description="only items a wearer of this gender may be recommended (theirs and unisex ones)"),
        q: str | None = Query(None, min_length=1, max_length=catalog.MAX_QUERY_CHARS,
                              description="only items whose name or id contains this (case-insensitive)"),
        offset: int = Query(0, ge=0),
        limit: int = Query(100, ge=1, le=1000),
    ) -> dict[str, Any]:
        """The catalog's items, in artifact order: of one category, for one wearer, matching a search."""
        recommender = await model.wait_ready(time.monotonic() + config.timeout_s, config.timeout_s)
        if category is not None and category not in recommender.taxonomy.categories:
            raise codec.InvalidInput(f"category must be one of {', '.join(recommender.taxonomy.categories)}")
        if q is not None and not q.strip():
            raise codec.InvalidInput("q: the search must not be blank")
        return await asyncio.to_thread(
            catalog.page, recommender, category=category, gender=gender, q=q.strip() if q else None,
            offset=offset, limit=limit, thumbnail_url=thumbnail_url,
        )

    @app.get(
        "/items/{item_id}/thumbnail",
        tags=["catalog"],
        response_class=FileResponse,
        responses={200: {"content": {"image/jpeg": {}, "image/png": {}}}, 404: {"model": codec.ErrorResponse}, 503: {"model": codec.ErrorResponse}},
    )
    async def thumbnail(item_id: str = Path(max_length=codec.MAX_ID_CHARS)) -> FileResponse:
        """An item's picture from the artifact (read-only; never a file outside the artifact)."""
        recommender = await model.wait_ready(time.monotonic() + config.timeout_s, config.timeout_s)
        path = codec.safe_thumbnail_path(recommender, item_id)
        if path is None:
            raise NotFound(f"no thumbnail for item {item_id[:100]!r}")
        media = "image/png" if path.suffix.lower() == ".png" else "image/jpeg"
        return FileResponse(path, media_type=media, headers={"Cache-Control": "public, max-age=3600"})

    _register_optional_routes(app)
    _document_request_schema(app)
    return app


def _document_request_schema(app: FastAPI) -> None:
    """The JSON request body is decoded by the codec (so the body can be capped and timed), not by
    FastAPI; its schema is added to the generated document here."""
    from fastapi.openapi.utils import get_openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            doc = get_openapi(title=app.title, version=app.version, summary=app.summary, routes=app.routes)
            schemas = doc.setdefault("components", {}).setdefault("schemas", {})
            request = codec.RecommendRequest.model_json_schema(ref_template="#/components/schemas/{model}")
            schemas.update(request.pop("$defs", {}))
            schemas["RecommendRequest"] = request
            _document_query_string_limits(doc)
            _document_validation_errors(doc)
            app.openapi_schema = doc
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def _document_validation_errors(doc: dict[str, Any]) -> None:
    """FastAPI documents parameter errors as its own HTTPValidationError; this app answers them
    as every other error (``ErrorResponse``, see ``_validation_error``). The SageMaker route has
    no parameter FastAPI validates, and answers errors the way InvokeEndpoint does."""
    fastapi_ref = "#/components/schemas/HTTPValidationError"
    ours = {"$ref": "#/components/schemas/ErrorResponse"}
    for path, ops in doc.get("paths", {}).items():
        for op in ops.values():
            responses = op.get("responses", {})
            content = responses.get("422", {}).get("content", {}).get("application/json", {})
            if content.get("schema", {}).get("$ref") == fastapi_ref:
                if path.startswith("/endpoints/"):
                    del responses["422"]
                else:
                    content["schema"] = ours
    text = json.dumps(doc.get("paths", {}))
    schemas = doc.get("components", {}).get("schemas", {})
    if fastapi_ref not in text:
        schemas.pop("HTTPValidationError", None)
        if "#/components/schemas/ValidationError" not in json.dumps(schemas):
            schemas.pop("ValidationError", None)


_QUERY_STRING_TYPES = {"int": int, "number": float, "bool": bool}
_QUERY_STRING_FIELDS = (*schema.OPTION_FIELDS, *schema.RESPONSE_FIELDS)


def _document_query_string_limits(doc: dict[str, Any]) -> None:
    """The engine's limits on ``/invocations``'s query-string options (a list of ids is one
    string there: no item limit)."""
    specs = {s.name: s for s in _QUERY_STRING_FIELDS if s.kind != "ids"}
    for param in doc.get("paths", {}).get("/invocations", {}).get("post", {}).get("parameters", []):
        if param.get("in") == "query" and param.get("name") in specs:
            schema.document_field_limits(param["schema"], specs[param["name"]])


def _query_string_parameters() -> list[inspect.Parameter]:
    """``/invocations``'s query-string options (raw picture bodies), from :mod:`stygig.schema`."""
    out = []
    for spec in _QUERY_STRING_FIELDS:
        description = spec.description
        if spec.kind == "ids":
            description = description[:-1] + "; comma-separated, and the key may repeat."
        default = Query(None, description="Raw image bodies only. " + description)
        annotation = _QUERY_STRING_TYPES.get(spec.kind, str) | None
        out.append(inspect.Parameter(spec.name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=annotation))
    return out


def _register_optional_routes(app: FastAPI) -> None:
    """The web page (GET /) lives in ``stygig.serving.web`` when present: ``register(app)``."""
    try:
        web = importlib.import_module("stygig.serving.web")
    except ModuleNotFoundError as e:
        if e.name != "stygig.serving.web":
            raise
        return
    web.register(app)


async def _invoke(request: Request, ctx: ServerContext, *, sagemaker_api: bool) -> Response:
    if ctx.inflight >= ctx.config.max_queue:
        err = Overloaded(
            f"this worker already holds {ctx.config.max_queue} requests (STYGIG_MAX_QUEUE); retry shortly"
        )
        rid = request.state.request_id
        return _sagemaker_error_response(err, rid) if sagemaker_api else _error_response(err, rid)
    ctx.inflight += 1
    try:
        return await _invoke_held(request, ctx, sagemaker_api=sagemaker_api)
    finally:
        ctx.inflight -= 1


async def _invoke_held(request: Request, ctx: ServerContext, *, sagemaker_api: bool) -> Response:
    rid = request.state.request_id
    config = ctx.config
    deadline = time.monotonic() + config.timeout_s
    try:
        accept = request.headers.get("accept")
        content_type = request.headers.get("content-type")
        kind = codec.request_kind(content_type)  # 415 before reading anything
        codec.negotiate_accept(accept, lines=kind == "jsonlines")  # 406 before reading anything
        if ctx.model.status == FAILED:
            ctx.model.require()  # 503 before reading anything
        body = await read_body(request, config.max_request_bytes, deadline)
        # while this worker still loads (another may have answered /ping already), wait for it
        recommender = await ctx.model.wait_ready(deadline, config.timeout_s)
        pairs = list(request.query_params.multi_items())
        pairs += codec.custom_attribute_pairs(request.headers.get(CUSTOM_ATTRIBUTES))
        work = functools.partial(
            handle,
            recommender,
            body,
            content_type,
            pairs,
            accept,
            s3_reader=ctx.s3_reader,
            request_id=rid,
        )
        payload, response_type = await ctx.runner.run(work, deadline, config.timeout_s)
    except StygigError as e:
        if e.status >= 500 and e.status not in (502, 503, 504):
            logs.event(logs.LOG, logging.ERROR, "server_error", e.message, request_id=rid, code=e.code)
        if sagemaker_api:
            return _sagemaker_error_response(e, rid)
        return _error_response(e, rid)
    except Exception:  # noqa: BLE001 - our fault: log with the request id, answer 500
        logs.event(logs.LOG, logging.ERROR, "internal_error", exc_info=True, request_id=rid)
        err = StygigError(internal_error_message(rid), status=500, code="internal_error")
        if sagemaker_api:
            return _sagemaker_error_response(err, rid)
        return _error_response(err, rid)
    headers = {CUSTOM_ATTRIBUTES: f"request_id={rid}"}
    if sagemaker_api:
        headers[INVOKED_VARIANT] = LOCAL_VARIANT
        headers["x-amzn-RequestId"] = rid
    return Response(payload, media_type=response_type, headers=headers)


def worker_app(*, verified: bool | None = None) -> FastAPI:
    """The app for the workers :mod:`stygig.serving.entrypoint` starts (settings from the
    environment; ``verified``: the artifact's checksums are already checked, default
    ``STYGIG_ARTIFACT_VERIFIED``)."""
    config = ServingConfig.from_env()
    logs.configure(config.log_level)

    def fatal(message: str) -> None:
        # A worker that cannot load the model must not look healthy. Exit code 3 tells gunicorn's
        # arbiter the worker failed to boot, so the whole server stops with a non-zero status;
        # the reason goes where the arbiter's process prints it (STYGIG_FAILURE_FILE).
        path = settings.FAILURE_FILE.raw()
        if path:
            try:
                with open(path, "w", encoding="utf-8") as fh:
                    fh.write(message)
            except OSError:
                pass
        logging.shutdown()
        os._exit(3)

    if verified is None:
        verified = settings.ARTIFACT_VERIFIED.read()
    return create_app(config, state=ModelState(config.artifact_dir, on_failure=fatal, verify=not verified,
                                                **model_state_options(config)))


def model_state_options(config: ServingConfig) -> dict[str, Any]:
    """What a worker's :class:`ModelState` takes from the server's settings."""
    return dict(compatibility=config.compatibility, overlay=config.overlay, overlay_seconds=config.overlay_seconds,
                allowed_s3_buckets=config.allowed_s3_buckets)
