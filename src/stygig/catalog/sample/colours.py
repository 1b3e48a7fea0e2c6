"""Colours of the sample catalog: the palette, and how seams, outlines and second colours derive from a fabric's colour."""

from __future__ import annotations

import numpy as np


PALETTE: dict[str, tuple[int, int, int]] = {
    # neutrals
    "black": (28, 28, 31),
    "white": (242, 242, 238),
    "grey": (138, 139, 142),
    "charcoal": (62, 63, 68),
    "navy": (30, 41, 82),
    "beige": (214, 197, 166),
    "camel": (192, 151, 102),
    "cream": (240, 231, 206),
    "khaki": (180, 165, 120),
    "brown": (106, 68, 40),
    # chromatic
    "red": (188, 32, 42),
    "burgundy": (118, 26, 46),
    "olive": (108, 112, 52),
    "forest green": (34, 86, 52),
    "mustard": (210, 163, 40),
    "royal blue": (38, 74, 188),
    "sky blue": (128, 184, 228),
    "denim": (68, 96, 140),
    "pink": (238, 160, 186),
    "lavender": (178, 160, 214),
    "orange": (232, 118, 38),
    "teal": (0, 126, 128),
}
NEUTRALS = ("black", "white", "grey", "charcoal", "navy", "beige", "camel", "cream", "khaki", "brown")

#: colours a category is more often made in (weighted x3); every palette colour stays possible
LIKELY_COLORS: dict[str, tuple[str, ...]] = {
    "shirt": ("white", "sky blue", "navy", "pink", "grey"),
    "tshirt": ("white", "black", "grey", "navy", "red"),
    "jacket": ("navy", "black", "camel", "olive", "charcoal", "brown"),
    "pants": ("navy", "black", "khaki", "grey", "denim", "charcoal"),
    "shorts": ("khaki", "navy", "denim", "olive", "beige"),
    "skirt": ("black", "navy", "burgundy", "camel", "pink"),
    "shoes": ("black", "brown", "burgundy", "camel"),
    "sneakers": ("white", "grey", "black", "navy", "red"),
    "heels": ("black", "red", "beige", "pink", "burgundy"),
    "flats": ("black", "beige", "pink", "navy", "red"),
    "bag": ("black", "brown", "camel", "burgundy", "cream"),
    "hat": ("camel", "black", "beige", "grey", "brown"),
    "dress": ("black", "red", "navy", "forest green", "lavender"),
    "jumpsuit": ("black", "olive", "navy", "denim", "teal"),
}

RGB = tuple[int, int, int]


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

