"""Accessories."""

from __future__ import annotations

import numpy as np

from stygig.catalog.sample.colours import _lum, _shade
from stygig.catalog.sample.painter import _Painter, _u


def _bag(p: _Painter, rng: np.random.Generator) -> str:
    style = str(rng.choice(["tote", "handbag", "satchel"]))
    btop = _u(rng, 0.4, 0.46)
    taper = _u(rng, 0.02, 0.06)
    p.body([(0.05 + taper, btop, 1), (0.95 - taper, btop, 1), (0.97, 0.98), (0.5, 0.995), (0.03, 0.98)], iters=2)
    lc = p.line_c
    handle = _shade(p.base, 0.72) + (255,) if _lum(p.base) > 60 else (70, 66, 64, 255)
    if style == "tote":
        for x0 in (0.2, 0.52):
            p.arc(x0, 0.05, x0 + 0.28, 0.8, 180, 360, handle, 0.04)
    elif style == "handbag":
        p.arc(0.26, 0.02, 0.74, 0.86, 180, 360, handle, 0.05)
        p.dot(0.26 + 0.012, btop - 0.0, 0.018, (200, 170, 90, 255))
        p.dot(0.74 - 0.012, btop - 0.0, 0.018, (200, 170, 90, 255))
    else:
        p.arc(0.34, 0.08, 0.66, 0.72, 180, 360, handle, 0.055)
        p.fill([(0.06 + taper, btop + 0.005), (0.94 - taper, btop + 0.005), (0.93, 0.7), (0.5, 0.74), (0.07, 0.7)], (0, 0, 0, 40), iters=1,
               outline=lc, width=0.006)
        p.fill([(0.46, 0.66), (0.54, 0.66), (0.54, 0.76), (0.46, 0.76)], (205, 175, 95, 255), iters=0, outline=(150, 120, 60, 255), width=0.004)
    p.line([(0.08 + taper, btop + 0.05), (0.92 - taper, btop + 0.05)], lc, 0.004)
    return style


def _hat(p: _Painter, rng: np.random.Generator) -> str:
    style = str(rng.choice(["fedora", "boater", "sun hat"]))
    cw = _u(rng, 0.2, 0.25)
    brim_y = _u(rng, 0.62, 0.7)
    p.body_ellipse(0.0, brim_y - 0.12, 1.0, brim_y + 0.2)
    top = 0.04
    if style == "sun hat":
        crown = [(0.5 - cw - 0.02, brim_y, 1), (0.5 - cw, top + 0.2), (0.5 - cw * 0.6, top + 0.02), (0.5 + cw * 0.6, top + 0.02),
                 (0.5 + cw, top + 0.2), (0.5 + cw + 0.02, brim_y, 1)]
    elif style == "fedora":
        crown = [(0.5 - cw - 0.02, brim_y, 1), (0.5 - cw, top + 0.12), (0.5 - cw + 0.06, top), (0.5, top + 0.09), (0.5 + cw - 0.06, top),
                 (0.5 + cw, top + 0.12), (0.5 + cw + 0.02, brim_y, 1)]
    else:
        crown = [(0.5 - cw, brim_y, 1), (0.5 - cw, top + 0.14), (0.5 - cw + 0.01, top + 0.1, 1), (0.5 + cw - 0.01, top + 0.1, 1),
                 (0.5 + cw, top + 0.14), (0.5 + cw, brim_y, 1)]
    p.body(crown, iters=2)
    band = (30, 28, 30, 255) if _lum(p.base) > 90 else (180, 150, 100, 255)
    p.fill([(0.5 - cw - 0.015, brim_y - 0.14), (0.5 + cw + 0.015, brim_y - 0.14), (0.5 + cw + 0.02, brim_y - 0.04), (0.5 - cw - 0.02, brim_y - 0.04)], band, iters=0)
    p.fill([(0.06, brim_y + 0.02), (0.94, brim_y + 0.02), (0.9, brim_y + 0.14), (0.1, brim_y + 0.14)], (0, 0, 0, 30), iters=2)
    return style

