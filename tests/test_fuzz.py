"""Fuzzing: hypothesis properties of the request codec, the CLIP tokenizer on hostile text, and
schemathesis against a running server's own OpenAPI document (no 5xx allowed).

The codec properties here complement tests/test_serving_codec.py (which checks that arbitrary
bytes, JSON objects and query options never crash): they check that what a client sends is what
the engine gets (round trips), and that errors stay one short line whatever the input.
"""

from __future__ import annotations

import base64
import importlib.util
import json
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import parse_qsl, urlencode

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stygig.errors import StygigError
from stygig.serving import codec
from stygig.serving.child import stop
from stygig.serving.errors import NotAcceptable, UnsupportedMediaType
from test_serving_server import start_server, wait_for, wait_workers_ready

SETTINGS = dict(deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
ST = str(Path(sys.executable).with_name("st"))

# ---- strategies ---------------------------------------------------------------------------------
option_values = {
    "top_k": st.integers(-10**6, 10**6),
    "n_recommendations": st.integers(-100, 100),
    "items_per_category": st.integers(-100, 100),
    "min_score": st.floats(allow_nan=False, allow_infinity=False),
    "gender": st.text(max_size=16),
    "category": st.text(max_size=40),
    "exclude_ids": st.lists(st.text(max_size=30), max_size=20),
}
options = st.fixed_dictionaries({}, optional=option_values)
sources = st.one_of(
    st.tuples(st.just("image"), st.binary(min_size=1, max_size=600)),
    st.tuples(st.just("image_s3_uri"), st.text(max_size=200)),
    st.tuples(st.just("item_id"), st.text(max_size=120)),
    st.tuples(st.just("text"), st.text(max_size=300)),
)


def b64_variant(data: bytes, style: int) -> str:
    """The forms of base64 clients send: plain, a data: URL, wrapped at 76 columns, unpadded."""
    text = base64.b64encode(data).decode("ascii")
    if style == 1:
        return "data:image/jpeg;base64," + text
    if style == 2:
        return "\r\n".join(text[i : i + 76] for i in range(0, len(text), 76))
    if style == 3:
        return text.rstrip("=")
    return text


# ---- codec properties ---------------------------------------------------------------------------
@settings(max_examples=300, **SETTINGS)
@given(source=sources, opts=options, thumbs=st.booleans(), style=st.integers(0, 3))
def test_what_the_client_sends_is_what_the_engine_gets(source, opts, thumbs, style):
    kind, value = source
    payload = {kind: b64_variant(value, style) if kind == "image" else value, **opts, "include_thumbnails": thumbs}
    parsed = codec.parse_request(json.dumps(payload).encode(), "application/json")
    assert parsed.source == kind
    if kind == "image":
        assert parsed.image_bytes == value
    else:
        assert getattr(parsed, kind) == value
    assert parsed.options == opts  # passed through untouched: the engine owns the ranges
    assert parsed.include_thumbnails is thumbs


@settings(max_examples=300, **SETTINGS)
@given(pieces=st.lists(st.tuples(sources, st.integers(0, 3)), min_size=1, max_size=8), opts=options)
def test_every_piece_of_items_reaches_the_engine_as_sent(pieces, opts):
    payload = {"items": [{kind: b64_variant(value, style) if kind == "image" else value}
                         for (kind, value), style in pieces], **opts}
    parsed = codec.parse_request(json.dumps(payload).encode(), "application/json")
    assert parsed.source == "items" and parsed.options == opts
    assert [(p.source, p.image_bytes if p.source == "image" else getattr(p, p.source)) for p in parsed.pieces] == \
        [kind_value for kind_value, _ in pieces]
    assert [label for label, _ in parsed.query_pieces()] == [f"items[{i}]" for i in range(len(pieces))]


bad_pieces = st.one_of(
    st.just({}),
    st.fixed_dictionaries({"item_id": st.text(max_size=20), "text": st.text(max_size=20)}),
    st.fixed_dictionaries({"image": st.just("@@@")}),
    st.dictionaries(st.text(min_size=1, max_size=40).filter(lambda k: k not in ("image", "image_s3_uri", "item_id", "text")),
                    st.integers(), min_size=1, max_size=2),
    st.integers() | st.text(max_size=10) | st.lists(st.integers(), max_size=2) | st.none(),
)


@settings(max_examples=300, **SETTINGS)
@given(good=st.lists(st.builds(lambda t: {"item_id": t}, st.text(max_size=20)), max_size=7), bad=bad_pieces,
       at=st.integers(0, 7))
def test_a_bad_piece_is_named_by_its_index(good, bad, at):
    at = min(at, len(good))
    items = [*good[:at], bad, *good[at:]]
    with pytest.raises(StygigError) as e:
        codec.parse_request(json.dumps({"items": items}).encode(), "application/json")
    assert e.value.status in (400, 422)
    assert e.value.message.startswith(f"items[{at}]"), e.value.message
    assert "\n" not in e.value.message and len(e.value.message) <= 400


@settings(max_examples=100, **SETTINGS)
@given(n=st.integers(9, 300) | st.just(0))
def test_too_many_or_no_pieces_say_the_limit(n):
    with pytest.raises(StygigError) as e:
        codec.parse_request(json.dumps({"items": [{"item_id": "a"}] * n}).encode(), "application/json")
    assert e.value.status == 422
    assert (f"items has {n} pieces; the limit is 8" if n else "items is empty") in e.value.message


query_safe = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters=","), min_size=1, max_size=20)


