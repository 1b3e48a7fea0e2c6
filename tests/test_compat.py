"""The compatibility component: one interface that the ranked list uses today, and that the
outfit composer, evaluation and a learned model plug into; the kind an artifact carries is named
in its manifest."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from stygig.cli import main
from stygig.errors import ArtifactError
from stygig.recommend.compat import (
    DEFAULT_WEIGHTS,
    KINDS,
    Compatibility,
    HeuristicCompatibility,
    PairScores,
    Pieces,
    against_context,
    coherence,
)
from stygig.recommend.engine import Recommender
from stygig.recommend.query import Query
from stygig.schema import Options
from stygig.taxonomy import GENDERS


@pytest.fixture(scope="module")
def rec(full_artifact):
    return Recommender.load(full_artifact)


def _pieces(rec, rows):
    return Pieces.from_rows(rows, colours=rec.colours, category_codes=rec.items.category_codes,
                            gender_codes=rec.items.gender_codes, vectors=rec.vectors)


def _first(rec, category):
    return next(i for i, it in enumerate(rec.items) if it["category"] == category)


@pytest.mark.parametrize("category", ["shirt", "pants", "dress", "sneakers", "bag"])
def test_the_ranked_list_is_pairwise_against_the_query(rec, category):
    """Each recommendation's score and parts are the component's, computed here from the
    catalog's vectors rather than from the search's similarities."""
    row = _first(rec, category)
    resp = rec.recommend(Query(item_id=rec.items[row]["id"]), Options(top_k=10))
    recs = resp["recommendations"]
    assert recs
    context = _pieces(rec, [row])
    cand = _pieces(rec, [rec.items.row_of(r["item_id"]) for r in recs])
    pairs = rec.compatibility.pairwise(context, cand)
    for j, r in enumerate(recs):
        assert r["score"] == pytest.approx(pairs.total[0, j], abs=6e-5)
        for part in HeuristicCompatibility.parts:
            assert r[f"{part}_score"] == pytest.approx(pairs.parts[part][0, j], abs=6e-5)


def test_pairwise_shapes_context_mean_and_coherence(rec):
    rows = [_first(rec, c) for c in ("shirt", "pants", "sneakers", "bag", "hat")]
    a, b = _pieces(rec, rows[:2]), _pieces(rec, rows[2:])
    model = rec.compatibility
    pairs = model.pairwise(a, b)
    assert pairs.total.shape == (2, 3) and pairs.relation.shape == (2, 3)
    assert set(pairs.parts) == set(DEFAULT_WEIGHTS)
    assert ((0 <= pairs.total) & (pairs.total <= 1)).all()
    w = model.weights
    np.testing.assert_allclose(pairs.total, sum(w[k] * pairs.parts[k] for k in w))
    # a candidate against a context of two pieces: the mean of its two pairwise scores
    ctx = against_context(model, a, b)
    np.testing.assert_allclose(ctx.total, pairs.total.mean(axis=0))
    # with one context piece: exactly that piece's row
    one = against_context(model, a.take([1]), b)
    assert (one.total == model.pairwise(a.take([1]), b).total[0]).all()
    # an outfit's coherence: the mean over ordered pairs of distinct pieces
    outfit = Pieces.concat([a, b])
    full = model.pairwise(outfit, outfit).total
    assert coherence(model, outfit) == pytest.approx((full.sum() - np.trace(full)) / 20)
    with pytest.raises(ValueError, match="two pieces"):
        coherence(model, a.take([0]))


def test_similarity_given_or_computed(rec):
    rows = [_first(rec, c) for c in ("shirt", "pants", "heels")]
    p = _pieces(rec, rows)
    sims = (p.vectors @ p.vectors.T).astype(np.float32)
    no_vec = Pieces(p.colours, p.categories, p.genders, p.rows)
    a = rec.compatibility.pairwise(p, no_vec, similarity=sims)
    b = rec.compatibility.pairwise(p, p)
    np.testing.assert_allclose(a.total, b.total, atol=1e-6)
    with pytest.raises(ValueError, match="vectors or their similarity"):
        rec.compatibility.pairwise(p, no_vec)


def test_pieces_from_outside_the_catalog_and_unknown_gender(rec):
    """A photo's piece has row -1 and may have no gender: the gender part is that of an unknown
    reference (as for a query whose gender could not be inferred)."""
    row = _first(rec, "pants")
    inside = _pieces(rec, [row])
    outside = Pieces(inside.colours, inside.categories, np.array([-1]), np.array([-1]), inside.vectors)
    cand = _pieces(rec, [_first(rec, "shirt")])
    got = rec.compatibility.pairwise(outside, cand).parts["gender"][0, 0]
    from stygig.taxonomy import gender_score

    assert got == gender_score(None, GENDERS[int(cand.genders[0])])


def test_the_manifest_names_the_compatibility_it_carries(lite_artifact, tmp_path):
    manifest = json.loads((lite_artifact / "manifest.json").read_text())
    assert manifest["compatibility"] == {"kind": "heuristic", "weights": DEFAULT_WEIGHTS}
    # an artifact from before the key existed loads as the heuristic with the default weights
    old = tmp_path / "old"
    shutil.copytree(lite_artifact, old)
    del manifest["compatibility"]
    (old / "manifest.json").write_text(json.dumps(manifest))
    q = Query(item_id=Recommender.load(lite_artifact).items[0]["id"])
    a = Recommender.load(lite_artifact).recommend(q, Options(top_k=6))
    b = Recommender.load(old).recommend(q, Options(top_k=6))
    assert b["metadata"]["weights"] == DEFAULT_WEIGHTS
    assert a["recommendations"] == b["recommendations"]


def _with_compatibility(src, dst, spec):
    shutil.copytree(src, dst)
    m = json.loads((dst / "manifest.json").read_text())
    m["compatibility"] = spec
    (dst / "manifest.json").write_text(json.dumps(m))
    return dst


def test_manifest_weights_are_used_and_the_environment_overrides_them(lite_artifact, tmp_path, monkeypatch):
    monkeypatch.delenv("STYGIG_WEIGHTS", raising=False)
    colour_only = {"similarity": 0.0, "color": 1.0, "category": 0.0, "gender": 0.0}
    art = _with_compatibility(lite_artifact, tmp_path / "w", {"kind": "heuristic", "weights": colour_only})
    rec = Recommender.load(art)
    q = Query(item_id=rec.items[0]["id"])
    resp = rec.recommend(q, Options(top_k=6))
    assert resp["metadata"]["weights"] == colour_only
    assert all(r["score"] == r["color_score"] for r in resp["recommendations"])
    monkeypatch.setenv("STYGIG_WEIGHTS", "similarity=1")  # over the manifest's, then normalised
    over = Recommender.load(art).recommend(q, Options(top_k=6))
    assert over["metadata"]["weights"] == {"similarity": 0.5, "color": 0.5, "category": 0.0, "gender": 0.0}


@pytest.mark.parametrize(
    "spec, message",
    [
        ({"kind": "learned-mlp"}, "unknown compatibility kind 'learned-mlp' (known: heuristic, learned)"),
        ("heuristic", "'compatibility' must be an object"),
        ({"kind": "heuristic", "weights": {"similarity": 1.0}}, "weights must name exactly"),
        ({"kind": "heuristic", "weights": {"similarity": 0.5, "color": 0.5, "category": 0.5, "gender": 0.5}}, "sum to 1"),
        ({"kind": "heuristic", "weights": {"similarity": "a", "color": 0.5, "category": 0.5, "gender": 0.0}}, "non-negative"),
    ],
)
def test_a_bad_compatibility_entry_refuses_to_load(lite_artifact, tmp_path, spec, message, capsys):
    art = _with_compatibility(lite_artifact, tmp_path / "bad", spec)
    with pytest.raises(ArtifactError, match="compatibility"):
        Recommender.load(art)
    assert main(["recommend", str(art), "--item", "x"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("stygig: error: ") and message in err[0], err


class _ColourOnly:
    """A second kind, registered by name: what a learned model does to plug in."""

    kind = "colour-only-test"
    parts = ("color",)
    needs_vectors = True

    def __init__(self, heuristic: HeuristicCompatibility):
        self._h = heuristic
        self.seen_vectors = 0

    @classmethod
    def from_spec(cls, spec, *, taxonomy, directory):
        return cls(HeuristicCompatibility(taxonomy))

    def pairwise(self, a, b, *, similarity=None):
        assert b.vectors is not None  # the engine gathers them when a model needs them
        self.seen_vectors += len(b)
        h = self._h.pairwise(a, b, similarity=similarity)
        return PairScores(h.parts["color"], {"color": h.parts["color"]}, h.relation)

    def describe(self):
        return {"kind": self.kind}


def test_another_kind_named_in_the_manifest_is_used(lite_artifact, tmp_path, monkeypatch):
    monkeypatch.setitem(KINDS, _ColourOnly.kind, _ColourOnly)
    art = _with_compatibility(lite_artifact, tmp_path / "k", {"kind": _ColourOnly.kind})
    rec = Recommender.load(art)
    assert isinstance(rec.compatibility, _ColourOnly) and isinstance(rec.compatibility, Compatibility)
    resp = rec.recommend(Query(item_id=rec.items[0]["id"]), Options(top_k=5))
    recs = resp["recommendations"]
    assert recs and rec.compatibility.seen_vectors > 0
    assert all(set(r) >= {"score", "color_score"} and "similarity_score" not in r for r in recs)
    assert all(r["score"] == r["color_score"] for r in recs)
    assert resp["metadata"]["weights"] is None
