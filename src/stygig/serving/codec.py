"""The request/response contract: content types, the JSON schema, decoding and encoding.

One codec for every way in (the HTTP server's ``/invocations`` and ``/endpoints/{name}/invocations``,
and the DLC handler's ``input_fn``/``output_fn``), so there is one definition of what a request is.

Decoding happens in two steps:

* :func:`parse_request` — bytes + content type + options -> :class:`ParsedRequest`. Pure: no model,
  no network; every malformed input fails here with a :class:`~stygig.errors.StygigError`.
* :func:`to_query` — a :class:`ParsedRequest` -> the engine's ``Query`` and ``Options``: decodes the
  image (one decoder, :func:`stygig.images.decode_image`), fetches ``image_s3_uri`` through
  :func:`stygig.s3io.read_s3_bytes` with the bucket allow-list, and validates the options with
  ``Options.from_dict`` (the engine checks their ranges).

Every request field is declared once, in :mod:`stygig.schema`; the pydantic model below and the
query-string keys are derived from it.

Requests:

* ``application/json``: ``{"image": <base64>}`` | ``{"image_s3_uri": "s3://..."}`` |
  ``{"item_id": "..."}`` | ``{"text": "..."}`` plus options; or several pieces worn together,
  ``{"items": [{"item_id": "..."}, {"image": <base64>}, {"text": "..."}], ...options}`` (1..8
  pieces, each with exactly one of those four fields; errors name the piece, ``items[2]``).
  Missing ``Content-Type`` means JSON.
* a picture type (``image/jpeg``, ``image/png``, ``image/webp``, ``image/gif``, ``image/bmp``,
  ``image/tiff``, ``image/avif``, ...; see ``IMAGE_CONTENT_TYPES``) or ``application/x-image``: the raw picture; options
  in the query string (``?top_k=5&gender=female&exclude_ids=a,b``) or, through InvokeEndpoint, in
  ``X-Amzn-SageMaker-Custom-Attributes`` written the same way (``top_k=5&gender=female``).

Responses are JSON (``Accept: application/json``, ``*/*`` or none); anything else is a 406.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Iterable
from urllib.parse import parse_qsl

from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model

from stygig import schema
from stygig.errors import InvalidInput, StygigError
from stygig.images import MEDIA_TYPES, decode_image
from stygig.recommend.query import Piece, Query, naming, unknown_item
from stygig.schema import Options
# the response contract lives beside the request's, in stygig.schema; the app documents it from here
from stygig.response import Colour, Metadata, Outfit, OutfitPiece, QueryItem, Recommendation, RecommendResponse  # noqa: F401
from stygig.serving.errors import BadRequest, NotAcceptable, UnsupportedMediaType

if TYPE_CHECKING:  # pragma: no cover
    from stygig.recommend.engine import Recommender

# ---- content types ------------------------------------------------------------------------------
JSON = "application/json"
#: raw picture bodies: every format the decoder reads, and SageMaker's generic image type (the
#: format is read from the bytes, whatever the header says)
IMAGE_CONTENT_TYPES = (*MEDIA_TYPES, "application/x-image")
#: JSON Lines: one JSON request a line in, one answer a line out (Batch Transform, SplitType=Line)
JSONLINES = "application/jsonlines"
JSONLINES_CONTENT_TYPES = (JSONLINES, "application/jsonl", "application/x-jsonlines")
REQUEST_CONTENT_TYPES = (JSON, *JSONLINES_CONTENT_TYPES, *IMAGE_CONTENT_TYPES)
RESPONSE_CONTENT_TYPES = (JSON,)

#: longest item id the codec accepts (the engine has its own limits for text and option ranges)
MAX_ID_CHARS = schema.MAX_ID_CHARS
#: the keys a query string / custom attributes may carry: the engine's options, then the response's
OPTION_KEYS = schema.OPTION_NAMES + tuple(s.name for s in schema.RESPONSE_FIELDS)


def media_type(header: str | None) -> str | None:
    """``"Application/JSON; charset=utf-8"`` -> ``"application/json"``; empty -> None."""
    if header is None:
        return None
    value = header.split(";", 1)[0].strip().lower()
    return value or None


def request_kind(content_type: str | None) -> str:
    """``"json"``, ``"jsonlines"`` or ``"image"`` for a Content-Type header;
    :class:`UnsupportedMediaType` otherwise."""
    mt = media_type(content_type)
    if mt is None or mt == JSON:
        return "json"
    if mt in JSONLINES_CONTENT_TYPES:
        return "jsonlines"
    if mt in IMAGE_CONTENT_TYPES:
        return "image"
    raise UnsupportedMediaType(
        f"unsupported Content-Type {mt[:100]!r}; send one of {', '.join(REQUEST_CONTENT_TYPES)}"
    )


def negotiate_accept(accept: str | None, *, lines: bool = False) -> str:
    """The response content type for an ``Accept`` header: JSON, or JSON Lines for a JSON Lines
    request (``lines``), whose answer is one JSON object a line."""
    if lines:
        return _negotiate_lines_accept(accept)
    if accept is None or not accept.strip():
        return JSON
    for part in _accept_parts(accept):
        mt, q = part
        if q > 0 and mt in ("application/json", "application/*", "*/*", "*"):
            return JSON
    raise NotAcceptable(f"cannot answer with {accept[:100]!r}; this server produces {JSON}")


def _negotiate_lines_accept(accept: str | None) -> str:
    """A JSON Lines type; ``application/json`` is taken to allow one too (each line is JSON, and the
    inference toolkit in the DLC passes ``application/json`` when the client named no Accept)."""
    if accept is None or not accept.strip():
        return JSONLINES
    for mt, q in _accept_parts(accept):
        if q > 0 and mt in JSONLINES_CONTENT_TYPES:
            return mt
        if q > 0 and mt in ("application/json", "application/*", "*/*", "*"):
            return JSONLINES
    raise NotAcceptable(
        f"cannot answer a JSON Lines request with {accept[:100]!r}; it is answered with {JSONLINES}"
    )


def _accept_parts(accept: str) -> list[tuple[str, float]]:
    """An ``Accept`` header's media types with their q values, in the order given."""
    out = []
    for part in accept.split(","):
        pieces = [p.strip() for p in part.split(";")]
        mt = pieces[0].lower()
        q = 1.0
        for p in pieces[1:]:
            if p.lower().startswith("q="):
                try:
                    q = float(p[2:])
                except ValueError:
                    q = 0.0
        out.append((mt, q))
    return out


