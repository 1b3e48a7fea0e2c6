"""The embedded sample catalog: product-style garment pictures drawn from a seed.

``stygig sample-catalog OUT [--n 420] [--seed 0]`` (or :func:`generate_sample_catalog`) draws
``n`` garment illustrations for the 14 categories of the default taxonomy and writes::

    OUT/train/<group>/<category>/<id>.jpg     e.g. train/upperwear/shirt/shirt-0007.jpg
    OUT/manifest.jsonl                        one JSON object per item
    OUT/sample.json                           how the catalog was generated (n, seed, version)

Each manifest row is ``{"id", "image", "category", "gender", "name", "attributes"}`` with
``image`` relative to ``OUT`` and ``attributes`` = ``{"color", "pattern", "style"}``.

* ``--n`` items are dealt round robin over the categories (420 -> 30 per category).
* ``--seed`` picks the colours, patterns, shapes, canvas sizes and genders. The same seed gives
  byte-identical files; an item depends only on (seed, category, its number), so ``shirt-0007``
  is the same picture whatever ``n`` is.

Every category has its own silhouette so that it stays recognisable in grey scale (shirts spread
long sleeves and show a pointed collar and button placket, jackets hang their sleeves beside a
boxy body with an open front, sneakers stand on a thick white sole, heels on a thin tall heel...).
Shapes are drawn at three times their size and scaled down, so edges are anti-aliased.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from stygig.errors import CatalogError, InvalidInput
from stygig.taxonomy import Taxonomy

GENERATOR_VERSION = 1
#: supersampling factor for anti-aliased shapes
SS = 3
JPEG_QUALITY = 90
MAX_ITEMS = 100_000

#: categories in the order items are dealt (round robin)
CATEGORIES: tuple[str, ...] = (
    "shirt", "tshirt", "jacket",
    "pants", "shorts", "skirt",
    "shoes", "sneakers", "heels", "flats",
    "bag", "hat",
    "dress", "jumpsuit",
)


@lru_cache(maxsize=1)
def _taxonomy() -> Taxonomy:
    """The default taxonomy: the one source of each category's group, display name and gender."""
    tax = Taxonomy.default()
    if set(tax.categories) != set(CATEGORIES):
        missing = sorted(set(tax.categories) ^ set(CATEGORIES))
        raise CatalogError(f"the sample catalog cannot draw the default taxonomy's categories: {', '.join(missing)}")
    return tax

# ------------------------------------------------------------------------------------------------
# colours and patterns

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

