"""One-pieces, drawn flat from the front."""

from __future__ import annotations

import math

import numpy as np

from stygig.catalog.sample.colours import _lum, _mix, _shade
from stygig.catalog.sample.painter import _mirror, _Painter, _u


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

