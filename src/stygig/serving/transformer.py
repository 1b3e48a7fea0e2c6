"""One request, start to end, without HTTP: bytes in, bytes out.

Shared by the HTTP server (run in a worker thread) and the DLC handler (whose ``input_fn`` /
``predict_fn`` / ``output_fn`` are the three steps below), so both answer the same request the
same way.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, Iterable, Sequence
from urllib.parse import quote

from stygig.errors import StygigError
from stygig.schema import answer_items
from stygig.serving import logs
from stygig.serving.codec import (
    ParsedRequest,
    S3Reader,
    attach_thumbnails,
    encode_lines,
    encode_response,
    negotiate_accept,
    parse_lines,
    parse_request,
    request_kind,
    to_query,
)
from stygig.serving.errors import error_body, internal_error_message

if TYPE_CHECKING:  # pragma: no cover
    from stygig.recommend.engine import Recommender


def thumbnail_url(item_id: str) -> str:
    return f"/items/{quote(item_id, safe='')}/thumbnail"


def predict(
    parsed: ParsedRequest,
    recommender: "Recommender",
    *,
    s3_reader: S3Reader | None,
    request_id: str | None = None,
) -> dict[str, Any]:
    """The engine's answer to a parsed request, with the server's additions.

    Additions (never changes): ``thumbnail_url`` on every item shown (:func:`~stygig.schema.answer_items`), ``metadata.request_id`` and,
    when asked, ``thumbnail_data``.
    """
    query, options = to_query(parsed, recommender, s3_reader=s3_reader)
    result = recommender.recommend(query, options)
    for rec in answer_items(result):
        if rec.get("item_id"):
            rec["thumbnail_url"] = thumbnail_url(rec["item_id"])
    if request_id:
        result.setdefault("metadata", {})["request_id"] = request_id
    if parsed.include_thumbnails:
        attach_thumbnails(result, recommender)
    return result


def handle(
    recommender: "Recommender",
    body: bytes,
    content_type: str | None,
    option_pairs: Iterable[tuple[str, str]],
    accept: str | None,
    *,
    s3_reader: S3Reader | None,
    request_id: str | None = None,
) -> tuple[bytes, str]:
    """Decode, recommend, encode. Raises StygigError for anything the client got wrong (in a
    JSON Lines batch, only for the batch as a whole: see :func:`predict_lines`)."""
    if request_kind(content_type) == "jsonlines":
        negotiate_accept(accept, lines=True)  # 406 before any work
        parsed_lines = parse_lines(body, option_pairs)
        return encode_lines(predict_lines(parsed_lines, recommender, s3_reader=s3_reader, request_id=request_id), accept)
    parsed = parse_request(body, content_type, option_pairs)
    result = predict(parsed, recommender, s3_reader=s3_reader, request_id=request_id)
    return encode_response(result, accept)


def predict_lines(
    parsed_lines: Sequence[ParsedRequest | StygigError],
    recommender: "Recommender",
    *,
    s3_reader: S3Reader | None,
    request_id: str | None = None,
) -> list[dict[str, Any]]:
    """:func:`predict` for each line of a JSON Lines batch, in order. A line that fails (to parse,
    or in the engine) answers the error body a single request would get, on its line; the batch
    goes on. A fault of ours on one line is logged and answered ``internal_error`` on that line."""
    out: list[dict[str, Any]] = []
    for n, parsed in enumerate(parsed_lines, start=1):
        try:
            if isinstance(parsed, StygigError):
                raise parsed
            out.append(predict(parsed, recommender, s3_reader=s3_reader, request_id=request_id))
        except StygigError as e:
            out.append(error_body(e.code, e.message, request_id))
        except Exception:  # noqa: BLE001 - our fault, on this line only
            logs.event(logs.LOG, logging.ERROR, "internal_error", exc_info=True, request_id=request_id, line=n)
            out.append(error_body("internal_error", internal_error_message(request_id or "-"), request_id))
    return out
