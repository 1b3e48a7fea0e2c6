"""Footwear, side view, toe to the right.

Formal: a sleek cap-toe oxford or monk strap in polished leather on a thin dark sole, a stiletto
pump or slingback, a pointed flat. Casual: a derby on a thicker sole, a loafer with its moccasin
seam and penny strap, canvas sneakers on a white rubber sole with a toe cap, a block heel with an
ankle strap, an espadrille wedge on a rope sole, ballet flats. Sport: a running shoe on a chunky
sculpted midsole with a swoosh and a heel tab.
"""

from __future__ import annotations

import numpy as np

from stygig.catalog.sample.colours import GOLD, STEEL, WHITE, _contrast, _lum, _mix, _shade
from stygig.catalog.sample.painter import _Painter, _u
from stygig.catalog.sample.styles import Look


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


def _shoes(p: _Painter, rng: np.random.Generator, look: Look) -> None:
    cut = look.cut
    formal = look.style == "formal"
    top = _u(rng, 0.24, 0.3) if formal else _u(rng, 0.2, 0.26)
    if cut == "loafer":
        top = _u(rng, 0.3, 0.36)
    toe = 0.74 if formal else 0.7  # formal toes are longer and lower
    upper = [
        (0.035, 0.8, 1), (0.02, 0.5), (0.035, top + 0.03), (0.08, top), (0.22, top + 0.05), (0.34, top + 0.05),
        (0.62, top + 0.2), (0.78, 0.42 + (0.04 if formal else 0.0)), (0.9, 0.52), (0.975, 0.6), (1.0, toe), (0.975, 0.8, 1),
    ]
    p.body(upper, iters=3)
    sole_c = (30, 24, 20, 255) if _lum(p.base) > 60 else (110, 78, 50, 255)
    if formal:  # a thin sole and a low stacked heel
        p.fill([(0.025, 0.78, 1), (0.975, 0.78), (0.998, 0.81), (0.97, 0.85, 1), (0.52, 0.86, 1), (0.3, 0.83, 1), (0.24, 0.83, 1),
                (0.24, 0.97, 1), (0.045, 0.97, 1), (0.025, 0.9)], sole_c, iters=1)
    else:  # a thicker sole, lighter for suede
        sole_c = (226, 214, 190, 255) if look.fabric == "suede" and rng.random() < 0.5 else sole_c
        p.fill([(0.025, 0.76, 1), (0.975, 0.76), (0.998, 0.8), (0.98, 0.92, 1), (0.04, 0.99, 1), (0.02, 0.9)], sole_c, iters=1)
    p.line([(0.03, 0.9), (0.98, 0.88)], (255, 255, 255, 40), 0.004)
    lc = p.line_c
    p.line([(0.09, top + 0.01), (0.17, 0.5), (0.24, 0.78)], lc, 0.008, iters=2)  # heel counter
    lace_c = (238, 234, 224, 255) if _lum(p.base) < 150 else (40, 34, 30, 255)
    if cut == "oxford":  # closed lacing: the facing sits under the vamp, laces bar to bar; cap toe
        p.line([(0.34, top + 0.06), (0.42, 0.56), (0.6, 0.58), (0.7, top + 0.3)], lc, 0.008, iters=2)
        facing = [(0.36, top + 0.05), (0.63, top + 0.2), (0.58, top + 0.28), (0.38, top + 0.15)]
        p.fill(facing, (0, 0, 0, 40), iters=0, outline=lc, width=0.006)
        _lace_bars(p, (0.39, top + 0.09), (0.6, top + 0.22), 4, 0.01, 0.04, lace_c, eyelet=lc)
        p.line([(0.8, 0.46), (0.77, 0.6), (0.81, 0.78)], lc, 0.009, iters=2)
        p.line([(0.82, 0.49), (0.8, 0.6), (0.83, 0.77)], (0, 0, 0, 45), 0.004, iters=2)  # broguing dots along the cap
    elif cut == "monk strap":  # a strap across the instep closed by a buckle, no laces
        p.fill([(0.38, top + 0.05), (0.5, top + 0.12), (0.56, 0.62), (0.44, 0.6)], _shade(p.base, 0.82) + (255,), iters=1, outline=lc, width=0.006)
        p.fill([(0.39, top + 0.16), (0.45, top + 0.16), (0.45, top + 0.26), (0.39, top + 0.26)], STEEL if rng.random() < 0.5 else GOLD, iters=0)
        p.line([(0.8, 0.46), (0.77, 0.6), (0.81, 0.78)], lc, 0.009, iters=2)
    elif cut == "derby":  # open lacing: the quarters sit on top of the vamp
        p.line([(0.34, top + 0.06), (0.42, 0.58), (0.6, 0.6), (0.7, top + 0.3)], lc, 0.008, iters=2)
        facing = [(0.36, top + 0.05), (0.63, top + 0.2), (0.58, top + 0.3), (0.38, top + 0.17)]
        p.fill(facing, (0, 0, 0, 40), iters=0, outline=lc, width=0.006)
        _lace_bars(p, (0.39, top + 0.1), (0.6, top + 0.24), 4, 0.012, 0.05, lace_c, eyelet=lc)
    else:  # loafer: moccasin apron seam and a penny strap across the throat
        p.line([(0.5, top + 0.12), (0.66, top + 0.14), (0.8, 0.42), (0.86, 0.55)], lc, 0.009, iters=2)
        p.fill([(0.42, top + 0.08), (0.6, top + 0.14), (0.58, top + 0.22), (0.4, top + 0.16)], _shade(p.base, 0.8) + (255,), iters=0, outline=lc, width=0.006)
        p.fill([(0.48, top + 0.13), (0.54, top + 0.145), (0.53, top + 0.18), (0.47, top + 0.165)], (0, 0, 0, 90), iters=0)