@settings(max_examples=200, **SETTINGS)
@given(
    opts=st.fixed_dictionaries(
        {},
        optional={k: query_safe for k in ("top_k", "n_recommendations", "items_per_category", "min_score", "gender", "category")}
        | {"exclude_ids": st.lists(query_safe, min_size=1, max_size=5)},
    ),
    thumbs=st.sampled_from(["true", "false", "1", "0", "yes", "off", None]),
)
def test_options_survive_the_query_string_and_custom_attributes(opts, thumbs):
    pairs = [(k, ",".join(v) if k == "exclude_ids" else v) for k, v in opts.items()]
    if thumbs is not None:
        pairs.append(("include_thumbnails", thumbs))
    wire = urlencode(pairs)
    for received in (parse_qsl(wire, keep_blank_values=True), codec.custom_attribute_pairs(wire)):
        parsed = codec.parse_request(b"\xff\xd8\xff", "image/jpeg", received)
        assert parsed.options == opts
        assert parsed.include_thumbnails is (thumbs in ("true", "1", "yes"))


@settings(max_examples=300, **SETTINGS)
@given(
    obj=st.dictionaries(
        st.text(min_size=1, max_size=3000),
        st.none() | st.integers() | st.text(max_size=3000) | st.lists(st.integers() | st.text(max_size=500), max_size=3),
        max_size=4,
    )
)
def test_errors_are_one_short_line_whatever_the_input(obj):
    """Field names and values come from the client: an error never echoes them at length."""
    try:
        codec.parse_request(json.dumps(obj).encode(), "application/json")
    except StygigError as e:
        assert 400 <= e.status < 500
        assert e.message and "\n" not in e.message
        assert len(e.message) <= 400, (len(e.message), e.message[:120])


@settings(max_examples=300, **SETTINGS)
@given(header=st.text(max_size=200))
def test_content_negotiation_never_fails_otherwise(header):
    try:
        assert codec.negotiate_accept(header) == "application/json"
    except NotAcceptable as e:
        assert e.status == 406 and len(e.message) < 300
    try:
        assert codec.request_kind(header) in ("json", "image")
    except UnsupportedMediaType as e:
        assert e.status == 415 and len(e.message) < 400


@settings(max_examples=200, **SETTINGS)
@given(
    kind=st.sampled_from(list(codec.IMAGE_CONTENT_TYPES) + ["application/json"]),
    upper=st.lists(st.booleans(), min_size=30, max_size=30),
    params=st.sampled_from(["", "; charset=utf-8", ";q=1", " ; boundary=x"]),
    others=st.lists(st.sampled_from(["text/html", "image/png;q=0.9", "application/xml"]), max_size=3),
)
def test_media_types_are_read_case_and_parameter_insensitively(kind, upper, params, others):
    mixed = "".join(c.upper() if u else c for c, u in zip(kind, upper + [False] * len(kind)))
    assert codec.request_kind(mixed + params) == ("json" if kind == "application/json" else "image")
    accept = ", ".join(others + ["Application/JSON" + params])
    assert codec.negotiate_accept(accept) == "application/json"


