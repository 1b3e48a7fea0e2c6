"""Bags, hats, belts and scarves.

Formal: a structured handbag with a turn-lock or a briefcase, a felt fedora, a narrow polished
leather belt with a metal buckle, a silk square or a fine wool scarf. Casual: a canvas tote or a
satchel, a straw boater or sun hat, a bucket hat or a knit beanie, a braided or striped canvas
belt, a chunky knit or plaid scarf with fringes. Sport: a gym duffle, a baseball cap.

Belts are shown buckled into a loop, seen from above at an angle; long scarves as if worn, a
loop round the neck and two tails of different lengths.
"""

from __future__ import annotations

import math

import numpy as np

from stygig.catalog.sample.colours import BRASS, GOLD, STEEL, _contrast, _lum, _mix, _second_color, _shade
from stygig.catalog.sample.painter import _Painter, _sides, _u
from stygig.catalog.sample.styles import Look


def _ellipse_pts(cx: float, cy: float, rx: float, ry: float, a0: float = 0.0, a1: float = 360.0, n: int = 48) -> list[tuple[float, float]]:
    return [(cx + rx * math.cos(math.radians(a0 + (a1 - a0) * i / n)), cy + ry * math.sin(math.radians(a0 + (a1 - a0) * i / n))) for i in range(n + 1)]


# ---- bags ---------------------------------------------------------------------------------------

def _bag(p: _Painter, rng: np.random.Generator, look: Look) -> None:
    cut = look.cut
    lc = p.line_c
    handle = _shade(p.base, 0.72) + (255,) if _lum(p.base) > 60 else (70, 66, 64, 255)
    if cut == "gym duffle":
        accent = _contrast(p.base, rng) + (255,)
        p.body([(0.06, 0.36, 1), (0.94, 0.36, 1), (0.99, 0.6), (0.96, 0.97, 1), (0.04, 0.97, 1), (0.01, 0.6)], iters=3)
        for X in _sides():  # round end panels
            p.fill(_ellipse_pts(X(0.1), 0.665, 0.07, 0.27), _shade(p.base, 0.8) + (255,), iters=0, outline=lc, width=0.005)
        p.line([(0.14, 0.4), (0.86, 0.4)], (40, 40, 44, 255), 0.01)  # zip
        p.fill([(0.8, 0.38), (0.84, 0.38), (0.84, 0.46), (0.8, 0.46)], STEEL, iters=0)
        for X in _sides():  # accent end panels
            p.fill(_ellipse_pts(X(0.1), 0.665, 0.045, 0.18), accent, iters=0)
        for x0 in (0.26, 0.5):
            p.arc(x0, 0.0, x0 + 0.24, 0.78, 180, 360, handle, 0.04)
        p.line([(0.44, 0.58), (0.5, 0.54), (0.56, 0.62)], accent, 0.012)
        return
    if cut == "briefcase":
        p.body([(0.03, 0.28, 1), (0.97, 0.28, 1), (0.97, 0.98, 1), (0.03, 0.98, 1)], iters=1)
        p.fill([(0.4, 0.28), (0.4, 0.12), (0.6, 0.12), (0.6, 0.28), (0.56, 0.28), (0.56, 0.16), (0.44, 0.16), (0.44, 0.28)], handle, iters=1)
        p.fill([(0.04, 0.29), (0.96, 0.29), (0.96, 0.5), (0.04, 0.5)], (0, 0, 0, 40), iters=0, outline=lc, width=0.006)
        metal = GOLD if rng.random() < 0.6 else STEEL
        for x in (0.22, 0.72):
            p.fill([(x, 0.45), (x + 0.06, 0.45), (x + 0.06, 0.55), (x, 0.55)], metal, iters=0)
        p.line([(0.06, 0.94), (0.94, 0.94)], lc, 0.004)
        return
    btop = _u(rng, 0.4, 0.46)
    taper = _u(rng, 0.08, 0.12) if cut == "structured handbag" else _u(rng, 0.02, 0.06)
    corner = 1 if cut == "structured handbag" else 0
    p.body([(0.05 + taper, btop, 1), (0.95 - taper, btop, 1), (0.97, 0.98, corner), (0.5, 0.995), (0.03, 0.98, corner)], iters=2)
    if cut == "tote":
        for x0 in (0.2, 0.52):
            p.arc(x0, 0.05, x0 + 0.28, 0.8, 180, 360, handle, 0.04)
    elif cut == "structured handbag":  # a rigid top handle, a flap and a turn-lock, little feet
        p.arc(0.3, 0.1, 0.7, 0.8, 180, 360, handle, 0.06)
        p.fill([(0.06 + taper, btop + 0.005), (0.94 - taper, btop + 0.005), (0.95 - taper * 0.5, 0.66), (0.05 + taper * 0.5, 0.66)], (0, 0, 0, 40), iters=0,
               outline=lc, width=0.006)
        p.fill([(0.45, 0.62), (0.55, 0.62), (0.55, 0.71), (0.45, 0.71)], GOLD, iters=1, outline=(150, 120, 60, 255), width=0.004)
        for x in (0.12, 0.88):
            p.dot(x, 0.985, 0.014, GOLD)
    else:  # satchel: a flap with a buckle and a shoulder strap
        p.arc(0.34, 0.08, 0.66, 0.72, 180, 360, handle, 0.055)
        p.fill([(0.06 + taper, btop + 0.005), (0.94 - taper, btop + 0.005), (0.93, 0.7), (0.5, 0.74), (0.07, 0.7)], (0, 0, 0, 40), iters=1,
               outline=lc, width=0.006)
        p.line([(0.46, 0.6), (0.54, 0.6), (0.54, 0.72), (0.46, 0.72), (0.46, 0.6)], BRASS, 0.006)
    p.line([(0.08 + taper, btop + 0.05), (0.92 - taper, btop + 0.05)], lc, 0.004)


