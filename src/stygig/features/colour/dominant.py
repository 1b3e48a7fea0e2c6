"""Dominant colours of the garment in a picture: weighted k-means in CIELAB over the foreground.

:func:`dominant_colours` clusters the *foreground* pixels (see :mod:`stygig.features.colour.mask`)
with k-means in CIELAB, not the mean colour of the whole picture. Deterministic: the same picture
and seed always give the same colours.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
from PIL import Image

from stygig.features.colour.mask import erode, foreground_mask
from stygig.features.colour.names import colour_names
from stygig.features.colour.space import delta_e, lab_to_srgb, srgb_to_lab
from stygig.images import to_rgb

__all__ = ["DominantColour", "dominant_colours", "pack_colours"]

@dataclass(frozen=True)
class DominantColour:
    lab: tuple[float, float, float]
    rgb: tuple[int, int, int]
    hex: str
    weight: float
    name: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "hex": self.hex,
            "rgb": [int(v) for v in self.rgb],
            "lab": [round(float(v), 2) for v in self.lab],
            "weight": round(float(self.weight), 4),
            "name": self.name,
        }

    @classmethod
    def from_lab(cls, lab: Any, weight: float) -> "DominantColour":
        return cls.many(np.asarray(lab, dtype=np.float64).reshape(1, 3), [weight])[0]

    @classmethod
    def many(cls, labs: np.ndarray, weights: Sequence[float]) -> list["DominantColour"]:
        """One colour per row of ``labs (n, 3)``: sRGB and names computed for all rows at once."""
        labs = np.asarray(labs, dtype=np.float64).reshape(-1, 3)
        rgbs = lab_to_srgb(labs)
        names = colour_names(labs)
        out = []
        for lab, rgb, weight, name in zip(labs, rgbs, weights, names):
            rgb_t = tuple(int(v) for v in rgb)
            out.append(
                cls(
                    lab=tuple(float(v) for v in lab),  # type: ignore[arg-type]
                    rgb=rgb_t,  # type: ignore[arg-type]
                    hex="#{:02x}{:02x}{:02x}".format(*rgb_t),
                    weight=float(weight),
                    name=name,
                )
            )
        return out


def _as_rgb_image(img: Any) -> Image.Image:
    if isinstance(img, Image.Image):
        return to_rgb(img)
    arr = np.asarray(img)
    if arr.ndim not in (2, 3) or (arr.ndim == 3 and arr.shape[2] not in (3, 4)):
        raise ValueError(f"expected an HxW, HxWx3 or HxWx4 image array, got shape {arr.shape}")
    if arr.size == 0:
        raise ValueError("empty image array")
    if arr.dtype != np.uint8:
        arr = np.clip(np.rint(arr.astype(np.float64)), 0, 255).astype(np.uint8)
    return to_rgb(Image.fromarray(arr))


def _kmeans(
    x: np.ndarray, w: np.ndarray, k: int, rng: np.random.Generator, iters: int
) -> tuple[np.ndarray, np.ndarray]:
    """Weighted k-means with k-means++ seeding. Returns (centres (k,3), weights (k,)).

    Distances are ``|x|^2 - 2 x.c + |c|^2`` and the cluster sums one matrix product per step, so a
    Lloyd step costs a handful of (n, k) array operations (this runs on every photo query).
    """
    n = len(x)
    centres = np.empty((k, 3), dtype=np.float64)
    first = rng.choice(n, p=w / w.sum())
    centres[0] = x[first]
    d2 = np.sum((x - centres[0]) ** 2, axis=1)
    for j in range(1, k):
        p = w * d2
        total = p.sum()
        if total <= 0.0:  # fewer distinct colours than k (callers prevent this; be safe)
            centres = centres[:j]
            break
        idx = rng.choice(n, p=p / total)
        centres[j] = x[idx]
        d2 = np.minimum(d2, np.sum((x - centres[j]) ** 2, axis=1))
    k = len(centres)
    xx = np.einsum("ij,ij->i", x, x)[:, None]
    wx = np.concatenate([w[:, None] * x, w[:, None]], axis=1)  # weighted coordinates and the weight
    ids = np.arange(k)

    def assign(c: np.ndarray) -> np.ndarray:
        return np.argmin(xx - 2.0 * (x @ c.T) + np.einsum("ij,ij->i", c, c)[None, :], axis=1)

    labels = None
    for _ in range(iters):
        new_labels = assign(centres)
        if labels is not None and np.array_equal(new_labels, labels):
            break
        labels = new_labels
        sums = (labels[None, :] == ids[:, None]).astype(np.float64) @ wx  # (k, 4): sums and mass
        mass = sums[:, 3]
        # an empty cluster keeps its previous centre
        centres = np.where((mass > 0)[:, None], sums[:, :3] / np.where(mass > 0, mass, 1.0)[:, None], centres)
    labels = assign(centres)
    mass = np.bincount(labels, weights=w, minlength=k)
    keep = mass > 0
    return centres[keep], mass[keep]


def _merge_close(centres: np.ndarray, mass: np.ndarray, threshold: float) -> tuple[np.ndarray, np.ndarray]:
    """Merge the closest pair of clusters (CIEDE2000 below ``threshold``) until none is left."""
    centres, mass = centres.copy(), mass.astype(np.float64).copy()
    while len(centres) > 1:
        d = delta_e(centres[:, None, :], centres[None, :, :])
        d[np.diag_indices(len(centres))] = np.inf
        i, j = np.unravel_index(int(np.argmin(d)), d.shape)
        if d[i, j] >= threshold:
            break
        i, j = min(i, j), max(i, j)
        total = mass[i] + mass[j]
        centres[i] = (centres[i] * mass[i] + centres[j] * mass[j]) / total
        mass[i] = total
        centres = np.delete(centres, j, axis=0)
        mass = np.delete(mass, j)
    return centres, mass


def dominant_colours(
    img: Image.Image | np.ndarray,
    k: int = 3,
    *,
    mask: np.ndarray | None = None,
    seed: int = 0,
    max_pixels: int = 4096,
    merge_delta_e: float = 8.0,
    min_weight: float = 0.02,
    iterations: int = 20,
) -> list[DominantColour]:
    """The ``k`` (at most) dominant colours of the garment in a picture, heaviest first.

    The picture is downscaled to about ``max_pixels`` pixels; the background is removed with
    :func:`stygig.features.colour.mask.foreground_mask` unless ``mask`` (HxW bool, same size as the
    picture) is given; the foreground pixels are clustered with weighted k-means in CIELAB
    (k-means++ seeding from ``seed``, at most ``iterations`` Lloyd steps). Clusters closer than
    ``merge_delta_e`` (CIEDE2000) are merged, clusters lighter than ``min_weight`` (blended edge
    pixels, specks) are dropped, and the weights of the rest sum to 1.
    """
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")
    if max_pixels < 1:
        raise ValueError(f"max_pixels must be at least 1, got {max_pixels}")
    image = _as_rgb_image(img)
    width, height = image.size
    fg: np.ndarray | None = None
    if mask is not None:
        mask = np.asarray(mask, dtype=bool)
        if mask.shape != (height, width):
            raise ValueError(f"mask shape {mask.shape} does not match the image ({height}, {width})")
        if not mask.any():
            raise ValueError("mask selects no pixels")

    if width * height > max_pixels:
        scale = (max_pixels / (width * height)) ** 0.5
        size = (max(1, int(width * scale)), max(1, int(height * scale)))
        # Box-filtered for the mask (smooth, little noise); nearest-neighbour samples for the
        # colours, so that no blended colour that is not in the picture enters the clustering.
        boxed = np.asarray(image.resize(size, Image.Resampling.BOX))
        sampled = np.asarray(image.resize(size, Image.Resampling.NEAREST))
        if mask is not None:
            m_img = Image.fromarray(mask.astype(np.uint8) * 255)
            m_small = np.asarray(m_img.resize(size, Image.Resampling.BOX))
            fg = m_small >= 128
            if not fg.any():
                fg = m_small > 0
            if not fg.any():
                fg = np.ones(fg.shape, dtype=bool)
    else:
        boxed = sampled = np.asarray(image)
        fg = mask if mask is not None else None
    if fg is None:
        fg = foreground_mask(boxed)
        # Drop the one-pixel rim where garment and background blend, if enough is left.
        inner = erode(fg)
        if inner.sum() >= max(16, 0.25 * fg.sum()):
            fg = inner

    pixels = sampled[fg]
    codes = (pixels[:, 0].astype(np.int32) << 16) | (pixels[:, 1].astype(np.int32) << 8) | pixels[:, 2]
    uniq, counts = np.unique(codes, return_counts=True)
    uniq_rgb = np.stack([(uniq >> 16) & 255, (uniq >> 8) & 255, uniq & 255], axis=1).astype(np.uint8)
    x = srgb_to_lab(uniq_rgb)
    w = counts.astype(np.float64)

    k_eff = min(k, len(uniq))
    if k_eff == 1:
        centres = (x * w[:, None]).sum(axis=0, keepdims=True) / w.sum()
        mass = np.array([w.sum()])
    else:
        rng = np.random.default_rng(seed)
        centres, mass = _kmeans(x, w, k_eff, rng, iterations)
    centres, mass = _merge_close(centres, mass, merge_delta_e)

    weights = mass / mass.sum()
    keep = weights >= min_weight
    if not keep.any():
        keep = weights == weights.max()
    centres, weights = centres[keep], weights[keep]
    weights = weights / weights.sum()
    # heaviest first; ties broken by the colour itself, so the order is fully determined
    order = np.lexsort((centres[:, 2], centres[:, 1], centres[:, 0], -weights))
    return DominantColour.many(centres[order], weights[order])


def pack_colours(
    colour_lists: Sequence[Sequence[DominantColour | dict[str, Any]]], k: int
) -> tuple[np.ndarray, np.ndarray]:
    """Lists of dominant colours -> padded arrays ``lab (n, k, 3)`` and ``weights (n, k)``
    (float32), the layout :func:`harmony_batch` takes. Missing colours get weight 0."""
    n = len(colour_lists)
    lab = np.zeros((n, k, 3), dtype=np.float32)
    w = np.zeros((n, k), dtype=np.float32)
    for i, colours in enumerate(colour_lists):
        for j, c in enumerate(list(colours)[:k]):
            if isinstance(c, DominantColour):
                lab[i, j], w[i, j] = c.lab, c.weight
            else:
                lab[i, j], w[i, j] = c["lab"], c["weight"]
    return lab, w
