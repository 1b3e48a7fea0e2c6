"""Foreground masks for product photos.

Catalog pictures show one garment on a plain, usually light background. The background colour is
estimated from a strip along the border (per-channel median in CIELAB); pixels further from it
than a threshold (CIE76 distance, adapted to how noisy the border is) are foreground. The mask is
cleaned with a 3x3 opening (numpy min/max over shifted views; no scipy) and its holes are filled (a pixel
enclosed by foreground to its left, right, top and bottom is foreground: a print on a T-shirt is
part of the garment).

Low contrast (a white shirt on a white background) gets a second chance with a threshold set just
above the border noise, then an edge map (lightness gradient) filled the same way, and finally a
centred ellipse. A picture with no structure at all, a mask that is empty, or one that covers
almost the whole picture gives an all-True mask: the whole picture is then the garment.

Deterministic, and about 2 ms of CPU for a 256x256 picture; callers pass downscaled pictures.
"""

from __future__ import annotations

import numpy as np
from stygig.features.colour.space import srgb_to_lab_planes

__all__ = ["bbox", "dilate", "erode", "fill_holes", "foreground_mask"]

#: base CIE76 distance from the background colour above which a pixel is foreground
THRESHOLD = 12.0
#: a mask covering less than this fraction of the picture is "nothing found"
MIN_FRACTION = 0.01
#: a mask covering more than this fraction is "everything": the fallback is all-True
MAX_FRACTION = 0.97
#: border spread (75th percentile of border distances) above which there is no plain background
MAX_BORDER_SPREAD = 20.0
#: a border this quiet (98th percentile distance) is clean enough to trust a near-noise threshold
LOW_CONTRAST_NOISE = 3.0
#: the low-threshold mask is not believed if it covers more than this
LOW_CONTRAST_MAX_FRACTION = 0.85


def _morph(mask: np.ndarray, size: int, erode_: bool) -> np.ndarray:
    if size < 1 or size % 2 == 0:
        raise ValueError(f"size must be a positive odd number, got {size}")
    mask = np.asarray(mask, dtype=bool)
    r = size // 2
    if r == 0:
        return mask.copy()
    op = np.logical_and if erode_ else np.logical_or
    p = np.pad(mask, r, mode="edge")
    h, w = mask.shape
    rows = p[:, 0:w].copy()
    for i in range(1, size):
        op(rows, p[:, i : i + w], out=rows)
    out = rows[0:h].copy()
    for i in range(1, size):
        op(out, rows[i : i + h], out=out)
    return out


def erode(mask: np.ndarray, size: int = 3) -> np.ndarray:
    """Binary erosion with a ``size`` x ``size`` square (the picture edge is replicated)."""
    return _morph(mask, size, True)


def dilate(mask: np.ndarray, size: int = 3) -> np.ndarray:
    """Binary dilation with a ``size`` x ``size`` square (the picture edge is replicated)."""
    return _morph(mask, size, False)


def fill_holes(mask: np.ndarray) -> np.ndarray:
    """Set every pixel that has a set pixel somewhere to its left, right, above and below.

    A fast stand-in for hole filling: it closes real holes and the inside of any closed outline,
    and leaves gaps that open to a side of the picture (between trouser legs) alone.
    """
    mask = np.asarray(mask, dtype=bool)
    box = bbox(mask)
    out = mask.copy()
    if box is None:
        return out
    left, upper, right, lower = box
    m = mask[upper:lower, left:right]
    # an unset pixel has set pixels on both sides iff 0 < (set pixels up to it) < (set in its line)
    c = np.cumsum(m, axis=1, dtype=np.int32)
    rows = (c > 0) & (c < c[:, -1:])
    c = np.cumsum(m, axis=0, dtype=np.int32)
    cols = (c > 0) & (c < c[-1:])
    out[upper:lower, left:right] |= rows & cols
    return out


def bbox(mask: np.ndarray) -> tuple[int, int, int, int] | None:
    """Bounding box of the set pixels as ``(left, upper, right, lower)`` (right/lower exclusive,
    as :meth:`PIL.Image.Image.crop` takes it), or None for an empty mask."""
    mask = np.asarray(mask, dtype=bool)
    rows = np.flatnonzero(mask.any(axis=1))
    if rows.size == 0:
        return None
    cols = np.flatnonzero(mask.any(axis=0))
    return int(cols[0]), int(rows[0]), int(cols[-1]) + 1, int(rows[-1]) + 1


