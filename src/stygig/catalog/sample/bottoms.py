"""Bottoms, drawn flat from the front.

Formal trousers are slim or straight with a pressed crease (pleats and turn-ups on pleated ones);
casual ones are chinos, five-pocket jeans with copper rivets and contrast stitching, or wide
legs; sport ones are joggers gathered into ribbed ankle cuffs or track pants with side stripes.
Skirts go from a narrow pencil skirt with a back slit (formal) to a-line, flared, pleated and
denim (casual) and a short pleated tennis skirt (sport).
"""

from __future__ import annotations

import math

import numpy as np

from stygig.catalog.sample.colours import COPPER, DENIM_STITCH, WHITE, _contrast, _shade
from stygig.catalog.sample.painter import _Painter, _sides, _u
from stygig.catalog.sample.styles import Look


def _legs(p: _Painter, top: float, crotch: float, hem: float, wx: float, hip: float, out: float, inn: float) -> None:
    left = [(wx, top, 1), (hip, top + (crotch - top) * 0.8), (out, hem, 1), (inn, hem + 0.005, 1), (0.5, crotch, 1)]
    p.body(left + [(1 - inn, hem + 0.005, 1), (1 - out, hem, 1), (1 - hip, top + (crotch - top) * 0.8), (1 - wx, top, 1)], iters=2)


def _elastic_waist(p: _Painter, x0: float, x1: float, y0: float, y1: float, cord: bool = True) -> None:
    p.fill([(x0, y0), (x1, y0), (x1, y1), (x0, y1)], _shade(p.base, 0.88) + (255,), iters=0, outline=p.line_c, width=0.004)
    n = int((x1 - x0) / 0.025)
    for i in range(1, n):
        x = x0 + (x1 - x0) * i / n
        p.line([(x, y0 + 0.005), (x + 0.004, y1 - 0.005)], (0, 0, 0, 45), 0.003)
    if cord:
        p.line([(0.47, y1 - 0.01), (0.45, y1 + 0.1), (0.46, y1 + 0.16)], WHITE, 0.008, iters=2)
        p.line([(0.53, y1 - 0.01), (0.555, y1 + 0.09), (0.545, y1 + 0.15)], WHITE, 0.008, iters=2)


def _five_pockets(p: _Painter, wx: float, crotch: float) -> None:
    """Jeans: curved front pockets, a coin pocket, rivets, a J-stitched fly, contrast stitching."""
    for X in _sides():
        p.line([(X(wx + 0.03), 0.06), (X(wx + 0.06), 0.13), (X(wx + 0.14), 0.15)], DENIM_STITCH, 0.005, iters=2)
        p.dot(X(wx + 0.03), 0.065, 0.009, COPPER)
        p.dot(X(wx + 0.14), 0.15, 0.009, COPPER)
    p.line([(0.72, 0.07), (0.72, 0.12), (0.8, 0.12)], DENIM_STITCH, 0.004)
    p.line([(0.55, 0.06), (0.55, crotch - 0.08), (0.5, crotch - 0.04)], DENIM_STITCH, 0.005, iters=2)
    p.line([(wx + 0.004, 0.058), (1 - wx - 0.004, 0.058)], DENIM_STITCH, 0.004)
    p.dot(0.5, 0.03, 0.014, COPPER, outline=(120, 80, 40, 255))


