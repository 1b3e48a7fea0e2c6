"""Planted-style looks over the styled sample catalog (synthetic): outfits that follow stylist's
rules which the heuristic blend does not encode, for measuring outfit quality (issue 13).

A look is drawn for a gender (men's or women's), a style and a template — a top, a bottom and
footwear, or (women's) a one-piece and footwear; outerwear with probability 0.35; zero, one or
two accessories (probabilities 0.3, 0.45, 0.25) — by filling its slots in a random order, each
with an item drawn uniformly from those that keep every rule below with the pieces already
chosen. Every rule reads the manifest's ``attributes`` (what the sample generator drew, visible
in the picture), never the scores StyGig computes:

1. **style**: every piece has the look's ``style`` (formal, casual or sport);
2. **palette families**: every two pieces' ``palette`` families go together — the same family
   always; ``neutral`` with any; ``dark`` with ``bright`` and ``earth``; never ``pastel`` with
   ``dark``, ``earth`` or ``bright``, nor ``bright`` with ``earth`` (:data:`PALETTE_OK`);
3. **one pattern**: at most one piece is patterned (``pattern`` other than ``solid``);
4. **one denim**: at most one piece is ``denim``;
5. **gender**: every piece is the look's gender or unisex; one category at most once.

A slot that no item can fill restarts the look (a required slot) or is left out (an optional
one). Same rows, ``n`` and ``seed``, same looks. :func:`split_items` splits a catalog's items so
that looks drawn from one part share no item with looks drawn from the other.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from stygig.taxonomy import Taxonomy

#: palette families that may be worn together (symmetric; a family always goes with itself)
PALETTE_OK: frozenset[frozenset[str]] = frozenset(
    frozenset(p) for p in [
        ("neutral", "dark"), ("neutral", "earth"), ("neutral", "pastel"), ("neutral", "bright"),
        ("dark", "bright"), ("dark", "earth"),
    ]
)
OUTERWEAR_P = 0.35
ACCESSORIES_P = (0.3, 0.45, 0.25)
MAX_ATTEMPTS = 200
RULES = (
    "style: one style per look; palette families: same family, neutral with any, dark with bright "
    "and earth (no pastel with dark/earth/bright, no bright with earth); at most one patterned piece; "
    "at most one denim piece; one gender (or unisex) and one category at most once per look"
)


def palettes_go(a: str, b: str) -> bool:
    return a == b or frozenset((a, b)) in PALETTE_OK


def keeps_rules(piece: dict[str, Any], chosen: Sequence[dict[str, Any]], style: str, gender: str) -> bool:
    """Whether ``piece`` (a manifest row) may join ``chosen`` in a look of ``style`` and ``gender``."""
    at = piece["attributes"]
    if at["style"] != style or piece["gender"] not in (gender, "unisex"):
        return False
    patterned = at["pattern"] != "solid"
    denim = at["fabric"] == "denim"
    for other in chosen:
        o = other["attributes"]
        if other["category"] == piece["category"] or not palettes_go(at["palette"], o["palette"]):
            return False
        if patterned and o["pattern"] != "solid":
            return False
        if denim and o["fabric"] == "denim":
            return False
    return True


def look_follows_rules(pieces: Sequence[dict[str, Any]]) -> bool:
    """Whether a whole outfit (manifest rows) keeps every rule, for some gender."""
    style = pieces[0]["attributes"]["style"]
    genders = {p["gender"] for p in pieces} - {"unisex"}
    if len(genders) > 1:
        return False
    gender = genders.pop() if genders else "unisex"
    return all(keeps_rules(p, pieces[:i], style, gender) for i, p in enumerate(pieces))


def split_items(rows: Sequence[dict[str, Any]], train_share: float, seed: int) -> tuple[list[dict], list[dict]]:
    """Each category's items split at random (seeded) into a training share and the rest."""
    by_cat: dict[str, list[dict]] = {}
    for r in sorted(rows, key=lambda r: r["id"]):
        by_cat.setdefault(r["category"], []).append(r)
    train, test = [], []
    for i, cat in enumerate(sorted(by_cat)):
        items = by_cat[cat]
        perm = np.random.default_rng([seed, i]).permutation(len(items))
        k = int(round(train_share * len(items)))
        train += [items[j] for j in perm[:k]]
        test += [items[j] for j in perm[k:]]
    return train, test


def generate_looks(
    rows: Sequence[dict[str, Any]], n: int, *, seed: int = 0, prefix: str = "look", taxonomy: Taxonomy | None = None
) -> list[dict[str, Any]]:
    """``n`` distinct looks (``{"look_id", "items", "name"}``) over the manifest ``rows``."""
    tax = taxonomy or Taxonomy.default()
    rng = np.random.default_rng(seed)
    by_group: dict[str, list[dict]] = {}
    for r in sorted(rows, key=lambda r: r["id"]):
        by_group.setdefault(tax.group_of(r["category"]), []).append(r)
    looks: list[dict[str, Any]] = []
    seen: set[tuple[str, ...]] = set()
    failures = 0
    while len(looks) < n:
        pieces = _one_look(rng, by_group)
        if pieces is None or tuple(sorted(p["id"] for p in pieces)) in seen:
            failures += 1
            if failures > MAX_ATTEMPTS * max(n, 1):
                raise ValueError(f"could draw only {len(looks)} of {n} distinct looks from {len(rows)} items")
            continue
        seen.add(tuple(sorted(p["id"] for p in pieces)))
        style = pieces[0]["attributes"]["style"]
        looks.append({"look_id": f"{prefix}-{len(looks):05d}", "items": [p["id"] for p in pieces],
                      "name": f"{style} look"})
    return looks


def _one_look(rng: np.random.Generator, by_group: dict[str, list[dict]]) -> list[dict] | None:
    gender = ("male", "female")[int(rng.integers(2))]
    style = ("formal", "casual", "sport")[int(rng.integers(3))]
    one_piece = gender == "female" and rng.random() < 0.25
    required = ["one-piece", "footwear"] if one_piece else ["upperwear", "bottomwear", "footwear"]
    optional = []
    if rng.random() < OUTERWEAR_P:
        optional.append("outerwear")
    optional += ["accessories"] * int(rng.choice(3, p=ACCESSORIES_P))
    slots = [(g, True) for g in required] + [(g, False) for g in optional]
    slots = [slots[i] for i in rng.permutation(len(slots))]
    chosen: list[dict] = []
    for group, needed in slots:
        fits = [r for r in by_group.get(group, []) if keeps_rules(r, chosen, style, gender)]
        if not fits:
            if needed:
                return None
            continue
        chosen.append(fits[int(rng.integers(len(fits)))])
    return chosen