def _clean(mask: np.ndarray) -> np.ndarray:
    """Remove specks (3x3 opening, unless that would erase most of the mask), then fill holes."""
    opened = dilate(erode(mask))
    if opened.sum() >= 0.5 * mask.sum():
        mask = opened
    return fill_holes(mask)


def _border(a: np.ndarray, strip: int) -> np.ndarray:
    """The pixels of a ``strip``-wide frame around the 2-D array ``a`` (each pixel once)."""
    return np.concatenate(
        [
            a[:strip].ravel(),
            a[-strip:].ravel(),
            a[strip:-strip, :strip].ravel(),
            a[strip:-strip, -strip:].ravel(),
        ]
    )


def _ellipse(h: int, w: int) -> np.ndarray:
    """A centred ellipse spanning 70% of the width and 80% of the height."""
    y = (np.arange(h) + 0.5 - h / 2.0) / (0.40 * h)
    x = (np.arange(w) + 0.5 - w / 2.0) / (0.35 * w)
    return (y[:, None] ** 2 + x[None, :] ** 2) <= 1.0


def foreground_mask(rgb: np.ndarray) -> np.ndarray:
    """HxWx3 uint8 picture -> HxW bool mask of the garment (True = foreground)."""
    rgb = np.asarray(rgb)
    if rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ValueError(f"expected an HxWx3 picture, got shape {rgb.shape}")
    if rgb.dtype != np.uint8:
        rgb = np.clip(np.rint(rgb.astype(np.float64)), 0, 255).astype(np.uint8)
    h, w = rgb.shape[:2]
    full = np.ones((h, w), dtype=bool)
    if min(h, w) < 8:
        return full

    planes = srgb_to_lab_planes(rgb)
    strip = max(1, min(h, w) // 64)
    dist = np.zeros((h, w), dtype=np.float32)
    for plane in planes:
        d = plane - np.float32(np.median(_border(plane, strip)))
        d *= d
        dist += d
    np.sqrt(dist, out=dist)
    border_dist = _border(dist, strip)
    spread = float(np.percentile(border_dist, 75))
    if spread > MAX_BORDER_SPREAD:
        return full  # no plain background to separate from
    # noise of the background itself: the garment may run off the frame and cover some border
    noise = float(np.percentile(border_dist[border_dist <= MAX_BORDER_SPREAD], 98))

    def accept(m: np.ndarray) -> np.ndarray | None:
        frac = m.mean()
        if frac > MAX_FRACTION:
            return full
        return m if frac >= MIN_FRACTION else None

    threshold = max(THRESHOLD, 3.0 * spread, noise + 4.0)
    low = max(2.5, 1.5 * noise + 1.0)  # just above the border noise
    strong = _clean(dist > threshold)
    found = accept(strong)
    if found is not None and found is not full and noise <= LOW_CONTRAST_NOISE and found.mean() < 0.25:
        # A small mask on a clean background may be only the shaded part of a light garment
        # (white on white): take the low threshold if it finds a clearly larger, still bounded region.
        weak = _clean(dist > low)
        if 1.5 * found.mean() <= weak.mean() <= LOW_CONTRAST_MAX_FRACTION:
            return weak
    if found is not None:
        return found

    # Low contrast (white on white): nothing above the threshold; try just above the noise.
    if float(dist.max()) <= low:
        return full  # nothing in the picture stands out from the background
    found = accept(_clean(dist > low))
    if found is not None:
        return found

    # Edges of the lightness channel, their outline filled.
    lum = planes[0]
    grad = np.zeros((h, w), dtype=np.float32)
    grad[:, 1:] = np.abs(np.diff(lum, axis=1))
    grad[1:, :] = np.maximum(grad[1:, :], np.abs(np.diff(lum, axis=0)))
    grad_noise = float(np.percentile(_border(grad, strip), 98))
    edges = dilate(grad > max(1.0, 2.0 * grad_noise))
    found = accept(fill_holes(edges))
    if found is not None:
        return found
    return _ellipse(h, w)
