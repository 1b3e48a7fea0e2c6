"""The composed outfit: slot rules, the joint search against exhaustive search, the response."""

from collections import defaultdict

import numpy as np
import pytest

from stygig.features.colour.harmony import harmony_batch, harmony_matrix, harmony_pairs
from stygig.recommend import compose
from stygig.recommend.compat import HeuristicCompatibility, Pieces, pairs_within
from stygig.recommend.engine import Recommender
from stygig.recommend.query import Piece, Query
from stygig.response import RecommendResponse
from stygig.schema import Options, answer_items
from stygig.taxonomy import GENDERS, Taxonomy

TAX = Taxonomy.default()
RULES = TAX.outfit


@pytest.fixture(scope="module")
def rec(full_artifact):
    return Recommender.load(full_artifact)


def colour_count(im) -> int:
    """How many distinct colours a picture holds (a blank tile has one or two)."""
    px = np.asarray(im.convert("RGB")).reshape(-1, 3)
    return len(np.unique(px, axis=0))


def _problem(query_categories, rng, *, per_slot=2, genders=None):
    """A composition over random scores: ``per_slot`` candidates in each slot the query leaves open."""
    plan = RULES.plan(query_categories)
    cand_slot = np.repeat(np.arange(len(plan.open)), per_slot)
    n = len(cand_slot)
    return compose.Problem(
        rules=RULES, slots=plan.open, cand_slot=cand_slot,
        context=rng.uniform(0.3, 1.0, (len(query_categories), n)), pair=rng.uniform(0.3, 1.0, (n, n)),
        genders=rng.integers(0, 3, n) if genders is None else np.full(n, genders),
        context_genders=np.full(len(query_categories), GENDERS.index("unisex")),
        held=frozenset(plan.filled), rows=np.arange(n),
    )


# ---- the search ---------------------------------------------------------------------------------
@pytest.mark.parametrize("query", [["shirt"], ["pants"], ["dress"], ["sneakers"], ["coat"], ["bag"], ["shirt", "pants"]])
def test_the_search_finds_the_exhaustive_optimum_or_close_to_it(query):
    rng = np.random.default_rng(sum(map(ord, "".join(query))))
    ratios = []
    for _ in range(6):
        p = _problem(query, rng)
        found, best = compose.search(p), compose.exhaustive(p)
        assert found.score <= best.score + 1e-12
        ratios.append(found.score / best.score)
    assert min(ratios) >= 0.97 and np.mean(ratios) >= 0.99, ratios


@pytest.mark.parametrize("query", [["shirt"], ["dress"], ["sneakers"], ["hat"], ["jacket"], ["shirt", "pants"]])
def test_every_composed_outfit_keeps_the_slot_rules(query):
    rng = np.random.default_rng(3)
    for _ in range(5):
        p = _problem(query, rng)
        p = _problem(query, rng, genders=rng.choice([0, 2], len(p.rows), p=[0.3, 0.7]))  # men's and unisex
        for comp, optimal in ((compose.search(p), False), (compose.exhaustive(p), True)):
            slots = [RULES.slot_of[c] for c in query] + list(comp.slots)
            assert RULES.violations(slots) == [], (query, slots)
            genders = {GENDERS[int(p.genders[i])] for i in comp.chosen}
            assert not {"male", "female"} <= genders, "men's and women's pieces are never worn together"
            for pos, alts in enumerate(comp.alternatives):
                assert len(alts) <= compose.ALTERNATIVES
                for k, _, outfit_score in alts:
                    assert p.cand_slot[k] == p.cand_slot[comp.chosen[pos]] and k not in comp.chosen
                    if optimal:  # no swap beats the optimum
                        assert outfit_score <= comp.score + 1e-12