# ---- hats ---------------------------------------------------------------------------------------

def _hat(p: _Painter, rng: np.random.Generator, look: Look) -> None:
    cut = look.cut
    lc = p.line_c
    if cut == "baseball cap":
        _cap(p, rng)
        return
    if cut == "beanie":
        p.body([(0.1, 0.95, 1), (0.1, 0.55), (0.2, 0.24), (0.5, 0.14), (0.8, 0.24), (0.9, 0.55), (0.9, 0.95, 1)], iters=3)
        p.fill([(0.09, 0.68), (0.91, 0.68), (0.91, 0.96), (0.09, 0.96)], (0, 0, 0, 40), iters=0, outline=lc, width=0.005)  # folded cuff
        for i in range(1, 16):
            x = 0.09 + 0.82 * i / 16
            p.line([(x, 0.7), (x, 0.94)], (0, 0, 0, 50), 0.004)
        if rng.random() < 0.6:  # pompom
            p.body_ellipse(0.38, 0.0, 0.62, 0.22)
        return
    cw = _u(rng, 0.2, 0.25)
    brim_y = _u(rng, 0.62, 0.7)
    top = 0.04
    if cut == "bucket hat":  # a short crown and a brim sloping down
        p.body([(0.5 - cw - 0.03, brim_y - 0.1, 1), (0.5 + cw + 0.03, brim_y - 0.1, 1), (0.9, brim_y + 0.22, 1), (0.1, brim_y + 0.22, 1)], iters=1)
        crown = [(0.5 - cw - 0.03, brim_y - 0.08, 1), (0.5 - cw, top + 0.2), (0.5 - cw * 0.8, top + 0.12), (0.5 + cw * 0.8, top + 0.12),
                 (0.5 + cw, top + 0.2), (0.5 + cw + 0.03, brim_y - 0.08, 1)]
        p.body(crown, iters=2)
        for k in (0.06, 0.12):
            p.line([(0.5 - cw - 0.03 - k * 0.9, brim_y - 0.08 + k * 1.2), (0.5 + cw + 0.03 + k * 0.9, brim_y - 0.08 + k * 1.2)], lc, 0.004)
        p.dot(0.5 - cw * 0.6, top + 0.3, 0.01, STEEL)
        return
    brim_w = {"fedora": 0.1, "boater": 0.06, "sun hat": 0.0}[cut]
    p.body_ellipse(brim_w, brim_y - 0.12, 1.0 - brim_w, brim_y + 0.2)
    if cut == "sun hat":
        crown = [(0.5 - cw - 0.02, brim_y, 1), (0.5 - cw, top + 0.2), (0.5 - cw * 0.6, top + 0.02), (0.5 + cw * 0.6, top + 0.02),
                 (0.5 + cw, top + 0.2), (0.5 + cw + 0.02, brim_y, 1)]
    elif cut == "fedora":
        crown = [(0.5 - cw - 0.02, brim_y, 1), (0.5 - cw, top + 0.12), (0.5 - cw + 0.06, top), (0.5, top + 0.09), (0.5 + cw - 0.06, top),
                 (0.5 + cw, top + 0.12), (0.5 + cw + 0.02, brim_y, 1)]
    else:
        crown = [(0.5 - cw, brim_y, 1), (0.5 - cw, top + 0.14), (0.5 - cw + 0.01, top + 0.1, 1), (0.5 + cw - 0.01, top + 0.1, 1),
                 (0.5 + cw, top + 0.14), (0.5 + cw, brim_y, 1)]
    p.body(crown, iters=2)
    if cut == "fedora":  # the pinch and the crease of the crown
        p.line([(0.5, top + 0.1), (0.5, top + 0.3)], (0, 0, 0, 60), 0.008)
    band = (30, 28, 30, 255) if _lum(p.base) > 90 else (180, 150, 100, 255)
    if cut == "boater":
        band = (150, 24, 40, 255) if rng.random() < 0.5 else (28, 36, 80, 255)
    p.fill([(0.5 - cw - 0.015, brim_y - 0.14), (0.5 + cw + 0.015, brim_y - 0.14), (0.5 + cw + 0.02, brim_y - 0.04), (0.5 - cw - 0.02, brim_y - 0.04)], band, iters=0)
    p.fill([(brim_w + 0.06, brim_y + 0.02), (0.94 - brim_w, brim_y + 0.02), (0.9 - brim_w, brim_y + 0.14), (0.1 + brim_w, brim_y + 0.14)], (0, 0, 0, 30), iters=2)


