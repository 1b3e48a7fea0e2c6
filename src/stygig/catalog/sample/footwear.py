"""Footwear, side view, toe to the right."""

from __future__ import annotations

import numpy as np

from stygig.catalog.sample.colours import _lum, _mix, _shade
from stygig.catalog.sample.painter import _Painter, _u


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

