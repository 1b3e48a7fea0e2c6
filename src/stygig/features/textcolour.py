"""Colour words in a text query ("navy linen blazer") -> the query's colours.

A text query has no pixels; its colours come from the colour names it mentions, matched against
the same named palette that names dominant colours (:mod:`stygig.features.colour`). Longer names
win ("light blue" before "blue"); each mention gets an equal weight.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np

from stygig.features import colour as _colour

#: extra words shoppers use, mapped to palette names
SYNONYMS = {
    "gray": "grey",
    "light gray": "light grey",
    "ivory": "cream",
    "off-white": "cream",
    "off white": "cream",
    "maroon": "burgundy",
    "wine": "burgundy",
    "sand": "beige",
    "stone": "beige",
    "chocolate": "dark brown",
    "sky blue": "light blue",
    "royal blue": "blue",
    "cobalt": "blue",
    "forest green": "dark green",
    "emerald": "green",
    "rose": "pink",
    "violet": "purple",
    "lilac": "lavender",
    "gold": "mustard",
    "rust": "orange",
    "jeans": "denim",
}


def named_colours_in_text(text: str, k: int = 3) -> list[dict[str, Any]]:
    names = dict(_colour.PALETTE)
    vocab = {**{n: n for n in names}, **SYNONYMS}
    lowered = text.lower()
    found: list[str] = []
    # longest phrases first, each span used once
    taken = np.zeros(len(lowered) + 1, dtype=bool)
    for phrase in sorted(vocab, key=lambda p: (-len(p), p)):
        for m in re.finditer(rf"(?<![a-z]){re.escape(phrase)}(?![a-z])", lowered):
            if taken[m.start() : m.end()].any():
                continue
            taken[m.start() : m.end()] = True
            found.append((m.start(), vocab[phrase]))  # type: ignore[arg-type]
    found.sort()
    ordered: list[str] = []
    for _, name in found:  # type: ignore[misc]
        if name not in ordered:
            ordered.append(name)
    ordered = ordered[:k]
    if not ordered:
        return []
    weight = 1.0 / len(ordered)
    out = []
    for name in ordered:
        rgb = names[name]
        lab = _colour.srgb_to_lab(np.array(rgb, dtype=np.uint8))
        out.append(
            {
                "hex": "#%02x%02x%02x" % rgb,
                "rgb": list(rgb),
                "lab": [round(float(v), 2) for v in lab],
                "weight": round(weight, 4),
                "name": name,
            }
        )
    return out
