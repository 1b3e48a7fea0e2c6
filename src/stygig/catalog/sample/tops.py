"""Tops, drawn flat from the front.

Formal shirts are slim with a spread collar, French cuffs and no pocket; casual shirts are cut
wider, with a button-down collar, chest pockets or rolled-up sleeves. Casual t-shirts are relaxed
(crew, v-neck, pocket); sport t-shirts are slim, with raglan sleeves or side panels in a
contrasting colour.
"""

from __future__ import annotations

import numpy as np

from stygig.catalog.sample.colours import DENIM_STITCH, GOLD, STEEL, WHITE, _contrast, _line_color, _lum, _mix, _shade
from stygig.catalog.sample.painter import _mirror, _Painter, _sides, _u
from stygig.catalog.sample.styles import Look


def _lerp(a: tuple[float, float], b: tuple[float, float], t: float) -> tuple[float, float]:
    return (a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t)


def _shirt(p: _Painter, rng: np.random.Generator, look: Look) -> None:
    formal = look.style == "formal"
    rolled = look.cut == "rolled sleeves"
    bw = _u(rng, 0.17, 0.19) if formal else _u(rng, 0.21, 0.235)  # half body width: slim or relaxed
    if rolled:
        cx, cy = _u(rng, 0.06, 0.1), _u(rng, 0.56, 0.62)  # the sleeve ends above the elbow
    else:
        cx, cy = _u(rng, 0.0, 0.05), _u(rng, 0.78, 0.88)  # cuff outer point
    sl = 0.5 - bw
    shoulder, underarm = (sl - 0.015, 0.11), (sl, 0.36)
    cuff_out, cuff_in = (cx, cy), (cx + 0.1, cy + 0.06)
    left = [
        (0.5 - 0.07, 0.05, 1), shoulder + (1,), cuff_out + (1,), cuff_in + (1,),
        underarm + (1,), (sl, 0.9, 1), (0.5 - bw * 0.5, 0.97),
    ]
    p.body(left + [(0.5, 0.985)] + _mirror(left), iters=2)
    lc = p.line_c
    for X in _sides():
        t0 = 0.78 if rolled else (0.82 if formal else 0.86)
        a, b = _lerp(shoulder, cuff_out, t0), _lerp(underarm, cuff_in, t0)
        band = [(X(a[0]), a[1]), (X(cuff_out[0]), cuff_out[1]), (X(cuff_in[0]), cuff_in[1]), (X(b[0]), b[1])]
        if rolled:  # the turned-up cuff shows the fabric's inside, a shade darker
            p.fill(band, (0, 0, 0, 55), iters=0, outline=lc, width=0.005)
        else:
            p.line([band[0], band[3]], lc, 0.005)
            if formal:  # a French cuff closed by a cufflink
                m = _lerp(_lerp(a, b, 0.5), _lerp(cuff_out, cuff_in, 0.5), 0.5)
                p.dot(X(m[0]), m[1], 0.011, GOLD if rng.random() < 0.5 else STEEL, outline=lc)
        p.line([(X(sl), 0.36), (X(sl - 0.015), 0.11)], lc, 0.004)
    # inside of the collar band, then the collar over it: spread (formal) or button-down points
    p.fill([(0.43, 0.045), (0.57, 0.045), (0.5, 0.11)], _line_color(p.base) + (255,), iters=0)
    collar_fill = p.base + (255,)
    for X in _sides():
        if formal:
            pts = [(X(0.5 - 0.08), 0.035), (X(0.5 - 0.005), 0.115), (X(0.5 - 0.085), 0.17)]
        else:
            pts = [(X(0.5 - 0.075), 0.035), (X(0.5 - 0.005), 0.115), (X(0.5 - 0.055), 0.22)]
        p.fill(pts, collar_fill, iters=0, outline=lc, width=0.006)
        if not formal:
            p.dot(X(0.5 - 0.05), 0.19, 0.006, lc)
    # placket and buttons
    p.line([(0.485, 0.115), (0.485, 0.975)], lc, 0.004)
    p.line([(0.515, 0.115), (0.515, 0.975)], lc, 0.004)
    btn = WHITE if _lum(p.base) < 150 else _shade(p.base, 0.7) + (255,)
    for i in range(7):
        p.dot(0.5, 0.16 + i * 0.12, 0.008, btn, outline=lc)
    if formal:
        for X in _sides():  # back darts of a fitted shirt, seen as seams
            p.line([(X(0.5 - bw * 0.55), 0.45), (X(0.5 - bw * 0.5), 0.62), (X(0.5 - bw * 0.55), 0.8)], (0, 0, 0, 40), 0.004, iters=2)
        return
    pockets = (1,) if look.fabric == "linen" or rng.random() < 0.4 else (1, -1)
    for sx in pockets:  # chest pockets with flaps
        def X(x: float) -> float:
            return x if sx == 1 else 1 - x
        p.line([(X(0.6), 0.3), (X(0.6), 0.44), (X(0.65), 0.47), (X(0.7), 0.44), (X(0.7), 0.3), (X(0.6), 0.3)], lc, 0.004)
        if len(pockets) == 2:
            p.fill([(X(0.595), 0.29), (X(0.705), 0.29), (X(0.705), 0.33), (X(0.65), 0.35), (X(0.595), 0.33)], (0, 0, 0, 35), iters=0,
                   outline=lc, width=0.004)
            p.dot(X(0.65), 0.33, 0.006, btn, outline=lc)
    if look.fabric == "denim":  # contrast topstitching on the yoke
        stitch = DENIM_STITCH
        p.line([(sl + 0.01, 0.2), (0.5, 0.24), (1 - sl - 0.01, 0.2)], stitch, 0.004, iters=1)


