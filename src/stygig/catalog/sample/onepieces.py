"""One-pieces, drawn flat from the front.

Formal: a fitted sheath dress with a narrow knee-length skirt, a floor-length evening gown, a
tailored wide-leg jumpsuit with a sash. Casual: a flared sundress on straps, a buttoned tea dress
with short sleeves, a utility jumpsuit with chest pockets, denim dungarees with a bib and straps.
"""

from __future__ import annotations

import math

import numpy as np

from stygig.catalog.sample.colours import COPPER, DENIM_STITCH, _lum, _mix, _shade
from stygig.catalog.sample.painter import _mirror, _Painter, _sides, _u
from stygig.catalog.sample.styles import Look


def _bodice(waist: float, half: float, tops: str) -> list[tuple]:
    """Left half of a top (shoulder to waist) with straps or short sleeves."""
    if tops == "straps":
        return [(0.5 - half * 0.85, 0.14, 1), (0.5 - half, 0.3), (0.5 - half * 0.7, waist, 1)]
    return [
        (0.5 - 0.09, 0.0, 1), (0.5 - half - 0.02, 0.03), (0.5 - half - 0.13, 0.13, 1), (0.5 - half - 0.05, 0.18, 1),
        (0.5 - half, 0.17), (0.5 - half * 0.75, waist, 1),
    ]


def _bodice_details(p: _Painter, tops: str, waist: float, half: float, strap: float = 0.014) -> None:
    lc = p.line_c
    if tops == "straps":
        for X in _sides():
            p.line([(X(0.5 - half * 0.75), 0.145), (X(0.5 - half * 0.62), 0.0)], p.base + (255,), strap)
            p.line([(X(0.5 - half * 0.75), 0.145), (X(0.5 - half * 0.62), 0.0)], (0, 0, 0, 50), 0.004)
    else:
        inside = _shade(p.base, 0.75) + (255,) if _lum(p.base) > 60 else _mix(p.base, (255, 255, 255), 0.12) + (255,)
        p.fill([(0.5 - 0.09, 0.0), (0.5 + 0.09, 0.0), (0.5, 0.11)], inside, iters=1, outline=lc, width=0.008)
    p.line([(0.5 - half * 0.75, waist), (0.5 + half * 0.75, waist)], lc, 0.01)


def _strap_cut(p: _Painter, half: float) -> None:
    p.cut([(0.5 - half * 0.85, 0.14, 1), (0.5 + half * 0.85, 0.14, 1), (0.5 + half * 0.85, 0.0, 1), (0.5 - half * 0.85, 0.0, 1)], iters=0)


def _dress(p: _Painter, rng: np.random.Generator, look: Look) -> None:
    cut = look.cut
    waist = _u(rng, 0.3, 0.34) if cut == "evening gown" else _u(rng, 0.34, 0.4)
    half = _u(rng, 0.15, 0.17) if look.style == "formal" else _u(rng, 0.17, 0.2)
    if cut == "sheath dress":
        hemx = 0.5 - half * 0.95 - _u(rng, 0.0, 0.03)  # straight down from the hips
        tops = "straps" if rng.random() < 0.5 else "short sleeves"
    elif cut == "evening gown":
        hemx = _u(rng, 0.02, 0.08)
        tops = "straps"
    elif cut == "tea dress":
        hemx = _u(rng, 0.04, 0.09)
        tops = "short sleeves"
    else:
        hemx = _u(rng, 0.0, 0.05)
        tops = "straps"
    left = _bodice(waist, half, tops)
    n = 12
    drop = 0.01 if cut == "sheath dress" else 0.04
    hem_y = 0.985 if cut == "evening gown" else 0.95
    hem = [(hemx + (1 - 2 * hemx) * i / n, hem_y - 0.03 + drop * math.sin(math.pi * i / n)) for i in range(n + 1)]
    hem[0] = hem[0] + (1,)
    hem[-1] = hem[-1] + (1,)
    neck = [(0.5, 0.2)] if tops == "straps" else []
    if cut == "sheath dress":  # fitted over the hips, straight down to the knee
        hips = [(0.5 - half * 0.95, waist + 0.2)]
    elif cut == "evening gown":  # close to the body down to the knee, then flaring to the floor
        hips = [(0.5 - half * 0.95, waist + 0.18), (0.5 - half * 0.8, waist + 0.4)]
    else:
        hips = [(0.5 - half * 0.5, waist + 0.15)]
    body = left + hips + [hem[0]] + hem[1:-1] + [hem[-1]] + _mirror(hips) + _mirror(left) + neck
    p.body(body, iters=2)
    if tops == "straps":
        _strap_cut(p, half)
    _bodice_details(p, tops, waist, half, 0.022 if cut == "sheath dress" else 0.012)
    lc = p.line_c
    if cut == "sheath dress":
        for X in _sides():
            p.line([(X(0.5 - half * 0.45), waist + 0.02), (X(0.5 - half * 0.5), waist + 0.22)], lc, 0.004)
        p.line([(0.5, hem_y - 0.1), (0.5, hem_y - 0.03)], lc, 0.006)  # a short slit
        return
    if cut == "tea dress":
        btn = _shade(p.base, 0.6) + (255,) if _lum(p.base) > 60 else (220, 216, 206, 255)
        for i in range(4):
            p.dot(0.5, 0.14 + i * (waist - 0.16) / 3, 0.01, btn, outline=lc)
        tie = _shade(p.base, 0.8) + (255,)
        p.line([(0.5 + half * 0.1, waist), (0.5 + half * 0.5, waist + 0.14)], tie, 0.018)
        p.line([(0.5 + half * 0.1, waist), (0.5 + half * 0.2, waist + 0.17)], tie, 0.018)
    n_folds = 6 if cut == "evening gown" else 5
    for i in range(1, n_folds):
        t = i / n_folds
        top_y = waist + (0.4 if cut == "evening gown" else 0.01)
        top_x0 = 0.5 - half * (0.8 if cut == "evening gown" else 0.75)
        p.line([(top_x0 + 2 * (0.5 - top_x0) * t, top_y), (hemx + (1 - 2 * hemx) * t, hem_y - 0.03 + drop * math.sin(math.pi * t) - 0.01)],
               (0, 0, 0, 45), 0.004)