# ---- the CLIP tokenizer on hostile text ---------------------------------------------------------
@pytest.fixture(scope="module")
def tokenizer():
    """The real tokenizer with CLIP's own vocabulary (shipped with open_clip; not imported)."""
    from stygig.features.encoders.tokenizer import ClipTokenizer

    spec = importlib.util.find_spec("open_clip")
    assert spec is not None and spec.submodule_search_locations
    vocab = Path(spec.submodule_search_locations[0]) / "bpe_simple_vocab_16e6.txt.gz"
    return ClipTokenizer(vocab)


@settings(max_examples=150, **SETTINGS)
@given(text=st.text(st.characters(), min_size=1, max_size=1000))
def test_any_unicode_text_tokenizes_quickly_into_one_bounded_row(tokenizer, text):
    from stygig.schema import TEXT

    assert len(text) <= TEXT.max_length  # what the server lets through
    t0 = time.perf_counter()
    out = tokenizer(text)
    assert time.perf_counter() - t0 < 1.0
    assert out.shape == (1, tokenizer.context_length)
    row = [int(t) for t in out[0] if t]
    assert row[0] == tokenizer.sot_token_id and row[-1] == tokenizer.eot_token_id
    assert all(0 <= t < tokenizer.vocab_size for t in row)
    assert (tokenizer(text) == out).all()  # same input, same output


def test_worst_case_texts_stay_fast(tokenizer):
    """Long single words (BPE is quadratic in a word's length) at the server's 1000-character limit."""
    import random

    rnd = random.Random(0)
    texts = [
        "a" * 1000,
        "".join(rnd.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(1000)),
        "".join(chr(rnd.randint(0x1F300, 0x1F5FF)) for _ in range(1000)),
        "".join(chr(rnd.randint(0x4E00, 0x9FFF)) for _ in range(1000)),
        "&amp;" * 200,
        "\u0301" * 1000,
    ]
    for text in texts:
        t0 = time.perf_counter()
        tokenizer(text)
        assert time.perf_counter() - t0 < 1.5, text[:20]


# ---- schemathesis against the running server ----------------------------------------------------
def log_records(log: Path) -> list[dict]:
    """The server's JSON log records; every line must be one whole JSON object (split at
    newlines only, as CloudWatch does)."""
    out = []
    for line in log.read_bytes().decode("utf-8").split("\n"):
        if line.startswith("{"):
            out.append(json.loads(line))
    return out


@pytest.fixture(scope="module")
def server(lite_artifact, tmp_path_factory):
    env = {"STYGIG_ALLOWED_S3_BUCKETS": "shop-uploads", "AWS_ENDPOINT_URL_S3": "http://127.0.0.1:9",
           "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
    srv = start_server(lite_artifact, tmp_path_factory.mktemp("fuzz"), workers=1, env=env)
    wait_for(srv)
    wait_workers_ready(srv, 1)
    yield srv
    assert stop(srv.proc) == 0


def test_schemathesis_finds_no_server_error(server, tmp_path):
    """Every operation of /openapi.json: examples, boundary values, random and schema-violating
    data, and stateful sequences; bounded in examples per operation and in time."""
    before = len(log_records(server.log))  # /ping's 503s while the model loaded
    r = subprocess.run(
        [
            ST, "run", f"{server.url}/openapi.json",
            "--checks", "not_a_server_error",
            "--max-examples", "50",
            "--seed", "7",
            "--workers", "1",
            "--request-timeout", "20",
            "--generation-database", "none",
            "--no-color",
        ],
        capture_output=True, text=True, timeout=600, cwd=tmp_path,
    )
    report = r.stdout[-6000:]
    assert r.returncode == 0, report
    assert "Test cases:" in r.stdout and " passed" in r.stdout, report
    # the server's own account: many requests, every one answered, none a 5xx
    records = log_records(server.log)[before:]
    lines = [l for l in records if l.get("event") == "request"]
    statuses = [l["status"] for l in lines]
    assert len(statuses) >= 300, len(statuses)
    assert not [s for s in statuses if s >= 500 or s == 0], sorted(set(statuses))
    assert {200, 400, 422} <= set(statuses), sorted(set(statuses))
    assert not [l for l in records if l.get("level") == "error"]
