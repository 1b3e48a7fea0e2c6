"""The drawing surface: shapes in box units, drawn at SS times their size for anti-aliasing."""

from __future__ import annotations

import math

import numpy as np
from PIL import Image, ImageDraw

from stygig.catalog.sample.colours import RGB, _line_color

#: supersampling factor for anti-aliased shapes
SS = 3


def _chaikin(pts: list[tuple], iters: int) -> list[tuple[float, float]]:
    """Smooth a closed polygon by corner cutting; points given as (x, y, 1) stay sharp corners."""
    p = np.array([(q[0], q[1]) for q in pts], np.float64)
    sharp = np.array([len(q) > 2 and bool(q[2]) for q in pts])
    for _ in range(iters):
        n = len(p)
        nxt = np.roll(p, -1, axis=0)
        a = 0.75 * p + 0.25 * nxt
        b = 0.25 * p + 0.75 * nxt
        new_p: list[np.ndarray] = []
        new_s: list[bool] = []
        for i in range(n):
            if sharp[i]:
                new_p.append(p[i])
                new_s.append(True)
            new_p.extend((a[i], b[i]))
            new_s.extend((False, False))
        p = np.array(new_p)
        sharp = np.array(new_s)
    return [(float(x), float(y)) for x, y in p]


class _Painter:
    """Draws one garment in box units (0..1 on each axis) at SS times its final size.

    ``mask`` is the fabric silhouette (filled with the patterned fabric later); ``det`` holds
    opaque or translucent details drawn over it (seams, soles, laces, buttons, handles).
    """

    def __init__(self, w: int, h: int, base: RGB):
        self.w, self.h = w, h
        self.W, self.H = w * SS, h * SS
        self.S = math.sqrt(self.W * self.H)
        self.mask = Image.new("L", (self.W, self.H), 0)
        self.det = Image.new("RGBA", (self.W, self.H), (0, 0, 0, 0))
        self.md = ImageDraw.Draw(self.mask)
        self.dd = ImageDraw.Draw(self.det)
        self.base = base
        self.line_c = _line_color(base) + (255,)
        self.outlines: list[list[tuple[float, float]]] = []

    # coordinates
    def px(self, pts: list[tuple], iters: int = 0) -> list[tuple[float, float]]:
        if iters:
            pts = _chaikin(pts, iters)
        return [(x * self.W, y * self.H) for x, y, *_ in pts]

    def lw(self, f: float) -> int:
        return max(1, int(round(f * self.S)))

    def box(self, x0: float, y0: float, x1: float, y1: float) -> tuple[float, float, float, float]:
        return (x0 * self.W, y0 * self.H, x1 * self.W, y1 * self.H)

    # fabric silhouette
    def body(self, pts: list[tuple], iters: int = 3, outline: bool = True) -> None:
        xy = self.px(pts, iters)
        self.md.polygon(xy, fill=255)
        if outline:
            self.outlines.append(xy)

    def body_ellipse(self, x0: float, y0: float, x1: float, y1: float) -> None:
        self.md.ellipse(self.box(x0, y0, x1, y1), fill=255)
        n = 64
        cx, cy, rx, ry = (x0 + x1) / 2, (y0 + y1) / 2, (x1 - x0) / 2, (y1 - y0) / 2
        self.outlines.append(
            [((cx + rx * math.cos(2 * math.pi * i / n)) * self.W, (cy + ry * math.sin(2 * math.pi * i / n)) * self.H) for i in range(n)]
        )

    def body_line(self, pts: list[tuple], width: float, iters: int = 0) -> None:
        """A strand of fabric (a chain, a cord, a strap): part of the silhouette, no outline."""
        self.md.line(self._smooth_open(self.px(pts), iters), fill=255, width=self.lw(width), joint="curve")

    def body_dot(self, x: float, y: float, r: float) -> None:
        rr = r * self.S
        cx, cy = x * self.W, y * self.H
        self.md.ellipse((cx - rr, cy - rr, cx + rr, cy + rr), fill=255)

    def cut(self, pts: list[tuple], iters: int = 3) -> None:
        self.md.polygon(self.px(pts, iters), fill=0)

    # details
    def fill(self, pts: list[tuple], color: tuple, iters: int = 3, outline: tuple | None = None, width: float = 0.006) -> None:
        xy = self.px(pts, iters)
        self.dd.polygon(xy, fill=color)
        if outline is not None:
            self.dd.line(xy + [xy[0]], fill=outline, width=self.lw(width), joint="curve")

    @staticmethod
    def _smooth_open(xy: list[tuple[float, float]], iters: int) -> list[tuple[float, float]]:
        """Smooth an open curve with Chaikin's corner cutting, keeping its end points."""
        if not iters:
            return xy
        arr = np.array(xy)
        for _ in range(iters):
            a = 0.75 * arr[:-1] + 0.25 * arr[1:]
            b = 0.25 * arr[:-1] + 0.75 * arr[1:]
            mid = np.empty((2 * len(a), 2))
            mid[0::2], mid[1::2] = a, b
            arr = np.vstack([arr[:1], mid, arr[-1:]])
        return [tuple(map(float, q)) for q in arr]

    def line(self, pts: list[tuple], color: tuple | None = None, width: float = 0.006, iters: int = 0) -> None:
        xy = self._smooth_open(self.px(pts), iters)
        self.dd.line(xy, fill=color or self.line_c, width=self.lw(width), joint="curve")

    def dot(self, x: float, y: float, r: float, color: tuple, outline: tuple | None = None) -> None:
        rr = r * self.S
        cx, cy = x * self.W, y * self.H
        self.dd.ellipse((cx - rr, cy - rr, cx + rr, cy + rr), fill=color, outline=outline, width=max(1, int(rr / 4)))

    def arc(self, x0: float, y0: float, x1: float, y1: float, start: float, end: float, color: tuple, width: float) -> None:
        self.dd.arc(self.box(x0, y0, x1, y1), start, end, fill=color, width=self.lw(width))

    def draw_outlines(self, width: float = 0.006) -> None:
        for xy in self.outlines:
            self.dd.line(xy + [xy[0], xy[1]], fill=self.line_c, width=self.lw(width), joint="curve")


def _u(rng: np.random.Generator, a: float, b: float) -> float:
    return float(rng.uniform(a, b))


def _sides() -> tuple:
    """Left and right: ``for X in _sides(): p.line([(X(0.2), 0.5), ...])`` draws both."""
    return (lambda x: x), (lambda x: 1 - x)


def _mirror(pts: list[tuple]) -> list[tuple]:
    """The right half of a symmetric outline from its left half (listed top to bottom)."""
    return [(1 - q[0], q[1], *q[2:]) for q in reversed(pts)]