def _sneakers(p: _Painter, rng: np.random.Generator, look: Look) -> None:
    cut = look.cut
    lc = p.line_c
    if cut == "running shoe":
        _running_shoe(p, rng)
        return
    high = cut == "canvas high-top"
    top = _u(rng, 0.0, 0.03) if high else _u(rng, 0.12, 0.17)
    dip = 0.05 if high else 0.14
    upper = [
        (0.04, 0.7, 1), (0.015, top + 0.12), (0.04, top), (0.1, top + 0.02), (0.2, top + dip), (0.3, top + dip * 0.6),
        (0.36, top - 0.03), (0.42, top + 0.03), (0.66, 0.36), (0.85, 0.44), (0.96, 0.52), (0.99, 0.66), (0.98, 0.7, 1),
    ]
    p.body(upper, iters=3)
    sole_top = _u(rng, 0.63, 0.67)
    p.fill([(0.015, sole_top), (0.5, sole_top + 0.02), (0.985, sole_top - 0.02), (1.0, 0.83), (0.985, 0.985, 1), (0.02, 0.985, 1), (0.005, 0.84)],
           WHITE, iters=2, outline=(150, 150, 150, 255), width=0.008)
    foxing = (150, 150, 152, 255) if _lum(p.base) > 200 else p.base + (255,)
    p.line([(0.02, 0.86), (0.99, 0.86)], foxing, 0.018)
    # rubber toe cap, heel patch, collar, laces; a round ankle patch on high-tops
    p.fill([(0.8, sole_top - 0.01), (0.86, 0.47), (0.94, 0.5), (0.985, 0.58), (0.99, 0.66), (0.985, sole_top - 0.02)], WHITE, iters=1,
           outline=(150, 150, 150, 255), width=0.006)
    p.fill([(0.02, top + 0.1), (0.06, top + 0.01), (0.1, 0.55), (0.04, 0.6)], (0, 0, 0, 45), iters=1)
    p.line([(0.1, top + 0.05), (0.2, top + dip + 0.03), (0.3, top + dip * 0.6 + 0.03)], lc, 0.01, iters=2)
    lace_c = WHITE if _lum(p.base) < 200 else (60, 60, 64, 255)
    _lace_bars(p, (0.42, top + 0.07), (0.66, 0.37), 6 if high else 5, 0.014, 0.05, lace_c, eyelet=STEEL)
    if high:
        p.dot(0.16, 0.3, 0.05, WHITE, outline=(150, 150, 150, 255))
        p.dot(0.16, 0.3, 0.02, _mix(p.base, (200, 30, 40), 0.7) + (255,))


