"""The AWS PyTorch inference container's handler functions, on the server's codec and engine.

``stygig package`` writes ``code/inference.py`` that re-exports these four functions; the
container's inference toolkit then calls, per request::

    model = model_fn(model_dir)                        # once, at start
    data = input_fn(body, content_type)                # body is str for application/json
    prediction = predict_fn(data, model)
    body, content_type = output_fn(prediction, accept)

A JSON Lines body (``application/jsonlines``, one JSON request a line: what Batch Transform sends
with ``SplitType=Line``) is answered one line per line, in order, a bad line with its error body
on its line, as the HTTP server answers it (:func:`stygig.serving.transformer.predict_lines`).

Options go in a JSON body here. (Picture bodies get the default options: the toolkit hands the
functions the context of the *first* request it served, not of the current one, so per-request
headers such as ``X-Amzn-SageMaker-Custom-Attributes`` cannot be read reliably; the functions
therefore take no context.)

Errors: a :class:`~stygig.errors.StygigError` becomes the toolkit's ``BaseInferenceToolkitError``
with the same status, so the client sees 4xx for its own mistakes (the toolkit answers
``message + traceback`` as the body; the message is our JSON error). Without the toolkit installed
the StygigError propagates unchanged.
"""

from __future__ import annotations

import functools
import json
from typing import Any, Callable

from stygig.errors import StygigError
from stygig.serving import codec
from stygig.serving.errors import error_body
from stygig.serving.transformer import predict, predict_lines

MAX_S3_IMAGE_BYTES = 20 * 1024 * 1024


def _toolkit_errors(fn: Callable) -> Callable:
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except StygigError as e:
            raise to_toolkit_error(e) from e

    return wrapper


def to_toolkit_error(e: StygigError) -> Exception:
    """The toolkit's error carrying our status, or ``e`` itself when the toolkit is absent."""
    try:
        from sagemaker_inference.errors import BaseInferenceToolkitError
    except ImportError:
        return e
    message = json.dumps(error_body(e.code, e.message), ensure_ascii=False)
    return BaseInferenceToolkitError(e.status, message, e.code)


@_toolkit_errors
def model_fn(model_dir: str):
    """Load (and verify) the artifact SageMaker unpacked in ``model_dir``, apply and watch the live
    overlay (``STYGIG_OVERLAY``), then warm it up."""
    from stygig.recommend.engine import Recommender
    from stygig.serving.state import warm_up

    from stygig import settings
    from stygig.s3io import allowed_buckets_from_env
    from stygig.serving.overlay import watch

    recommender = Recommender.load(model_dir)
    # the live overlay (STYGIG_OVERLAY), watched by this worker as the HTTP server's workers do
    watch(recommender, settings.OVERLAY.read(), settings.OVERLAY_SECONDS.read(), frozenset(allowed_buckets_from_env()))
    warm_up(recommender)
    return recommender


@_toolkit_errors
def input_fn(input_data: bytes | str, content_type: str | None) -> codec.ParsedRequest | list:
    """One parsed request, or for a JSON Lines body a list: each line's request or its error."""
    if codec.request_kind(content_type) == "jsonlines":
        return codec.parse_lines(input_data)
    return codec.parse_request(input_data, content_type)


@_toolkit_errors
def predict_fn(data: codec.ParsedRequest | list, model) -> dict[str, Any] | list[dict[str, Any]]:
    from stygig.s3io import allowed_buckets_from_env

    reader = codec.s3_reader_for(frozenset(allowed_buckets_from_env()), MAX_S3_IMAGE_BYTES)
    if isinstance(data, list):
        return predict_lines(data, model, s3_reader=reader)
    return predict(data, model, s3_reader=reader)


@_toolkit_errors
def output_fn(prediction: dict[str, Any] | list[dict[str, Any]], accept: str | None) -> tuple[bytes, str]:
    if isinstance(prediction, list):
        return codec.encode_lines(prediction, accept)
    return codec.encode_response(prediction, accept)