def _pants(p: _Painter, rng: np.random.Generator, look: Look) -> None:
    cut = look.cut
    shape = {
        "tailored trousers": (_u(rng, 0.11, 0.15), 0.445),
        "pleated trousers": (_u(rng, 0.06, 0.09), 0.455),
        "chinos": (_u(rng, 0.08, 0.11), 0.45),
        "jeans": (_u(rng, 0.05, 0.12), 0.455),
        "wide-leg trousers": (_u(rng, -0.01, 0.02), 0.47),
        "joggers": (_u(rng, 0.16, 0.19), 0.435),
        "track pants": (_u(rng, 0.08, 0.11), 0.45),
    }[cut]
    out, inn = shape
    wx = 0.14 if cut == "wide-leg trousers" else 0.12
    crotch = _u(rng, 0.3, 0.34)
    _legs(p, 0.0, crotch, 0.995, wx, wx - 0.04, out, inn)
    lc = p.line_c
    sport = look.style == "sport"
    if sport:
        _elastic_waist(p, wx + 0.004, 1 - wx - 0.004, 0.0, 0.07)
    else:
        p.line([(wx + 0.004, 0.055), (1 - wx - 0.004, 0.055)], lc, 0.005)  # waistband
        for x in (0.22, 0.4, 0.6, 0.78):
            p.line([(x, 0.0), (x, 0.065)], lc, 0.007)  # belt loops
    if cut == "jeans":
        _five_pockets(p, wx, crotch)
    elif not sport:
        p.line([(0.5, 0.06), (0.5, crotch - 0.05)], lc, 0.005)  # fly
        p.line([(0.56, 0.06), (0.56, crotch - 0.09), (0.5, crotch - 0.05)], lc, 0.004, iters=2)
        for X in _sides():
            p.line([(X(0.2), 0.06), (X(0.11), 0.16)], lc, 0.005)  # slanted pockets
    for X in _sides():
        mid_top = (wx + 0.5) / 2
        mid_hem = (out + inn) / 2
        if cut in ("tailored trousers", "pleated trousers"):  # pressed crease
            p.line([(X(mid_top), 0.09), (X(mid_hem), 0.99)], _shade(p.base, 0.8) + (255,), 0.005)
        if cut in ("pleated trousers", "wide-leg trousers"):
            p.line([(X(mid_top + 0.04), 0.06), (X(mid_top + 0.045), 0.17)], lc, 0.004)
            p.line([(X(mid_top - 0.03), 0.06), (X(mid_top - 0.028), 0.14)], lc, 0.004)
        if cut == "pleated trousers" or (cut == "chinos" and rng.random() < 0.5):  # turn-ups
            p.fill([(X(out + 0.003), 0.93), (X(inn - 0.003), 0.935), (X(inn), 0.995), (X(out), 0.99)], (0, 0, 0, 40), iters=0, outline=lc, width=0.004)
        if cut == "joggers":
            p.fill([(X(out - 0.005), 0.92), (X(inn + 0.005), 0.925), (X(inn), 0.998), (X(out), 0.995)], _shade(p.base, 0.85) + (255,), iters=0, outline=lc, width=0.004)
            for k in range(1, 5):
                x = out + (inn - out) * k / 5
                p.line([(X(x), 0.93), (X(x), 0.99)], (0, 0, 0, 45), 0.003)
            p.line([(X(wx + 0.02), 0.1), (X(wx - 0.005), 0.2)], lc, 0.005)
        if cut == "track pants":
            accent = _contrast(p.base, rng) + (255,)
            p.line([(X(wx - 0.045), 0.08), (X(out + 0.005), 0.99)], accent, 0.012)
            p.line([(X(wx - 0.025), 0.08), (X(out + 0.025), 0.99)], accent, 0.012)


def _shorts(p: _Painter, rng: np.random.Generator, look: Look) -> None:
    cut = look.cut
    lc = p.line_c
    if cut == "running shorts":
        crotch, hem = _u(rng, 0.6, 0.66), _u(rng, 0.8, 0.86)
    elif cut == "basketball shorts":
        crotch, hem = _u(rng, 0.5, 0.56), _u(rng, 0.95, 0.99)
    else:
        crotch, hem = _u(rng, 0.52, 0.6), _u(rng, 0.88, 0.95)
    outx = 0.0 if look.style == "sport" else 0.02
    _legs(p, 0.02, crotch, hem, 0.16, 0.08, outx, 0.46)
    if look.style == "sport":
        accent = _contrast(p.base, rng) + (255,)
        _elastic_waist(p, 0.165, 0.835, 0.02, 0.13)
        for X in _sides():
            if cut == "running shorts":  # a split at the side, piped in the accent colour
                p.line([(X(0.01), hem - 0.1), (X(0.06), hem), (X(0.46), hem + 0.003)], accent, 0.01, iters=1)
            else:  # side panel stripe
                p.line([(X(0.12), 0.14), (X(0.03), hem - 0.01)], accent, 0.035)
                p.line([(X(0.02), hem - 0.04), (X(0.46), hem - 0.035)], accent, 0.012)
        return
    p.line([(0.165, 0.12), (0.835, 0.12)], lc, 0.006)
    for x in (0.26, 0.42, 0.58, 0.74):
        p.line([(x, 0.02), (x, 0.13)], lc, 0.008)
    if cut == "denim shorts":
        for X in _sides():
            p.line([(X(0.2), 0.12), (X(0.22), 0.22), (X(0.32), 0.24)], DENIM_STITCH, 0.005, iters=2)
            p.dot(X(0.2), 0.125, 0.01, COPPER)
        p.line([(0.55, 0.12), (0.55, crotch - 0.1), (0.5, crotch - 0.06)], DENIM_STITCH, 0.005, iters=2)
        fray = (236, 236, 232, 255)
        for X in _sides():  # frayed hems
            for i in range(14):
                x = 0.03 + 0.43 * i / 13
                y = hem + (0.005 if i % 2 else -0.004)
                p.line([(X(x), y - 0.02), (X(x + 0.004), y + 0.012)], fray, 0.004)
        return
    p.line([(0.5, 0.12), (0.5, crotch - 0.1)], lc, 0.005)
    for X in _sides():
        p.line([(X(0.25), 0.12), (X(0.12), 0.3)], lc, 0.006)
        if rng.random() < 0.5:
            p.fill([(X(0.02), hem), (X(0.46), hem + 0.005), (X(0.465), hem - 0.12), (X(0.035), hem - 0.12)], (0, 0, 0, 40), iters=0, outline=lc, width=0.005)
        else:
            p.line([(X(0.03), hem - 0.06), (X(0.465), hem - 0.055)], lc, 0.004)