def _cap(p: _Painter, rng: np.random.Generator) -> None:
    """A baseball cap from the side: a six-panel dome, a button on top, the peak to the right."""
    lc = p.line_c
    p.body([(0.04, 0.86, 1), (0.06, 0.5), (0.2, 0.2), (0.42, 0.08), (0.62, 0.14), (0.74, 0.36), (0.78, 0.7, 1), (0.99, 0.82), (0.98, 0.9, 1),
            (0.74, 0.92), (0.3, 0.9)], iters=3)
    peak = _shade(p.base, 0.85) + (255,)
    p.fill([(0.7, 0.72), (0.86, 0.74), (0.99, 0.82), (0.98, 0.9), (0.76, 0.92), (0.7, 0.86)], peak, iters=2, outline=lc, width=0.005)
    for pts in ([(0.42, 0.09), (0.34, 0.5), (0.36, 0.88)], [(0.42, 0.09), (0.6, 0.5), (0.7, 0.86)]):
        p.line(pts, lc, 0.005, iters=2)
    p.dot(0.42, 0.085, 0.025, _shade(p.base, 0.8) + (255,), outline=lc)
    for cx in (0.2, 0.5):  # eyelets
        p.dot(cx, 0.34 if cx < 0.3 else 0.3, 0.012, _shade(p.base, 0.6) + (255,))
    p.line([(0.06, 0.8), (0.3, 0.84), (0.72, 0.84)], (0, 0, 0, 50), 0.006, iters=2)
    p.fill([(0.5, 0.4), (0.6, 0.38), (0.62, 0.5), (0.52, 0.52)], _contrast(p.base, rng) + (255,), iters=1)  # logo on the front panel


# ---- belts --------------------------------------------------------------------------------------

