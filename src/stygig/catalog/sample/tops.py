"""Tops, drawn flat from the front."""

from __future__ import annotations

import numpy as np

from stygig.catalog.sample.colours import _line_color, _lum, _mix, _shade
from stygig.catalog.sample.painter import _mirror, _Painter, _u


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

