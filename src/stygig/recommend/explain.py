"""The readable reason of each recommended piece, and of each piece of the composed outfit.

A ranked-list item is explained against the query piece it goes with best (its colours, the
colour relation the harmony found, the style match, the classic category pairing). An outfit's
piece is explained by the outfit: the colour it shares with another piece ("the white picks up
the shirt's white"), a tonal base (a top and a bottom of one colour family), and otherwise how
its colour plays with the query's — a neutral is said to ground or to let a colour lead, not to
"go with anything".
"""

from __future__ import annotations

from typing import Any, Sequence

from stygig.features.colour.harmony import neutrality
from stygig.taxonomy import Taxonomy

#: how each colour relation (:data:`stygig.features.colour.harmony.RELATIONS`) reads, between the
#: piece's colour ``{c}`` and the query piece's ``{q}`` (``{qd}``: its category's display name,
#: possessive; ``{qd_plain}``: as it is)
RELATION_PHRASES = {
    "monochrome": "{c} on the {qd} {q}, a tonal pairing",
    "analogous": "{c} beside the {qd} {q}, neighbouring hues that blend",
    "complementary": "{c} against the {qd} {q}, complementary hues that lift each other",
    "triadic": "{c} with the {qd} {q}, a balanced triadic contrast",
    "clash": "{c} against the {qd} {q}, a bold contrast",
}
#: a neutral pairing, by which side is the neutral one
NEUTRAL_PHRASES = {
    "piece": "{c} lets the {qd} {q} lead",
    "query": "{c} brings colour to the {q} {qd_plain}",
    "both": "{c} with the {qd} {q}, quiet neutrals",
    "same": "{c} on {c}, one quiet neutral",
}
#: colours at least this neutral (:func:`~stygig.features.colour.harmony.neutrality`) read as neutrals
NEUTRAL = 0.5


def _display(taxonomy: Taxonomy, category: str) -> str:
    return taxonomy.categories[category].display


def _of(display: str) -> str:
    """The possessive: ``shirt's``, ``dress's``, ``sneakers'``, ``trousers'`` (a plural display
    name ends in a single s)."""
    return display + ("'" if display.endswith("s") and not display.endswith("ss") else "'s")


def _names(colours: Sequence[dict[str, Any]], limit: int = 3) -> list[str]:
    """The colour names of a piece, heaviest first, each once."""
    out: list[str] = []
    for c in colours:
        name = c.get("name")
        if name and name not in out:
            out.append(name)
    return out[:limit]


def _neutral(colour: dict[str, Any]) -> bool:
    return bool(neutrality(colour["lab"]) >= NEUTRAL) if colour.get("lab") is not None else False


def colour_phrase(taxonomy: Taxonomy, item: dict[str, Any], relation: str | None, query_category: str,
                  query_colours: Sequence[dict[str, Any]]) -> str | None:
    """How the piece's dominant colour plays with the query piece's (None: nothing to say)."""
    if not relation or relation == "none" or not item.get("colors") or not query_colours:
        return None
    mine, theirs = item["colors"][0], query_colours[0]
    c, q = mine.get("name"), theirs.get("name")
    if not c or not q:
        return None
    plain = _display(taxonomy, query_category)
    words = dict(c=c, q=q, qd=_of(plain), qd_plain=plain)
    if relation == "neutral":
        a, b = _neutral(mine), _neutral(theirs)
        side = "same" if c == q else "both" if a and b else "piece" if a else "query" if b else "both"
        return NEUTRAL_PHRASES[side].format(**words)
    return RELATION_PHRASES.get(relation, "{c} with the {qd} {q}").format(**words)


def _style_and_pairing(similarity: float, category_score: float) -> list[str]:
    parts = []
    if similarity >= 0.8:
        parts.append("a very close style match")
    elif similarity >= 0.6:
        parts.append("a close style match")
    if category_score >= 1.0:
        parts.append("the classic partner")
    return parts


def _head(taxonomy: Taxonomy, category: str, query_categories: Sequence[str]) -> str:
    disp = _display(taxonomy, category)
    qs = list(dict.fromkeys(_display(taxonomy, q) for q in query_categories))
    your = qs[0] if len(qs) == 1 else ", ".join(qs[:-1]) + " and " + qs[-1]
    return f"{disp[:1].upper()}{disp[1:]} for your {your}"


def reason(
    taxonomy: Taxonomy,
    item: dict[str, Any],
    *,
    relation: str | None,
    similarity: float,
    category_score: float,
    query_category: str,
    query_colours: list[dict[str, Any]],
    boosted: Sequence[str] = (),
) -> str:
    """A ranked-list item: ``"Trousers for your shirt: navy lets the shirt's white lead; a close
    style match."`` (``boosted``: what a boost says of it, last: "popularity in the catalog's top 5 %")"""
    parts = [p for p in [colour_phrase(taxonomy, item, relation, query_category, query_colours)] if p]
    parts += _style_and_pairing(similarity, category_score)
    parts += boosted
    return _head(taxonomy, item["category"], [query_category]) + (": " + "; ".join(parts) if parts else "") + "."


def outfit_reason(
    taxonomy: Taxonomy,
    item: dict[str, Any],
    *,
    slot: str,
    others: Sequence[dict[str, Any]],
    relation: str | None,
    similarity: float,
    category_score: float,
    query_category: str,
    query_colours: list[dict[str, Any]],
    query_categories: Sequence[str],
    boosted: Sequence[str] = (),
) -> str:
    """An outfit's piece, by the outfit: ``others`` are the outfit's other pieces (each with
    ``category``, ``colors``, ``slot`` and ``query``: whether it is the user's), the query's
    first. ``"Sneakers for your shirt: the white picks up the shirt's white; a close style
    match."`` — ``"Trousers for your shirt: a tonal navy base; ..."``."""
    parts: list[str] = []
    mine = _names(item.get("colors") or [], 2)
    base = {"top", "bottom"}
    if slot in base and mine:
        partner = next((o for o in others if o.get("slot") in base - {slot}), None)
        if partner is not None:
            theirs = _names(partner.get("colors") or [], 1)
            if theirs and theirs[0] == mine[0]:
                parts.append(f"a tonal {mine[0]} base with the {_display(taxonomy, partner['category'])}")
            elif relation == "monochrome" and partner.get("query"):
                parts.append(f"a tonal base: {mine[0]} on the {_of(_display(taxonomy, partner['category']))} {theirs[0]}")
    if not parts:
        for o in others:  # the query's pieces first, then the chosen ones in slot order
            shared = [c for c in mine if c in _names(o.get("colors") or [], 3)]
            if shared:
                parts.append(f"the {shared[0]} picks up the {_of(_display(taxonomy, o['category']))} {shared[0]}")
                break
    if not parts:
        phrase = colour_phrase(taxonomy, item, relation, query_category, query_colours)
        if phrase:
            parts.append(phrase)
    parts += _style_and_pairing(similarity, category_score)
    parts += boosted
    return _head(taxonomy, item["category"], query_categories) + (": " + "; ".join(parts) if parts else "") + "."
