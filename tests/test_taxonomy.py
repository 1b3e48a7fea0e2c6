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
