"""Outerwear, drawn flat from the front with the sleeves hanging beside the body.

A jacket is cropped and boxy (denim trucker, bomber, leather biker, track jacket, hooded
windbreaker); a blazer reaches the hip, with lapels, a shirt and tie (formal) or a t-shirt
(casual) in its opening and fronts that curve away below the buttons; a coat reaches the knee
(overcoat, double-breasted, belted trench, hooded duffle with toggles, quilted puffer).
"""

from __future__ import annotations

import numpy as np

from stygig.catalog.sample.colours import COPPER, DENIM_STITCH, STEEL, WHITE, _contrast, _lum, _mix, _shade
from stygig.catalog.sample.painter import _mirror, _Painter, _sides, _u
from stygig.catalog.sample.styles import Look


def _outline(sl: float, top: float, arm: float, cuff: float, hem: float, spread: float = 1.0, hem_in: float = 0.0,
             neck: float = 0.09, cutaway: float = 0.0, scallop: int = 0) -> list[tuple]:
    """Closed outline of a garment with hanging sleeves: shoulders at ``top``, underarms at
    ``arm``, cuffs at ``cuff``, hem at ``hem``; ``cutaway`` lifts the front edges at the hem;
    ``scallop`` bulges the sides in that many quilted baffles."""
    side: list[tuple] = [(sl - 0.01, arm, 1)]
    if scallop:
        for i in range(scallop):
            y0 = arm + (hem - arm) * i / scallop
            y1 = arm + (hem - arm) * (i + 1) / scallop
            x = sl + hem_in * (i + 0.5) / scallop
            side += [(x - 0.025, (y0 + y1) / 2), (sl + hem_in * (i + 1) / scallop, y1, 1)]
    else:
        side.append((sl + hem_in, hem, 1))
    left = [
        (0.5 - neck, top, 1), (sl - 0.03, top + 0.04),
        (sl - 0.16 * spread, arm - 0.02), (sl - 0.2 * spread, cuff, 1), (sl - 0.06 * spread, cuff + 0.02, 1),
    ] + side
    if cutaway:
        centre = [(0.5 - 0.07, hem, 1), (0.5, hem - cutaway, 1)]
        return left + centre + _mirror(centre[:1]) + _mirror(left)
    return left + [(0.5, hem, 1)] + _mirror(left)


def _buttons(p: _Painter, xs: tuple[float, ...], ys: tuple[float, ...], r: float, color: tuple) -> None:
    for y in ys:
        for x in xs:
            p.dot(x, y, r, color, outline=p.line_c)


def _button_colour(p: _Painter) -> tuple:
    return _shade(p.base, 0.55) + (255,) if _lum(p.base) > 60 else (120, 120, 124, 255)


def _lapels(p: _Painter, vb: float, peak: bool, wide: float = 0.2, gorge: float = 0.16) -> None:
    """Notch (or peak) lapels folded back from the neck down to the top button at ``vb``."""
    lc = p.line_c
    for X in _sides():
        if peak:
            lapel = [(X(0.5 - 0.09), 0.02), (X(0.5 - wide - 0.02), gorge - 0.03), (X(0.5 - wide + 0.03), gorge + 0.03), (X(0.5 - 0.03), vb)]
        else:
            lapel = [(X(0.5 - 0.09), 0.02), (X(0.5 - wide), gorge), (X(0.5 - wide + 0.05), gorge + 0.04), (X(0.5 - 0.03), vb)]
        p.fill(lapel, (0, 0, 0, 45), iters=0, outline=lc, width=0.006)
        if not peak:  # the collar above the notch
            p.fill([(X(0.5 - 0.09), 0.02), (X(0.5 - 0.17), 0.04), (X(0.5 - wide), gorge), (X(0.5 - wide + 0.03), gorge - 0.035)],
                   (0, 0, 0, 25), iters=0, outline=lc, width=0.005)


