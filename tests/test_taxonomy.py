import json

import pytest

from stygig.errors import TaxonomyError
from stygig.taxonomy import GENDERS, Taxonomy, gender_allowed, gender_score

TAX = Taxonomy.default()
ALL = list(TAX.categories)


OUTERWEAR = {"jacket", "coat", "blazer"}


def test_default_categories_and_groups():
    original = {"shirt", "tshirt", "jacket", "pants", "shorts", "skirt", "shoes", "sneakers", "heels",
                "flats", "bag", "hat", "dress", "jumpsuit"}
    added = {"coat", "blazer", "belt", "necklace", "scarf", "sunglasses"}
    assert set(ALL) == original | added
    assert {TAX.group_of(c) for c in ALL} == {"upperwear", "bottomwear", "outerwear", "footwear", "accessories", "one-piece"}
    assert {c for c in ALL if TAX.group_of(c) == "outerwear"} == OUTERWEAR
    assert {c for c in ALL if TAX.group_of(c) == "accessories"} == {"bag", "hat", "belt", "necklace", "scarf", "sunglasses"}


@pytest.mark.parametrize("query", ALL)
def test_rules_for_every_category(query):
    group = TAX.group_of(query)
    comp = TAX.complementary(query)
    assert query not in comp, "the query's own category is never recommended"
    groups = {TAX.group_of(c) for c in comp}
    if group == "upperwear":
        assert not groups & {"upperwear", "one-piece"}
    if group == "bottomwear":
        assert "bottomwear" not in groups
    if group == "one-piece":
        assert not groups & {"upperwear", "bottomwear", "one-piece"}
    if group == "footwear":
        assert "footwear" not in groups
    if group == "outerwear":
        assert "outerwear" not in groups, "outerwear never gets outerwear"
    if group in ("upperwear", "bottomwear", "one-piece", "footwear", "accessories"):
        assert OUTERWEAR <= set(comp), "everything but outerwear itself can be completed with outerwear"
    # every complementary category has a positive score in [0, 1]; everything else scores 0
    for c in ALL:
        s = TAX.compatibility(query, c)
        assert 0.0 <= s <= 1.0
        assert (s > 0) == (c in comp)
    assert len({TAX.group_of(c) for c in comp}) >= 2


def test_layering_a_top_or_a_dress_gets_outerwear_a_jacket_never():
    for query in ("shirt", "tshirt", "dress", "jumpsuit"):
        assert OUTERWEAR <= set(TAX.complementary(query)), query
    for query in OUTERWEAR:
        comp = set(TAX.complementary(query))
        assert not comp & OUTERWEAR, query
        assert {"shirt", "pants", "dress", "shoes", "bag"} <= comp, query  # layered over a top or a dress, with the rest


@pytest.mark.parametrize("user", [None, "male", "female", "unisex"])
@pytest.mark.parametrize("item", GENDERS)
def test_gender_filter(user, item):
    allowed = gender_allowed(user, item)
    if user in (None, "unisex"):
        assert allowed
    else:
        assert allowed == (item in (user, "unisex"))
    s = gender_score(user, item)
    assert 0.0 <= s <= 1.0
    if user in ("male", "female") and item == user:
        assert s == 1.0


def _broken(**change):
    data = json.loads(TAX.to_json())
    for path, value in change.items():
        node = data
        keys = path.split("__")
        for k in keys[:-1]:
            node = node[k]
        node[keys[-1]] = value
    return data


@pytest.mark.parametrize(
    "change, named",
    [
        ({"categories__shirt__group": "tops"}, "tops"),
        ({"groups__upperwear__excludes": ["upperwear", "capes"]}, "capes"),
        ({"groups__footwear__compatible": {"gloves": 0.5}}, "gloves"),
        ({"categories__hat__default_gender": "kids"}, "kids"),
    ],
)
def test_unknown_references_are_named(change, named):
    with pytest.raises(TaxonomyError, match=named):
        Taxonomy.from_dict(_broken(**change))


