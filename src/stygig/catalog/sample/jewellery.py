"""Necklaces, laid flat: a closed loop with the clasp at the top.

Formal: a strand of lustrous pearls, or a fine gold or silver chain with a gem in a bezel.
Casual: chunky beads in several colours, or a leather cord with a wooden or stone pendant.
"""

from __future__ import annotations

import math

import numpy as np

from stygig.catalog.sample.colours import PALETTE, _mix, _shade
from stygig.catalog.sample.painter import _Painter, _u
from stygig.catalog.sample.styles import Look

GEMS = ((150, 16, 36), (16, 110, 70), (24, 54, 150), (90, 40, 130))
STONES = ((170, 130, 86), (64, 160, 160), (220, 210, 190), (60, 60, 64))


def _loop(n: int, depth: float, width: float, v: float) -> list[tuple[float, float]]:
    """Points round a necklace laid flat: round at the top (behind the neck), sharper toward the
    bottom (``v`` from 0, a U, to 1, a V)."""
    pts = []
    for i in range(n):
        th = 2 * math.pi * i / n
        x = 0.5 + width / 2 * math.sin(th)
        y = 0.06 + depth * (1 - math.cos(th)) / 2
        # pull the lower half toward the centre line: a V
        lower = max(0.0, (y - 0.06) / depth - 0.5) * 2
        x = 0.5 + (x - 0.5) * (1 - v * lower * 0.5)
        pts.append((x, y))
    return pts


def _necklace(p: _Painter, rng: np.random.Generator, look: Look) -> None:
    cut = look.cut
    depth = _u(rng, 0.72, 0.8) if cut in ("pearl strand", "beaded necklace") else _u(rng, 0.6, 0.66)  # room for a pendant
    width = _u(rng, 0.78, 0.9)
    if cut == "pearl strand":
        n = int(rng.integers(30, 38))
        r = 0.026
        for x, y in _loop(n, depth, width, 0.2):
            p.body_dot(x, y, r)
            p.dot(x, y, r, p.base + (255,), outline=_shade(p.base, 0.78) + (255,))
            p.dot(x - r * 0.35, y - r * 0.35, r * 0.35, (255, 255, 255, 200))
        p.fill([(0.47, 0.035), (0.53, 0.035), (0.53, 0.085), (0.47, 0.085)], PALETTE["gold"] + (255,), iters=0)
        return
    if cut == "beaded necklace":
        n = int(rng.integers(24, 30))
        colours = [p.base, _mix(p.base, (250, 248, 240), 0.55), _shade(p.base, 0.6)]
        loop = _loop(n, depth, width, 0.3)
        p.body_line(loop + loop[:1], 0.006, iters=2)
        p.line(loop + loop[:1], (60, 50, 44, 255), 0.006, iters=2)  # the string
        for i, (x, y) in enumerate(loop):
            r = 0.04 if i % 2 == 0 else 0.026
            c = colours[i % 3]
            p.body_dot(x, y, r)
            p.dot(x, y, r, c + (255,), outline=_shade(c, 0.7) + (255,))
            p.dot(x - r * 0.3, y - r * 0.3, r * 0.3, (255, 255, 255, 120))
        return
    # a chain or a cord, then what hangs from it
    pts = _loop(72, depth, width, 0.6)
    strand = 0.012 if cut == "cord pendant" else 0.007
    p.body_line(pts + pts[:1], strand)
    if cut == "pendant chain":
        links = _shade(p.base, 0.7) + (255,)
        for i in range(0, 72, 2):
            x, y = pts[i]
            p.dot(x, y, 0.004, links)
        bx, by = 0.5, 0.06 + depth
        p.body_dot(bx, by + 0.06, 0.05)
        p.dot(bx, by + 0.06, 0.05, p.base + (255,), outline=_shade(p.base, 0.6) + (255,))
        gem = GEMS[int(rng.integers(len(GEMS)))]
        p.dot(bx, by + 0.06, 0.035, gem + (255,))
        p.dot(bx - 0.012, by + 0.045, 0.01, (255, 255, 255, 190))
        p.body_line([(bx, by - 0.01), (bx, by + 0.02)], 0.01)
    else:
        bx, by = 0.5, 0.06 + depth
        stone = STONES[int(rng.integers(len(STONES)))]
        shape = [(bx - 0.06, by + 0.02), (bx + 0.06, by + 0.02), (bx + 0.05, by + 0.16), (bx, by + 0.2), (bx - 0.05, by + 0.16)]
        p.body(shape, iters=2, outline=False)
        p.fill(shape, stone + (255,), iters=2, outline=_shade(stone, 0.6) + (255,), width=0.005)
        p.dot(bx, by + 0.01, 0.018, _shade(p.base, 0.8) + (255,))  # the bail
