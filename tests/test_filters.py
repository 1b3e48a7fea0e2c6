"""Attribute filters at query time (issue 14.2): searched within, never a post-filter; JSON, text,
query string, custom attributes and CLI spellings; a 422 (or one CLI line) naming the field."""

from __future__ import annotations

import json
import operator
import subprocess
import sys

import numpy as np
import pytest

from stygig.build import write_artifact_from_arrays
from stygig.errors import InvalidInput
from stygig.features.encoders.precomputed import PrecomputedEncoder
from stygig.recommend import filters as F
from stygig.recommend.engine import Recommender
from stygig.recommend.query import Query
from stygig.schema import Options

from test_serving_server import assert_error, assert_outfit, post, running_server


OPS = {"eq": operator.eq, "ne": operator.ne, "lt": operator.lt, "lte": operator.le, "gt": operator.gt,
       "gte": operator.ge, "in": lambda v, want: v in want}


def _passes(attrs: dict, f: dict) -> bool:
    """The reference semantics, written plainly."""
    for name, spec in f.items():
        if name == "not":
            if _passes(attrs, spec):
                return False
            continue
        v = attrs.get(name)
        ops = spec if isinstance(spec, dict) else {"eq": spec}
        for op, want in ops.items():
            if v is None:
                return False
            if isinstance(v, list):
                ok = want in v if op == "contains" else any(w in v for w in want)
            else:
                ok = OPS[op](v, want)
            if not ok:
                return False
    return True


FILTERS = [
    {"in_stock": True},
    {"price": {"lte": 80, "gte": 10}},
    {"brand": {"in": ["Corvane", "Kinetra"]}, "sizes": {"contains": "XXL"}},
    {"not": {"in_stock": True}, "price": {"gt": 30}},
    {"brand": {"ne": "Corvane"}, "sizes": {"in": ["XS", "XXL"]}},
]


@pytest.mark.parametrize("f", FILTERS)
def test_every_recommendation_passes_and_the_mask_is_the_reference(lite_artifact, f):
    rec = Recommender.load(lite_artifact)
    mask = F.compile_mask(F.parse(f), rec.attributes, rec.n_items)
    want = np.array([_passes(rec.items[r]["attributes"], f) for r in range(rec.n_items)])
    assert (mask == want).all() and 0 < want.sum() < rec.n_items
    for query in ("shirt-0000", "sneakers-0001", "dress-0002"):
        out = rec.recommend(Query(item_id=query), Options.from_dict({"filters": f, "top_k": 8}, rec.taxonomy))
        assert out["recommendations"]
        assert all(_passes(r["attributes"], f) for r in out["recommendations"]), (f, out["recommendations"])
        pieces = [p for piece in out["outfit"]["pieces"] for p in (piece, *piece.get("alternatives", []))]
        assert pieces and all(_passes(p["attributes"], f) for p in pieces), (f, out["outfit"])  # the composed outfit too


def test_text_spellings_are_the_json_ones(lite_artifact):
    rec = Recommender.load(lite_artifact)
    text = ["in_stock=true", "price<=80", "price>=10", "brand in Corvane,Kinetra", "sizes contains XXL", "brand!=Arlo"]
    as_json = {"in_stock": True, "price": {"lte": 80, "gte": 10}, "brand": {"in": ["Corvane", "Kinetra"]},
               "sizes": {"contains": "XXL"}, "not": {"brand": "Arlo"}}
    a = F.compile_mask(F.parse(text, "filter"), rec.attributes, rec.n_items)
    b = F.compile_mask(F.parse(as_json), rec.attributes, rec.n_items)
    assert (a == b).all() and a.any()


