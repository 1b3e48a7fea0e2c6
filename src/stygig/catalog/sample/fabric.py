"""Fabric: the garment's colour, its material's texture, its pattern and soft light.

Each material has a texture a picture shows: wool a fine matte grain, tweed flecks, denim a
diagonal twill with faded patches, linen slubs, knit rows of V stitches, mesh a grid of holes,
nylon a ripstop grid with a sheen, leather a gloss highlight, suede a soft nap, canvas a weave,
silk broad sheen, straw a basket weave. Patterns follow the style: formal stripes are pinstripes
and formal checks a fine windowpane, casual stripes are breton bands and casual checks gingham,
sport stripes bold.
"""

from __future__ import annotations

import math

import numpy as np
from PIL import Image

from stygig.catalog.sample.colours import RGB, _lum, _second_color

PATTERN_WORD = {"solid": "", "stripes": "striped", "checks": "checked", "dots": "polka-dot"}
FABRIC_WORD = {
    "wool": "wool", "tweed": "tweed", "poplin": "poplin", "cotton": "cotton", "linen": "linen", "flannel": "flannel",
    "denim": "denim", "knit": "knit", "jersey": "jersey", "mesh": "mesh", "nylon": "nylon", "leather": "leather",
    "suede": "suede", "canvas": "canvas", "silk": "silk", "felt": "felt", "straw": "straw", "acetate": "acetate",
    "metal": "metal", "gold": "gold", "silver": "silver", "pearl": "pearl", "beads": "beaded", "cord": "cord",
}


def _aa(dist: np.ndarray) -> np.ndarray:
    """Signed distance in pixels (positive inside) -> anti-aliased coverage."""
    return np.clip(0.5 + dist, 0.0, 1.0)


def _band(t: np.ndarray, period: float, width: float) -> np.ndarray:
    u = np.mod(t, period)
    inside = np.minimum(u, width - u)
    outside = -np.minimum(u - width, period - u)
    return _aa(np.where(u < width, inside, outside))


def _noise(h: int, w: int, cell: float, rng: np.random.Generator) -> np.ndarray:
    """Smooth noise of unit spread with features about ``cell`` pixels wide."""
    small = rng.normal(0.0, 1.0, (max(2, int(h / cell)), max(2, int(w / cell)))).astype(np.float32)
    return np.asarray(Image.fromarray(small).resize((w, h), Image.Resampling.BILINEAR), np.float32)