def test_when_genders_leave_no_complete_outfit_the_most_complete_one_is_answered():
    rng = np.random.default_rng(5)
    p = _problem(["jacket"], rng, per_slot=1)
    genders = np.full(len(p.rows), GENDERS.index("unisex"))
    genders[list(p.slots).index("top")] = GENDERS.index("male")
    genders[list(p.slots).index("bottom")] = GENDERS.index("female")
    genders[list(p.slots).index("one-piece")] = GENDERS.index("male")
    p = compose.Problem(rules=RULES, slots=p.slots, cand_slot=p.cand_slot, context=p.context, pair=p.pair,
                        genders=genders, context_genders=p.context_genders, held=p.held, rows=p.rows)
    for comp in (compose.search(p), compose.exhaustive(p)):
        assert "footwear" in comp.slots and len(set(comp.slots) & {"top", "bottom", "one-piece"}) == 1


def test_the_shoes_must_go_with_the_trousers_not_only_with_the_shirt():
    """Scored jointly: the shoes that go best with the shirt alone clash with the trousers that go
    best with it; the composer takes the other shoes (an independent pick per slot would not)."""
    plan = RULES.plan(["shirt"])
    slots = ("bottom", "footwear")
    cand_slot = np.array([0, 1, 1])  # trousers; shoes A; shoes B
    context = np.array([[0.9, 0.9, 0.8]])
    pair = np.array([[0.0, 0.1, 0.9], [0.1, 0.0, 0.5], [0.9, 0.5, 0.0]])
    p = compose.Problem(rules=RULES, slots=slots, cand_slot=cand_slot, context=context, pair=pair,
                        genders=np.full(3, 2), context_genders=np.array([2]), held=frozenset(plan.filled),
                        rows=np.arange(3))
    comp = compose.search(p)
    assert comp.chosen == (0, 2) and comp.slots == ("bottom", "footwear")
    assert comp.alternatives[1][0][0] == 1  # the clashing shoes are the footwear alternative
    assert compose.exhaustive(p).chosen == (0, 2)


def test_an_optional_slot_is_filled_only_when_its_piece_does_not_lower_the_score():
    plan = RULES.plan(["dress"])
    slots = ("footwear", "bag")
    cand_slot = np.array([0, 1])
    base = dict(rules=RULES, slots=slots, cand_slot=cand_slot, genders=np.full(2, 2), context_genders=np.array([2]),
                held=frozenset(plan.filled), rows=np.arange(2))
    good = compose.Problem(context=np.array([[0.8, 0.9]]), pair=np.array([[0, 0.9], [0.9, 0]]), **base)
    poor = compose.Problem(context=np.array([[0.8, 0.3]]), pair=np.array([[0, 0.3], [0.3, 0]]), **base)
    assert compose.search(good).slots == ("footwear", "bag")
    assert compose.search(poor).slots == ("footwear",)


# ---- the compatibility component's matrix forms ---------------------------------------------------
def test_harmony_matrix_and_pairs_agree_with_the_batch_form():
    rng = np.random.default_rng(0)
    a_lab, b_lab = rng.uniform(-60, 90, (5, 3, 3)), rng.uniform(-60, 90, (7, 3, 3))
    a_w, b_w = rng.uniform(0, 1, (5, 3)), rng.uniform(0, 1, (7, 3))
    a_w[0, 2] = b_w[3] = 0.0  # padding, and a set with no colour at all
    scores, codes = harmony_matrix(a_lab, a_w, b_lab, b_w)
    for i in range(5):
        s, c = harmony_batch(a_lab[i], a_w[i], b_lab, b_w)
        assert np.array_equal(scores[i], s) and np.array_equal(codes[i], c)
    i, j = np.meshgrid(np.arange(5), np.arange(7), indexing="ij")
    ps, pc = harmony_pairs(a_lab[i.ravel()], a_w[i.ravel()], b_lab[j.ravel()], b_w[j.ravel()])
    assert np.array_equal(ps, scores.ravel()) and np.array_equal(pc, codes.ravel())


class _PairwiseOnly:
    def __init__(self, model):
        self.pairwise = model.pairwise