@pytest.fixture(scope="module")
def ivf_artifact(tmp_path_factory):
    """6,000 synthetic items in two IVF categories; only 5 trousers are in stock, and they are the
    trousers *least* like every shirt: a post-filter of any fixed pool would find none of them."""
    rng = np.random.default_rng(3)
    n, dim = 6000, 16
    vec = rng.standard_normal((n, dim)).astype(np.float32)
    cats = np.array(["shirt", "pants"] * (n // 2))
    vec[cats == "pants", 0] += 3.0  # trousers lean one way ...
    centre = vec[cats == "shirt"].mean(axis=0)
    vec /= np.linalg.norm(vec, axis=1, keepdims=True)
    pants = np.flatnonzero(cats == "pants")
    far = pants[np.argsort(vec[pants] @ (centre / np.linalg.norm(centre)))[:5]]
    in_stock = np.zeros(n, dtype=bool)
    in_stock[far] = True
    ids = [f"it-{i:05d}" for i in range(n)]
    out = tmp_path_factory.mktemp("ivf") / "art"
    write_artifact_from_arrays(out, ids=ids, categories=list(cats), genders=["unisex"] * n, vectors=vec,
                               colours=np.zeros((n, 3, 4), np.float32), encoder=PrecomputedEncoder(dim, "test"),
                               attributes={"in_stock": in_stock, "price": rng.uniform(5, 100, n).round(2)})
    return out, {ids[i] for i in far}


def test_a_selective_filter_never_starves_a_slot(ivf_artifact):
    art, far = ivf_artifact
    rec = Recommender.load(art)
    assert rec.manifest["index"]["per_category"]["pants"]["kind"] == "ivf"
    opts = Options.from_dict({"filters": {"in_stock": True}, "items_per_category": 3, "top_k": 10}, rec.taxonomy)
    shirt = next(rec.items[r]["id"] for r in range(rec.n_items) if rec.items[r]["category"] == "shirt")
    got = [r["item_id"] for r in rec.recommend(Query(item_id=shirt), opts)["recommendations"]]
    assert len(got) == 3 and set(got) <= far  # the slot is full, of the only 5 that pass


def test_filtered_search_against_exact_filtered_search(ivf_artifact):
    """Within an IVF category, the filtered top 50 are (nearly) the exact filtered top 50."""
    art, _ = ivf_artifact
    rec = Recommender.load(art)
    from stygig.recommend import retrieve

    f = F.parse({"price": {"lte": 15}})  # about 10 %
    allowed = rec.allowed(f)
    code = list(rec.taxonomy.categories).index("pants")
    pants = np.flatnonzero(np.asarray(rec.items.category_codes) == code)
    chosen = pants[allowed.mask[pants]]
    vec = np.asarray(rec.vectors)
    recalls = []
    for q in vec[np.flatnonzero(np.asarray(rec.items.category_codes) != code)[:40]]:
        _, rows = retrieve.search_category(rec.indexes, "pants", q, 50, allowed, code)
        exact = chosen[np.argsort(-(vec[chosen] @ q), kind="stable")[:50]]
        assert allowed.mask[rows].all()
        recalls.append(len(set(rows) & set(exact)) / len(exact))
    assert np.mean(recalls) >= 0.95, np.mean(recalls)


def _shirt(rec):
    return next(rec.items[r]["id"] for r in range(rec.n_items) if rec.items[r]["category"] == "shirt")


def test_a_repeated_selective_filter_searches_a_sub_index_and_answers_the_same(ivf_artifact):
    """The second search of a cached filter's IVF category asks for a sub-index of its passing rows;
    once it is in, searches go there, and every answer is the selector search's."""
    art, _ = ivf_artifact
    rec = Recommender.load(art)
    opts = Options.from_dict({"filters": {"price": {"lte": 15}}, "top_k": 10, "items_per_category": 5},
                             rec.taxonomy)
    shirt = _shirt(rec)
    first = rec.recommend(Query(item_id=shirt), opts)["recommendations"]
    allowed = rec.allowed(opts.filters)
    assert allowed.subindexed == 0  # one search: no copy yet
    rec.recommend(Query(item_id=shirt), opts)
    rec.subindexer.wait()
    assert allowed.subindexed == 1  # the trousers a shirt's outfit searches
    code = list(rec.taxonomy.categories).index("pants")
    pants_index = rec.indexes.per_category["pants"]
    searched, _ = allowed.plan("pants", code, pants_index)
    assert searched is not pants_index and searched.ntotal == allowed.per_category[code]
    assert rec.subindexer.used == searched.ntotal * (4 * pants_index.d + 8)
    assert rec.recommend(Query(item_id=shirt), opts)["recommendations"] == first
    # query by query, the sub-index finds the selector search's items, with the same scores
    from stygig.recommend import retrieve

    selector = retrieve.Allowed(allowed.mask, rec.items.category_codes, len(rec.taxonomy.categories))
    vec = np.asarray(rec.vectors)
    for q in vec[:60]:
        s1, r1 = retrieve.search_category(rec.indexes, "pants", q, 50, allowed, code)
        s2, r2 = retrieve.search_category(rec.indexes, "pants", q, 50, selector, code)
        assert sorted(r1.tolist()) == sorted(r2.tolist())
        np.testing.assert_allclose(np.sort(s1), np.sort(s2), rtol=0, atol=1e-6)


def test_sub_indexes_keep_to_their_budget_and_give_it_back(ivf_artifact, monkeypatch):
    art, _ = ivf_artifact
    opts_of = lambda rec: Options.from_dict({"filters": {"price": {"lte": 15}}}, rec.taxonomy)  # noqa: E731
    monkeypatch.setenv("STYGIG_FILTER_INDEX_MB", "0")
    rec = Recommender.load(art)
    for _ in range(4):
        rec.recommend(Query(item_id=_shirt(rec)), opts_of(rec))
    rec.subindexer.wait()
    assert rec.subindexer.used == 0 and rec.allowed(opts_of(rec).filters).subindexed == 0
    monkeypatch.delenv("STYGIG_FILTER_INDEX_MB")
    rec = Recommender.load(art)
    for _ in range(2):
        rec.recommend(Query(item_id=_shirt(rec)), opts_of(rec))
    rec.subindexer.wait()
    assert rec.subindexer.used > 0
    # a new attribute state (a live overlay's) drops the old filters: their bytes come back
    from dataclasses import replace
    import gc

    rec.swap_attributes(replace(rec.attribute_state, cache=F.FilterCache()))
    gc.collect()
    assert rec.subindexer.used == 0


@pytest.mark.parametrize("bad, message", [
    ({"colour": "red"}, "filters.colour: unknown attribute 'colour' (filterable: brand,"),
    ({"price": "cheap"}, "filters.price must be a number ('price' is a number attribute), got 'cheap'"),
    ({"price": {"below": 3}}, "filters.price: unknown operator 'below'"),
    ({"in_stock": 1}, "filters.in_stock must be true or false"),
    ({"sizes": {"lte": 3}}, "filters.sizes.lte: 'lte' does not apply to 'sizes', a strings attribute"),
    ({"not": {"brand": {"in": [3]}}}, "filters.not.brand.in must be a string"),
    ("price<=cheap", "filter 'price<=cheap' must be a number"),
    ("price", "filter 'price' is not a filter"),
    (["in_stock=maybe"], "filter 'in_stock=maybe' must be true or false"),
    ({"price": {"in": []}}, "filters.price.in must be a non-empty list"),
])
def test_bad_filters_are_422_naming_the_field(lite_artifact, bad, message):
    rec = Recommender.load(lite_artifact)
    with pytest.raises(InvalidInput) as e:
        rec.recommend(Query(item_id="shirt-0000"), Options.from_dict({"filters": bad}, rec.taxonomy))
    assert e.value.status == 422
    assert message in e.value.message


@pytest.fixture(scope="module")
def server(lite_artifact, tmp_path_factory):
    with running_server(lite_artifact, tmp_path_factory.mktemp("srv-filters")) as srv:
        yield srv


def test_over_http(server, lite_artifact):
    f = {"in_stock": True, "price": {"lte": 80}}
    out = assert_outfit(post(server, {"item_id": "shirt-0000", "filters": f, "top_k": 6}))
    assert out["recommendations"] and all(_passes(r["attributes"], f) for r in out["recommendations"])
    err = assert_error(post(server, {"item_id": "shirt-0000", "filters": {"colour": "red"}}), 422)
    assert err["message"].startswith("filters.colour: unknown attribute 'colour'")
    # a picture with its filters in the query string, then in custom attributes (repeatable, ANDed)
    photo = (lite_artifact / "thumbs" / "000000.jpg").read_bytes()
    for how in ("params", "headers"):
        if how == "params":
            r = post(server, photo, "image/jpeg", params=[("filter", "in_stock=true"), ("filter", "price<=80")])
        else:
            r = post(server, photo, "image/jpeg",
                     headers={"X-Amzn-SageMaker-Custom-Attributes": "filter=in_stock%3Dtrue&filter=price%3C%3D80"})
        out = assert_outfit(r)
        assert out["recommendations"] and all(_passes(x["attributes"], f) for x in out["recommendations"]), how
    err = assert_error(post(server, photo, "image/jpeg", params={"filter": "price<=cheap"}), 422)
    assert "filter 'price<=cheap' must be a number" in err["message"]


def test_cli(lite_artifact):
    def run(*args):
        return subprocess.run([sys.executable, "-m", "stygig.cli", "recommend", str(lite_artifact), "--item", "shirt-0000",
                               *args], capture_output=True, text=True, timeout=300)
    ok = run("--filter", "in_stock=true", "--filter", "price<=80", "--filter", "brand in Corvane,Kinetra", "--json")
    assert ok.returncode == 0, ok.stderr
    recs = json.loads(ok.stdout)["recommendations"]
    assert recs and all(r["attributes"]["in_stock"] and r["attributes"]["price"] <= 80
                        and r["attributes"]["brand"] in ("Corvane", "Kinetra") for r in recs)
    bad = run("--filter", "colour=red")
    assert bad.returncode != 0
    assert bad.stderr.strip().splitlines() == [
        "stygig: error: filter 'colour=red': unknown attribute 'colour' (filterable: " + bad.stderr.split("(filterable: ")[1].strip()]
    assert "brand" in bad.stderr