def _tshirt(p: _Painter, rng: np.random.Generator, look: Look) -> None:
    sport = look.style == "sport"
    bw = _u(rng, 0.21, 0.23) if sport else _u(rng, 0.25, 0.28)  # athletic or relaxed
    sl = 0.5 - bw
    reach = _u(rng, 0.17, 0.2) if sport else _u(rng, 0.19, 0.23)
    drop = _u(rng, 0.2, 0.28)
    nw = _u(rng, 0.085, 0.1)
    left = [
        (0.5 - nw, 0.03, 1), (sl - 0.01, 0.08),
        (sl - reach, drop, 1), (sl - reach + 0.09, drop + 0.12, 1),
        (sl, 0.36, 1), (sl, 0.96, 1),
    ]
    p.body(left + _mirror(left), iters=2)
    lc = p.line_c
    accent = _contrast(p.base, rng) + (255,)
    if look.cut == "raglan":  # sleeves in the contrasting colour, seams from the neck to the underarm
        for X in _sides():
            sleeve = [(X(0.5 - nw - 0.005), 0.05), (X(sl - reach + 0.01), drop - 0.005), (X(sl - reach + 0.09), drop + 0.115),
                      (X(sl + 0.005), 0.34)]
            p.fill(sleeve, accent, iters=0)
            p.line([(X(0.5 - nw), 0.05), (X(sl + 0.005), 0.345)], lc, 0.005)
    elif look.cut == "training tee":  # side panels and a chest logo
        for X in _sides():
            p.fill([(X(sl), 0.37), (X(sl + 0.07), 0.4), (X(sl + 0.05), 0.96), (X(sl), 0.96)], accent, iters=0)
            p.line([(X(sl - reach + 0.03), drop + 0.01), (X(sl - reach + 0.1), drop + 0.1)], accent, 0.012)
        p.line([(0.6, 0.24), (0.64, 0.28), (0.7, 0.2)], accent, 0.014)
    neck = "v-neck" if look.cut == "v-neck" or (sport and look.cut == "training tee") else "crew neck"
    inside = _shade(p.base, 0.78) + (255,) if _lum(p.base) > 60 else _mix(p.base, (255, 255, 255), 0.12) + (255,)
    rib = accent if sport else lc
    if neck == "crew neck":
        p.dd.pieslice(p.box(0.5 - nw, -0.07, 0.5 + nw, 0.14), 0, 180, fill=inside)
        p.arc(0.5 - nw - 0.012, -0.095, 0.5 + nw + 0.012, 0.165, 0, 180, rib, 0.012)
    else:
        p.fill([(0.5 - nw, 0.03), (0.5 + nw, 0.03), (0.5, 0.2)], inside, iters=0, outline=rib, width=0.01)
    # sleeve hems and body hem
    for X in _sides():
        p.line([(X(sl - reach + 0.025), drop - 0.01), (X(sl - reach + 0.11), drop + 0.1)], lc, 0.004)
    p.line([(sl + 0.005, 0.925), (1 - sl - 0.005, 0.925)], lc, 0.004)
    if look.cut == "pocket tee":
        p.line([(0.6, 0.24), (0.6, 0.36), (0.7, 0.36), (0.7, 0.24)], lc, 0.005)
        p.line([(0.6, 0.24), (0.7, 0.24)], lc, 0.004)