def _skirt(p: _Painter, rng: np.random.Generator, look: Look) -> None:
    cut = look.cut
    lc = p.line_c
    if cut == "pencil skirt":
        wx = _u(rng, 0.14, 0.17)
        hemx = wx + _u(rng, -0.02, 0.01)
        left = [(wx, 0.0, 1), (wx - 0.07, 0.25), (wx - 0.06, 0.45), (hemx, 0.99, 1)]
        p.body(left + [(1 - q[0], q[1], *q[2:]) for q in reversed(left)], iters=2)
        p.fill([(wx, 0.0), (1 - wx, 0.0), (1 - wx - 0.005, 0.07), (wx + 0.005, 0.07)], (0, 0, 0, 30), iters=0, outline=lc, width=0.005)
        p.line([(0.5, 0.86), (0.5, 0.99)], lc, 0.008)  # back slit
        for X in _sides():  # darts
            p.line([(X(0.33), 0.07), (X(0.335), 0.24)], lc, 0.004)
        return
    sport = cut == "tennis skirt"
    wx = _u(rng, 0.22, 0.26) if sport else _u(rng, 0.28, 0.32)
    hemx = _u(rng, 0.0, 0.03) if sport else _u(rng, 0.0, 0.04)
    if cut == "denim skirt":
        hemx = _u(rng, 0.12, 0.16)
    base_y = 0.86 if sport else 0.9
    hem = []
    n = 24
    for i in range(n + 1):
        t = i / n
        x = hemx + (1 - 2 * hemx) * t
        y = base_y + 0.07 * math.sin(math.pi * t)
        if cut == "flared skirt":
            y += 0.025 * math.sin(t * math.pi * 10)
        if sport or cut == "pleated midi":
            y += 0.012 * (1 if i % 2 else -1)
        hem.append((x, y))
    wb = 0.12 if sport else 0.09
    pts = [(wx, 0.0, 1), (1 - wx, 0.0, 1), (1 - wx, wb, 1)] + list(reversed(hem)) + [(wx, wb, 1)]
    p.body(pts, iters=1)
    if sport:
        accent = _contrast(p.base, rng) + (255,)
        p.fill([(wx, 0.0), (1 - wx, 0.0), (1 - wx, wb), (wx, wb)], accent, iters=0)
    p.line([(wx, wb), (1 - wx, wb)], lc, 0.006)
    if cut == "denim skirt":
        p.line([(0.5, wb), (0.5, 0.96)], DENIM_STITCH, 0.006)
        for i in range(5):
            p.dot(0.5, wb + 0.1 + i * 0.16, 0.013, COPPER)
        for X in _sides():
            p.line([(X(wx + 0.02), wb), (X(wx + 0.06), wb + 0.1), (X(wx + 0.14), wb + 0.12)], DENIM_STITCH, 0.005, iters=2)
        return
    p.dot(1 - wx - 0.04, wb / 2, 0.01, lc)
    k = 11 if sport else (9 if cut == "pleated midi" else 4)
    for i in range(1, k):
        t = i / k
        x0 = wx + (1 - 2 * wx) * t
        x1 = hemx + (1 - 2 * hemx) * t
        y1 = base_y + 0.07 * math.sin(math.pi * t) - 0.01
        p.line([(x0, wb + 0.01), (x1, y1)], lc if k > 4 else (0, 0, 0, 60), 0.004)
