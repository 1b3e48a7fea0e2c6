"""Colour names, both ways: a CIELAB colour -> the nearest name of a small clothing palette, and
the colour words of a text query ("navy linen blazer") -> the query's colours.

A text query has no pixels; its colours come from the colour names it mentions, matched against
the same palette that names dominant colours. Longer names win ("light blue" before "blue");
each mention gets an equal weight.
"""

from __future__ import annotations

import re
from types import MappingProxyType
from typing import Any, Mapping

import numpy as np

from stygig.features.colour.space import delta_e, srgb_to_lab

__all__ = ["PALETTE", "SYNONYMS", "colour_name", "colour_names", "named_colours_in_text"]

# A small palette of names people use for clothes; a colour is named after its nearest entry
# (CIEDE2000). Several greys so that neutrals get a neutral name.
_PALETTE: tuple[tuple[str, tuple[int, int, int]], ...] = (
    ("black", (18, 18, 18)),
    ("charcoal", (60, 60, 62)),
    ("grey", (128, 128, 128)),
    ("light grey", (196, 196, 196)),
    ("white", (250, 250, 250)),
    ("cream", (245, 238, 215)),
    ("beige", (222, 200, 165)),
    ("khaki", (190, 175, 130)),
    ("tan", (200, 150, 100)),
    ("camel", (180, 130, 75)),
    ("brown", (110, 70, 40)),
    ("dark brown", (65, 42, 28)),
    ("navy", (25, 35, 80)),
    ("blue", (30, 80, 200)),
    ("denim", (75, 105, 150)),
    ("light blue", (150, 190, 230)),
    ("teal", (0, 128, 128)),
    ("turquoise", (64, 210, 200)),
    ("green", (40, 150, 60)),
    ("dark green", (20, 75, 40)),
    ("olive", (110, 110, 40)),
    ("mint", (170, 230, 190)),
    ("yellow", (245, 215, 40)),
    ("mustard", (200, 160, 40)),
    ("orange", (240, 130, 30)),
    ("coral", (250, 125, 100)),
    ("red", (205, 25, 30)),
    ("burgundy", (110, 20, 40)),
    ("pink", (245, 170, 190)),
    ("hot pink", (225, 40, 140)),
    ("purple", (110, 50, 140)),
    ("lavender", (190, 170, 220)),
)
_PALETTE_NAMES = tuple(name for name, _ in _PALETTE)
#: the named palette, name -> sRGB (read-only); :func:`colour_name` answers one of these names
PALETTE: Mapping[str, tuple[int, int, int]] = MappingProxyType(dict(_PALETTE))
_PALETTE_LAB = srgb_to_lab(np.array([rgb for _, rgb in _PALETTE], dtype=np.uint8))


def colour_name(lab: Any) -> str:
    """A readable basic colour name for a CIELAB colour (nearest palette entry, CIEDE2000)."""
    return colour_names(np.asarray(lab, dtype=np.float64).reshape(1, 3))[0]


def colour_names(labs: Any) -> list[str]:
    """:func:`colour_name` of each row of ``labs (n, 3)``, in one CIEDE2000 pass."""
    labs = np.asarray(labs, dtype=np.float64).reshape(-1, 3)
    d = delta_e(_PALETTE_LAB[:, None, :], labs[None, :, :])  # (palette, n)
    return [_PALETTE_NAMES[int(i)] for i in np.argmin(np.asarray(d).reshape(len(_PALETTE_LAB), -1), axis=0)]


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
    names = dict(PALETTE)
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
        lab = srgb_to_lab(np.array(rgb, dtype=np.uint8))
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