# ---- schema -------------------------------------------------------------------------------------

_PYDANTIC_TYPES: dict[str, Any] = {
    "int": int, "number": float, "choice": str, "category": str, "ids": list[str], "bool": bool,
    "text": str, "string": str, "base64": str,
    # an object of conditions (JSON), or text expressions: the engine checks the shape, names and
    # values (its messages name the field: "filters[0] must be an object or a text expression")
    "filters": dict[str, Any] | list[Any] | str,
    # attribute weights (JSON), or text NAME=WEIGHT: the engine checks names and weights
    # ("boost.popularity must be a number between -0.5 and 0.5, got True")
    "boost": dict[str, Any] | list[Any] | str,
}
_EXAMPLES = [
    {"image": "<base64 JPEG>", "top_k": 5, "min_score": 0.5},
    {"item_id": "tops-0001", "gender": "female", "items_per_category": 1},
    {"text": "a red summer dress", "top_k": 4},
    {"items": [{"item_id": "shirt-0003"}, {"image": "<base64 JPEG>"}, {"text": "white sneakers"}], "top_k": 5},
]


def _document_piece(json_schema: dict[str, Any]) -> None:
    schema.document_limits(json_schema)


#: One piece of ``items``: exactly one of the query fields, derived from
#: :data:`stygig.schema.QUERY_FIELDS` (the same declarations as the top-level ones).
QueryPiece = create_model(
    "QueryPiece",
    __config__=ConfigDict(extra="forbid", strict=True, json_schema_extra=_document_piece),
    __doc__="One query piece: exactly one of " + ", ".join(schema.QUERY_NAMES[:-1]) + " or "
    + schema.QUERY_NAMES[-1] + ".",
    **{spec.name: (_PYDANTIC_TYPES[spec.kind] | None, Field(None, description=spec.description,
                                                          max_length=spec.wire_max_length))
       for spec in schema.QUERY_FIELDS},  # type: ignore[call-overload]
)
_PYDANTIC_TYPES["pieces"] = list[QueryPiece]  # type: ignore[valid-type]


def _request_field(spec: schema.Spec) -> tuple[Any, Any]:
    typ = _PYDANTIC_TYPES[spec.kind]
    if spec.role == "response":
        return typ, Field(spec.default, description=spec.description)
    return typ | None, Field(None, description=spec.description, max_length=spec.wire_max_length)


