"""The request codec on its own: every way a request can be written, and every way it can be wrong."""

from __future__ import annotations

import base64
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stygig import schema
from stygig.errors import InvalidInput, StygigError
from stygig.serving import codec
from stygig.serving.errors import BadRequest, NotAcceptable, UnsupportedMediaType

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def test_json_image_request_v4_shape():
    raw = PNG_MAGIC + b"rest-of-png"
    body = json.dumps({"image": base64.b64encode(raw).decode(), "top_k": 5, "min_score": 0.5}).encode()
    parsed = codec.parse_request(body, "application/json")
    assert parsed.source == "image"
    assert parsed.image_bytes == raw
    assert parsed.options == {"top_k": 5, "min_score": 0.5}
    assert parsed.include_thumbnails is False


@pytest.mark.parametrize(
    "payload, source, field",
    [
        ({"item_id": "shirt-0001"}, "item_id", "item_id"),
        ({"text": "a red dress"}, "text", "text"),
        ({"image_s3_uri": "s3://bucket/key.jpg"}, "image_s3_uri", "image_s3_uri"),
    ],
)
def test_json_other_sources(payload, source, field):
    parsed = codec.parse_request(json.dumps(payload), "application/json; charset=utf-8")
    assert parsed.source == source
    assert getattr(parsed, field) == payload[field]


def test_missing_content_type_means_json():
    assert codec.parse_request(b'{"item_id": "a"}', None).item_id == "a"


def test_all_engine_options_pass_through_unchanged():
    payload = {
        "item_id": "a",
        "n_recommendations": 3,
        "items_per_category": 1,
        "min_score": 0.25,
        "gender": "Female",
        "category": "shirt",
        "exclude_ids": ["x", "y"],
        "include_thumbnails": True,
    }
    parsed = codec.parse_request(json.dumps(payload), "application/json")
    assert parsed.options == {k: v for k, v in payload.items() if k not in ("item_id", "include_thumbnails")}
    assert parsed.include_thumbnails is True


@pytest.mark.parametrize(
    "value",
    [
        "data:image/png;base64," + base64.b64encode(PNG_MAGIC + b"x").decode(),
        base64.b64encode(PNG_MAGIC + b"x").decode().rstrip("="),  # padding dropped
        "\n".join(base64.b64encode(PNG_MAGIC + b"x" * 100).decode()[i : i + 76] for i in range(0, 160, 76)),
    ],
)
def test_base64_variants_accepted(value):
    parsed = codec.parse_request(json.dumps({"image": value}), "application/json")
    assert parsed.image_bytes.startswith(PNG_MAGIC)


@pytest.mark.parametrize(
    "body, exc, fragment",
    [
        (b"{not json", BadRequest, "not valid JSON"),
        (b"", BadRequest, "not valid JSON"),
        (b'{"a": 1} trailing', BadRequest, "not valid JSON"),
        (b"[" * 5000 + b"]" * 5000, BadRequest, "not valid JSON"),  # deeply nested
        (b'{"image": "@@@not base64@@@"}', BadRequest, "base64"),
        (b'{"image": "\xc3\xa9t\xc3\xa9"}', BadRequest, "base64"),
        (b"[1, 2]", InvalidInput, "must be an object"),
        (b'{"item_id": "a", "colour": "red"}', InvalidInput, "unknown field 'colour'"),
        (b'{"item_id": "a", "top_k": "5"}', InvalidInput, "top_k"),
        (b'{"item_id": "a", "top_k": 5.5}', InvalidInput, "top_k"),
        (b'{"item_id": "a", "top_k": true}', InvalidInput, "top_k"),
        (b'{"item_id": "a", "min_score": NaN}', InvalidInput, "min_score"),
        (b'{"item_id": "a", "min_score": 1e999}', InvalidInput, "min_score"),
        (b'{"item_id": "a", "exclude_ids": "a,b"}', InvalidInput, "exclude_ids"),
        (b'{"item_id": 12}', InvalidInput, "item_id"),
        (b"{}", InvalidInput, "exactly one of"),
        (b'{"item_id": "a", "text": "b"}', InvalidInput, "got item_id, text"),
    ],
)
def test_bad_json_requests(body, exc, fragment):
    with pytest.raises(exc) as e:
        codec.parse_request(body, "application/json")
    assert fragment in e.value.message
    assert "\n" not in e.value.message


def test_error_statuses_follow_the_contract():
    assert BadRequest("x").status == 400
    assert InvalidInput("x").status == 422
    assert UnsupportedMediaType("x").status == 415
    assert NotAcceptable("x").status == 406


@pytest.mark.parametrize("ct", ["image/jpeg", "image/png", "image/webp", "application/x-image", "IMAGE/JPEG; q=1"])
def test_raw_image_bodies_with_query_options(ct):
    parsed = codec.parse_request(
        b"\xff\xd8\xff-bytes", ct, [("top_k", "3"), ("exclude_ids", "a,b"), ("exclude_ids", "c"), ("include_thumbnails", "true")]
    )
    assert parsed.source == "image"
    assert parsed.image_bytes == b"\xff\xd8\xff-bytes"
    assert parsed.options == {"top_k": "3", "exclude_ids": ["a", "b", "c"]}
    assert parsed.include_thumbnails is True