def _belt(p: _Painter, rng: np.random.Generator, look: Look) -> None:
    cut = look.cut
    lc = p.line_c
    formal = look.style == "formal"
    t = _u(rng, 0.1, 0.12) if formal else _u(rng, 0.15, 0.19)  # band height (box units)
    cx, cy, rx, ry = 0.5, 0.5, 0.47, 0.4
    p.body_ellipse(cx - rx, cy - ry, cx + rx, cy + ry)
    inner = (cx - rx + t * 0.55, cy - ry + t * 0.7, cx + rx - t * 0.55, cy + ry - t)
    p.md.ellipse(p.box(*inner), fill=0)
    ix, iy = (inner[0] + inner[2]) / 2, (inner[1] + inner[3]) / 2
    irx, iry = (inner[2] - inner[0]) / 2, (inner[3] - inner[1]) / 2
    p.line(_ellipse_pts(ix, iy, irx, iry), lc, 0.005)
    # the back of the loop shows the belt's inside: in shadow
    back = _ellipse_pts(cx, cy, rx, ry, 180, 360) + list(reversed(_ellipse_pts(ix, iy, irx, iry, 180, 360)))
    p.fill(back, (0, 0, 0, 60), iters=0)
    if cut == "braided belt":  # woven strands along the band
        for a in range(0, 360, 6):
            r0 = (math.cos(math.radians(a)), math.sin(math.radians(a)))
            x0, y0 = cx + rx * r0[0], cy + ry * r0[1]
            x1, y1 = ix + irx * math.cos(math.radians(a + 5)), iy + iry * math.sin(math.radians(a + 5))
            p.line([(x0, y0), (x1, y1)], (0, 0, 0, 70), 0.005)
    elif cut == "dress belt":  # edge stitching
        p.line(_ellipse_pts(cx, cy, rx - 0.012, ry - 0.015, 20, 160), (0, 0, 0, 60), 0.003)
    # buckle at the front left, the tail running right through a keeper
    bx = 0.3
    by0, by1 = cy + ry - t - 0.04, cy + ry + 0.02
    metal = (STEEL if rng.random() < 0.5 else GOLD) if formal else BRASS
    if cut == "canvas belt":  # two D-rings and a leather tab
        for dx in (0.0, 0.035):
            p.line([(bx + dx, by0), (bx + dx, by1)], metal, 0.01)
            p.arc(bx + dx - 0.05, by0, bx + dx + 0.05, by1, 90, 270, metal, 0.01)
        p.fill([(bx + 0.05, by0 + 0.02), (bx + 0.2, by0 + 0.03), (bx + 0.2, by1 - 0.01), (bx + 0.05, by1 - 0.02)], (110, 70, 40, 255), iters=0)
        return
    w = 0.075 if formal else 0.09
    by0, by1 = by0 - 0.03, by1 + 0.02
    p.line([(bx - w, by0), (bx + w * 0.3, by0), (bx + w * 0.3, by1), (bx - w, by1), (bx - w, by0)], metal, 0.016 if formal else 0.02)
    p.line([(bx - w, (by0 + by1) / 2), (bx + w * 0.5, (by0 + by1) / 2)], metal, 0.008)  # prong
    tail_y0, tail_y1 = cy + ry - t * 0.85, cy + ry - 0.01
    p.fill([(bx + w * 0.3, tail_y0), (bx + 0.26, tail_y0 + 0.005), (bx + 0.3, (tail_y0 + tail_y1) / 2), (bx + 0.26, tail_y1 - 0.005),
            (bx + w * 0.3, tail_y1)], p.base + (255,), iters=1, outline=lc, width=0.005)
    for k in range(4):
        p.dot(bx + 0.09 + k * 0.045, (tail_y0 + tail_y1) / 2, 0.008, _shade(p.base, 0.45) + (255,))
    p.fill([(bx + 0.04, by0 + 0.01), (bx + 0.07, by0 + 0.01), (bx + 0.07, by1 - 0.01), (bx + 0.04, by1 - 0.01)], _shade(p.base, 0.8) + (255,),
           iters=0, outline=lc, width=0.004)  # keeper


# ---- scarves ------------------------------------------------------------------------------------