def _document_request(json_schema: dict[str, Any]) -> None:
    json_schema["examples"] = _EXAMPLES
    schema.document_limits(json_schema)


#: A JSON recommendation request, derived from :data:`stygig.schema.REQUEST_FIELDS`. Strict
#: types (no "5" for 5); ranges are the engine's to check (with the same message as for query
#: strings) and are written into the JSON schema.
RecommendRequest = create_model(
    "RecommendRequest",
    __config__=ConfigDict(extra="forbid", strict=True, allow_inf_nan=False, json_schema_extra=_document_request),
    __doc__="A JSON recommendation request: exactly one of ``image``, ``image_s3_uri``, ``item_id``, "
    "``text``, or ``items`` (1..8 pieces each with one of them), plus options. Unknown fields are refused.",
    **{spec.name: _request_field(spec) for spec in schema.REQUEST_FIELDS},  # type: ignore[call-overload]
)


class ErrorDetail(BaseModel):
    code: str = Field(description="Machine-readable: bad_request, invalid_image, unknown_item, ...")
    message: str = Field(description="One readable line.")
    request_id: str | None = None


class ErrorResponse(BaseModel):
    error: ErrorDetail


# ---- parsing ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ParsedPiece:
    """One piece of an ``items`` request, as the client gave it."""

    source: str  # "image" | "image_s3_uri" | "item_id" | "text"
    image_bytes: bytes | None = None
    image_s3_uri: str | None = None
    item_id: str | None = None
    text: str | None = None


@dataclass(frozen=True)
class ParsedRequest:
    """A syntactically valid request; what the client asked, not yet checked against the model."""

    source: str  # "image" | "image_s3_uri" | "item_id" | "text" | "items"
    image_bytes: bytes | None = None
    image_s3_uri: str | None = None
    item_id: str | None = None
    text: str | None = None
    #: engine options exactly as the client gave them (validated by Options.from_dict)
    options: dict[str, Any] = field(default_factory=dict)
    include_thumbnails: bool = False
    #: the pieces of an ``items`` request (source ``items``), in order
    pieces: tuple[ParsedPiece, ...] = ()

    def query_pieces(self) -> tuple[tuple[str | None, ParsedPiece], ...]:
        """(label, piece) for each piece: ``items[i]`` for an ``items`` request, None for the
        one-piece form."""
        if self.source == schema.ITEMS.name:
            return tuple((f"{schema.ITEMS.name}[{i}]", p) for i, p in enumerate(self.pieces))
        return ((None, ParsedPiece(self.source, self.image_bytes, self.image_s3_uri, self.item_id, self.text)),)


_DATA_URL = re.compile(r"^data:[\w.+/-]*(;[\w=.+-]+)*;base64,", re.IGNORECASE)
_WS = re.compile(rb"\s+")


def decode_base64(value: str, *, what: str = "image") -> bytes:
    """Standard base64 (whitespace, a ``data:`` prefix and missing padding tolerated)."""
    m = _DATA_URL.match(value[:200])
    if m:
        value = value[m.end():]
    try:
        raw = value.encode("ascii")
    except UnicodeEncodeError:
        raise BadRequest(f"{what} is not valid base64 (non-ASCII characters)") from None
    raw = _WS.sub(b"", raw)
    raw += b"=" * (-len(raw) % 4)
    try:
        return base64.b64decode(raw, validate=True)
    except (binascii.Error, ValueError):
        raise BadRequest(f"{what} is not valid base64") from None


def _location(loc: tuple) -> str:
    """``("items", 2, "text")`` -> ``items[2].text``."""
    out = ""
    for p in loc:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out


def _validation_message(e: ValidationError) -> str:
    errors = e.errors(include_url=False)
    first = errors[0]
    # field names come from the client: an unknown one may be 100 KB long
    loc = tuple(first.get("loc", ()))
    kind = first.get("type", "")
    if kind == "extra_forbidden" and len(loc) == 3 and loc[0] == schema.ITEMS.name:
        msg = f"{schema.ITEMS.name}[{loc[1]}]: unknown field {shorten(str(loc[2]))!r} (known: {', '.join(schema.QUERY_NAMES)})"
    elif kind == "extra_forbidden":
        msg = f"unknown field {shorten(_location(loc))!r} (known: {', '.join(RecommendRequest.model_fields)})"
    elif kind == "model_type" and len(loc) == 2 and loc[0] == schema.ITEMS.name:
        msg = f"{schema.ITEMS.name}[{loc[1]}] must be an object with one of {', '.join(schema.QUERY_NAMES)}"
    elif kind == "model_type":
        msg = "the JSON body must be an object"
    else:
        msg = f"{shorten(_location(loc)) or 'body'}: {first.get('msg', 'invalid')}"
    if len(errors) > 1:
        msg += f" (and {len(errors) - 1} more problem{'s' if len(errors) > 2 else ''})"
    return msg


