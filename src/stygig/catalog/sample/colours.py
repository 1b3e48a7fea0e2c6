"""Colours of the sample catalog: the palette and its families, and how seams, outlines and second
colours derive from a fabric's colour."""

from __future__ import annotations

import numpy as np


PALETTE: dict[str, tuple[int, int, int]] = {
    # dark
    "black": (28, 28, 31),
    "charcoal": (62, 63, 68),
    "navy": (30, 41, 82),
    "burgundy": (118, 26, 46),
    "forest green": (34, 86, 52),
    "indigo": (40, 52, 96),
    # neutral
    "white": (242, 242, 238),
    "grey": (138, 139, 142),
    "beige": (214, 197, 166),
    "cream": (240, 231, 206),
    "denim": (68, 96, 140),
    "light denim": (122, 150, 186),
    "silver": (188, 190, 196),
    # earth
    "camel": (192, 151, 102),
    "khaki": (180, 165, 120),
    "brown": (106, 68, 40),
    "olive": (108, 112, 52),
    "mustard": (210, 163, 40),
    "rust": (160, 72, 38),
    "gold": (206, 168, 76),
    # pastel
    "pink": (238, 160, 186),
    "lavender": (178, 160, 214),
    "sky blue": (128, 184, 228),
    "mint": (164, 218, 192),
    "peach": (246, 188, 156),
    # bright
    "red": (188, 32, 42),
    "royal blue": (38, 74, 188),
    "orange": (232, 118, 38),
    "teal": (0, 126, 128),
    "lime": (146, 196, 40),
}

#: palette families: every colour belongs to exactly one, so a picture's colour names its family
FAMILIES: dict[str, tuple[str, ...]] = {
    "dark": ("black", "charcoal", "navy", "burgundy", "forest green", "indigo"),
    "neutral": ("white", "grey", "beige", "cream", "denim", "light denim", "silver"),
    "earth": ("camel", "khaki", "brown", "olive", "mustard", "rust", "gold"),
    "pastel": ("pink", "lavender", "sky blue", "mint", "peach"),
    "bright": ("red", "royal blue", "orange", "teal", "lime"),
}
FAMILY_OF: dict[str, str] = {c: f for f, cs in FAMILIES.items() for c in cs}
#: colours that only a fabric brings (denim washes, metals); never picked from a family
FABRIC_ONLY = ("denim", "light denim", "indigo", "gold", "silver")

#: colours a category is more often made in (weighted x3 inside their family)
LIKELY_COLORS: dict[str, tuple[str, ...]] = {
    "shirt": ("white", "sky blue", "navy", "pink", "grey"),
    "tshirt": ("white", "black", "grey", "navy", "red"),
    "jacket": ("navy", "black", "camel", "olive", "charcoal", "brown"),
    "coat": ("camel", "charcoal", "navy", "black", "khaki", "grey"),
    "blazer": ("navy", "charcoal", "black", "grey", "beige", "camel"),
    "pants": ("navy", "black", "khaki", "grey", "charcoal"),
    "shorts": ("khaki", "navy", "olive", "beige"),
    "skirt": ("black", "navy", "burgundy", "camel", "pink"),
    "shoes": ("black", "brown", "burgundy", "camel"),
    "sneakers": ("white", "grey", "black", "navy", "red"),
    "heels": ("black", "red", "beige", "pink", "burgundy"),
    "flats": ("black", "beige", "pink", "navy", "red"),
    "bag": ("black", "brown", "camel", "burgundy", "cream"),
    "hat": ("camel", "black", "beige", "grey", "brown"),
    "belt": ("black", "brown", "camel", "burgundy"),
    "necklace": ("red", "teal", "pink", "mint", "black"),
    "scarf": ("burgundy", "camel", "grey", "navy", "mustard"),
    "sunglasses": ("black", "brown", "camel", "charcoal"),
    "dress": ("black", "red", "navy", "forest green", "lavender"),
    "jumpsuit": ("black", "olive", "navy", "teal"),
}

RGB = tuple[int, int, int]

# trims, as RGBA: metal hardware, copper rivets and buttons, denim topstitching, white trims
GOLD = (205, 176, 96, 255)
STEEL = (196, 198, 204, 255)
BRASS = (186, 146, 70, 255)
COPPER = (190, 120, 60, 255)
DENIM_STITCH = (214, 160, 70, 255)
WHITE = (246, 245, 240, 255)


def _lum(c: RGB) -> float:
    return 0.299 * c[0] + 0.587 * c[1] + 0.114 * c[2]


def _mix(a: RGB, b: RGB, t: float) -> RGB:
    return tuple(int(round(a[i] * (1 - t) + b[i] * t)) for i in range(3))  # type: ignore[return-value]


def _shade(c: RGB, f: float) -> RGB:
    return tuple(int(max(0, min(255, round(v * f)))) for v in c)  # type: ignore[return-value]


def _line_color(c: RGB) -> RGB:
    """Seams and outlines: darker than the fabric, or lighter when the fabric is near black."""
    if _lum(c) < 70:
        return _mix(c, (255, 255, 255), 0.2)
    return _shade(c, 0.6)


def _second_color(c: RGB, rng: np.random.Generator) -> RGB:
    """The other colour of stripes, checks and dots."""
    if _lum(c) < 110:
        return _mix(c, (248, 246, 240), float(rng.uniform(0.7, 0.9)))
    if _lum(c) > 200:
        return _shade(c, float(rng.uniform(0.45, 0.65)))
    return _mix(c, (250, 248, 244), 0.8) if rng.random() < 0.6 else _shade(c, 0.45)



def _contrast(c: RGB, rng: np.random.Generator) -> RGB:
    """A sport accent for a fabric: white on dark or saturated colours, near-black on light ones,
    now and then a bright colour of its own."""
    if rng.random() < 0.3:
        options = [PALETTE[n] for n in ("red", "royal blue", "orange", "lime", "white") if abs(_lum(PALETTE[n]) - _lum(c)) > 45]
        if options:
            return options[int(rng.integers(len(options)))]
    return (246, 245, 241) if _lum(c) < 165 else (34, 34, 38)