def _opening(p: _Painter, vb: float, inner: str, rng: np.random.Generator) -> None:
    """What shows in a blazer's or coat's opening: a shirt and tie, a t-shirt, or a dark lining."""
    if inner == "shirt and tie":
        p.fill([(0.5 - 0.09, 0.02), (0.5 + 0.09, 0.02), (0.5 + 0.03, vb), (0.5 - 0.03, vb)], WHITE, iters=0)
        for X in _sides():
            p.fill([(X(0.5 - 0.07), 0.02), (X(0.5 - 0.005), 0.07), (X(0.5 - 0.05), 0.11)], WHITE, iters=0, outline=(170, 170, 170, 255), width=0.004)
        tie = _mix(p.base, (150, 20, 40), 0.6) if rng.random() < 0.5 else _mix(p.base, (20, 40, 110), 0.5)
        p.fill([(0.488, 0.065), (0.512, 0.065), (0.52, 0.09), (0.507, 0.1), (0.522, vb), (0.478, vb), (0.493, 0.1), (0.48, 0.09)], tie + (255,), iters=0)
    elif inner == "t-shirt":
        tee = WHITE if _lum(p.base) < 170 else (60, 62, 68, 255)
        p.fill([(0.5 - 0.09, 0.02), (0.5 + 0.09, 0.02), (0.5 + 0.03, vb), (0.5 - 0.03, vb)], tee, iters=0)
        p.arc(0.5 - 0.06, -0.05, 0.5 + 0.06, 0.09, 0, 180, _shade(tee[:3], 0.75) + (255,), 0.008)
    else:
        lining = _shade(p.base, 0.45) + (255,) if _lum(p.base) > 60 else (24, 24, 26, 255)
        p.fill([(0.5 - 0.09, 0.02), (0.5 + 0.09, 0.02), (0.5 + 0.03, vb), (0.5 - 0.03, vb)], lining, iters=0)


def _zip(p: _Painter, x: float, y0: float, y1: float) -> None:
    teeth = STEEL if _lum(p.base) < 140 else (70, 70, 74, 255)
    p.line([(x, y0), (x, y1)], teeth, 0.008)
    p.fill([(x - 0.012, y0 + 0.01), (x + 0.012, y0 + 0.01), (x + 0.008, y0 + 0.05), (x - 0.008, y0 + 0.05)], teeth, iters=0)


def _rib(p: _Painter, pts: list[tuple], color: tuple | None = None) -> None:
    """A ribbed band (collar, cuff, hem): a darker band with vertical ribs."""
    c = color or (_shade(p.base, 0.8) + (255,))
    p.fill(pts, c, iters=0, outline=p.line_c, width=0.004)
    xs = [q[0] for q in pts]
    ys = [q[1] for q in pts]
    x0, x1, y0, y1 = min(xs), max(xs), min(ys), max(ys)
    n = max(3, int((x1 - x0) / 0.02))
    for i in range(1, n):
        x = x0 + (x1 - x0) * i / n
        p.line([(x, y0 + 0.004), (x, y1 - 0.004)], (0, 0, 0, 40), 0.003)


# ---- jackets: cropped and boxy -------------------------------------------------------------------