def _running_shoe(p: _Painter, rng: np.random.Generator) -> None:
    top = _u(rng, 0.1, 0.14)
    upper = [
        (0.05, 0.62, 1), (0.02, top + 0.12), (0.05, top), (0.12, top + 0.04), (0.22, top + 0.14), (0.32, top + 0.1),
        (0.38, top - 0.02), (0.44, top + 0.04), (0.66, 0.34), (0.85, 0.42), (0.96, 0.5), (0.995, 0.6), (0.98, 0.64, 1),
    ]
    p.body(upper, iters=3)
    accent = _contrast(p.base, rng) + (255,)
    midsole = WHITE if rng.random() < 0.7 else accent
    # a chunky midsole, deepest under the heel, with a wavy top edge
    mid = [(0.0, 0.56), (0.12, 0.52), (0.25, 0.6), (0.4, 0.64), (0.6, 0.66), (0.8, 0.63), (0.97, 0.58), (1.0, 0.7), (0.97, 0.86),
           (0.6, 0.9), (0.3, 0.92), (0.04, 0.93), (0.0, 0.8)]
    p.fill(mid, midsole, iters=2, outline=(150, 150, 150, 255), width=0.007)
    p.fill([(0.04, 0.9), (0.6, 0.88), (0.97, 0.84), (0.96, 0.92), (0.6, 0.97), (0.04, 0.985)], (40, 40, 44, 255), iters=2)  # outsole
    p.line([(0.1, 0.76), (0.3, 0.8), (0.5, 0.79)], (0, 0, 0, 40), 0.006, iters=2)
    lc = p.line_c
    p.line([(0.22, 0.5), (0.45, 0.44), (0.7, 0.36), (0.78, 0.3)], accent, 0.03, iters=2)  # swoosh
    p.fill([(0.0, top + 0.02), (0.05, top - 0.06), (0.09, top - 0.05), (0.07, top + 0.06)], accent, iters=1)  # heel pull tab
    p.line([(0.12, top + 0.06), (0.22, top + 0.16), (0.32, top + 0.12)], lc, 0.01, iters=2)
    lace_c = WHITE if _lum(p.base) < 200 else (60, 60, 64, 255)
    _lace_bars(p, (0.44, top + 0.07), (0.66, 0.35), 5, 0.012, 0.045, lace_c)
    p.fill([(0.82, 0.5), (0.93, 0.5), (0.99, 0.58), (0.97, 0.62), (0.84, 0.6)], (255, 255, 255, 55), iters=1)  # toe overlay


def _heels(p: _Painter, rng: np.random.Generator, look: Look) -> None:
    cut = look.cut
    block = cut in ("block heel", "espadrille wedge")
    hx = _u(rng, 0.1, 0.13)
    seat = _u(rng, 0.56, 0.62) if block else _u(rng, 0.42, 0.5)  # casual heels are lower
    if cut == "espadrille wedge":
        seat = _u(rng, 0.5, 0.56)
    upper = [
        (0.04, seat - 0.02, 1), (0.04, 0.22 + (seat - 0.46)), (0.08, 0.17 + (seat - 0.46), 1), (0.3, 0.42 + (seat - 0.46) * 0.6),
        (0.55, 0.62 + (seat - 0.46) * 0.2), (0.68, 0.64 + (seat - 0.46) * 0.2),
        (0.86, 0.78), (1.0, 0.93, 1), (0.7, 0.94), (0.55, 0.92), (0.35, 0.72 + (seat - 0.46) * 0.3), (0.18, seat + 0.06), (0.06, seat + 0.02, 1),
    ]
    if block:  # a rounder toe
        upper[7] = (0.99, 0.9, 1)
        upper[6] = (0.9, 0.74)
    if cut == "slingback":  # no heel cup: the upper starts low at the back
        upper[1] = (0.07, seat - 0.09)
        upper[2] = (0.16, seat - 0.1, 1)
    p.body(upper, iters=3)
    if cut == "slingback":  # a thin strap around the back of the heel
        p.line([(0.05, seat - 0.03), (0.05, 0.26 + (seat - 0.46)), (0.14, 0.24 + (seat - 0.46)), (0.26, 0.36 + (seat - 0.46) * 0.6)],
               p.line_c, 0.016, iters=2)
    insole = _mix(p.base, (220, 200, 180), 0.6) + (255,)
    off = seat - 0.46
    if cut != "slingback":
        p.fill([(0.1, 0.2 + off), (0.3, 0.44 + off * 0.6), (0.54, 0.62 + off * 0.2), (0.48, 0.66 + off * 0.2), (0.28, 0.52 + off * 0.5),
                (0.1, 0.34 + off)], insole, iters=2)
    heel_c = _shade(p.base, 0.7) + (255,) if _lum(p.base) > 60 else (48, 48, 52, 255)
    if cut == "espadrille wedge":  # a wedge of braided jute under the whole foot
        jute = (206, 184, 140, 255)
        p.fill([(0.03, seat + 0.02), (0.35, 0.74), (0.56, 0.93), (0.99, 0.935), (0.99, 1.0), (0.03, 1.0)], jute, iters=1)
        for i in range(24):
            x = 0.04 + i * 0.04
            p.line([(x, 0.99), (x + 0.025, min(0.99, max(seat + 0.05, 0.92 - (0.5 - x) * 0.8)))], (160, 136, 94, 255), 0.004)
        p.line([(0.05, 0.26 + off), (0.16, 0.2 + off), (0.28, 0.36 + off)], p.line_c, 0.02, iters=2)  # ankle strap
        return
    if block:
        p.fill([(0.04, seat + 0.01, 1), (0.2, seat + 0.06, 1), (0.19, 1.0, 1), (0.07, 1.0, 1), (0.05, seat + 0.06)], heel_c, iters=1)
        p.line([(0.06, 0.3 + off), (0.18, 0.24 + off), (0.26, 0.34 + off)], p.line_c, 0.022, iters=2)  # ankle strap
        p.dot(0.07, 0.29 + off, 0.016, GOLD)
    else:  # stiletto
        p.fill([(0.05, seat + 0.01, 1), (hx + 0.04, seat + 0.06, 1), (hx + 0.012, seat + 0.2), (hx + 0.008, 1.0, 1), (hx - 0.008, 1.0, 1),
                (hx - 0.012, seat + 0.22), (0.045, seat + 0.06)], heel_c, iters=2)
        p.fill([(hx - 0.009, 0.965, 1), (hx + 0.01, 0.965, 1), (hx + 0.008, 1.0, 1), (hx - 0.008, 1.0, 1)], (20, 20, 20, 255), iters=0)
    p.line([(0.06, seat + 0.03), (0.2, seat + 0.08), (0.36, 0.74 + off * 0.3), (0.56, 0.93), (0.99, 0.935)], (25, 22, 20, 255), 0.01, iters=2)
    if look.fabric == "leather" and look.style == "formal":  # patent shine along the vamp
        p.line([(0.62, 0.7), (0.8, 0.78), (0.93, 0.88)], (255, 255, 255, 110), 0.012, iters=2)