def test_within_gives_pairwise_totals_where_asked(rec):
    model = HeuristicCompatibility(rec.taxonomy)
    rows = np.arange(0, rec.n_items, 37)
    p = Pieces.from_rows(rows, colours=rec.colours, category_codes=np.asarray(rec.items.category_codes),
                         gender_codes=np.asarray(rec.items.gender_codes), vectors=rec.vectors)
    need = np.random.default_rng(1).random((len(p), len(p))) < 0.5
    got = pairs_within(model, p, need)
    np.fill_diagonal(need, False)  # a piece is never scored against itself
    want = model.pairwise(p, p).total
    # a model without a faster path of its own: pairwise, masked
    assert np.array_equal(pairs_within(_PairwiseOnly(model), p, need), np.where(need, want, 0.0))
    assert np.allclose(got[need], want[need], rtol=0, atol=1e-12)
    assert (got[~need] == 0).all()


# ---- the engine's answer ------------------------------------------------------------------------------
def _one_of_each(rec, per_category=2):
    seen = defaultdict(list)
    for it in rec.items:
        if len(seen[it["category"]]) < per_category:
            seen[it["category"]].append(it["id"])
    return [i for ids in seen.values() for i in ids]


def test_outfits_for_every_category_keep_the_rules_and_lead_the_ranked_list(rec):
    with_outerwear = 0
    for item_id in _one_of_each(rec):
        resp = rec.recommend(Query(item_id=item_id), Options(top_k=10))
        RecommendResponse.model_validate(resp)
        q = resp["query_item"]
        outfit = resp["outfit"]
        pieces = outfit["pieces"]
        slots = [RULES.slot_of[q["category"]]] + [p["slot"] for p in pieces]
        assert RULES.violations(slots) == [], (item_id, slots)
        assert [p["slot"] for p in pieces] == [s for s in RULES.names if s in slots[1:]], "pieces in slot order"
        assert all(RULES.slot_of[p["category"]] == p["slot"] for p in pieces)
        genders = {q["gender"], *(p["gender"] for p in pieces)}
        assert not {"male", "female"} <= genders
        # the ranked list keeps its shape and leads with the outfit
        recs = resp["recommendations"]
        assert [r["item_id"] for r in recs[: len(pieces)]] == [p["item_id"] for p in pieces][:10]
        assert [r["rank"] for r in recs] == list(range(1, len(recs) + 1))
        assert len({r["item_id"] for r in recs}) == len(recs)
        for p in pieces:
            assert len(p["alternatives"]) <= 3
            for a in p["alternatives"]:
                assert RULES.slot_of[a["category"]] == p["slot"] and a["item_id"] not in {x["item_id"] for x in pieces}
            same = next(r for r in recs if r["item_id"] == p["item_id"])
            assert {k: same[k] for k in same} == {k: p[k] for k in same}, "a piece reads as its ranked-list entry"
        assert 0 < outfit["score"] <= 1 and 0 < outfit["coherence"] <= 1
        if q["group"] in ("upperwear", "one-piece") and any(p["slot"] == "outerwear" for p in pieces):
            with_outerwear += 1
    assert with_outerwear > 0, "a top or a dress gets a layer over it in some outfit"


def test_the_outfit_is_chosen_jointly_and_goes_together_better_than_independent_picks(rec):
    """The composed outfit's coherence beats the best-per-slot picks' (today's lead layer)."""
    composed, independent = [], []
    for item_id in _one_of_each(rec, 1):
        resp = rec.recommend(Query(item_id=item_id))
        ids = [item_id, *(p["item_id"] for p in resp["outfit"]["pieces"])]
        best_per_slot = {}
        for r in rec.recommend(Query(item_id=item_id), Options(top_k=50, items_per_category=10), outfit=False)["recommendations"]:
            best_per_slot.setdefault(RULES.slot_of[r["category"]], r["item_id"])
        slots = [p["slot"] for p in resp["outfit"]["pieces"]]
        indep = [item_id, *(best_per_slot[s] for s in slots)]
        if len(ids) < 2:
            continue
        composed.append(_coherence(rec, ids))
        independent.append(_coherence(rec, indep))
    assert np.mean(composed) > np.mean(independent), (np.mean(composed), np.mean(independent))