PATTERNS = ("solid", "stripes", "checks", "dots", "texture")
PATTERN_WORD = {"solid": "", "stripes": "striped", "checks": "checked", "dots": "polka-dot", "texture": "textured"}
_PATTERN_WEIGHTS = {
    "clothes": (0.42, 0.17, 0.14, 0.09, 0.18),
    "footwear": (0.72, 0.0, 0.0, 0.0, 0.28),
    "bag": (0.55, 0.07, 0.1, 0.0, 0.28),
    "hat": (0.6, 0.0, 0.14, 0.0, 0.26),
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


# ------------------------------------------------------------------------------------------------
# drawing


def _chaikin(pts: list[tuple], iters: int) -> list[tuple[float, float]]:
    """Smooth a closed polygon by corner cutting; points given as (x, y, 1) stay sharp corners."""
    p = np.array([(q[0], q[1]) for q in pts], np.float64)
    sharp = np.array([len(q) > 2 and bool(q[2]) for q in pts])
    for _ in range(iters):
        n = len(p)
        nxt = np.roll(p, -1, axis=0)
        a = 0.75 * p + 0.25 * nxt
        b = 0.25 * p + 0.75 * nxt
        new_p: list[np.ndarray] = []
        new_s: list[bool] = []
        for i in range(n):
            if sharp[i]:
                new_p.append(p[i])
                new_s.append(True)
            new_p.extend((a[i], b[i]))
            new_s.extend((False, False))
        p = np.array(new_p)
        sharp = np.array(new_s)
    return [(float(x), float(y)) for x, y in p]


class _Painter:
    """Draws one garment in box units (0..1 on each axis) at SS times its final size.

    ``mask`` is the fabric silhouette (filled with the patterned fabric later); ``det`` holds
    opaque or translucent details drawn over it (seams, soles, laces, buttons, handles).
    """

    def __init__(self, w: int, h: int, base: RGB):
        self.w, self.h = w, h
        self.W, self.H = w * SS, h * SS
        self.S = math.sqrt(self.W * self.H)
        self.mask = Image.new("L", (self.W, self.H), 0)
        self.det = Image.new("RGBA", (self.W, self.H), (0, 0, 0, 0))
        self.md = ImageDraw.Draw(self.mask)
        self.dd = ImageDraw.Draw(self.det)
        self.base = base
        self.line_c = _line_color(base) + (255,)
        self.outlines: list[list[tuple[float, float]]] = []

    # coordinates
    def px(self, pts: list[tuple], iters: int = 0) -> list[tuple[float, float]]:
        if iters:
            pts = _chaikin(pts, iters)
        return [(x * self.W, y * self.H) for x, y, *_ in pts]

    def lw(self, f: float) -> int:
        return max(1, int(round(f * self.S)))

    def box(self, x0: float, y0: float, x1: float, y1: float) -> tuple[float, float, float, float]:
        return (x0 * self.W, y0 * self.H, x1 * self.W, y1 * self.H)

    # fabric silhouette
    def body(self, pts: list[tuple], iters: int = 3, outline: bool = True) -> None:
        xy = self.px(pts, iters)
        self.md.polygon(xy, fill=255)
        if outline:
            self.outlines.append(xy)

    def body_ellipse(self, x0: float, y0: float, x1: float, y1: float) -> None:
        self.md.ellipse(self.box(x0, y0, x1, y1), fill=255)
        n = 64
        cx, cy, rx, ry = (x0 + x1) / 2, (y0 + y1) / 2, (x1 - x0) / 2, (y1 - y0) / 2
        self.outlines.append(
            [((cx + rx * math.cos(2 * math.pi * i / n)) * self.W, (cy + ry * math.sin(2 * math.pi * i / n)) * self.H) for i in range(n)]
        )

    def cut(self, pts: list[tuple], iters: int = 3) -> None:
        self.md.polygon(self.px(pts, iters), fill=0)

    # details
    def fill(self, pts: list[tuple], color: tuple, iters: int = 3, outline: tuple | None = None, width: float = 0.006) -> None:
        xy = self.px(pts, iters)
        self.dd.polygon(xy, fill=color)
        if outline is not None:
            self.dd.line(xy + [xy[0]], fill=outline, width=self.lw(width), joint="curve")

    def line(self, pts: list[tuple], color: tuple | None = None, width: float = 0.006, iters: int = 0) -> None:
        xy = self.px(pts)
        if iters:  # open curve: smooth with Chaikin but keep the end points
            arr = np.array(xy)
            for _ in range(iters):
                a = 0.75 * arr[:-1] + 0.25 * arr[1:]
                b = 0.25 * arr[:-1] + 0.75 * arr[1:]
                mid = np.empty((2 * len(a), 2))
                mid[0::2], mid[1::2] = a, b
                arr = np.vstack([arr[:1], mid, arr[-1:]])
            xy = [tuple(map(float, q)) for q in arr]
        self.dd.line(xy, fill=color or self.line_c, width=self.lw(width), joint="curve")

    def dot(self, x: float, y: float, r: float, color: tuple, outline: tuple | None = None) -> None:
        rr = r * self.S
        cx, cy = x * self.W, y * self.H
        self.dd.ellipse((cx - rr, cy - rr, cx + rr, cy + rr), fill=color, outline=outline, width=max(1, int(rr / 4)))

    def arc(self, x0: float, y0: float, x1: float, y1: float, start: float, end: float, color: tuple, width: float) -> None:
        self.dd.arc(self.box(x0, y0, x1, y1), start, end, fill=color, width=self.lw(width))

    def draw_outlines(self, width: float = 0.006) -> None:
        for xy in self.outlines:
            self.dd.line(xy + [xy[0], xy[1]], fill=self.line_c, width=self.lw(width), joint="curve")


def _u(rng: np.random.Generator, a: float, b: float) -> float:
    return float(rng.uniform(a, b))


SHADOW = (0, 0, 0, 70)
LIGHT = (255, 255, 255, 60)


def _mirror(pts: list[tuple]) -> list[tuple]:
    """The right half of a symmetric outline from its left half (listed top to bottom)."""
    return [(1 - q[0], q[1], *q[2:]) for q in reversed(pts)]


# ---- tops -------------------------------------------------------------------------------------

def _shirt(p: _Painter, rng: np.random.Generator) -> str:
    bw = _u(rng, 0.19, 0.22)  # half body width
    cx, cy = _u(rng, 0.0, 0.05), _u(rng, 0.78, 0.88)  # cuff outer point
    sl = 0.5 - bw
    left = [
        (0.5 - 0.07, 0.05, 1), (sl - 0.015, 0.11, 1),
        (cx, cy, 1), (cx + 0.1, cy + 0.06, 1),
        (sl, 0.36, 1), (sl, 0.9, 1), (0.5 - bw * 0.5, 0.97),
    ]
    p.body(left + [(0.5, 0.985)] + _mirror(left), iters=2)
    lc = p.line_c
    # cuffs
    for sx in (1, -1):
        def X(x: float) -> float:
            return x if sx == 1 else 1 - x
        t = 0.86
        p.line([(X(cx + (sl - 0.015 - cx) * (1 - t)), cy + (0.11 - cy) * (1 - t)), (X(cx + 0.1 + (sl - cx - 0.1) * (1 - t)), cy + 0.06 + (0.36 - cy - 0.06) * (1 - t))], lc, 0.005)
        p.line([(X(sl), 0.36), (X(sl - 0.015), 0.11)], lc, 0.004)
    # inside of the collar band, then the pointed collar over it
    p.fill([(0.43, 0.045), (0.57, 0.045), (0.5, 0.11)], _line_color(p.base) + (255,), iters=0)
    collar_fill = p.base + (255,)
    style = "button-down" if rng.random() < 0.4 else "classic"
    for sx in (1, -1):
        def X(x: float) -> float:
            return x if sx == 1 else 1 - x
        pts = [(X(0.5 - 0.075), 0.035), (X(0.5 - 0.005), 0.115), (X(0.5 - 0.055), 0.22)]
        p.fill(pts, collar_fill, iters=0, outline=lc, width=0.006)
        if style == "button-down":
            p.dot(X(0.5 - 0.05), 0.19, 0.006, lc)
    # placket and buttons
    p.line([(0.485, 0.115), (0.485, 0.975)], lc, 0.004)
    p.line([(0.515, 0.115), (0.515, 0.975)], lc, 0.004)
    btn = (245, 243, 236, 255) if _lum(p.base) < 150 else _shade(p.base, 0.7) + (255,)
    for i in range(7):
        p.dot(0.5, 0.16 + i * 0.12, 0.008, btn, outline=lc)
    if rng.random() < 0.6:  # breast pocket
        p.line([(0.6, 0.3), (0.6, 0.42), (0.65, 0.45), (0.7, 0.42), (0.7, 0.3), (0.6, 0.3)], lc, 0.004)
    return style


def _tshirt(p: _Painter, rng: np.random.Generator) -> str:
    bw = _u(rng, 0.24, 0.27)
    sl = 0.5 - bw
    reach = _u(rng, 0.19, 0.23)
    drop = _u(rng, 0.2, 0.28)
    nw = _u(rng, 0.085, 0.1)
    left = [
        (0.5 - nw, 0.03, 1), (sl - 0.01, 0.08),
        (sl - reach, drop, 1), (sl - reach + 0.09, drop + 0.12, 1),
        (sl, 0.36, 1), (sl, 0.96, 1),
    ]
    p.body(left + _mirror(left), iters=2)
    lc = p.line_c
    style = "crew neck" if rng.random() < 0.7 else "v-neck"
    inside = _shade(p.base, 0.78) + (255,) if _lum(p.base) > 60 else _mix(p.base, (255, 255, 255), 0.12) + (255,)
    if style == "crew neck":
        p.dd.pieslice(p.box(0.5 - nw, -0.07, 0.5 + nw, 0.14), 0, 180, fill=inside)
        p.arc(0.5 - nw - 0.012, -0.095, 0.5 + nw + 0.012, 0.165, 0, 180, lc, 0.012)
    else:
        p.fill([(0.5 - nw, 0.03), (0.5 + nw, 0.03), (0.5, 0.2)], inside, iters=0, outline=lc, width=0.01)
    # sleeve hems and body hem
    for sx in (1, -1):
        def X(x: float) -> float:
            return x if sx == 1 else 1 - x
        p.line([(X(sl - reach + 0.025), drop - 0.01), (X(sl - reach + 0.11), drop + 0.1)], lc, 0.004)
    p.line([(sl + 0.005, 0.925), (1 - sl - 0.005, 0.925)], lc, 0.004)
    return style


def _jacket(p: _Painter, rng: np.random.Generator) -> str:
    bw = _u(rng, 0.27, 0.3)
    sl = 0.5 - bw
    cuff = _u(rng, 0.88, 0.93)
    left = [
        (0.5 - 0.09, 0.02, 1), (sl - 0.03, 0.06),
        (sl - 0.16, 0.3), (sl - 0.2, cuff, 1), (sl - 0.06, cuff + 0.02, 1),
        (sl - 0.01, 0.32, 1), (sl, 0.96, 1),
    ]
    p.body(left + [(0.5, 0.96, 1)] + _mirror(left), iters=2)
    lc = p.line_c
    style = "blazer" if rng.random() < 0.6 else "zip jacket"
    inner = (246, 245, 240, 255) if _lum(p.base) < 170 else (38, 38, 42, 255)
    vb = _u(rng, 0.42, 0.5) if style == "blazer" else _u(rng, 0.3, 0.36)
    p.fill([(0.5 - 0.09, 0.02), (0.5 + 0.09, 0.02), (0.5 + 0.03, vb), (0.5 - 0.03, vb)], inner, iters=0)
    if style == "blazer":
        for sx in (1, -1):
            def X(x: float) -> float:
                return x if sx == 1 else 1 - x
            lapel = [(X(0.5 - 0.09), 0.02), (X(0.5 - 0.2), 0.16), (X(0.5 - 0.15), 0.2), (X(0.5 - 0.03), vb)]
            p.fill(lapel, (0, 0, 0, 45), iters=0, outline=lc, width=0.006)
            p.line([(X(0.5 - 0.2), 0.4 + 0.28), (X(0.5 - 0.08), 0.4 + 0.28)], lc, 0.006)  # pocket flap
            p.line([(X(0.5 - 0.2), 0.75), (X(0.5 - 0.08), 0.75)], lc, 0.004)
        p.line([(0.5, vb), (0.5, 0.96)], lc, 0.006)
        btn = _shade(p.base, 0.55) + (255,) if _lum(p.base) > 60 else (120, 120, 124, 255)
        for i in range(2):
            p.dot(0.5, vb + 0.06 + i * 0.12, 0.012, btn, outline=lc)
    else:
        teeth = (200, 200, 204, 255) if _lum(p.base) < 140 else (70, 70, 74, 255)
        for sx in (1, -1):
            def X(x: float) -> float:
                return x if sx == 1 else 1 - x
            p.line([(X(0.5 - 0.09), 0.02), (X(0.5 - 0.03), vb), (X(0.5 - 0.03), 0.96)], teeth, 0.008)
            p.line([(X(0.5 - 0.2), 0.55), (X(0.5 - 0.15), 0.72)], lc, 0.006)  # slanted pocket
            p.line([(X(sl - 0.2), cuff - 0.05), (X(sl - 0.06), cuff - 0.035)], lc, 0.006)  # rib cuff
        p.line([(sl + 0.005, 0.9), (1 - sl - 0.005, 0.9)], lc, 0.007)  # rib hem
    return style


# ---- bottoms ----------------------------------------------------------------------------------

def _legs(p: _Painter, top: float, crotch: float, hem: float, wx: float, hip: float, out: float, inn: float) -> None:
    left = [(wx, top, 1), (hip, top + (crotch - top) * 0.8), (out, hem, 1), (inn, hem + 0.005, 1), (0.5, crotch, 1)]
    p.body(left + [(1 - inn, hem + 0.005, 1), (1 - out, hem, 1), (1 - hip, top + (crotch - top) * 0.8), (1 - wx, top, 1)], iters=2)


def _pants(p: _Painter, rng: np.random.Generator) -> str:
    style = str(rng.choice(["straight", "slim", "wide-leg"]))
    out, inn = {"straight": (0.08, 0.45), "slim": (0.15, 0.44), "wide-leg": (0.01, 0.46)}[style]
    wx = 0.12 if style != "wide-leg" else 0.14
    crotch = _u(rng, 0.3, 0.34)
    _legs(p, 0.0, crotch, 0.995, wx, 0.08 if style != "wide-leg" else 0.09, out, inn)
    lc = p.line_c
    p.line([(wx + 0.004, 0.055), (1 - wx - 0.004, 0.055)], lc, 0.005)  # waistband
    for x in (0.22, 0.4, 0.6, 0.78):
        p.line([(x, 0.0), (x, 0.065)], lc, 0.007)  # belt loops
    p.line([(0.5, 0.06), (0.5, crotch - 0.05)], lc, 0.005)  # fly
    p.line([(0.56, 0.06), (0.56, crotch - 0.09), (0.5, crotch - 0.05)], lc, 0.004, iters=2)
    p.line([(0.2, 0.06), (0.11, 0.16)], lc, 0.005)
    p.line([(0.8, 0.06), (0.89, 0.16)], lc, 0.005)
    for sx in (1, -1):
        def X(x: float) -> float:
            return x if sx == 1 else 1 - x
        mid_top = (wx + 0.5) / 2
        mid_hem = (out + inn) / 2
        p.line([(X(mid_top), 0.09), (X(mid_hem), 0.99)], _shade(p.base, 0.85) + (255,), 0.004)  # crease
    return style


def _shorts(p: _Painter, rng: np.random.Generator) -> str:
    style = str(rng.choice(["chino", "drawstring", "cuffed"]))
    crotch = _u(rng, 0.52, 0.6)
    hem = _u(rng, 0.9, 0.96)
    _legs(p, 0.02, crotch, hem, 0.16, 0.08, 0.02, 0.46)
    lc = p.line_c
    p.line([(0.165, 0.12), (0.835, 0.12)], lc, 0.006)
    if style == "drawstring":
        p.dot(0.46, 0.08, 0.01, lc)
        p.dot(0.54, 0.08, 0.01, lc)
        white = (245, 243, 236, 255)
        p.line([(0.46, 0.08), (0.44, 0.2), (0.455, 0.33)], white, 0.009, iters=2)
        p.line([(0.54, 0.08), (0.56, 0.22), (0.545, 0.31)], white, 0.009, iters=2)
    else:
        for x in (0.26, 0.42, 0.58, 0.74):
            p.line([(x, 0.02), (x, 0.13)], lc, 0.008)
        p.line([(0.5, 0.12), (0.5, crotch - 0.1)], lc, 0.005)
    p.line([(0.25, 0.12), (0.12, 0.3)], lc, 0.006)
    p.line([(0.75, 0.12), (0.88, 0.3)], lc, 0.006)
    if style == "cuffed":
        for sx in (1, -1):
            def X(x: float) -> float:
                return x if sx == 1 else 1 - x
            p.fill([(X(0.02), hem), (X(0.46), hem + 0.005), (X(0.465), hem - 0.12), (X(0.035), hem - 0.12)], (0, 0, 0, 40), iters=0, outline=lc, width=0.005)
    else:
        for sx in (1, -1):
            def X(x: float) -> float:
                return x if sx == 1 else 1 - x
            p.line([(X(0.03), hem - 0.06), (X(0.465), hem - 0.055)], lc, 0.004)
    return style


def _skirt(p: _Painter, rng: np.random.Generator) -> str:
    style = str(rng.choice(["a-line", "pleated", "flared"]))
    wx = _u(rng, 0.28, 0.32)
    hemx = _u(rng, 0.0, 0.04)
    hem = []
    n = 24
    for i in range(n + 1):
        t = i / n
        x = hemx + (1 - 2 * hemx) * t
        y = 0.9 + 0.07 * math.sin(math.pi * t)
        if style == "flared":
            y += 0.025 * math.sin(t * math.pi * 10)
        hem.append((x, y))
    pts = [(wx, 0.0, 1), (1 - wx, 0.0, 1), (1 - wx, 0.09, 1)] + list(reversed(hem)) + [(wx, 0.09, 1)]
    p.body(pts, iters=1)
    lc = p.line_c
    p.line([(wx, 0.09), (1 - wx, 0.09)], lc, 0.006)
    p.dot(1 - wx - 0.04, 0.045, 0.01, lc)
    k = 9 if style == "pleated" else 4
    for i in range(1, k):
        t = i / k
        x0 = wx + (1 - 2 * wx) * t
        x1 = hemx + (1 - 2 * hemx) * t
        y1 = 0.9 + 0.07 * math.sin(math.pi * t) - 0.01
        p.line([(x0, 0.1), (x1, y1)], (0, 0, 0, 60) if style != "pleated" else lc, 0.004)
    return style


# ---- one-pieces -------------------------------------------------------------------------------

def _bodice(p: _Painter, rng: np.random.Generator, waist: float, half: float) -> tuple[list[tuple], str]:
    """Left half of a top (shoulder to waist), and whether it has straps or short sleeves."""
    tops = "straps" if rng.random() < 0.5 else "short sleeves"
    if tops == "straps":
        left = [(0.5 - half * 0.85, 0.14, 1), (0.5 - half, 0.3), (0.5 - half * 0.7, waist, 1)]
    else:
        left = [
            (0.5 - 0.09, 0.0, 1), (0.5 - half - 0.02, 0.03), (0.5 - half - 0.13, 0.13, 1), (0.5 - half - 0.05, 0.18, 1),
            (0.5 - half, 0.17), (0.5 - half * 0.75, waist, 1),
        ]
    return left, tops


def _bodice_details(p: _Painter, tops: str, waist: float, half: float) -> None:
    lc = p.line_c
    if tops == "straps":
        for sx in (1, -1):
            def X(x: float) -> float:
                return x if sx == 1 else 1 - x
            p.line([(X(0.5 - half * 0.75), 0.145), (X(0.5 - half * 0.62), 0.0)], p.base + (255,), 0.014)
            p.line([(X(0.5 - half * 0.75), 0.145), (X(0.5 - half * 0.62), 0.0)], (0, 0, 0, 50), 0.004)
    else:
        inside = _shade(p.base, 0.75) + (255,) if _lum(p.base) > 60 else _mix(p.base, (255, 255, 255), 0.12) + (255,)
        p.fill([(0.5 - 0.09, 0.0), (0.5 + 0.09, 0.0), (0.5, 0.11)], inside, iters=1, outline=lc, width=0.008)
    p.line([(0.5 - half * 0.75, waist), (0.5 + half * 0.75, waist)], lc, 0.01)


def _dress(p: _Painter, rng: np.random.Generator) -> str:
    waist = _u(rng, 0.34, 0.4)
    half = _u(rng, 0.17, 0.2)
    hemx = _u(rng, 0.0, 0.06)
    left, tops = _bodice(p, rng, waist, half)
    n = 12
    hem = [(hemx + (1 - 2 * hemx) * i / n, 0.95 + 0.04 * math.sin(math.pi * i / n)) for i in range(n + 1)]
    hem[0] = hem[0] + (1,)
    hem[-1] = hem[-1] + (1,)
    right = _mirror(left)
    if tops == "straps":
        neck = [(0.5, 0.2)]
    else:
        neck = []
    p.body(left + [(0.5 - half * 0.5, waist + 0.15)] + [hem[0]] + hem[1:-1] + [hem[-1]] + [(0.5 + half * 0.5, waist + 0.15)] + right + neck, iters=2)
    if tops == "straps":
        p.cut([(0.5 - half * 0.85, 0.14, 1), (0.5 + half * 0.85, 0.14, 1), (0.5 + half * 0.85, 0.0, 1), (0.5 - half * 0.85, 0.0, 1)], iters=0)
    _bodice_details(p, tops, waist, half)
    for i in range(1, 5):
        t = i / 5
        p.line([(0.5 - half * 0.75 + 1.5 * half * t, waist + 0.01), (hemx + (1 - 2 * hemx) * t, 0.95 + 0.04 * math.sin(math.pi * t) - 0.01)], (0, 0, 0, 45), 0.004)
    return tops


def _jumpsuit(p: _Painter, rng: np.random.Generator) -> str:
    waist = _u(rng, 0.34, 0.38)
    half = _u(rng, 0.16, 0.18)
    left, tops = _bodice(p, rng, waist, half)
    crotch = _u(rng, 0.55, 0.6)
    out = _u(rng, 0.08, 0.15)
    wl = 0.5 - half * 0.75
    legs_l = [(wl - 0.03, waist + 0.08), (out, 0.995, 1), (0.41, 1.0, 1), (0.5, crotch, 1)]
    pts = left + legs_l + [(1 - q[0], q[1], *q[2:]) for q in reversed(legs_l[:-1])] + _mirror(left)
    p.body(pts, iters=2)
    if tops == "straps":
        p.cut([(0.5 - half * 0.85, 0.14, 1), (0.5 + half * 0.85, 0.14, 1), (0.5 + half * 0.85, 0.0, 1), (0.5 - half * 0.85, 0.0, 1)], iters=0)
    _bodice_details(p, tops, waist, half)
    lc = p.line_c
    belt = _shade(p.base, 0.6) + (255,) if _lum(p.base) > 60 else (150, 120, 80, 255)
    p.fill([(wl, waist - 0.015), (1 - wl, waist - 0.015), (1 - wl, waist + 0.02), (wl, waist + 0.02)], belt, iters=0)
    p.line([(0.5, waist + 0.02), (0.5, crotch - 0.04)], lc, 0.005)
    for sx in (1, -1):
        def X(x: float) -> float:
            return x if sx == 1 else 1 - x
        p.line([(X((wl + 0.5) / 2), waist + 0.1), (X((out + 0.41) / 2), 0.99)], (0, 0, 0, 40), 0.004)
    return tops


# ---- footwear (side view, toe to the right) ---------------------------------------------------

def _lace_bars(p: _Painter, a: tuple[float, float], b: tuple[float, float], n: int, dx: float, dy: float, color: tuple,
               eyelet: tuple | None = None) -> None:
    """Lace bars across a throat running from ``a`` to ``b`` (each bar from P-(dx,dy) to P+(dx,dy))."""
    for i in range(n):
        t = (i + 0.5) / n
        x, y = a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t
        p.line([(x - dx, y - dy), (x + dx, y + dy)], color, 0.014)
        if eyelet is not None:
            p.dot(x - dx, y - dy, 0.009, eyelet)
            p.dot(x + dx, y + dy, 0.009, eyelet)


def _shoes(p: _Painter, rng: np.random.Generator) -> str:
    style = "cap-toe oxford" if rng.random() < 0.6 else "derby"
    top = _u(rng, 0.2, 0.26)
    upper = [
        (0.035, 0.8, 1), (0.02, 0.5), (0.035, top + 0.03), (0.08, top), (0.22, top + 0.05), (0.34, top + 0.05),
        (0.62, top + 0.2), (0.78, 0.42), (0.9, 0.5), (0.975, 0.58), (1.0, 0.7), (0.975, 0.8, 1),
    ]
    p.body(upper, iters=3)
    sole_c = (30, 24, 20, 255) if _lum(p.base) > 60 else (110, 78, 50, 255)
    p.fill([(0.025, 0.78, 1), (0.975, 0.78), (0.998, 0.82), (0.97, 0.875, 1), (0.52, 0.88, 1), (0.32, 0.845, 1), (0.25, 0.845, 1),
            (0.25, 0.99, 1), (0.045, 0.99, 1), (0.025, 0.9)], sole_c, iters=1)
    p.line([(0.26, 0.87), (0.26, 0.99)], (255, 255, 255, 40), 0.004)
    lc = p.line_c
    # heel counter, the quarter's seam around the facing, the facing itself and its laces
    p.line([(0.09, top + 0.01), (0.17, 0.5), (0.24, 0.78)], lc, 0.008, iters=2)
    p.line([(0.34, top + 0.06), (0.42, 0.58), (0.6, 0.6), (0.7, top + 0.3)], lc, 0.008, iters=2)
    facing = [(0.36, top + 0.05), (0.63, top + 0.2), (0.58, top + 0.3), (0.38, top + 0.17)]
    p.fill(facing, (0, 0, 0, 40), iters=0, outline=lc, width=0.006)
    lace_c = (238, 234, 224, 255) if _lum(p.base) < 150 else (40, 34, 30, 255)
    _lace_bars(p, (0.39, top + 0.1), (0.6, top + 0.24), 4, 0.012, 0.05, lace_c, eyelet=lc)
    if style == "cap-toe oxford":
        p.line([(0.8, 0.44), (0.77, 0.6), (0.81, 0.78)], lc, 0.009, iters=2)
    return style


def _sneakers(p: _Painter, rng: np.random.Generator) -> str:
    style = "low-top" if rng.random() < 0.65 else "high-top"
    top = _u(rng, 0.12, 0.17) if style == "low-top" else _u(rng, 0.0, 0.03)
    dip = 0.14 if style == "low-top" else 0.05
    upper = [
        (0.04, 0.7, 1), (0.015, top + 0.12), (0.04, top), (0.1, top + 0.02), (0.2, top + dip), (0.3, top + dip * 0.6),
        (0.36, top - 0.03), (0.42, top + 0.03), (0.66, 0.36), (0.85, 0.44), (0.96, 0.52), (0.99, 0.66), (0.98, 0.7, 1),
    ]
    p.body(upper, iters=3)
    white = (247, 246, 242, 255)
    sole_top = _u(rng, 0.63, 0.67)
    p.fill([(0.015, sole_top), (0.5, sole_top + 0.02), (0.985, sole_top - 0.02), (1.0, 0.83), (0.985, 0.985, 1), (0.02, 0.985, 1), (0.005, 0.84)],
           white, iters=2, outline=(150, 150, 150, 255), width=0.008)
    accent = (150, 150, 152, 255) if _lum(p.base) > 200 else p.base + (255,)
    p.line([(0.02, 0.86), (0.99, 0.86)], accent, 0.018)
    for i in range(14):
        x = 0.05 + i * 0.065
        p.line([(x, 0.94), (x + 0.02, 0.985)], (170, 170, 172, 255), 0.008)
    lc = p.line_c
    # toe cap, side stripe, heel tab, collar, laces
    p.fill([(0.8, sole_top - 0.01), (0.86, 0.46), (0.94, 0.5), (0.985, 0.6), (0.985, sole_top - 0.02)], (0, 0, 0, 35), iters=1)
    stripe = white if _lum(p.base) < 200 else (40, 40, 44, 255)
    p.line([(0.28, 0.56), (0.44, 0.43), (0.62, 0.55)], stripe, 0.03, iters=2)
    p.fill([(0.02, top + 0.1), (0.06, top + 0.01), (0.1, 0.55), (0.04, 0.6)], (0, 0, 0, 45), iters=1)
    p.line([(0.1, top + 0.05), (0.2, top + dip + 0.03), (0.3, top + dip * 0.6 + 0.03)], lc, 0.01, iters=2)
    lace_c = white if _lum(p.base) < 200 else (60, 60, 64, 255)
    _lace_bars(p, (0.42, top + 0.07), (0.66, 0.37), 5, 0.014, 0.05, lace_c, eyelet=lc)
    return style


def _heels(p: _Painter, rng: np.random.Generator) -> str:
    style = "pump" if rng.random() < 0.7 else "ankle-strap pump"
    hx = _u(rng, 0.1, 0.13)
    seat = _u(rng, 0.42, 0.5)
    # upper: heel cup at the back (left), a low topline, vamp to a pointed toe (right)
    upper = [
        (0.04, seat - 0.02, 1), (0.04, 0.22), (0.08, 0.17, 1), (0.3, 0.42), (0.55, 0.62), (0.68, 0.64),
        (0.86, 0.78), (1.0, 0.93, 1), (0.7, 0.94), (0.55, 0.92), (0.35, 0.72), (0.18, seat + 0.06), (0.06, seat + 0.02, 1),
    ]
    p.body(upper, iters=3)
    insole = _mix(p.base, (220, 200, 180), 0.6) + (255,)
    p.fill([(0.1, 0.2), (0.3, 0.44), (0.54, 0.62), (0.48, 0.66), (0.28, 0.52), (0.1, 0.34)], insole, iters=2)
    # stiletto
    heel_c = _shade(p.base, 0.7) + (255,) if _lum(p.base) > 60 else (48, 48, 52, 255)
    p.fill([(0.05, seat + 0.01, 1), (hx + 0.04, seat + 0.06, 1), (hx + 0.012, seat + 0.2), (hx + 0.008, 1.0, 1), (hx - 0.008, 1.0, 1),
            (hx - 0.012, seat + 0.22), (0.045, seat + 0.06)], heel_c, iters=2)
    p.fill([(hx - 0.009, 0.965, 1), (hx + 0.01, 0.965, 1), (hx + 0.008, 1.0, 1), (hx - 0.008, 1.0, 1)], (20, 20, 20, 255), iters=0)
    p.line([(0.06, seat + 0.03), (0.2, seat + 0.08), (0.36, 0.74), (0.56, 0.93), (0.99, 0.935)], (25, 22, 20, 255), 0.01, iters=2)
    if style == "ankle-strap pump":
        p.line([(0.04, 0.24), (0.18, 0.2), (0.26, 0.3)], p.line_c, 0.02, iters=2)
        p.dot(0.06, 0.235, 0.015, (200, 170, 90, 255))
    return style


def _flats(p: _Painter, rng: np.random.Generator) -> str:
    style = "bow ballet flat" if rng.random() < 0.6 else "ballet flat"
    top = _u(rng, 0.22, 0.3)
    upper = [
        (0.03, 0.86, 1), (0.02, top + 0.06), (0.06, top), (0.3, top + 0.2), (0.55, top + 0.24),
        (0.72, top + 0.14), (0.88, 0.46), (0.97, 0.6), (0.99, 0.78), (0.96, 0.86, 1),
    ]
    p.body(upper, iters=3)
    insole = _mix(p.base, (222, 204, 184), 0.6) + (255,)
    p.fill([(0.07, top + 0.03), (0.3, top + 0.22), (0.55, top + 0.26), (0.68, top + 0.17), (0.5, top + 0.32), (0.3, top + 0.3), (0.1, top + 0.14)], insole, iters=2)
    sole_c = (40, 34, 30, 255) if _lum(p.base) > 60 else (120, 100, 80, 255)
    p.fill([(0.02, 0.85), (0.98, 0.85), (0.99, 0.9), (0.96, 0.95), (0.03, 0.95)], sole_c, iters=1)
    p.fill([(0.03, 0.93, 1), (0.13, 0.93, 1), (0.13, 1.0, 1), (0.03, 1.0, 1)], sole_c, iters=0)
    lc = p.line_c
    p.line([(0.07, top + 0.03), (0.3, top + 0.225), (0.55, top + 0.265), (0.7, top + 0.16)], lc, 0.012, iters=2)  # binding
    if style == "bow ballet flat":
        bx, by = 0.74, top + 0.14
        p.fill([(bx - 0.045, by - 0.08), (bx, by), (bx - 0.045, by + 0.08)], lc, iters=0)
        p.fill([(bx + 0.045, by - 0.08), (bx, by), (bx + 0.045, by + 0.08)], lc, iters=0)
        p.dot(bx, by, 0.016, lc)
    p.line([(0.04, 0.8), (0.97, 0.8)], (0, 0, 0, 40), 0.004)
    return style


# ---- accessories ------------------------------------------------------------------------------

def _bag(p: _Painter, rng: np.random.Generator) -> str:
    style = str(rng.choice(["tote", "handbag", "satchel"]))
    btop = _u(rng, 0.4, 0.46)
    taper = _u(rng, 0.02, 0.06)
    p.body([(0.05 + taper, btop, 1), (0.95 - taper, btop, 1), (0.97, 0.98), (0.5, 0.995), (0.03, 0.98)], iters=2)
    lc = p.line_c
    handle = _shade(p.base, 0.72) + (255,) if _lum(p.base) > 60 else (70, 66, 64, 255)
    if style == "tote":
        for x0 in (0.2, 0.52):
            p.arc(x0, 0.05, x0 + 0.28, 0.8, 180, 360, handle, 0.04)
    elif style == "handbag":
        p.arc(0.26, 0.02, 0.74, 0.86, 180, 360, handle, 0.05)
        p.dot(0.26 + 0.012, btop - 0.0, 0.018, (200, 170, 90, 255))
        p.dot(0.74 - 0.012, btop - 0.0, 0.018, (200, 170, 90, 255))
    else:
        p.arc(0.34, 0.08, 0.66, 0.72, 180, 360, handle, 0.055)
        p.fill([(0.06 + taper, btop + 0.005), (0.94 - taper, btop + 0.005), (0.93, 0.7), (0.5, 0.74), (0.07, 0.7)], (0, 0, 0, 40), iters=1,
               outline=lc, width=0.006)
        p.fill([(0.46, 0.66), (0.54, 0.66), (0.54, 0.76), (0.46, 0.76)], (205, 175, 95, 255), iters=0, outline=(150, 120, 60, 255), width=0.004)
    p.line([(0.08 + taper, btop + 0.05), (0.92 - taper, btop + 0.05)], lc, 0.004)
    return style


def _hat(p: _Painter, rng: np.random.Generator) -> str:
    style = str(rng.choice(["fedora", "boater", "sun hat"]))
    cw = _u(rng, 0.2, 0.25)
    brim_y = _u(rng, 0.62, 0.7)
    p.body_ellipse(0.0, brim_y - 0.12, 1.0, brim_y + 0.2)
    top = 0.04
    if style == "sun hat":
        crown = [(0.5 - cw - 0.02, brim_y, 1), (0.5 - cw, top + 0.2), (0.5 - cw * 0.6, top + 0.02), (0.5 + cw * 0.6, top + 0.02),
                 (0.5 + cw, top + 0.2), (0.5 + cw + 0.02, brim_y, 1)]
    elif style == "fedora":
        crown = [(0.5 - cw - 0.02, brim_y, 1), (0.5 - cw, top + 0.12), (0.5 - cw + 0.06, top), (0.5, top + 0.09), (0.5 + cw - 0.06, top),
                 (0.5 + cw, top + 0.12), (0.5 + cw + 0.02, brim_y, 1)]
    else:
        crown = [(0.5 - cw, brim_y, 1), (0.5 - cw, top + 0.14), (0.5 - cw + 0.01, top + 0.1, 1), (0.5 + cw - 0.01, top + 0.1, 1),
                 (0.5 + cw, top + 0.14), (0.5 + cw, brim_y, 1)]
    p.body(crown, iters=2)
    band = (30, 28, 30, 255) if _lum(p.base) > 90 else (180, 150, 100, 255)
    p.fill([(0.5 - cw - 0.015, brim_y - 0.14), (0.5 + cw + 0.015, brim_y - 0.14), (0.5 + cw + 0.02, brim_y - 0.04), (0.5 - cw - 0.02, brim_y - 0.04)], band, iters=0)
    p.fill([(0.06, brim_y + 0.02), (0.94, brim_y + 0.02), (0.9, brim_y + 0.14), (0.1, brim_y + 0.14)], (0, 0, 0, 30), iters=2)
    return style


DRAWERS: dict[str, tuple[Callable[[_Painter, np.random.Generator], str], tuple[float, float], str]] = {
    # category: (drawer, box aspect range (w/h), pattern weights key)
    "shirt": (_shirt, (1.05, 1.18), "clothes"),
    "tshirt": (_tshirt, (1.08, 1.22), "clothes"),
    "jacket": (_jacket, (0.85, 0.95), "clothes"),
    "pants": (_pants, (0.42, 0.5), "clothes"),
    "shorts": (_shorts, (1.0, 1.15), "clothes"),
    "skirt": (_skirt, (0.85, 1.0), "clothes"),
    "shoes": (_shoes, (2.3, 2.6), "footwear"),
    "sneakers": (_sneakers, (2.0, 2.3), "footwear"),
    "heels": (_heels, (1.3, 1.55), "footwear"),
    "flats": (_flats, (2.9, 3.4), "footwear"),
    "bag": (_bag, (0.9, 1.1), "bag"),
    "hat": (_hat, (1.55, 1.85), "hat"),
    "dress": (_dress, (0.5, 0.58), "clothes"),
    "jumpsuit": (_jumpsuit, (0.46, 0.52), "clothes"),
}

_CANVAS_ASPECTS = (3 / 4, 4 / 5, 2 / 3, 1.0, 1.0, 4 / 3, 3 / 2, 5 / 4)
#: canvases suited to the garment's shape: wide things mostly on square or landscape pictures
_CANVAS_FOR = {
    "tall": (3 / 4, 4 / 5, 2 / 3, 1.0, 5 / 4),
    "wide": (1.0, 1.0, 4 / 3, 3 / 2, 5 / 4, 4 / 5),
}
_SHAPE = {"pants": "tall", "dress": "tall", "jumpsuit": "tall", "shoes": "wide", "sneakers": "wide", "flats": "wide", "hat": "wide"}


# ------------------------------------------------------------------------------------------------
# one item


@dataclass(frozen=True)
class SampleItem:
    id: str
    category: str
    group: str
    gender: str
    name: str
    color: str
    pattern: str
    style: str

    @property
    def image(self) -> str:
        return f"train/{self.group}/{self.category}/{self.id}.jpg"

    def row(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "image": self.image,
            "category": self.category,
            "gender": self.gender,
            "name": self.name,
            "attributes": {"color": self.color, "pattern": self.pattern, "style": self.style},
        }


def _pick_color(category: str, rng: np.random.Generator) -> str:
    names = list(PALETTE)
    likely = LIKELY_COLORS.get(category, ())
    w = np.array([3.0 if n in likely else 1.0 for n in names])
    return names[int(rng.choice(len(names), p=w / w.sum()))]


def _background(w: int, h: int, garment: RGB, rng: np.random.Generator) -> Image.Image:
    r = rng.random()
    if _lum(garment) > 200:  # light grey behind white and cream garments, so they stand out
        g = _u(rng, 222, 232)
        base = np.array([g, g, g + _u(rng, 0, 3)])
    elif r < 0.2:  # very light grey
        g = _u(rng, 228, 238)
        base = np.array([g, g, g + _u(rng, 0, 3)])
    elif r < 0.35:  # light beige
        base = np.array([_u(rng, 240, 247), _u(rng, 234, 240), _u(rng, 222, 230)])
    else:
        g = _u(rng, 243, 253)
        tint = _u(rng, -3, 3)
        base = np.array([g + tint, g, g - tint])
    yy = np.linspace(0.0, 1.0, h, dtype=np.float32)[:, None, None]
    grad = _u(rng, -7, 4)  # a studio sweep: slightly darker (or lighter) toward the floor
    column = np.clip(base[None, None, :] + grad * yy + 0.5, 0, 255).astype(np.uint8)
    return Image.fromarray(column).resize((w, h), Image.Resampling.NEAREST)


def render_item(category: str, number: int, seed: int = 0) -> tuple[Image.Image, SampleItem]:
    """Draw item ``number`` of ``category``: the picture and its metadata.

    Depends only on (seed, category, number): the same arguments give the same pixels.
    """
    if category not in DRAWERS:
        raise InvalidInput(f"the sample catalog has no category {category!r}")
    cat_index = CATEGORIES.index(category)
    rng = np.random.default_rng([int(seed), cat_index, int(number), GENERATOR_VERSION])
    drawer, (amin, amax), pkey = DRAWERS[category]

    color = _pick_color(category, rng)
    base = PALETTE[color]
    pattern = PATTERNS[int(rng.choice(len(PATTERNS), p=np.array(_PATTERN_WEIGHTS[pkey])))]
    info = _taxonomy().categories[category]
    if info.default_gender == "female":  # skirts, heels, flats, dresses, jumpsuits
        gender = "female"
    else:
        gender = ("male", "female", "unisex")[int(rng.choice(3, p=[0.36, 0.3, 0.34]))]

    # canvas: 256..640 px, portrait, square or landscape
    aspects = _CANVAS_FOR.get(_SHAPE.get(category, ""), _CANVAS_ASPECTS)
    aspect = aspects[int(rng.integers(len(aspects)))]
    long_side = int(rng.integers(320, 641))
    if aspect >= 1:
        cw, ch = long_side, max(256, int(round(long_side / aspect)))
    else:
        ch, cw = long_side, max(256, int(round(long_side * aspect)))

    # the garment's box: its own aspect, 55-85 % of what fits, anywhere with a margin
    box_aspect = _u(rng, amin, amax)
    fit = min(ch, cw / box_aspect)
    bh = max(24, int(fit * _u(rng, 0.55, 0.85)))
    bw = max(24, int(bh * box_aspect))
    if bw > cw - 16:
        bw = cw - 16
        bh = int(bw / box_aspect)
    margin_x, margin_y = (cw - bw) // 2, (ch - bh) // 2
    x0 = margin_x + int(round(margin_x * _u(rng, -0.6, 0.6)))
    y0 = margin_y + int(round(margin_y * _u(rng, -0.6, 0.6)))

    painter = _Painter(bw, bh, base)
    style = drawer(painter, rng)
    # outlines go under the details but over the fabric: draw them on a layer of their own
    details = painter.det
    outl = Image.new("RGBA", details.size, (0, 0, 0, 0))
    painter.det, painter.dd = outl, ImageDraw.Draw(outl)
    painter.draw_outlines(0.005)
    over = Image.alpha_composite(outl, details)

    mask = painter.mask.resize((bw, bh), Image.Resampling.BOX)
    fabric = _fabric(bw, bh, base, pattern, rng)
    obj = Image.fromarray(np.clip(fabric, 0, 255).astype(np.uint8)).convert("RGBA")
    obj.putalpha(mask)
    obj = Image.alpha_composite(obj, over.resize((bw, bh), Image.Resampling.BOX))
    if rng.random() < 0.5:
        obj = obj.transpose(Image.Transpose.FLIP_LEFT_RIGHT)

    canvas = _background(cw, ch, base, rng)
    # soft drop shadow from the garment's own alpha, computed only around the garment
    radius = max(2.0, 0.025 * math.sqrt(bw * bh))
    off = max(2, int(0.02 * math.sqrt(bw * bh)))
    dx = int(off * _u(rng, -0.5, 0.8))
    pad = int(3 * radius) + off + 2
    rx0, ry0 = max(0, x0 - pad), max(0, y0 - pad)
    rx1, ry1 = min(cw, x0 + bw + pad), min(ch, y0 + bh + pad)
    shadow = Image.new("L", (rx1 - rx0, ry1 - ry0), 0)
    shadow.paste(obj.getchannel("A"), (x0 + dx - rx0, y0 + off - ry0))
    shadow = shadow.filter(ImageFilter.GaussianBlur(radius))
    s = np.asarray(shadow, np.float32)[..., None] * (0.22 / 255.0)
    region = np.asarray(canvas.crop((rx0, ry0, rx1, ry1)), np.float32)
    canvas.paste(Image.fromarray(np.clip(region * (1.0 - s) + 0.5, 0, 255).astype(np.uint8)), (rx0, ry0))
    img = canvas
    img.paste(obj, (x0, y0), obj)

    word = PATTERN_WORD[pattern]
    name = " ".join(x for x in (color, word, info.display) if x)
    item = SampleItem(
        id=f"{category}-{number:04d}", category=category, group=info.group, gender=gender,
        name=name, color=color, pattern=pattern, style=style,
    )
    return img, item


def _jpeg_bytes(img: Image.Image) -> bytes:
    import io

    buf = io.BytesIO()
    img.save(buf, format="JPEG", quality=JPEG_QUALITY)
    return buf.getvalue()


def _render_task(args: tuple[str, int, int, str]) -> dict[str, Any]:
    category, number, seed, root = args
    img, item = render_item(category, number, seed)
    path = Path(root) / item.image
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(_jpeg_bytes(img))
    return item.row()


# ------------------------------------------------------------------------------------------------
# the catalog


def plan(n: int) -> list[tuple[str, int]]:
    """(category, number) of each of ``n`` items, dealt round robin over :data:`CATEGORIES`."""
    return [(CATEGORIES[i % len(CATEGORIES)], i // len(CATEGORIES)) for i in range(n)]


def _check_args(n: Any, seed: Any) -> tuple[int, int]:
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or not 1 <= int(n) <= MAX_ITEMS:
        raise InvalidInput(f"--n must be a whole number from 1 to {MAX_ITEMS}, got {n!r}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or not 0 <= int(seed) < 2**32:
        raise InvalidInput(f"--seed must be a whole number from 0 to {2**32 - 1}, got {seed!r}")
    return int(n), int(seed)


def _is_previous_sample(out: Path) -> bool:
    try:
        meta = json.loads((out / "sample.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(meta, dict) and meta.get("generator") == "stygig.catalog.sample"


def _workers(n: int) -> int:
    env = os.environ.get("STYGIG_SAMPLE_WORKERS")
    if env is not None and env.strip().isdigit():
        return max(1, int(env))
    if n < 16:
        return 1
    return max(1, min(2, os.cpu_count() or 1))


def generate_sample_catalog(
    out: str | Path, n: int = 420, seed: int = 0, *, progress: bool = False
) -> dict[str, Any]:
    """Write the sample catalog of ``n`` items drawn from ``seed`` into ``out``.

    ``n`` (CLI ``--n``, 1..100000, default 420) items are dealt round robin over the 14
    categories; ``seed`` (CLI ``--seed``, default 0) picks everything random. ``progress`` shows a
    progress bar on stderr.

    Same ``n`` and ``seed`` -> byte-identical files. ``out`` must not exist, be an empty
    directory, or hold an earlier sample catalog (which is replaced). The catalog is written to a
    temporary directory beside ``out`` and renamed into place, so ``out`` is never half written.

    Returns ``{"root", "manifest", "n_items", "per_category"}`` (paths as strings).
    ``STYGIG_SAMPLE_WORKERS`` sets the number of drawing threads (default: up to 2). Items do
    not depend on each other nor on the order they are drawn in, so it never changes the output.
    """
    n, seed = _check_args(n, seed)
    _taxonomy()
    out = Path(out)
    if out.exists() and out.resolve() == Path.cwd().resolve():
        raise CatalogError("write the sample catalog into a new directory, not the current one")
    if out.exists():
        if not out.is_dir():
            raise CatalogError(f"{out} exists and is not a directory")
        if any(out.iterdir()) and not _is_previous_sample(out):
            raise CatalogError(f"{out} is not empty and is not a sample catalog; choose a new directory")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.parent / f".{out.name}.tmp-{os.getpid()}"
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir()
    try:
        tasks = [(c, k, seed, str(tmp)) for c, k in plan(n)]
        bar = None
        if progress:
            from tqdm import tqdm

            bar = tqdm(total=n, desc="drawing sample catalog", unit="item", file=sys.stderr)
        rows: list[dict[str, Any]] = []
        workers = _workers(n)
        if workers > 1:
            # threads, not processes: Pillow and numpy release the GIL while they draw, resize and
            # encode (2 threads: ~1.6x), and threads need no __main__ guard in the caller's script
            with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="stygig-sample") as pool:
                for row in pool.map(_render_task, tasks):
                    rows.append(row)
                    if bar is not None:
                        bar.update(1)
        else:
            for t in tasks:
                rows.append(_render_task(t))
                if bar is not None:
                    bar.update(1)
        if bar is not None:
            bar.close()
        with open(tmp / "manifest.jsonl", "w", encoding="utf-8", newline="\n") as f:
            for row in rows:
                f.write(json.dumps(row, sort_keys=True) + "\n")
        meta = {"generator": "stygig.catalog.sample", "version": GENERATOR_VERSION, "n": n, "seed": seed}
        (tmp / "sample.json").write_text(json.dumps(meta, sort_keys=True) + "\n", encoding="utf-8")
        if out.exists():
            old = out.parent / f".{out.name}.old-{os.getpid()}"
            out.rename(old)
            tmp.rename(out)
            shutil.rmtree(old, ignore_errors=True)
        else:
            tmp.rename(out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    per_category = {c: 0 for c in CATEGORIES}
    for c, _ in plan(n):
        per_category[c] += 1
    return {
        "root": str(out),
        "manifest": str(out / "manifest.jsonl"),
        "n_items": n,
        "per_category": {c: k for c, k in per_category.items() if k},
    }


def contact_sheet(out_png: str | Path, per_category: int = 3, seed: int = 0, cell: int = 200) -> Path:
    """A PNG grid with ``per_category`` items of each category (one row each, labelled), for
    looking at the shapes: ``python -c "from stygig.catalog.sample import contact_sheet;
    contact_sheet('/tmp/sample_sheet.png')"``."""
    sheet = Image.new("RGB", (cell * per_category, cell * len(CATEGORIES)), (255, 255, 255))
    draw = ImageDraw.Draw(sheet)
    for r, cat in enumerate(CATEGORIES):
        for c in range(per_category):
            img, item = render_item(cat, c, seed)
            img.thumbnail((cell - 6, cell - 6))
            sheet.paste(img, (c * cell + (cell - img.width) // 2, r * cell + (cell - img.height) // 2))
            if cell >= 120:
                draw.text((c * cell + 6, r * cell + cell - 16), item.id, fill=(90, 90, 90))
    out_png = Path(out_png)
    sheet.save(out_png)
    return out_png
