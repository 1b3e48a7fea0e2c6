"""Boosts (issue 14.3): a number attribute raises the score by its rank in the catalog, bounded
and normalised, shown as ``boost_score`` and in the reason, for the ranked list and the outfit;
JSON, query string, custom attributes and CLI spellings; a 422 (or one CLI line) naming the field."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from stygig.errors import InvalidInput
from stygig.recommend import boost as B
from stygig.recommend.engine import Recommender
from stygig.recommend.query import Query
from stygig.schema import Options

from test_serving_server import assert_error, assert_outfit, post, running_server


def test_quantiles_rank_ties_at_their_middle_and_leave_missing_out():
    q = B.quantiles(np.array([10.0, np.nan, 3.0, 10.0, 7.0, 1e9]))
    # present: 3, 7, 10, 10, 1e9 -> ranks 0, 1, 2.5, 2.5, 4 of 4: an outlier is one rank, not the scale
    assert np.isnan(q[1])
    np.testing.assert_allclose(q[[2, 4, 0, 3, 5]], [0.0, 0.25, 0.625, 0.625, 1.0])
    assert B.quantiles(np.array([np.nan, 5.0]))[1] == 1.0 and np.isnan(B.quantiles(np.array([np.nan]))).all()


@pytest.fixture(scope="module")
def rec(lite_artifact):
    return Recommender.load(lite_artifact)


def _quantile_of(rec, item_ids):
    q = B.quantiles(rec.attributes["popularity"].values)
    return np.array([q[rec.items.row_of(i)] for i in item_ids])


def test_a_boost_raises_popular_items_in_the_list_and_the_outfit(rec):
    query, wide = Query(item_id="shirt-0000"), {"top_k": 12, "items_per_category": 3}
    plain = rec.recommend(query, Options.from_dict(wide))
    lifted = rec.recommend(query, Options.from_dict({**wide, "boost": {"popularity": 0.5}}))
    before = {r["item_id"]: r for r in plain["recommendations"]}
    assert all("boost_score" not in r for r in before.values())
    q_of = dict(zip(before, _quantile_of(rec, before)))
    for r in lifted["recommendations"]:
        assert 0.0 <= r["boost_score"] <= 1.0
        q = _quantile_of(rec, [r["item_id"]])[0]
        assert r["boost_score"] == pytest.approx(q, abs=1e-4)
        if r["item_id"] in before:  # the blend: half the compatibility, half the rank
            assert r["score"] == pytest.approx(0.5 * before[r["item_id"]]["score"] + 0.5 * q, abs=2e-4)
        if q >= 0.5:
            assert f"popularity in the catalog's top {max(1, round((1 - q) * 100))} %" in r["reason"], r["reason"]
    lifted_ids = [r["item_id"] for r in lifted["recommendations"]]
    assert _quantile_of(rec, lifted_ids).mean() > np.mean(list(q_of.values())) + 0.1
    # the composed outfit is chosen with the boost too
    out_plain = [p["item_id"] for p in plain["outfit"]["pieces"]]
    out_lifted = [p["item_id"] for p in lifted["outfit"]["pieces"]]
    assert out_lifted and out_plain
    assert _quantile_of(rec, out_lifted).mean() > _quantile_of(rec, out_plain).mean()
    assert all("boost_score" in p for p in lifted["outfit"]["pieces"])


def test_a_negative_weight_favours_low_values(rec):
    query = Query(item_id="dress-0001")
    opts = {"top_k": 12, "items_per_category": 3}
    price = lambda out: np.mean([r["attributes"]["price"] for r in out["recommendations"]])  # noqa: E731
    plain = rec.recommend(query, Options.from_dict(opts))
    cheap = rec.recommend(query, Options.from_dict({**opts, "boost": ["price=-0.5"]}))
    assert price(cheap) < price(plain)
    assert any("price in the catalog's lowest" in r["reason"] for r in cheap["recommendations"])


def test_same_input_same_output(rec):
    opts = Options.from_dict({"boost": {"popularity": 0.2, "price": -0.1}})
    a = rec.recommend(Query(item_id="pants-0002"), opts)
    b = rec.recommend(Query(item_id="pants-0002"), opts)
    assert a["recommendations"] == b["recommendations"] and a["outfit"] == b["outfit"]


@pytest.mark.parametrize("bad, message", [
    ({"colour": 0.1}, "boost.colour: the catalog has no attribute 'colour' (number attributes: popularity, price)"),
    ({"brand": 0.1}, "boost.brand: 'brand' is a string attribute; a boost needs a number"),
    ({"popularity": 0.8}, "boost.popularity must be a number between -0.5 and 0.5, got 0.8"),
    ({"popularity": True}, "boost.popularity must be a number between -0.5 and 0.5, got True"),
    ({"popularity": "lots"}, "boost.popularity must be a number between -0.5 and 0.5, got 'lots'"),
    ({"popularity": 0.4, "price": -0.3}, "boost: the weights' sizes sum to 0.7; the limit is 0.5"),
    ("popularity", "boost must read NAME=WEIGHT, e.g. popularity=0.1 (got 'popularity')"),
    (7, 'boost must be an object of attribute weights, e.g. {"popularity": 0.1}'),
])
def test_bad_boosts_are_422_naming_the_field(rec, bad, message):
    with pytest.raises(InvalidInput) as e:
        rec.recommend(Query(item_id="shirt-0000"), Options.from_dict({"boost": bad}, rec.taxonomy))
    assert e.value.status == 422
    assert e.value.message.startswith(message), e.value.message


@pytest.fixture(scope="module")
def server(lite_artifact, tmp_path_factory):
    with running_server(lite_artifact, tmp_path_factory.mktemp("srv-boost")) as srv:
        yield srv


def test_over_http(server, lite_artifact, rec):
    want = rec.recommend(Query(item_id="shirt-0000"), Options.from_dict({"boost": {"popularity": 0.3}}))
    out = assert_outfit(post(server, {"item_id": "shirt-0000", "boost": {"popularity": 0.3}}))
    assert [r["item_id"] for r in out["recommendations"]] == [r["item_id"] for r in want["recommendations"]]
    assert all("boost_score" in r for r in out["recommendations"])
    err = assert_error(post(server, {"item_id": "shirt-0000", "boost": {"sizes": 0.1}}), 422)
    assert err["message"] == "boost.sizes: 'sizes' is a strings attribute; a boost needs a number"
    # the engine's messages, not the wire model's, for a value of the wrong kind
    err = assert_error(post(server, {"item_id": "shirt-0000", "boost": {"popularity": True}}), 422)
    assert err["message"] == "boost.popularity must be a number between -0.5 and 0.5, got True"
    err = assert_error(post(server, {"item_id": "shirt-0000", "boost": [1]}), 422)
    assert err["message"] == "boost[0] must read NAME=WEIGHT, e.g. popularity=0.1 (got '1')"
    err = assert_error(post(server, {"item_id": "shirt-0000", "filters": [1]}), 422)
    assert err["message"] == "filters[0] must be an object or a text expression such as 'price<=80'"
    photo = (lite_artifact / "thumbs" / "000000.jpg").read_bytes()
    by_params = assert_outfit(post(server, photo, "image/jpeg", params=[("boost", "popularity:0.3")]))
    by_header = assert_outfit(post(server, photo, "image/jpeg",
                                   headers={"X-Amzn-SageMaker-Custom-Attributes": "boost=popularity%3A0.3"}))
    assert by_params["recommendations"] == by_header["recommendations"]
    assert all("boost_score" in r for r in by_params["recommendations"])
    err = assert_error(post(server, photo, "image/jpeg", params={"boost": "popularity:high"}), 422)
    assert err["message"] == "boost.popularity must be a number between -0.5 and 0.5, got 'high'"


def test_cli(lite_artifact):
    def run(*args):
        return subprocess.run([sys.executable, "-m", "stygig.cli", "recommend", str(lite_artifact), "--item", "shirt-0000",
                               *args], capture_output=True, text=True, timeout=300)
    ok = run("--boost", "popularity=0.2", "--boost", "price=-0.1", "--json")
    assert ok.returncode == 0, ok.stderr
    assert all("boost_score" in r for r in json.loads(ok.stdout)["recommendations"])
    shown = run("--boost", "popularity=0.2")  # the printed outfit gives the boost beside the other parts
    assert shown.returncode == 0, shown.stderr
    assert ", boost 0." in shown.stdout or ", boost 1.00" in shown.stdout
    bad = run("--boost", "brand=0.1")
    assert bad.returncode == 2
    assert bad.stderr.strip().splitlines() == ["stygig: error: boost.brand: 'brand' is a string attribute; a boost needs a number"]


@pytest.mark.parametrize("given", [{"popularity": 0.1, "price": -0.2}, ["popularity=0.1", "price:-0.2"]])
def test_a_sagemaker_client_carries_a_boost_in_custom_attributes(given):
    from stygig.client.runtime import _custom_attributes
    from stygig.serving import codec

    header = _custom_attributes({"boost": given}, False)
    parsed = codec.parse_request(b"\xff\xd8\xff", "image/jpeg", codec.custom_attribute_pairs(header))
    assert Options.from_dict(parsed.options).boost == B.Boost((("popularity", 0.1), ("price", -0.2)))
