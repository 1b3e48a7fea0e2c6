"""One request, start to end, without HTTP: bytes in, bytes out.

Shared by the HTTP server (run in a worker thread) and the DLC handler (whose ``input_fn`` /
``predict_fn`` / ``output_fn`` are the three steps below), so both answer the same request the
same way.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Iterable
from urllib.parse import quote

from stygig.serving.codec import (
    ParsedRequest,
    S3Reader,
    attach_thumbnails,
    encode_response,
    parse_request,
    to_query,
)

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

    Additions (never changes): ``recommendations[*].thumbnail_url``, ``metadata.request_id`` and,
    when asked, ``thumbnail_data``.
    """
    query, options = to_query(parsed, recommender, s3_reader=s3_reader)
    result = recommender.recommend(query, options)
    for rec in result.get("recommendations", []):
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
    """Decode, recommend, encode. Raises StygigError for anything the client got wrong."""
    parsed = parse_request(body, content_type, option_pairs)
    result = predict(parsed, recommender, s3_reader=s3_reader, request_id=request_id)
    return encode_response(result, accept)
