"""Bottoms, drawn flat from the front."""

from __future__ import annotations

import math

import numpy as np

from stygig.catalog.sample.colours import _shade
from stygig.catalog.sample.painter import _Painter, _u


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