def _flats(p: _Painter, rng: np.random.Generator, look: Look) -> None:
    cut = look.cut
    pointed = cut == "pointed flat"
    top = _u(rng, 0.26, 0.32) if pointed else _u(rng, 0.22, 0.3)
    if pointed:
        upper = [(0.03, 0.86, 1), (0.02, top + 0.06), (0.06, top), (0.3, top + 0.24), (0.5, top + 0.3), (0.66, top + 0.26),
                 (0.84, 0.62), (1.0, 0.84, 1), (0.96, 0.86, 1)]
    else:
        upper = [(0.03, 0.86, 1), (0.02, top + 0.06), (0.06, top), (0.3, top + 0.2), (0.55, top + 0.24),
                 (0.72, top + 0.14), (0.88, 0.46), (0.97, 0.6), (0.99, 0.78), (0.96, 0.86, 1)]
    p.body(upper, iters=3)
    insole = _mix(p.base, (222, 204, 184), 0.6) + (255,)
    if pointed:
        p.fill([(0.07, top + 0.03), (0.3, top + 0.26), (0.5, top + 0.32), (0.62, top + 0.29), (0.45, top + 0.38), (0.25, top + 0.33), (0.1, top + 0.14)],
               insole, iters=2)
    else:
        p.fill([(0.07, top + 0.03), (0.3, top + 0.22), (0.55, top + 0.26), (0.68, top + 0.17), (0.5, top + 0.32), (0.3, top + 0.3), (0.1, top + 0.14)],
               insole, iters=2)
    sole_c = (40, 34, 30, 255) if _lum(p.base) > 60 else (120, 100, 80, 255)
    p.fill([(0.02, 0.85), (0.98, 0.85), (0.99, 0.9), (0.96, 0.95), (0.03, 0.95)], sole_c, iters=1)
    p.fill([(0.03, 0.93, 1), (0.13, 0.93, 1), (0.13, 1.0, 1), (0.03, 1.0, 1)], sole_c, iters=0)
    lc = p.line_c
    if pointed:  # a slim metal bar across the vamp
        p.line([(0.68, top + 0.27), (0.72, top + 0.36)], GOLD if rng.random() < 0.5 else STEEL, 0.018)
        p.line([(0.72, 0.7), (0.86, 0.76), (0.96, 0.83)], (255, 255, 255, 90), 0.01, iters=2)
    else:
        p.line([(0.07, top + 0.03), (0.3, top + 0.225), (0.55, top + 0.265), (0.7, top + 0.16)], lc, 0.012, iters=2)  # binding
    if cut == "bow ballet flat":
        bx, by = 0.74, top + 0.14
        p.fill([(bx - 0.045, by - 0.08), (bx, by), (bx - 0.045, by + 0.08)], lc, iters=0)
        p.fill([(bx + 0.045, by - 0.08), (bx, by), (bx + 0.045, by + 0.08)], lc, iters=0)
        p.dot(bx, by, 0.016, lc)
    p.line([(0.04, 0.8), (0.97, 0.8)], (0, 0, 0, 40), 0.004)