def _texture(fabric: str, yy: np.ndarray, xx: np.ndarray, s: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(additive grain in 0..255 units, multiplicative light) of a material."""
    h, w = yy.shape
    fine = rng.normal(0.0, 1.0, (h, w)).astype(np.float32)
    one = np.ones((h, w), np.float32)
    if fabric == "wool":
        return 3.5 * fine + 3.0 * _noise(h, w, 3, rng), one
    if fabric == "tweed":
        flecks = (rng.random((h, w)) < 0.05) * rng.choice([-42.0, 38.0], (h, w))
        return 8.0 * fine + 6.0 * _noise(h, w, 2, rng) + flecks.astype(np.float32), one
    if fabric in ("poplin", "jersey"):
        return 2.5 * fine + 1.5 * _noise(h, w, 4, rng), one
    if fabric == "cotton":
        return 4.0 * fine + 2.5 * _noise(h, w, 3, rng), one
    if fabric == "linen":
        rows = np.repeat(_noise(h, 1, 1.5, rng), w, axis=1)
        cols = np.repeat(_noise(1, w, 1.5, rng), h, axis=0)
        return 5.0 * rows + 5.0 * cols + 3.0 * fine, one
    if fabric == "flannel":
        return 5.0 * _noise(h, w, 2, rng) + 4.0 * fine, one
    if fabric == "denim":
        period = max(3.0, 0.014 * s)
        twill = np.sin(2 * math.pi * (xx + yy) / period)
        fade = np.clip(_noise(h, w, max(6.0, 0.12 * s), rng), 0.0, None)
        return 9.0 * twill + 5.0 * fine + 11.0 * fade, one
    if fabric == "knit":
        px = max(6.0, 0.045 * s)
        u = np.mod(xx, px) / px
        py = px * 0.55
        v = np.mod(yy + np.abs(u - 0.5) * px * 0.9, py) / py
        stitch = np.cos(2 * math.pi * v)
        groove = -np.exp(-(((u - 0.0) * 9) ** 2)) - np.exp(-(((u - 1.0) * 9) ** 2))
        return 11.0 * stitch + 22.0 * groove + 3.0 * fine, one
    if fabric == "mesh":
        p = max(4.0, 0.024 * s)
        row = np.floor(yy / p)
        u = np.mod(xx + (row % 2) * p / 2, p) - p / 2
        v = np.mod(yy, p) - p / 2
        hole = _aa(p * 0.24 - np.sqrt(u * u + v * v))
        return 2.0 * fine, (1.0 - 0.28 * hole).astype(np.float32)
    if fabric == "nylon":
        p = max(6.0, 0.035 * s)
        grid = np.maximum(_band(xx, p, 1.0), _band(yy, p, 1.0))
        sheen = 1.0 + 0.12 * np.sin(2 * math.pi * (0.5 * xx + 0.8 * yy) / max(8.0, 0.45 * s))
        return -7.0 * grid + 2.0 * fine, sheen.astype(np.float32)
    if fabric in ("leather", "acetate", "metal", "gold", "silver", "pearl", "beads", "cord"):
        grain = 1.5 * fine + 1.5 * _noise(h, w, 2, rng) if fabric == "leather" else 1.0 * fine
        d = (0.7 * xx + 0.3 * yy) / max(1.0, 0.7 * w + 0.3 * h)
        gloss = 1.0 + 0.22 * np.exp(-(((d - 0.32) / 0.07) ** 2)) + 0.08 * np.exp(-(((d - 0.62) / 0.05) ** 2))
        return grain, gloss.astype(np.float32)
    if fabric in ("suede", "felt"):
        return 5.0 * _noise(h, w, 3, rng) + 4.5 * fine, one
    if fabric == "canvas":
        p = max(3.0, 0.012 * s)
        weave = np.sin(2 * math.pi * xx / p) * np.sin(2 * math.pi * yy / p)
        return 6.0 * weave + 4.0 * fine, one
    if fabric == "silk":
        phase = float(rng.uniform(0, 2 * math.pi))
        sheen = 1.0 + 0.13 * np.sin(2 * math.pi * (0.6 * xx + 0.4 * yy) / max(10.0, 0.55 * s) + phase)
        return 1.5 * fine, sheen.astype(np.float32)
    if fabric == "straw":
        p = max(6.0, 0.04 * s)
        cell = ((np.floor(xx / p) + np.floor(yy / p)) % 2).astype(np.float32)
        fibres = np.where(cell > 0, np.sin(2 * math.pi * xx / (p / 3)), np.sin(2 * math.pi * yy / (p / 3)))
        return 12.0 * fibres + 5.0 * fine, one
    return 2.0 * fine, one


def _pattern(pattern: str, style: str, yy: np.ndarray, xx: np.ndarray, s: float, rng: np.random.Generator) -> np.ndarray:
    """Coverage (0..1) of the second colour."""
    if style == "formal":  # pinstripes, windowpane checks, small dots
        period = float(rng.uniform(0.05, 0.07)) * s
        width = max(1.0, period * float(rng.uniform(0.07, 0.11)))
    elif style == "sport":  # bold bands
        period = float(rng.uniform(0.12, 0.2)) * s
        width = period * float(rng.uniform(0.35, 0.5))
    else:  # breton stripes, gingham
        period = float(rng.uniform(0.045, 0.085)) * s
        width = period * float(rng.uniform(0.25, 0.45))
    if pattern == "stripes":
        t = yy if (style == "casual" and rng.random() < 0.6) or style == "sport" else xx
        return _band(t, period, width)
    if pattern == "checks":
        if style == "formal":
            return np.maximum(_band(xx, period * 1.6, width), _band(yy, period * 1.6, width))
        w2 = period * float(rng.uniform(0.35, 0.5))
        return 0.5 * _band(xx, period, w2) + 0.5 * _band(yy, period, w2)
    if pattern == "dots":
        p = period * (0.8 if style == "formal" else 1.15)
        row = np.floor(yy / p)
        u = np.mod(xx + (row % 2) * p / 2, p) - p / 2
        v = np.mod(yy, p) - p / 2
        return _aa(p * float(rng.uniform(0.13, 0.17) if style == "formal" else rng.uniform(0.17, 0.24)) - np.sqrt(u * u + v * v))
    return np.zeros_like(yy)


def _fabric(w: int, h: int, base: RGB, pattern: str, rng: np.random.Generator, fabric: str = "cotton",
            style: str = "casual") -> np.ndarray:
    """(h, w, 3) float32 ``fabric`` in ``base`` colour with ``pattern`` and soft light from top left."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    b = np.asarray(base, np.float32)
    out = np.broadcast_to(b, (h, w, 3)).copy()
    s = math.sqrt(w * h)
    if pattern != "solid":
        sec = np.asarray(_second_color(base, rng), np.float32)
        if style == "formal":  # pinstripes and windowpanes are quiet
            sec = b + (sec - b) * 0.7
        out += _pattern(pattern, style, yy, xx, s, rng)[..., None] * (sec - b)
    grain, light = _texture(fabric, yy, xx, s, rng)
    amp = 1.0 if _lum(base) > 60 else 1.4
    out += (amp * grain)[..., None]
    flat = 0.06 if fabric in ("suede", "felt", "wool", "tweed") else 0.12  # matte cloth takes the light evenly
    light = light * (1.05 - flat * (0.65 * yy / max(h - 1, 1) + 0.35 * xx / max(w - 1, 1)))
    out *= light[..., None]
    return out