def _scarf(p: _Painter, rng: np.random.Generator, look: Look) -> None:
    cut = look.cut
    lc = p.line_c
    if cut == "silk square":
        _silk_square(p, rng)
        return
    chunky = cut == "knit scarf"
    band = 0.2 if chunky else 0.15
    # the loop round the neck
    p.body_ellipse(0.12, 0.0, 0.88, 0.34)
    p.md.ellipse(p.box(0.12 + band, 0.0 + band * 0.45, 0.88 - band, 0.34 - band * 0.55), fill=0)
    p.line(_ellipse_pts(0.5, 0.17 - band * 0.05, 0.38 - band, 0.17 - band * 0.5), lc, 0.005)
    # two tails hanging in front, one longer
    long_end, short_end = _u(rng, 0.88, 0.93), _u(rng, 0.7, 0.78)
    tw = 0.2 if chunky else 0.16
    left = [(0.3, 0.24, 1), (0.3 + tw, 0.24, 1), (0.3 + tw + 0.02, long_end, 1), (0.32, long_end, 1)]
    right = [(0.48, 0.26, 1), (0.48 + tw, 0.22, 1), (0.5 + tw + 0.02, short_end, 1), (0.5 + 0.02, short_end + 0.01, 1)]
    p.body(left, iters=1)
    p.body(right, iters=1)
    p.fill([(0.34, 0.2), (0.62, 0.2), (0.66, 0.3), (0.4, 0.32)], (0, 0, 0, 50), iters=2)  # the knot's shadow
    fringe = _shade(p.base, 0.9) + (255,)
    for x0, x1, y in ((0.32, 0.3 + tw + 0.02, long_end), (0.52, 0.5 + tw + 0.02, short_end)):
        n = 9 if chunky else 12
        for i in range(n):
            x = x0 + (x1 - x0) * (i + 0.5) / n
            p.line([(x, y), (x + 0.004, y + (0.06 if chunky else 0.045))], fringe, 0.012 if chunky else 0.006)
    if chunky:  # ribs along the tails
        for x0, x1, y1 in ((0.3, 0.3 + tw, long_end), (0.5, 0.5 + tw, short_end)):
            for k in (0.33, 0.66):
                p.line([(x0 + (x1 - x0) * k, 0.3), (x0 + (x1 - x0) * k + 0.01, y1 - 0.01)], (0, 0, 0, 45), 0.005)


def _silk_square(p: _Painter, rng: np.random.Generator) -> None:
    """A square silk scarf laid flat on its corner: soft wavy edges, a border, a medallion and
    motifs, a rolled hem."""
    lc = p.line_c

    def diamond(inset: float, wave: float, n: int = 12) -> list[tuple[float, float]]:
        corners = [(0.5, 0.02 + inset), (0.98 - inset, 0.5), (0.5, 0.98 - inset), (0.02 + inset, 0.5)]
        pts = []
        for k in range(4):
            (ax, ay), (bx, by) = corners[k], corners[(k + 1) % 4]
            for i in range(n):
                t = i / n
                off = wave * math.sin(math.pi * t * 2)
                nx, ny = (by - ay), -(bx - ax)  # outward normal (unnormalised, length ~0.68)
                pts.append((ax + (bx - ax) * t + nx * off, ay + (by - ay) * t + ny * off))
        return pts

    outer = diamond(0.0, _u(rng, 0.015, 0.03))
    p.body(outer, iters=2)
    second = _second_color(p.base, rng) + (255,)
    third = _mix(_contrast(p.base, rng), GOLD[:3], 0.5) + (255,)
    m = _u(rng, 0.07, 0.1)
    p.fill(diamond(m * 0.4, 0.0), second, iters=0)
    p.fill(diamond(m * 1.2, 0.0), p.base + (255,), iters=0)
    p.line(diamond(m * 1.35, 0.0) + diamond(m * 1.35, 0.0)[:1], third, 0.006)
    p.fill(_ellipse_pts(0.5, 0.5, 0.14, 0.14), third, iters=0)
    p.fill(_ellipse_pts(0.5, 0.5, 0.09, 0.09), p.base + (255,), iters=0)
    for a in range(0, 360, 30):
        x, y = 0.5 + 0.115 * math.cos(math.radians(a)), 0.5 + 0.115 * math.sin(math.radians(a))
        p.dot(x, y, 0.014, second)
    for x, y in ((0.5, 0.2), (0.8, 0.5), (0.5, 0.8), (0.2, 0.5)):
        p.dot(x, y, 0.03, third)
        p.dot(x, y, 0.014, second)
    p.line(outer + outer[:1], lc, 0.005)