@pytest.mark.parametrize("ct", ["text/plain", "application/octet-stream", "multipart/form-data; boundary=x", "image/svg+xml", "image/heic"])
def test_unsupported_content_types(ct):
    with pytest.raises(UnsupportedMediaType) as e:
        codec.parse_request(b"x", ct)
    assert e.value.status == 415


def test_unknown_or_repeated_query_options_are_refused():
    with pytest.raises(InvalidInput, match="unknown option 'colour'"):
        codec.parse_request(b"x", "image/png", [("colour", "red")])
    with pytest.raises(InvalidInput, match="more than once"):
        codec.parse_request(b"x", "image/png", [("top_k", "1"), ("top_k", "2")])
    with pytest.raises(InvalidInput, match="include_thumbnails"):
        codec.parse_request(b"x", "image/png", [("include_thumbnails", "maybe")])


def test_json_requests_refuse_out_of_body_options():
    with pytest.raises(InvalidInput, match="go in its body"):
        codec.parse_request(b'{"item_id": "a"}', "application/json", [("top_k", "3")])


def test_custom_attributes():
    assert codec.custom_attribute_pairs("top_k=3&gender=female") == [("top_k", "3"), ("gender", "female")]
    assert codec.custom_attribute_pairs("trace-1234") == []  # opaque tags are not options
    assert codec.custom_attribute_pairs("trace-1234&top_k=2") == [("top_k", "2")]
    assert codec.custom_attribute_pairs("exclude_ids=a%2Cb") == [("exclude_ids", "a,b")]
    assert codec.custom_attribute_pairs(None) == []


@pytest.mark.parametrize(
    "accept, ok",
    [
        (None, True),
        ("", True),
        ("application/json", True),
        ("*/*", True),
        ("application/*", True),
        ("text/html, application/json;q=0.5", True),
        ("text/csv", False),
        ("application/json;q=0", False),
        ("image/png", False),
    ],
)
def test_accept_negotiation(accept, ok):
    if ok:
        assert codec.negotiate_accept(accept) == "application/json"
    else:
        with pytest.raises(NotAcceptable):
            codec.negotiate_accept(accept)


def test_encode_response_is_compact_utf8_and_refuses_nan():
    body, ct = codec.encode_response({"name": "été", "score": 0.5}, "application/json")
    assert ct == "application/json"
    assert json.loads(body) == {"name": "été", "score": 0.5}
    assert "été".encode() in body
    with pytest.raises(ValueError):
        codec.encode_response({"score": float("nan")})


def test_openapi_schema_of_the_request_lists_every_field():
    schema = codec.RecommendRequest.model_json_schema()
    assert set(schema["properties"]) == {
        "image", "image_s3_uri", "item_id", "text", "items", "top_k", "n_recommendations", "items_per_category",
        "min_score", "gender", "category", "exclude_ids", "filters", "filter", "boost",
        "include_thumbnails",
    }
    assert schema["additionalProperties"] is False


# ---- properties: whatever arrives, the codec answers with a StygigError or a ParsedRequest ------
content_types = st.sampled_from(
    [None, "application/json", "image/jpeg", "image/png", "application/x-image", "text/plain", "", "application/json; x=1"]
)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=20,
)
field_names = st.sampled_from(list(codec.RecommendRequest.model_fields) + ["extra", "IMAGE"])


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(body=st.binary(max_size=300), content_type=content_types)
def test_arbitrary_bytes_never_crash(body, content_type):
    try:
        parsed = codec.parse_request(body, content_type)
    except StygigError as e:
        assert 400 <= e.status < 500
        assert e.message and "\n" not in e.message
    else:
        assert parsed.source in ("image", "image_s3_uri", "item_id", "text")


@settings(max_examples=300, deadline=None)
@given(obj=st.dictionaries(field_names, json_values, max_size=6))
def test_arbitrary_json_objects_never_crash(obj):
    body = json.dumps(obj, allow_nan=True)
    try:
        parsed = codec.parse_request(body, "application/json")
    except StygigError as e:
        assert e.status in (400, 422)
        assert e.message and "\n" not in e.message
    else:
        given_sources = [k for k in ("image", "image_s3_uri", "item_id", "text", "items") if obj.get(k) is not None]
        assert given_sources == [parsed.source]
        assert set(parsed.options) <= set(schema.OPTION_NAMES)


@settings(max_examples=200, deadline=None)
@given(pairs=st.lists(st.tuples(st.sampled_from(list(codec.OPTION_KEYS) + ["x"]), st.text(max_size=10)), max_size=6))
def test_arbitrary_query_options_never_crash(pairs):
    try:
        parsed = codec.parse_request(b"\xff\xd8\xff", "image/jpeg", pairs)
    except StygigError as e:
        assert e.status == 422
    else:
        assert set(parsed.options) <= set(schema.OPTION_NAMES)
