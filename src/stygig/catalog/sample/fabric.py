"""Fabric: the garment's colour with its pattern (stripes, checks, dots, texture) and soft light."""

from __future__ import annotations

import math

import numpy as np
from PIL import Image

from stygig.catalog.sample.colours import RGB, _lum, _second_color

PATTERNS = ("solid", "stripes", "checks", "dots", "texture")
PATTERN_WORD = {"solid": "", "stripes": "striped", "checks": "checked", "dots": "polka-dot", "texture": "textured"}
_PATTERN_WEIGHTS = {
    "clothes": (0.42, 0.17, 0.14, 0.09, 0.18),
    "footwear": (0.72, 0.0, 0.0, 0.0, 0.28),
    "bag": (0.55, 0.07, 0.1, 0.0, 0.28),
    "hat": (0.6, 0.0, 0.14, 0.0, 0.26),
}


def _aa(dist: np.ndarray) -> np.ndarray:
    """Signed distance in pixels (positive inside) -> anti-aliased coverage."""
    return np.clip(0.5 + dist, 0.0, 1.0)


def _band(t: np.ndarray, period: float, width: float) -> np.ndarray:
    u = np.mod(t, period)
    inside = np.minimum(u, width - u)
    outside = -np.minimum(u - width, period - u)
    return _aa(np.where(u < width, inside, outside))


def _fabric(w: int, h: int, base: RGB, pattern: str, rng: np.random.Generator) -> np.ndarray:
    """(h, w, 3) float32 fabric in ``base`` colour with ``pattern`` and soft light from top left."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    b = np.asarray(base, np.float32)
    out = np.broadcast_to(b, (h, w, 3)).copy()
    s = math.sqrt(w * h)
    if pattern in ("stripes", "checks", "dots"):
        sec = np.asarray(_second_color(base, rng), np.float32)
        period = float(rng.uniform(0.045, 0.085)) * s
        if pattern == "stripes":
            t = yy if rng.random() < 0.45 else xx
            a = _band(t, period, period * float(rng.uniform(0.25, 0.45)))
        elif pattern == "checks":
            width = period * float(rng.uniform(0.35, 0.5))
            a = 0.5 * _band(xx, period, width) + 0.5 * _band(yy, period, width)
        else:
            p = period * 1.15
            row = np.floor(yy / p)
            u = np.mod(xx + (row % 2) * p / 2, p) - p / 2
            v = np.mod(yy, p) - p / 2
            a = _aa(p * float(rng.uniform(0.17, 0.24)) - np.sqrt(u * u + v * v))
        out += a[..., None] * (sec - b)
    elif pattern == "texture":
        small = rng.normal(0.0, 1.0, (max(2, h // 3), max(2, w // 3))).astype(np.float32)
        coarse = np.asarray(
            Image.fromarray(small).resize((w, h), Image.Resampling.BILINEAR), np.float32
        )
        fine = rng.normal(0.0, 1.0, (h, w)).astype(np.float32)
        amp = 7.0 if _lum(base) > 60 else 11.0
        out += (0.7 * amp * coarse + amp * fine)[..., None]
    light = 1.05 - 0.12 * (0.65 * yy / max(h - 1, 1) + 0.35 * xx / max(w - 1, 1))
    out *= light[..., None]
    return out