def shorten(text: str, limit: int = 60) -> str:
    """Client-supplied text quoted in an error message, cut to ``limit`` characters."""
    return text if len(text) <= limit else text[:limit] + "..."


#: most JSON objects a body may hold: a request is one object and its pieces (at most 8); the
#: room above that lets a wrong request get its own message (``items has 9 pieces``) while a flood
#: of objects is refused before it is decoded: ``{"items": [{}, {}, ...]}`` of 6 MB is 2 million
#: pieces, which pydantic would build (measured: 0.9 GB and 40 s, kept by each worker thread's
#: allocator afterwards)
MAX_JSON_OBJECTS = 1000


class _TooManyObjects(Exception):
    pass


def check_object_count(body: bytes | str) -> None:
    """Refuse a body of more than :data:`MAX_JSON_OBJECTS` objects, counting them with the
    standard library's parser, which keeps nothing of them (only when the body holds that many
    ``{`` at all; a body that is not JSON is left to pydantic's message)."""
    if body.count("{" if isinstance(body, str) else b"{") <= MAX_JSON_OBJECTS:
        return
    seen = 0

    def count(_pairs: Any) -> None:
        nonlocal seen
        seen += 1
        if seen > MAX_JSON_OBJECTS:
            raise _TooManyObjects

    try:
        json.loads(body, object_pairs_hook=count)
    except _TooManyObjects:
        raise InvalidInput(
            f"the JSON body holds more than {MAX_JSON_OBJECTS} objects; a request is one object with at most "
            f"{schema.MAX_PIECES} pieces in {schema.ITEMS.name}"
        ) from None
    except (ValueError, RecursionError):
        return


def parse_json_request(body: bytes | str) -> BaseModel:
    """The body as a :data:`RecommendRequest`."""
    check_object_count(body)
    try:
        return RecommendRequest.model_validate_json(body)
    except ValidationError as e:
        first = e.errors(include_url=False)[0]
        if first.get("type") == "json_invalid":
            detail = str(first.get("msg", "")).removeprefix("Invalid JSON: ")
            raise BadRequest(f"request body is not valid JSON: {detail}") from None
        raise InvalidInput(_validation_message(e)) from None


_SOURCES = tuple(s.name for s in schema.QUERY_FIELDS)


_ONE_OF = f"{', '.join(_SOURCES[:-1])} or {_SOURCES[-1]}"


def _piece_fields(obj: BaseModel, what: str, label: str | None) -> dict[str, Any]:
    """The one query field of a body (or of one piece): {source, its value}; base64 decoded."""
    given = [n for n in _SOURCES if getattr(obj, n) is not None]
    if len(given) != 1:
        raise InvalidInput(f"{what} needs exactly one of {_ONE_OF}" + (f" (got {', '.join(given)})" if given else ""))
    source = given[0]
    if source == "image":
        image = f"{label}.image" if label else "image"
        return {"source": source, "image_bytes": decode_base64(obj.image, what=image)}  # type: ignore[attr-defined]
    return {"source": source, source: getattr(obj, source)}


def _from_model(req: BaseModel) -> ParsedRequest:
    options = {k: getattr(req, k) for k in schema.OPTION_NAMES if getattr(req, k) is not None}
    items = getattr(req, schema.ITEMS.name)
    if items is not None:
        beside = [n for n in _SOURCES if getattr(req, n) is not None]
        if beside:
            raise InvalidInput(f"give the query as {schema.ITEMS.name} or as one top-level {_ONE_OF}, not both "
                               f"(got {schema.ITEMS.name} and {', '.join(beside)})")
        schema.check_piece_count(len(items))
        pieces = tuple(
            ParsedPiece(**_piece_fields(p, f"{schema.ITEMS.name}[{i}]: a piece", f"{schema.ITEMS.name}[{i}]"))
            for i, p in enumerate(items)
        )
        return ParsedRequest(source=schema.ITEMS.name, options=options, include_thumbnails=req.include_thumbnails,
                             pieces=pieces)
    return ParsedRequest(options=options, include_thumbnails=req.include_thumbnails,
                         **_piece_fields(req, "a request", None))