def _coherence(rec, ids):
    from stygig.recommend.compat import coherence

    rows = [rec.items.row_of(i) for i in ids]
    p = Pieces.from_rows(rows, colours=rec.colours, category_codes=np.asarray(rec.items.category_codes),
                         gender_codes=np.asarray(rec.items.gender_codes), vectors=rec.vectors)
    return coherence(rec.compatibility, p)


def test_pieces_in_the_query_fill_their_slots(rec):
    shirt = next(it["id"] for it in rec.items if it["category"] == "shirt")
    pants = next(it["id"] for it in rec.items if it["category"] == "pants")
    resp = rec.recommend(Query(pieces=[Piece(item_id=shirt), Piece(item_id=pants)]))
    slots = [p["slot"] for p in resp["outfit"]["pieces"]]
    assert "footwear" in slots and not {"top", "bottom", "one-piece"} & set(slots)
    assert RULES.violations(["top", "bottom", *slots]) == []


def test_without_composing_the_ranked_list_is_todays(rec):
    item_id = _one_of_each(rec, 1)[0]
    plain = rec.recommend(Query(item_id=item_id), outfit=False)
    assert plain["outfit"] is None and plain["recommendations"]
    composed = rec.recommend(Query(item_id=item_id))
    assert {r["item_id"] for r in composed["recommendations"]} & {r["item_id"] for r in plain["recommendations"]}


def test_answer_items_lists_outfit_pieces_and_alternatives(rec):
    resp = rec.recommend(Query(item_id=_one_of_each(rec, 1)[0]))
    shown = answer_items(resp)
    n_alts = sum(len(p["alternatives"]) for p in resp["outfit"]["pieces"])
    assert len(shown) == len(resp["recommendations"]) + len(resp["outfit"]["pieces"]) + n_alts


def test_same_query_same_outfit(rec):
    item_id = _one_of_each(rec, 1)[3]
    a = rec.recommend(Query(item_id=item_id))["outfit"]
    b = rec.recommend(Query(item_id=item_id))["outfit"]
    assert a == b


# ---- explanations ---------------------------------------------------------------------------------
def _colour(name, lab):
    return {"name": name, "lab": lab, "weight": 1.0, "hex": "#000000", "rgb": [0, 0, 0]}


NAVY, WHITE, RED, CORAL = (_colour("navy", [20, 5, -30]), _colour("white", [97, 0, 1]),
                           _colour("red", [50, 70, 50]), _colour("coral", [65, 45, 35]))


def _outfit_reason(item, slot, others, relation="neutral"):
    from stygig.recommend.explain import outfit_reason

    return outfit_reason(TAX, item, slot=slot, others=others, relation=relation, similarity=0.5, category_score=0.9,
                         query_category=others[0]["category"], query_colours=others[0]["colors"],
                         query_categories=[others[0]["category"]])


def test_an_outfit_piece_is_explained_by_the_colour_it_shares_with_another_piece():
    shirt = {"category": "shirt", "colors": [RED], "slot": "top", "query": True}
    pants = {"category": "pants", "colors": [NAVY, WHITE], "slot": "bottom", "query": False}
    sneakers = {"category": "sneakers", "colors": [WHITE, NAVY]}
    said = _outfit_reason(sneakers, "footwear", [shirt, pants])
    assert said == "Sneakers for your shirt: the white picks up the trousers' white."


def test_a_top_and_a_bottom_of_one_colour_are_a_tonal_base():
    shirt = {"category": "shirt", "colors": [NAVY], "slot": "top", "query": True}
    assert "a tonal navy base with the shirt" in _outfit_reason({"category": "pants", "colors": [NAVY]}, "bottom", [shirt])


