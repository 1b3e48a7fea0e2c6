"""Sunglasses, from the front, the folded temples showing at the hinges.

Formal: classic thick acetate frames with trapezoid lenses, or thin metal aviators with teardrop
gradient lenses and a double bridge. Casual: round frames with tinted lenses and a keyhole
bridge, cat-eye frames swept up at the corners. Sport: one wraparound shield lens, mirrored.
"""

from __future__ import annotations

import math

import numpy as np

from stygig.catalog.sample.colours import STEEL, _mix, _shade
from stygig.catalog.sample.painter import _Painter, _sides, _u
from stygig.catalog.sample.styles import Look

DARK_LENS = (32, 34, 38, 255)
TINTS = ((78, 60, 40), (40, 70, 52), (150, 90, 110), (60, 80, 120))
MIRRORS = (((30, 60, 170), (120, 200, 240)), ((200, 70, 20), (250, 190, 60)), ((90, 30, 140), (220, 120, 200)), ((20, 110, 70), (150, 230, 160)))


def _shrink(pts: list[tuple[float, float]], f: float, fy: float | None = None) -> list[tuple[float, float]]:
    cx = sum(q[0] for q in pts) / len(pts)
    cy = sum(q[1] for q in pts) / len(pts)
    fy = f if fy is None else fy
    return [(cx + (x - cx) * f, cy + (y - cy) * fy) for x, y, *_ in pts]


def _lens_shape(cut: str, rng: np.random.Generator) -> list[tuple]:
    """The left lens's outer rim (the wearer's right), in box units."""
    if cut in ("round",):
        r = _u(rng, 0.16, 0.18)
        cx, cy = 0.27, 0.5
        return [(cx + r * math.cos(2 * math.pi * i / 40), cy + r * 2.6 * math.sin(2 * math.pi * i / 40)) for i in range(40)]
    if cut == "aviator":
        return [(0.06, 0.2), (0.25, 0.14), (0.44, 0.2), (0.45, 0.45), (0.38, 0.82), (0.26, 0.94), (0.13, 0.88), (0.06, 0.6)]
    if cut == "cat-eye":
        return [(0.03, 0.1, 1), (0.2, 0.2), (0.44, 0.24), (0.45, 0.5), (0.38, 0.8), (0.22, 0.86), (0.1, 0.72), (0.05, 0.4)]
    return [(0.04, 0.16, 1), (0.25, 0.12), (0.45, 0.16, 1), (0.43, 0.58), (0.36, 0.84), (0.18, 0.86), (0.08, 0.7)]  # classic


def _sunglasses(p: _Painter, rng: np.random.Generator, look: Look) -> None:
    cut = look.cut
    lc = p.line_c
    if cut == "shield":
        _shield(p, rng)
        return
    thin = look.fabric == "metal"
    rim = 0.9 if thin else 0.8
    left = _lens_shape(cut, rng)
    right = [(1 - q[0], q[1], *q[2:]) for q in left]
    iters = 0 if cut == "round" else 2
    for shape in (left, right):
        p.body(shape, iters=iters)
    # bridge and the temples folded back at the hinges
    if cut == "aviator":
        p.body_line([(0.44, 0.22), (0.5, 0.18), (0.56, 0.22)], 0.012)
        p.line([(0.44, 0.22), (0.5, 0.18), (0.56, 0.22)], p.base + (255,), 0.012)
        p.body_line([(0.43, 0.08), (0.57, 0.08)], 0.012)
        p.line([(0.43, 0.08), (0.57, 0.08)], p.base + (255,), 0.012)
        for X in _sides():
            p.body_line([(X(0.25), 0.14), (X(0.3), 0.08), (X(0.43), 0.08)], 0.012)
            p.line([(X(0.25), 0.14), (X(0.3), 0.08), (X(0.43), 0.08)], p.base + (255,), 0.012)
    elif cut == "round":
        p.body_line([(0.46, 0.4), (0.5, 0.3), (0.54, 0.4)], 0.02, iters=2)
        p.line([(0.46, 0.4), (0.5, 0.3), (0.54, 0.4)], p.base + (255,), 0.02, iters=2)
    else:
        p.body([(0.43, 0.2), (0.57, 0.2), (0.56, 0.36), (0.5, 0.31), (0.44, 0.36)], iters=1, outline=False)
    for X in _sides():
        y = 0.2 if cut != "round" else 0.45
        p.body([(X(0.0), y - 0.03), (X(0.06), y - 0.04), (X(0.06), y + 0.08), (X(0.0), y + 0.06)], iters=0, outline=False)
    # lenses inside the rims
    if cut == "round" or rng.random() < 0.4:
        tint = TINTS[int(rng.integers(len(TINTS)))] + (235,)
    else:
        tint = DARK_LENS
    for shape in (left, right):
        lens = _shrink(shape, rim, rim - (0.06 if not thin else 0.02))
        p.fill(lens, tint, iters=iters)
        if cut == "aviator":  # gradient: lighter toward the bottom
            lower = [(x, y) for x, y in lens if y > 0.5]
            if len(lower) >= 3:
                p.fill(lower, _mix(tint[:3], (200, 200, 200), 0.35) + (235,), iters=1)
        xs = [q[0] for q in lens]
        x0 = min(xs) + 0.05
        p.line([(x0, 0.34), (x0 + 0.1, 0.26)], (255, 255, 255, 110), 0.012)  # reflection
    if cut == "aviator":
        for X in _sides():  # nose pads
            p.dot(X(0.42), 0.5, 0.014, (220, 220, 224, 200))
    elif not thin and cut in ("classic", "cat-eye"):
        for X in _sides():  # rivets at the hinges
            p.dot(X(0.08), 0.2, 0.01, STEEL)
    p.line([(0.45, 0.33), (0.5, 0.29), (0.55, 0.33)], _shade(p.base, 0.7) + (255,) if not thin else lc, 0.004)


def _shield(p: _Painter, rng: np.random.Generator) -> None:
    """One wraparound lens under a thin top bar."""
    lens = [(0.0, 0.14, 1), (0.5, 0.08), (1.0, 0.14, 1), (0.98, 0.55), (0.86, 0.86), (0.64, 0.88), (0.54, 0.66), (0.5, 0.6), (0.46, 0.66),
            (0.36, 0.88), (0.14, 0.86), (0.02, 0.55)]
    p.body(lens, iters=2)
    top, bottom = MIRRORS[int(rng.integers(len(MIRRORS)))]
    inner = _shrink(lens, 0.97, 0.92)
    p.fill(inner, top + (255,), iters=2)
    lower = [(x, y) for x, y in inner if y > 0.45]
    p.fill([(0.02, 0.45)] + lower + [(0.98, 0.45)], bottom + (255,), iters=2)
    p.fill([(0.0, 0.1), (0.5, 0.04), (1.0, 0.1), (1.0, 0.2), (0.5, 0.14), (0.0, 0.2)], p.base + (255,), iters=1, outline=p.line_c, width=0.004)
    p.line([(0.1, 0.34), (0.3, 0.24)], (255, 255, 255, 150), 0.014)
    p.line([(0.64, 0.3), (0.8, 0.24)], (255, 255, 255, 120), 0.01)
    p.fill([(0.46, 0.5), (0.54, 0.5), (0.55, 0.62), (0.45, 0.62)], _shade(p.base, 0.8) + (255,), iters=1)  # nose piece