def _jacket(p: _Painter, rng: np.random.Generator, look: Look) -> None:
    cut = look.cut
    lc = p.line_c
    sport = look.style == "sport"
    bw = _u(rng, 0.26, 0.28) if sport else _u(rng, 0.27, 0.3)
    sl = 0.5 - bw
    hooded = cut == "windbreaker"
    top = 0.13 if hooded else 0.02
    cuff = _u(rng, 0.88, 0.93)
    hem_in = 0.03 if cut == "bomber" else 0.0
    if hooded:
        p.body([(0.5 - 0.17, top + 0.06), (0.5 - 0.18, 0.05), (0.5 - 0.08, 0.0), (0.5 + 0.08, 0.0), (0.5 + 0.18, 0.05), (0.5 + 0.17, top + 0.06)], iters=2)
    p.body(_outline(sl, top, 0.32, cuff, 0.96, hem_in=hem_in), iters=2)
    accent = _contrast(p.base, rng) + (255,)
    if cut == "denim jacket":
        stitch = DENIM_STITCH
        for X in _sides():  # point collar, yoke, chest pockets with flaps, front seams
            p.fill([(X(0.5 - 0.09), 0.02), (X(0.5 - 0.2), 0.05), (X(0.5 - 0.16), 0.16), (X(0.5 - 0.02), 0.07)], p.base + (255,), iters=0, outline=lc, width=0.006)
            p.line([(X(sl + 0.005), 0.26), (X(0.49), 0.26)], stitch, 0.004)
            p.fill([(X(0.5 - 0.19), 0.27), (X(0.5 - 0.07), 0.27), (X(0.5 - 0.07), 0.33), (X(0.5 - 0.13), 0.36), (X(0.5 - 0.19), 0.33)],
                   (0, 0, 0, 30), iters=0, outline=stitch, width=0.004)
            p.dot(X(0.5 - 0.13), 0.33, 0.01, COPPER, outline=lc)
            p.line([(X(0.5 - 0.22), 0.36), (X(0.5 - 0.2), 0.86)], stitch, 0.004)
            p.line([(X(sl - 0.19), cuff - 0.05), (X(sl - 0.06), cuff - 0.035)], lc, 0.006)
        p.line([(0.5, 0.07), (0.5, 0.96)], lc, 0.006)
        p.fill([(sl + 0.005, 0.87), (1 - sl - 0.005, 0.87), (1 - sl - 0.005, 0.955), (sl + 0.005, 0.955)], (0, 0, 0, 30), iters=0, outline=stitch, width=0.004)
        _buttons(p, (0.5,), (0.12, 0.3, 0.48, 0.66, 0.91), 0.011, COPPER)
    elif cut == "bomber":
        _rib(p, [(0.5 - 0.1, 0.0), (0.5 + 0.1, 0.0), (0.5 + 0.11, 0.06), (0.5 - 0.11, 0.06)])
        _rib(p, [(sl + hem_in, 0.89), (1 - sl - hem_in, 0.89), (1 - sl - hem_in, 0.965), (sl + hem_in, 0.965)])
        for X in _sides():
            _rib(p, [(X(sl - 0.2), cuff - 0.06), (X(sl - 0.065), cuff - 0.045), (X(sl - 0.06), cuff + 0.018), (X(sl - 0.2), cuff)])
            p.line([(X(0.5 - 0.2), 0.52), (X(0.5 - 0.14), 0.72)], lc, 0.007)  # slanted welt pocket
        p.fill([(sl - 0.1, 0.3), (sl - 0.04, 0.3), (sl - 0.04, 0.36), (sl - 0.1, 0.36)], (0, 0, 0, 40), iters=0, outline=lc, width=0.004)
        _zip(p, 0.5, 0.06, 0.89)
    elif cut == "biker":
        for X in _sides():  # wide notched collar folded open
            p.fill([(X(0.5 - 0.09), 0.02), (X(0.5 - 0.24), 0.1), (X(0.5 - 0.17), 0.3), (X(0.5 - 0.1), 0.2)], (0, 0, 0, 50), iters=0, outline=lc, width=0.006)
            p.line([(X(sl - 0.19), cuff - 0.1), (X(sl - 0.13), cuff - 0.02)], STEEL, 0.007)  # cuff zips
        p.fill([(0.5 - 0.1, 0.2), (0.5 + 0.1, 0.2), (0.62, 0.3), (0.38, 0.3)], (0, 0, 0, 55), iters=0)
        p.line([(0.4, 0.2), (0.62, 0.9)], STEEL, 0.009)  # the asymmetric zip
        p.line([(0.63, 0.4), (0.73, 0.5)], STEEL, 0.006)  # chest zip pocket
        p.fill([(sl + 0.005, 0.88), (1 - sl - 0.005, 0.88), (1 - sl - 0.005, 0.94), (sl + 0.005, 0.94)], (0, 0, 0, 50), iters=0, outline=lc, width=0.004)
        p.line([(0.2, 0.875), (0.27, 0.875), (0.27, 0.945), (0.2, 0.945), (0.2, 0.875)], STEEL, 0.008)  # buckle
    elif cut == "track jacket":
        _rib(p, [(0.5 - 0.1, 0.0), (0.5 + 0.1, 0.0), (0.5 + 0.11, 0.07), (0.5 - 0.11, 0.07)], accent)
        for X in _sides():  # stripes down the sleeves
            for k in (0.0, 0.025, 0.05):
                p.line([(X(sl - 0.03 - k * 0.6), 0.07 + k * 0.2), (X(sl - 0.2 + k * 0.9), cuff - 0.02)], accent, 0.008)
            _rib(p, [(X(sl - 0.2), cuff - 0.04), (X(sl - 0.065), cuff - 0.025), (X(sl - 0.06), cuff + 0.018), (X(sl - 0.2), cuff)], accent)
            p.line([(X(0.5 - 0.2), 0.6), (X(0.5 - 0.16), 0.75)], lc, 0.006)
        _rib(p, [(sl, 0.9), (1 - sl, 0.9), (1 - sl, 0.96), (sl, 0.96)], accent)
        _zip(p, 0.5, 0.07, 0.9)
    else:  # windbreaker: hood, half zip, colour-block chest, kangaroo pocket, drawcord hem
        p.fill([(0.5 - 0.13, top + 0.04), (0.5 - 0.1, 0.035), (0.5, 0.02), (0.5 + 0.1, 0.035), (0.5 + 0.13, top + 0.04), (0.5, top + 0.08)],
               (0, 0, 0, 70), iters=2)
        p.fill([(sl - 0.01, 0.3), (1 - sl + 0.01, 0.3), (1 - sl + 0.01, 0.46), (sl - 0.01, 0.46)], accent, iters=0)
        for X in _sides():
            p.fill([(X(sl - 0.13), 0.3), (X(sl - 0.01), 0.32), (X(sl - 0.01), 0.46), (X(sl - 0.16), 0.46)], accent, iters=0)
            p.line([(X(0.5 - 0.03), top + 0.08), (X(0.5 - 0.05), top + 0.2)], WHITE, 0.006)  # drawcords
        _zip(p, 0.5, top + 0.07, 0.42)
        p.fill([(0.31, 0.62), (0.69, 0.62), (0.74, 0.84), (0.26, 0.84)], (0, 0, 0, 35), iters=0, outline=p.line_c, width=0.005)
        p.line([(sl + 0.005, 0.93), (1 - sl - 0.005, 0.93)], lc, 0.006)