def test_neutrals_are_said_to_ground_or_to_let_a_colour_lead_never_to_go_with_anything():
    from stygig.recommend.explain import reason

    def plain(item_colour, query_colour, relation="neutral"):
        return reason(TAX, {"category": "pants", "colors": [item_colour]}, relation=relation, similarity=0.0,
                      category_score=0.0, query_category="shirt", query_colours=[query_colour])

    assert plain(NAVY, RED) == "Trousers for your shirt: navy lets the shirt's red lead."
    assert plain(RED, WHITE) == "Trousers for your shirt: red brings colour to the white shirt."
    assert plain(WHITE, WHITE) == "Trousers for your shirt: white on white, one quiet neutral."
    assert plain(CORAL, RED, "analogous") == "Trousers for your shirt: coral beside the shirt's red, neighbouring hues that blend."
    dress = reason(TAX, {"category": "heels", "colors": [NAVY]}, relation="neutral", similarity=0.0, category_score=0.0,
                   query_category="dress", query_colours=[RED])
    assert dress == "High heels for your dress: navy lets the dress's red lead."


def test_outfit_reasons_speak_of_the_outfit(rec):
    shared = total = 0
    for item_id in _one_of_each(rec, 1):
        resp = rec.recommend(Query(item_id=item_id))
        for r in resp["recommendations"]:
            assert "goes with anything" not in r["reason"]
        for p in resp["outfit"]["pieces"]:
            total += 1
            shared += " picks up the " in p["reason"] or "tonal" in p["reason"]
    assert shared / total >= 0.5, (shared, total)


# ---- outfit.png -----------------------------------------------------------------------------------
def test_outfit_png_shows_the_set_with_the_query_marked_and_alternatives_written_atomically(lite_artifact, tmp_path):
    import json
    import os
    import stat
    import subprocess
    import sys

    from PIL import Image

    from stygig.report import ACCENT, ALT, CARD, PAD

    small = Recommender.load(lite_artifact)
    shirt = next(it["id"] for it in small.items if it["category"] == "shirt")
    pants = next(it["id"] for it in small.items if it["category"] == "pants")
    out = tmp_path / "vis"
    r = subprocess.run([sys.executable, "-m", "stygig.cli", "recommend", lite_artifact, "--item", shirt, "--item", pants,
                        "--save-visual", out], capture_output=True, text=True, timeout=300,
                       preexec_fn=lambda: os.umask(0o027))
    assert r.returncode == 0, r.stderr
    assert sorted(p.name for p in out.iterdir()) == ["outfit.json", "outfit.png"], "no temporary file left behind"
    for p in out.iterdir():
        assert stat.S_IMODE(p.stat().st_mode) == 0o640, p
    response = json.loads((out / "outfit.json").read_text())
    pieces = response["outfit"]["pieces"]
    cells = 2 + len(pieces)
    with Image.open(out / "outfit.png") as im:
        im = im.convert("RGB")
        cols = min(5, cells)
        assert im.width == PAD + cols * (CARD + PAD)
        # both query pieces are on a card outlined in the accent colour, with their pictures
        for n in range(2):
            x = PAD + n * (CARD + PAD)
            assert im.getpixel((x - 6, 96 + CARD // 2)) == ACCENT
            assert colour_count(im.crop((x, 96, x + CARD, 96 + CARD))) > 50, "the piece's picture, not a blank"
        # each slot's alternatives are drawn under it
        for k, p in enumerate(pieces):
            n = 2 + k
            if n >= cols or not p["alternatives"]:
                continue
            x = PAD + n * (CARD + PAD)
            y = 96 + CARD + 150 + 4 + 16
            tile = im.crop((x, y, x + ALT, y + ALT))
            assert colour_count(tile) > 20, p["slot"]


def test_a_query_of_mens_and_womens_pieces_still_gets_a_complete_base(rec):
    """The short lists hold only candidates that may be worn with every query piece (here unisex
    ones): a query mixing men's and women's pieces is not left without a bottom."""
    # the pair benchmarks/outfit.py found (the default sample catalog): no bottom before the fix
    man, woman = rec.item("tshirt-0019"), rec.item("necklace-0015")
    assert {man["gender"], woman["gender"]} == {"male", "female"}
    resp = rec.recommend(Query(pieces=[Piece(item_id=woman["id"]), Piece(item_id=man["id"])]))
    slots = [p["slot"] for p in resp["outfit"]["pieces"]]
    assert RULES.violations(["top", "jewellery", *slots]) == [], slots
    assert all(p["gender"] == "unisex" for p in resp["outfit"]["pieces"])
