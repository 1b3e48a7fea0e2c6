"""Errors of the HTTP contract itself, and the JSON body every error is answered with.

The engine's user errors (:class:`~stygig.errors.StygigError`) already carry their HTTP status and
code; these add the statuses only the transport can cause. Every error response has the body
``{"error": {"code", "message", "request_id"}}``.
"""

from __future__ import annotations

from stygig.errors import StygigError


class BadRequest(StygigError):
    """Bytes that are not the format they claim (bad JSON, bad base64)."""

    status = 400
    code = "bad_request"


class NotFound(StygigError):
    status = 404
    code = "not_found"


class NotAcceptable(StygigError):
    status = 406
    code = "not_acceptable"


class RequestTimeout(StygigError):
    """The client did not send its body in time."""

    status = 408
    code = "request_timeout"


class PayloadTooLarge(StygigError):
    status = 413
    code = "payload_too_large"


class UnsupportedMediaType(StygigError):
    status = 415
    code = "unsupported_media_type"


class ModelNotReady(StygigError):
    """The model is still loading, or failed to load (then ``/ping`` says so too)."""

    status = 503
    code = "model_not_ready"


class Overloaded(StygigError):
    """The worker already holds STYGIG_MAX_QUEUE requests; retry (another worker may be free)."""

    status = 503
    code = "overloaded"


class InferenceTimeout(StygigError):
    """The request ran past SAGEMAKER_MODEL_SERVER_TIMEOUT."""

    status = 504
    code = "timeout"


def error_body(code: str, message: str, request_id: str | None = None) -> dict:
    err = {"code": code, "message": message}
    if request_id:
        err["request_id"] = request_id
    return {"error": err}


def internal_error_message(request_id: str) -> str:
    return f"internal server error (request id {request_id}); the server log has the details"
