"""Category rules as data.

The taxonomy is a JSON file: categories (each in a group, with a display name and a default
gender), groups (how compatible they are with each other group), the slots an outfit is made of
(``"outfit"``: :mod:`stygig.taxonomy.slots`), and the prompt templates used for zero-shot
category detection of text queries. It is validated when loaded; every error names the file and
the key that is wrong.

Rules (the original StyGig's, kept by ``default.json``, with layering added):

* the query's own category is never recommended;
* a category whose slot conflicts with the query's (the same slot, or slots that exclude each
  other) is never recommended: a top never gets tops or one-pieces, but gets outerwear;
* a category is *complementary* to the query's when its group appears in the query group's
  ``compatible`` map (the value is the category-compatibility score in [0, 1]);
* the user's gender is a hard filter: male -> male + unisex, female -> female + unisex,
  unisex or absent -> all.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from stygig.errors import TaxonomyError
from stygig.taxonomy.slots import Conflict, OutfitRules, Slot, SlotPlan

GENDERS = ("male", "female", "unisex")


@dataclass(frozen=True)
class Category:
    name: str
    group: str
    display: str
    default_gender: str


@dataclass
class Taxonomy:
    name: str
    categories: dict[str, Category]
    groups: dict[str, dict[str, Any]]
    prompts: list[str]
    #: the slots an outfit is made of (the ``"outfit"`` key; :mod:`stygig.taxonomy.slots`)
    outfit: OutfitRules
    raw: dict[str, Any] = field(repr=False)

    # ---- loading -------------------------------------------------------------------------
    @classmethod
    def from_dict(cls, data: dict[str, Any], *, where: str = "taxonomy") -> "Taxonomy":
        """Check a taxonomy; every error names ``where`` (the file) and the key that is wrong."""
        if not isinstance(data, dict):
            raise TaxonomyError(f"{where}: expected a JSON object")
        groups = data.get("groups")
        cats = data.get("categories")
        if not isinstance(groups, dict) or not groups:
            raise TaxonomyError(f"{where}: 'groups' must be a non-empty object")
        if not isinstance(cats, dict) or not cats:
            raise TaxonomyError(f"{where}: 'categories' must be a non-empty object")
        for gname, g in groups.items():
            if not isinstance(g, dict):
                raise TaxonomyError(f"{where}: group {gname!r} must be an object")
            excludes = g.get("excludes", [])
            if not isinstance(excludes, list):
                raise TaxonomyError(f"{where}: groups.{gname}.excludes must be a list of groups")
            for ref in excludes:
                if ref not in groups:
                    raise TaxonomyError(f"{where}: group {gname!r} excludes unknown group {ref!r}")
            compat = g.get("compatible", {})
            if not isinstance(compat, dict):
                raise TaxonomyError(f"{where}: group {gname!r}: 'compatible' must be an object")
            for ref, score in compat.items():
                if ref not in groups and ref not in cats:
                    raise TaxonomyError(
                        f"{where}: group {gname!r} is compatible with unknown group or category {ref!r}"
                    )
                if isinstance(score, bool) or not isinstance(score, (int, float)) or not 0.0 <= float(score) <= 1.0:
                    raise TaxonomyError(
                        f"{where}: group {gname!r}: compatibility with {ref!r} must be a number in [0, 1]"
                    )
        categories: dict[str, Category] = {}
        for cname, c in cats.items():
            if not isinstance(c, dict):
                raise TaxonomyError(f"{where}: category {cname!r} must be an object")
            group = c.get("group")
            if group not in groups:
                raise TaxonomyError(f"{where}: category {cname!r} is in unknown group {group!r}")
            gender = c.get("default_gender", "unisex")
            if gender not in GENDERS:
                raise TaxonomyError(f"{where}: category {cname!r} has unknown default_gender {gender!r}")
            categories[cname] = Category(cname, group, str(c.get("display", cname)), gender)
        prompts = data.get("prompts") or ["a photo of a {display}"]
        if not all(isinstance(p, str) and "{display}" in p for p in prompts):
            raise TaxonomyError(f"{where}: every prompt must be a string containing '{{display}}'")
        raw = dict(data)
        if "outfit" not in data:
            # written before outfits had slots: the default slots, if they cover its categories
            raw["outfit"] = _default_data()["outfit"]
            where_outfit = f"{where} (no 'outfit' key; the default slots were tried)"
        else:
            where_outfit = where
        outfit = OutfitRules.from_dict(raw["outfit"], categories=categories, groups=groups, where=where_outfit)
        _check_group_excludes(groups, categories, outfit, where)
        return cls(str(data.get("name", "custom")), categories, groups, list(prompts), outfit, raw)

    @classmethod
    def load(cls, path: str | Path) -> "Taxonomy":
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise TaxonomyError(f"taxonomy file not found: {path}") from None
        except OSError as e:  # a folder, no permission
            raise TaxonomyError(f"cannot read taxonomy file {path}: {e.strerror or e}") from None
        except (json.JSONDecodeError, UnicodeDecodeError) as e:
            raise TaxonomyError(f"taxonomy file {path} is not valid JSON: {e}") from None
        return cls.from_dict(data, where=f"taxonomy file {path}")

    @classmethod
    def default(cls) -> "Taxonomy":
        return cls.from_dict(_default_data(), where="the default taxonomy")

    def to_json(self) -> str:
        return json.dumps(self.raw, indent=2)  # order matters: category codes index it

    # ---- rules ---------------------------------------------------------------------------
    def check_category(self, name: str) -> Category:
        try:
            return self.categories[name]
        except KeyError:
            raise TaxonomyError(f"unknown category {name!r}") from None

    def group_of(self, category: str) -> str:
        return self.check_category(category).group

    def compatibility(self, query_category: str, candidate_category: str) -> float:
        """Category-compatibility score in [0, 1]; 0 means never recommend."""
        if query_category == candidate_category:
            return 0.0
        if self.outfit.categories_conflict(query_category, candidate_category):
            return 0.0
        compat = self.groups[self.group_of(query_category)].get("compatible", {})
        cg = self.group_of(candidate_category)
        if candidate_category in compat:
            return float(compat[candidate_category])
        return float(compat.get(cg, 0.0))

    def complementary(self, query_category: str) -> list[str]:
        """Categories that may complete an outfit for ``query_category``, best first (stable)."""
        scored = [
            (self.compatibility(query_category, c), i, c) for i, c in enumerate(self.categories)
        ]
        return [c for s, i, c in sorted(scored, key=lambda t: (-t[0], t[1])) if s > 0]

    def prompts_for(self, category: str) -> list[str]:
        display = self.check_category(category).display
        return [p.format(display=display) for p in self.prompts]


def _default_data() -> dict[str, Any]:
    return json.loads(resources.files("stygig.taxonomy").joinpath("default.json").read_text(encoding="utf-8"))


def _check_group_excludes(groups: dict[str, Any], categories: dict[str, Category], outfit: OutfitRules, where: str) -> None:
    """A group's ``excludes`` (how taxonomies said it before slots) must say what the slots say:
    the slots are the one rule, an older file's list is only checked against them."""
    for gname, g in groups.items():
        if "excludes" not in g:
            continue
        said = set(g["excludes"])
        for a in (c for c in categories.values() if c.group == gname):
            for b in categories.values():
                if a.name != b.name and (b.group in said) != outfit.categories_conflict(a.name, b.name):
                    verb = "excludes" if b.group in said else "does not exclude"
                    raise TaxonomyError(
                        f"{where}: groups.{gname}.excludes: {verb} {b.group!r}, but the outfit's slots "
                        f"{'do not ' if b.group in said else ''}keep {a.name!r} and {b.name!r} apart "
                        "(drop 'excludes': the slots say which pieces are worn together)"
                    )


def gender_allowed(user_gender: str | None, item_gender: str) -> bool:
    """The hard gender filter."""
    if user_gender in (None, "", "unisex"):
        return True
    return item_gender in (user_gender, "unisex")


def gender_score(reference: str | None, item_gender: str) -> float:
    """Soft gender compatibility in [0, 1] between the user's (or query's) gender and an item's."""
    if reference in (None, "", "unisex"):
        return 1.0 if item_gender == "unisex" else 0.9
    if item_gender == reference:
        return 1.0
    if item_gender == "unisex":
        return 0.8
    return 0.0


__all__ = [
    "GENDERS", "Category", "Conflict", "OutfitRules", "Slot", "SlotPlan", "Taxonomy", "gender_allowed", "gender_score",
]