def _jumpsuit(p: _Painter, rng: np.random.Generator, look: Look) -> None:
    cut = look.cut
    lc = p.line_c
    waist = _u(rng, 0.34, 0.38)
    half = _u(rng, 0.16, 0.18)
    crotch = _u(rng, 0.55, 0.6)
    out = {"tailored jumpsuit": _u(rng, 0.05, 0.09), "utility jumpsuit": _u(rng, 0.1, 0.14), "dungarees": _u(rng, 0.08, 0.12)}[cut]
    wl = 0.5 - half * 0.75
    legs_l = [(wl - 0.03, waist + 0.08), (out, 0.995, 1), (0.41, 1.0, 1), (0.5, crotch, 1)]
    legs_r = [(1 - q[0], q[1], *q[2:]) for q in reversed(legs_l[:-1])]
    if cut == "dungarees":  # a bib on straps above the trousers
        bib = [(0.5 - half * 0.6, 0.16, 1), (0.5 - half * 0.62, waist - 0.02, 1), (wl - 0.01, waist, 1)]
        p.body(bib + legs_l + legs_r + _mirror(bib), iters=1)
        for X in _sides():
            p.line([(X(0.5 - half * 0.5), 0.17), (X(0.5 - half * 0.95), 0.0)], p.base + (255,), 0.026)
            p.line([(X(0.5 - half * 0.5), 0.17), (X(0.5 - half * 0.95), 0.0)], DENIM_STITCH, 0.004)
            p.dot(X(0.5 - half * 0.5), 0.18, 0.016, COPPER, outline=lc)
            p.line([(X(wl + 0.01), waist + 0.04), (X(wl + 0.05), waist + 0.1), (X(wl + 0.11), waist + 0.11)], DENIM_STITCH, 0.005, iters=2)
        p.line([(0.5 - half * 0.3, 0.22), (0.5 - half * 0.3, 0.3), (0.5 + half * 0.3, 0.3), (0.5 + half * 0.3, 0.22)], DENIM_STITCH, 0.005)
        p.line([(0.5, waist + 0.02), (0.5, crotch - 0.04)], DENIM_STITCH, 0.005)
        return
    tops = "straps" if cut == "tailored jumpsuit" else "short sleeves"
    left = _bodice(waist, half, tops)
    neck = [(0.5, 0.24)] if tops == "straps" else []
    p.body(left + legs_l + legs_r + _mirror(left) + neck, iters=2)
    if tops == "straps":
        _strap_cut(p, half)
    _bodice_details(p, tops, waist, half)
    if cut == "tailored jumpsuit":
        sash = _shade(p.base, 0.8) + (255,)
        p.fill([(wl, waist - 0.02), (1 - wl, waist - 0.02), (1 - wl, waist + 0.025), (wl, waist + 0.025)], sash, iters=0)
        p.line([(0.56, waist), (0.6, waist + 0.16)], sash, 0.02)
        p.line([(0.56, waist), (0.53, waist + 0.18)], sash, 0.02)
        for X in _sides():
            p.line([(X((wl + 0.5) / 2), waist + 0.1), (X((out + 0.44) / 2), 0.99)], _shade(p.base, 0.82) + (255,), 0.005)  # crease
        return
    belt = _shade(p.base, 0.6) + (255,) if _lum(p.base) > 60 else (150, 120, 80, 255)
    p.fill([(wl, waist - 0.015), (1 - wl, waist - 0.015), (1 - wl, waist + 0.02), (wl, waist + 0.02)], belt, iters=0)
    p.line([(0.5, 0.1), (0.5, crotch - 0.04)], (200, 200, 204, 255) if _lum(p.base) < 140 else (70, 70, 74, 255), 0.007)  # zip
    for X in _sides():  # chest pockets with flaps, thigh pockets
        p.fill([(X(0.5 - half * 0.85), 0.18), (X(0.5 - half * 0.2), 0.18), (X(0.5 - half * 0.2), 0.21), (X(0.5 - half * 0.85), 0.21)],
               (0, 0, 0, 40), iters=0, outline=lc, width=0.004)
        p.line([(X(0.5 - half * 0.85), 0.21), (X(0.5 - half * 0.85), 0.28), (X(0.5 - half * 0.2), 0.28), (X(0.5 - half * 0.2), 0.21)], lc, 0.004)
        p.line([(X((wl + 0.5) / 2), waist + 0.1), (X((out + 0.41) / 2), 0.99)], (0, 0, 0, 40), 0.004)
        p.line([(X(out + 0.05), 0.62), (X(out + 0.15), 0.62), (X(out + 0.15), 0.72), (X(out + 0.06), 0.72)], lc, 0.004)