# ---- blazers: hip length, lapels, curved-away fronts ---------------------------------------------

def _blazer(p: _Painter, rng: np.random.Generator, look: Look) -> None:
    formal = look.style == "formal"
    double = look.cut == "double-breasted blazer"
    bw = _u(rng, 0.25, 0.27) if formal else _u(rng, 0.26, 0.29)
    sl = 0.5 - bw
    cuff = _u(rng, 0.86, 0.9)
    p.body(_outline(sl, 0.02, 0.3, cuff, 0.97, spread=0.9, cutaway=0.0 if double else _u(rng, 0.06, 0.09)), iters=2)
    lc = p.line_c
    vb = _u(rng, 0.34, 0.38) if double else _u(rng, 0.44, 0.5)
    _opening(p, vb, "shirt and tie" if formal else "t-shirt", rng)
    _lapels(p, vb, peak=double, wide=0.21 if formal else 0.18)
    btn = _button_colour(p)
    if double:
        p.line([(0.56, vb), (0.56, 0.97)], lc, 0.006)
        _buttons(p, (0.42, 0.58), (vb + 0.06, vb + 0.18, vb + 0.3), 0.012, btn)
    else:
        p.line([(0.5, vb), (0.5, 0.88)], lc, 0.006)
        _buttons(p, (0.5,), (vb + 0.05, vb + 0.17) if formal else (vb + 0.06,), 0.012, btn)
    for X in _sides():
        p.dot(X(sl - 0.16), cuff - 0.05, 0.007, btn)  # sleeve buttons
        p.dot(X(sl - 0.15), cuff - 0.08, 0.007, btn)
        if formal:  # flap pockets
            p.fill([(X(0.5 - 0.22), 0.66), (X(0.5 - 0.08), 0.66), (X(0.5 - 0.08), 0.7), (X(0.5 - 0.22), 0.7)], (0, 0, 0, 35), iters=0, outline=lc, width=0.005)
        else:  # patch pockets
            p.line([(X(0.5 - 0.23), 0.62), (X(0.5 - 0.23), 0.82), (X(0.5 - 0.08), 0.82), (X(0.5 - 0.08), 0.62)], lc, 0.005)
            p.line([(X(0.5 - 0.23), 0.62), (X(0.5 - 0.08), 0.62)], (0, 0, 0, 60), 0.004)
    if formal:  # breast welt pocket, often with a white pocket square
        p.line([(0.63, 0.3), (0.73, 0.29)], lc, 0.007)
        if rng.random() < 0.55:
            p.fill([(0.64, 0.29), (0.67, 0.25), (0.69, 0.28), (0.72, 0.255), (0.725, 0.29)], WHITE, iters=0)
    else:
        p.line([(0.62, 0.26), (0.62, 0.36), (0.73, 0.36), (0.73, 0.26)], lc, 0.005)