_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def parse_option_pairs(pairs: Iterable[tuple[str, str]]) -> tuple[dict[str, Any], bool]:
    """Query-string style options -> (engine options, include_thumbnails).

    Values stay strings (the engine converts and range-checks them); a list of ids may repeat or
    be comma-separated; a response flag is true or false (the last one given counts). Unknown
    keys are refused.
    """
    options: dict[str, Any] = {}
    include_thumbnails = False
    for key, value in pairs:
        if key not in OPTION_KEYS:
            raise InvalidInput(f"unknown option {key[:60]!r} (known: {', '.join(OPTION_KEYS)})")
        kind = schema.FIELDS_BY_NAME[key].kind
        if key == "include_thumbnails":
            v = value.strip().lower()
            if v not in _TRUE | _FALSE:
                raise InvalidInput(f"{key} must be true or false")
            include_thumbnails = v in _TRUE
        elif kind == "ids":
            options.setdefault(key, []).extend(s for s in value.split(",") if s)
        elif kind in ("filters", "boost"):  # repeatable: filter=in_stock=true&filter=price<=80, boost=popularity:0.1
            options.setdefault(key, []).append(value)
        elif key in options:
            raise InvalidInput(f"option {key} is given more than once")
        else:
            options[key] = value
    return options, include_thumbnails


def custom_attribute_pairs(value: str | None) -> list[tuple[str, str]]:
    """Options carried in ``X-Amzn-SageMaker-Custom-Attributes`` (``top_k=5&gender=female``).

    The header is opaque to SageMaker and may carry other things (a trace id); only ``key=value``
    pairs are read as options.
    """
    if not value:
        return []
    pairs: list[tuple[str, str]] = []
    for part in value.split("&"):
        if "=" in part:
            pairs.extend((k.strip(), v) for k, v in parse_qsl(part, keep_blank_values=True) if k.strip())
    return pairs


def parse_request(
    body: bytes | str,
    content_type: str | None,
    option_pairs: Iterable[tuple[str, str]] = (),
) -> ParsedRequest:
    """Decode one request body; options for raw image bodies come in ``option_pairs``."""
    kind = request_kind(content_type)
    if kind == "jsonlines":
        raise UnsupportedMediaType(f"{media_type(content_type)} is a batch of requests: read it with parse_lines")
    pairs = list(option_pairs)
    if kind == "json":
        if pairs:
            raise InvalidInput(
                f"options of a JSON request go in its body, not the query string or custom attributes "
                f"(got {', '.join(sorted({k[:40] for k, _ in pairs}))})"
            )
        return _from_model(parse_json_request(body))
    data = body.encode("latin-1") if isinstance(body, str) else bytes(body)
    options, include_thumbnails = parse_option_pairs(pairs)
    return ParsedRequest(source="image", image_bytes=data, options=options, include_thumbnails=include_thumbnails)


def parse_lines(body: bytes | str, option_pairs: Iterable[tuple[str, str]] = ()) -> list[ParsedRequest | StygigError]:
    """Decode a JSON Lines body: one JSON request a line, each parsed as :func:`parse_request`
    parses a JSON body. A line that fails is its error, in its place (a bad line never fails the
    batch); the batch itself fails only when it has no line, or options came outside the lines."""
    pairs = list(option_pairs)
    if pairs:
        raise InvalidInput(
            f"options of a JSON Lines request go in each line, not the query string or custom attributes "
            f"(got {', '.join(sorted({k[:40] for k, _ in pairs}))})"
        )
    lines = split_lines(body)
    if not lines:
        raise BadRequest("a JSON Lines body needs at least one line (one JSON request a line)")
    out: list[ParsedRequest | StygigError] = []
    for n, line in enumerate(lines, start=1):
        try:
            if not line.strip():
                raise BadRequest(f"line {n} is blank; each line must be one JSON request")
            out.append(_from_model(parse_json_request(line)))
        except StygigError as e:
            out.append(e)
    return out


def split_lines(body: bytes | str) -> list[bytes]:
    """The lines of a JSON Lines body (``\n`` or ``\r\n``); the newline ending the last line
    does not start another."""
    data = body.encode("utf-8") if isinstance(body, str) else bytes(body)
    if not data:
        return []
    lines = data.split(b"\n")
    if lines[-1] == b"":
        lines.pop()
    return [line[:-1] if line.endswith(b"\r") else line for line in lines]


