"""One contract: the engine's validation, the JSON request model, the OpenAPI document and the
CLI flags all come from stygig.schema, so they cannot drift apart."""

from __future__ import annotations

import argparse
import dataclasses
import json

import pytest

from stygig import schema
from stygig.errors import InvalidInput
from stygig.recommend.boost import parse as parse_boost
from stygig.recommend.filters import parse as parse_filters
from stygig.schema import OPTION_FIELDS, Options
from stygig.serving import codec
from stygig.taxonomy import Taxonomy

TAX = Taxonomy.default()


def test_options_defaults_are_the_specs():
    defaults = Options()
    for spec in OPTION_FIELDS:
        if spec.alias_of is None:
            assert getattr(defaults, spec.name) == spec.default
    assert [f.name for f in dataclasses.fields(Options)] == [s.name for s in OPTION_FIELDS if s.alias_of is None]


def test_the_request_model_is_the_schema():
    fields = codec.RecommendRequest.model_fields
    assert list(fields) == [s.name for s in schema.REQUEST_FIELDS]
    js = codec.RecommendRequest.model_json_schema()
    for spec in schema.REQUEST_FIELDS:
        assert fields[spec.name].description == spec.description
        prop = js["properties"][spec.name]
        branch = next(b for b in prop.get("anyOf", [prop]) if b.get("type") != "null")
        for key, value in schema.json_schema_limits(spec).items():
            assert branch[key] == value, (spec.name, key)
        if spec.wire_max_length is not None:
            assert branch["maxLength"] == spec.wire_max_length
    assert js["properties"]["top_k"]["anyOf"][0] == {"type": "integer", "minimum": 1, "maximum": 50}
    assert js["properties"]["gender"]["anyOf"][0]["enum"] == ["male", "female", "unisex"]


def test_the_openapi_query_string_is_the_schema(lite_artifact):
    from stygig.serving.app import create_app
    from stygig.serving.config import ServingConfig

    doc = create_app(ServingConfig(artifact_dir=lite_artifact)).openapi()
    params = {p["name"]: p for p in doc["paths"]["/invocations"]["post"]["parameters"]}
    assert list(params) == list(codec.OPTION_KEYS)
    assert params["top_k"]["schema"]["anyOf"][0] == {"type": "integer", "minimum": 1, "maximum": 50}
    assert params["gender"]["schema"]["anyOf"] == [{"type": "string", "enum": ["male", "female", "unisex"]}, {"type": "null"}]
    assert params["exclude_ids"]["schema"]["anyOf"][0] == {"type": "string"}
    assert params["min_score"]["schema"]["anyOf"][0]["type"] == "number"
    assert params["include_thumbnails"]["schema"]["anyOf"][0]["type"] == "boolean"
    assert "1..10; default 2" in params["items_per_category"]["description"]
    assert doc["components"]["schemas"]["RecommendRequest"]["properties"]["exclude_ids"]["anyOf"][0]["maxItems"] == 1000


def test_cli_flags_are_the_schema_with_ranges_and_defaults():
    p = argparse.ArgumentParser()
    schema.add_cli_flags(p)
    help_text = " ".join(p.format_help().split())
    assert "--top-k N How many items to recommend (1..50; default 5)." in help_text
    assert "--min-score NUMBER Drop items scoring under this (0..1; default 0)." in help_text
    assert "--exclude ID Item ids never to recommend (at most 1000); repeatable." in help_text
    args = p.parse_args(["--top-k", "3", "--gender", "female", "--exclude", "a", "--exclude", "b", "--min-score", "0.25"])
    opts = schema.cli_options(args)
    assert opts == {"top_k": 3, "min_score": 0.25, "gender": "female", "exclude_ids": ["a", "b"]}
    assert Options.from_dict(opts, TAX) == Options(top_k=3, min_score=0.25, gender="female", exclude_ids=("a", "b"))
    assert schema.cli_options(p.parse_args([])) == {}


@pytest.mark.parametrize("spec", [s for s in OPTION_FIELDS if s.kind in ("int", "number")], ids=lambda s: s.name)
def test_one_message_for_json_query_string_and_cli(spec):
    """Out of range as a JSON number, as a query-string string and as a parsed CLI flag: the same
    one line, naming the field and its range."""
    over = spec.high + 1
    messages = []
    for value in (over, str(over)):
        with pytest.raises(InvalidInput) as e:
            Options.from_dict({spec.name: value}, TAX)
        messages.append(e.value.message)
    parsed = codec.parse_request(b"\xff\xd8\xff", "image/jpeg", [(spec.name, str(over))])
    with pytest.raises(InvalidInput) as e:
        Options.from_dict(parsed.options, TAX)
    messages.append(e.value.message)
    kind = "an integer" if spec.kind == "int" else "a number"
    assert set(messages) == {f"{spec.name} must be {kind} in [{spec.low}, {spec.high}]"}


def test_aliases_share_their_fields_checks():
    assert Options.from_dict({"n_recommendations": 7}).top_k == 7
    assert Options.from_dict({"n_recommendations": 7, "top_k": 7}).top_k == 7
    with pytest.raises(InvalidInput, match="top_k and n_recommendations are aliases; give one"):
        Options.from_dict({"n_recommendations": 7, "top_k": 8})
    with pytest.raises(InvalidInput, match=r"n_recommendations must be an integer in \[1, 50\]"):
        Options.from_dict({"n_recommendations": 51})


def test_every_option_reaches_the_engine_through_json():
    payload = {"item_id": "a", **{s.name: None for s in OPTION_FIELDS}}
    sample = {"int": 2, "number": 0.5, "choice": "male", "category": "shirt", "ids": ["x"], "filters": {"in_stock": True},
              "boost": {"popularity": 0.1}}
    for spec in OPTION_FIELDS:
        payload[spec.name] = sample[spec.kind]
    del payload["n_recommendations"]  # an alias of top_k: one of the two
    del payload["filter"]  # an alias of filters
    parsed = codec.parse_request(json.dumps(payload), "application/json")
    opts = Options.from_dict(parsed.options, TAX)
    assert opts == Options(top_k=2, items_per_category=2, min_score=0.5, gender="male", category="shirt", exclude_ids=("x",),
                           filters=parse_filters({"in_stock": True}), boost=parse_boost({"popularity": 0.1}))
