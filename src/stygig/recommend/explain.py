"""The readable reason of each recommended piece."""

from __future__ import annotations

from typing import Any

from stygig.taxonomy import Taxonomy

#: how each colour relation (:data:`stygig.features.colour.harmony.RELATIONS`) reads
RELATION_PHRASES = {
    "neutral": "a neutral that goes with anything",
    "monochrome": "a tonal pairing",
    "analogous": "neighbouring hues that blend",
    "complementary": "complementary hues that lift each other",
    "triadic": "a balanced triadic contrast",
    "clash": "a bold contrast",
}


def reason(
    taxonomy: Taxonomy,
    item: dict[str, Any],
    *,
    relation: str | None,
    similarity: float,
    category_score: float,
    query_category: str,
    query_colours: list[dict[str, Any]],
) -> str:
    """``"Trousers for your shirt: navy with white, a neutral ...; a close style match."``"""
    q_disp = taxonomy.categories[query_category].display
    c_disp = taxonomy.categories[item["category"]].display
    head = f"{c_disp[:1].upper()}{c_disp[1:]} for your {q_disp}"
    parts = []
    qname = query_colours[0]["name"] if query_colours else None
    cname = item["colors"][0]["name"] if item["colors"] else None
    if relation and relation != "none" and qname and cname:
        parts.append(f"{cname} with {qname}, {RELATION_PHRASES.get(relation, relation)}")
    if similarity >= 0.8:
        parts.append("a very close style match")
    elif similarity >= 0.6:
        parts.append("a close style match")
    if category_score >= 1.0:
        parts.append("the classic partner")
    return head + (": " + "; ".join(parts) if parts else "") + "."