def test_load_from_file(tmp_path):
    p = tmp_path / "t.json"
    p.write_text(TAX.to_json())
    assert Taxonomy.load(p).categories == TAX.categories
    p.write_text("{nope")
    with pytest.raises(TaxonomyError, match="not valid JSON"):
        Taxonomy.load(p)


# ---- the outfit's slots ----------------------------------------------------------------------------
SLOTS = TAX.outfit


def test_every_category_fills_one_slot_and_the_base_is_a_top_and_a_bottom_or_a_one_piece():
    assert sorted(SLOTS.slot_of) == sorted(ALL)
    assert SLOTS.base == (("top", "bottom"), ("one-piece",))
    assert set(SLOTS.slots["outerwear"].categories) == OUTERWEAR
    accessories = {n: s.categories for n, s in SLOTS.slots.items() if s.optional and n != "outerwear"}
    assert accessories == {"bag": ("bag",), "hat": ("hat",), "jewellery": ("necklace",), "eyewear": ("sunglasses",),
                           "belt": ("belt",), "scarf": ("scarf",)}
    assert [n for n, s in SLOTS.slots.items() if s.required] == ["footwear"]
    assert SLOTS.slots["outerwear"].over == ("top", "one-piece")
    # exclusion is read both ways
    assert "one-piece" in SLOTS.slots["top"].excludes and "top" in SLOTS.slots["one-piece"].excludes


@pytest.mark.parametrize(
    "categories, filled, open_, conflicts",
    [
        (["shirt"], {"top": 0}, ["bottom", "outerwear", "footwear", "bag", "hat", "jewellery", "eyewear", "belt", "scarf"], []),
        (["dress"], {"one-piece": 0}, ["outerwear", "footwear", "bag", "hat", "jewellery", "eyewear", "belt", "scarf"], []),
        (["sneakers"], {"footwear": 0},
         ["top", "bottom", "one-piece", "outerwear", "bag", "hat", "jewellery", "eyewear", "belt", "scarf"], []),
        (["shirt", "pants", "coat", "heels"], {"top": 0, "bottom": 1, "outerwear": 2, "footwear": 3},
         ["bag", "hat", "jewellery", "eyewear", "belt", "scarf"], []),
        (["pants", "skirt"], {"bottom": 0}, None, [(0, 1, "same slot")]),
        (["hat", "dress", "skirt"], {"hat": 0, "one-piece": 1, "bottom": 2}, None, [(1, 2, "excludes")]),
        (["shirt", "jumpsuit", "tshirt"], None, None, [(0, 1, "excludes"), (0, 2, "same slot"), (1, 2, "excludes")]),
    ],
)
def test_plan_names_filled_and_open_slots_and_conflicting_pieces_by_index(categories, filled, open_, conflicts):
    plan = SLOTS.plan(categories)
    if filled is not None:
        assert dict(plan.filled) == filled
    if open_ is not None:
        assert list(plan.open) == open_
    assert [(c.first, c.second, c.kind) for c in plan.conflicts] == conflicts
    assert plan.piece_slots == tuple(SLOTS.slot_of[c] for c in categories)


def test_conflict_messages_name_the_pieces_by_index():
    two_bottoms, = SLOTS.plan(["pants", "skirt"]).conflicts
    assert two_bottoms.message == "items[0] (pants) and items[1] (skirt) both fill the bottom slot; an outfit holds one"
    dress_skirt, = SLOTS.plan(["dress", "skirt"]).conflicts
    assert "items[0] (dress) and items[1] (skirt) cannot be worn together" in dress_skirt.message


@pytest.mark.parametrize(
    "slots, broken",
    [
        (["top", "bottom", "footwear"], []),
        (["top", "bottom", "outerwear", "footwear", "bag", "belt"], []),
        (["one-piece", "outerwear", "footwear", "jewellery"], []),
        (["top", "top", "bottom", "footwear"], ["two pieces in the top slot"]),
        (["one-piece", "bottom", "footwear"], ["one-piece with bottom"]),
        (["bottom", "outerwear", "footwear"], ["outerwear over no top or one-piece", "no complete base (top and bottom or one-piece)"]),
        (["top", "bottom"], ["no footwear"]),
    ],
)
def test_violations_of_a_finished_outfit(slots, broken):
    assert SLOTS.violations(slots) == broken