# ---- coats: knee length ------------------------------------------------------------------------

def _coat(p: _Painter, rng: np.random.Generator, look: Look) -> None:
    cut = look.cut
    lc = p.line_c
    bw = _u(rng, 0.26, 0.28)
    sl = 0.5 - bw
    cuff = _u(rng, 0.6, 0.64)
    hooded = cut == "duffle coat"
    top = 0.08 if hooded else 0.015
    flare = -0.035 if cut in ("trench coat", "overcoat", "double-breasted overcoat") else -0.015
    scallop = 7 if cut == "puffer" else 0
    if hooded:
        p.body([(0.5 - 0.16, top + 0.04), (0.5 - 0.17, 0.03), (0.5 - 0.07, 0.0), (0.5 + 0.07, 0.0), (0.5 + 0.17, 0.03), (0.5 + 0.16, top + 0.04)], iters=2)
    p.body(_outline(sl, top, 0.2, cuff, 0.985, spread=0.75, hem_in=flare, scallop=scallop, neck=0.08), iters=2 if not scallop else 1)
    btn = _button_colour(p)
    if cut in ("overcoat", "double-breasted overcoat"):
        double = cut == "double-breasted overcoat"
        vb = _u(rng, 0.27, 0.31) if double else _u(rng, 0.32, 0.37)
        _opening(p, vb, "lining", rng)
        _lapels(p, vb, peak=double, wide=0.2, gorge=0.1)
        if double:
            p.line([(0.57, vb), (0.57, 0.985)], lc, 0.006)
            _buttons(p, (0.42, 0.58), (vb + 0.04, vb + 0.13, vb + 0.22), 0.013, btn)
        else:
            p.line([(0.5, vb), (0.5, 0.985)], lc, 0.006)
            _buttons(p, (0.5,), (vb + 0.04, vb + 0.15, vb + 0.26), 0.013, btn)
        for X in _sides():
            p.fill([(X(0.5 - 0.225), 0.56), (X(0.5 - 0.085), 0.56), (X(0.5 - 0.085), 0.59), (X(0.5 - 0.225), 0.59)], (0, 0, 0, 35), iters=0, outline=lc, width=0.005)
        p.line([(0.63, 0.22), (0.73, 0.215)], lc, 0.006)
    elif cut == "trench coat":
        vb = _u(rng, 0.24, 0.27)
        _opening(p, vb, "lining", rng)
        _lapels(p, vb, peak=False, wide=0.23, gorge=0.09)
        p.fill([(0.5 + 0.02, 0.05), (0.5 + 0.22, 0.06), (0.5 + 0.2, 0.2), (0.5 + 0.05, 0.2)], (0, 0, 0, 30), iters=0, outline=lc, width=0.005)  # storm flap
        p.line([(0.58, vb), (0.58, 0.985)], lc, 0.006)
        _buttons(p, (0.41, 0.59), (vb + 0.04, vb + 0.12, 0.52, 0.6), 0.011, btn)
        belt = _shade(p.base, 0.85) + (255,)
        p.fill([(sl - 0.005, 0.4), (1 - sl + 0.005, 0.4), (1 - sl + 0.005, 0.44), (sl - 0.005, 0.44)], belt, iters=0, outline=lc, width=0.005)
        p.line([(0.44, 0.395), (0.52, 0.395), (0.52, 0.445), (0.44, 0.445), (0.44, 0.395)], _shade(p.base, 0.45) + (255,), 0.007)  # buckle
        p.line([(0.4, 0.42), (0.36, 0.52)], belt, 0.02)  # the loose end of the belt
        for X in _sides():
            p.fill([(X(sl - 0.02), 0.045), (X(sl + 0.09), 0.035), (X(sl + 0.09), 0.06), (X(sl - 0.02), 0.07)], (0, 0, 0, 35), iters=0, outline=lc, width=0.004)
            p.line([(X(sl - 0.145), cuff - 0.04), (X(sl - 0.02), cuff - 0.025)], belt, 0.014)  # cuff straps
            p.line([(X(0.5 - 0.22), 0.5), (X(0.5 - 0.16), 0.64)], lc, 0.006)
    elif cut == "duffle coat":
        toggle = (196, 160, 108, 255)
        rope = (40, 34, 30, 255)
        p.fill([(0.5 - 0.14, top + 0.01), (0.5 + 0.14, top + 0.01), (0.5, top + 0.06)], (0, 0, 0, 70), iters=1)
        p.fill([(sl - 0.02, top + 0.03), (1 - sl + 0.02, top + 0.03), (1 - sl + 0.02, 0.16), (sl - 0.02, 0.16)], (0, 0, 0, 30), iters=0, outline=lc, width=0.004)
        p.line([(0.5, top + 0.05), (0.5, 0.985)], lc, 0.006)
        for y in (0.22, 0.34, 0.46, 0.58):
            p.line([(0.5, y), (0.43, y)], rope, 0.005)
            p.line([(0.5, y), (0.57, y)], rope, 0.005)
            p.fill([(0.405, y - 0.012), (0.475, y - 0.012), (0.475, y + 0.012), (0.405, y + 0.012)], toggle, iters=1)
        for X in _sides():
            p.line([(X(0.5 - 0.23), 0.62), (X(0.5 - 0.23), 0.82), (X(0.5 - 0.07), 0.82), (X(0.5 - 0.07), 0.62)], lc, 0.006)
            p.fill([(X(0.5 - 0.235), 0.6), (X(0.5 - 0.065), 0.6), (X(0.5 - 0.065), 0.65), (X(0.5 - 0.235), 0.65)], (0, 0, 0, 35), iters=0, outline=lc, width=0.005)
    else:  # puffer: quilted baffles, stand collar, zip
        for i in range(1, scallop):
            y = 0.2 + (0.985 - 0.2) * i / scallop
            x = sl + flare * i / scallop
            p.line([(x + 0.005, y), (1 - x - 0.005, y)], (0, 0, 0, 80), 0.006)
        for X in _sides():
            for k in range(1, 4):
                t = k / 4
                y = 0.06 + (cuff - 0.06) * t
                xo = sl - 0.03 + (-0.12) * t
                p.line([(X(xo - 0.02), y), (X(xo + 0.12), y + 0.03)], (0, 0, 0, 70), 0.006)
        p.fill([(0.5 - 0.11, 0.0), (0.5 + 0.11, 0.0), (0.5 + 0.12, 0.08), (0.5 - 0.12, 0.08)], _shade(p.base, 0.9) + (255,), iters=1,
               outline=lc, width=0.005)
        _zip(p, 0.5, 0.08, 0.985)
        light = (255, 255, 255, 40)
        for i in range(scallop):
            y = 0.2 + (0.985 - 0.2) * (i + 0.35) / scallop
            p.line([(sl + 0.05, y), (1 - sl - 0.05, y)], light, 0.01)