# ---- to the engine ------------------------------------------------------------------------------
S3Reader = Callable[[str], bytes]


def _to_piece(p: ParsedPiece, label: str | None, s3_reader: S3Reader | None) -> Piece:
    if p.source == "item_id":
        return Piece(item_id=p.item_id, label=label)
    if p.source == "text":
        return Piece(text=p.text, label=label)
    with naming(label):
        if p.source == "image":
            return Piece(image=decode_image(p.image_bytes or b""), label=label)
        if s3_reader is None:
            raise InvalidInput("image_s3_uri is not accepted here", code="s3_bucket_not_allowed")
        return Piece(image=decode_image(s3_reader(p.image_s3_uri or "")), label=label)


def to_query(parsed: ParsedRequest, recommender: "Recommender", *, s3_reader: S3Reader | None = None) -> tuple[Query, Options]:
    """The engine's query and validated options for a parsed request: an unknown item id is
    refused before any picture is decoded or fetched."""
    options = Options.from_dict(parsed.options, recommender.taxonomy)
    labelled = parsed.query_pieces()
    for label, p in labelled:  # the cheap checks first
        if p.source == "item_id" and recommender.items.row_of(p.item_id or "") is None:
            raise unknown_item(Piece(item_id=p.item_id, label=label))
    pieces = [_to_piece(p, label, s3_reader) for label, p in labelled]
    if parsed.source == schema.ITEMS.name:
        return Query(pieces=pieces), options
    one = pieces[0]
    return Query(image=one.image, text=one.text, item_id=one.item_id), options


def s3_reader_for(allowed_buckets: frozenset[str] | set[str], max_bytes: int) -> S3Reader:
    """Reads ``image_s3_uri`` objects from the allowed buckets only (none: every URI is refused)."""

    def read(uri: str) -> bytes:
        from stygig.s3io import read_s3_bytes

        return read_s3_bytes(uri, allowed_buckets=frozenset(allowed_buckets), max_bytes=max_bytes)

    return read


def attach_thumbnails(result: dict[str, Any], recommender: "Recommender") -> dict[str, Any]:
    """Add ``thumbnail_data`` (a data: URL) to each item shown (recommendations, outfit pieces and
    their alternatives) and to each item query piece."""
    def data_url(item_id: str | None) -> str | None:
        if not item_id:
            return None
        path = safe_thumbnail_path(recommender, item_id)
        if path is None:
            return None
        mt = "image/png" if path.suffix.lower() == ".png" else "image/jpeg"
        return f"data:{mt};base64," + base64.b64encode(path.read_bytes()).decode("ascii")

    for rec in schema.answer_items(result):
        rec["thumbnail_data"] = data_url(rec.get("item_id"))
    for q in [result.get("query_item") or {}, *(result.get("query_items") or [])]:
        if q.get("item_id") and "thumbnail_data" not in q:
            q["thumbnail_data"] = data_url(q["item_id"])
    return result


def safe_thumbnail_path(recommender: "Recommender", item_id: str):
    """The thumbnail file of a catalog item, or None; never a path outside the artifact."""
    from stygig.errors import UnknownItem

    try:
        path = recommender.thumbnail_path(item_id)
    except (UnknownItem, KeyError, TypeError):
        return None
    root = recommender.artifact_dir.resolve()
    resolved = path.resolve()
    if not resolved.is_relative_to(root) or not resolved.is_file():
        return None
    return resolved


# ---- encoding -----------------------------------------------------------------------------------
def encode_response(result: dict[str, Any], accept: str | None = None) -> tuple[bytes, str]:
    """The response body and its content type. NaN never leaks into the JSON (that is a 500)."""
    content_type = negotiate_accept(accept)
    return encode_json(result), content_type


def encode_json(obj: dict[str, Any]) -> bytes:
    """One answer (or error body) as the server writes it: compact UTF-8 JSON, no NaN."""
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode("utf-8")


def encode_lines(results: Iterable[dict[str, Any]], accept: str | None = None) -> tuple[bytes, str]:
    """A JSON Lines answer: each result (an answer or an error body) encoded as a single answer
    is, one a line, in order, each line ending in ``\n``."""
    content_type = negotiate_accept(accept, lines=True)
    return b"".join(encode_json(r) + b"\n" for r in results), content_type