def test_slot_rules_say_what_the_compatibility_scores_say():
    for a in ALL:
        for b in ALL:
            assert (TAX.compatibility(a, b) == 0) == (a == b or SLOTS.categories_conflict(a, b) or
                                                      TAX.group_of(b) not in TAX.groups[TAX.group_of(a)]["compatible"]), (a, b)


def test_a_taxonomy_written_before_slots_loads_with_the_default_slots_and_the_same_rules():
    legacy = json.loads(TAX.to_json())
    legacy.pop("outfit")
    excludes = {"upperwear": ["upperwear", "one-piece"], "bottomwear": ["bottomwear", "one-piece"],
                "one-piece": ["upperwear", "bottomwear", "one-piece"], "outerwear": ["outerwear"],
                "footwear": ["footwear"], "accessories": []}
    for g, ex in excludes.items():
        legacy["groups"][g]["excludes"] = ex
    old = Taxonomy.from_dict(legacy)
    assert old.outfit.to_dict() == SLOTS.to_dict()
    assert all(old.compatibility(a, b) == TAX.compatibility(a, b) for a in ALL for b in ALL)
    # a list that disagrees with the slots is refused, naming the key
    legacy["groups"]["upperwear"]["excludes"] = ["upperwear"]
    with pytest.raises(TaxonomyError, match=r"groups\.upperwear\.excludes: does not exclude 'one-piece'"):
        Taxonomy.from_dict(legacy)


def _outfit(**change):
    data = json.loads(TAX.to_json())
    for path, value in change.items():
        node = data["outfit"]
        keys = path.split("__")
        for k in keys[:-1]:
            node = node[k]
        if value is None:
            node.pop(keys[-1])
        else:
            node[keys[-1]] = value
    return data


@pytest.mark.parametrize(
    "change, message",
    [
        ({"slots__bag__categories": ["purse"]}, r"outfit\.slots\.bag\.categories: unknown category 'purse'"),
        ({"slots__top__groups": ["tops"]}, r"outfit\.slots\.top\.groups: unknown group 'tops'"),
        ({"slots__belt": None}, r"outfit\.slots: category 'belt' fills no slot"),
        ({"slots__scarf__categories": ["scarf", "hat"]}, r"outfit\.slots\.scarf: category 'hat' already fills slot 'hat'"),
        ({"slots__one-piece__excludes": ["top", "cape"]}, r"outfit\.slots\.one-piece\.excludes: unknown slot 'cape'"),
        ({"slots__outerwear__over": ["coat"]}, r"outfit\.slots\.outerwear\.over: unknown slot 'coat'"),
        ({"slots__hat__optional": "yes"}, r"outfit\.slots\.hat\.optional: must be true or false"),
        ({"slots__hat__colour": "red"}, r"outfit\.slots\.hat\.colour: unknown key"),
        ({"base": [["top", "bottom"], ["one-piece", "bag"]]}, r"outfit\.base\[1\]: slot 'bag' is optional"),
        ({"base": [["top", "bottom"], ["footwear"]]}, r"outfit\.base\[1\]: slot 'footwear' must exclude 'top'"),
        ({"base": [["top", "one-piece"]]}, r"outfit\.base\[0\]: slots 'top' and 'one-piece' exclude each other"),
        ({"base": []}, r"outfit\.base: must be a non-empty list"),
        ({"slots": {}}, r"outfit\.slots: must be a non-empty object"),
    ],
)
def test_bad_slots_are_named_by_file_and_key(tmp_path, change, message):
    p = tmp_path / "mine.json"
    p.write_text(json.dumps(_outfit(**change)))
    with pytest.raises(TaxonomyError, match=rf"taxonomy file {p}: {message}"):
        Taxonomy.load(p)
