"""The ``lite`` encoder: a deterministic descriptor computed from the picture itself.

No weights, no model: it exists so that StyGig works out of the box on the embedded sample
catalog and in tests. The vector concatenates, each block L2-normalised and weighted:

* silhouette: the foreground mask cropped to its bounding box, padded to a square and resized to
  16x16 (shape), plus row and column fill profiles of the unpadded crop and its aspect ratio;
* colour: a CIELAB histogram (4 x 4 x 4 bins) of the foreground;
* texture: histograms of gradient orientations (8 bins, magnitude-weighted) over 2x2 cells of
  the foreground crop.

Rows are L2-normalised, so inner product is cosine similarity, as with CLIP.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import numpy as np
from PIL import Image

from stygig.errors import ArtifactError
from stygig.features.colour.mask import foreground_mask
from stygig.features.colour.space import srgb_to_lab
from stygig.features.encoders.base import Encoder, l2_normalise

WORK_SIDE = 128
SHAPE_SIDE = 16
PROFILE_BINS = 16
LAB_BINS = (4, 4, 4)
ORIENT_BINS = 8
CELLS = 2

# block weights (tuned on the sample catalog for neighbour-vote category accuracy)
W_SHAPE = 1.0
W_PROFILE = 0.6
W_ASPECT = 0.5
W_COLOUR = 0.45
W_TEXTURE = 0.5

VERSION = 1


def _resize_arr(arr: np.ndarray, size: tuple[int, int], resample=Image.BILINEAR) -> np.ndarray:
    """Resize a float32 2-D array to (w, h)."""
    img = Image.fromarray(arr.astype(np.float32), mode="F")
    return np.asarray(img.resize(size, resample), dtype=np.float32)


def _unit(v: np.ndarray) -> np.ndarray:
    n = float(np.linalg.norm(v))
    return v / n if n > 0 else v


def describe(img: Image.Image) -> np.ndarray:
    img = img.convert("RGB")
    w, h = img.size
    scale = WORK_SIDE / max(w, h)
    if scale < 1:
        img = img.resize((max(1, round(w * scale)), max(1, round(h * scale))), Image.BILINEAR)
    rgb = np.asarray(img, dtype=np.uint8)
    mask = foreground_mask(rgb)
    ys, xs = np.nonzero(mask)
    if len(ys) == 0:
        y0, y1, x0, x1 = 0, rgb.shape[0], 0, rgb.shape[1]
        mask = np.ones(rgb.shape[:2], dtype=bool)
    else:
        y0, y1, x0, x1 = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
    crop_mask = mask[y0:y1, x0:x1].astype(np.float32)
    crop_rgb = rgb[y0:y1, x0:x1]
    ch, cw = crop_mask.shape

    # silhouette on a square canvas (keeps aspect)
    side = max(ch, cw)
    square = np.zeros((side, side), dtype=np.float32)
    oy, ox = (side - ch) // 2, (side - cw) // 2
    square[oy : oy + ch, ox : ox + cw] = crop_mask
    shape = _resize_arr(square, (SHAPE_SIDE, SHAPE_SIDE), Image.BOX).ravel()
    shape = shape - shape.mean()

    # fill profiles of the stretched crop
    stretched = _resize_arr(crop_mask, (PROFILE_BINS, PROFILE_BINS), Image.BOX)
    profile = np.concatenate([stretched.mean(axis=1), stretched.mean(axis=0)])
    profile = profile - profile.mean()

    aspect = np.log(cw / ch) if ch and cw else 0.0
    fill = float(crop_mask.mean())
    aspect_block = np.array([np.tanh(aspect), fill - 0.5], dtype=np.float32)

    # colour histogram in Lab over foreground
    fg = crop_mask > 0.5
    lab = srgb_to_lab(crop_rgb[fg]) if fg.any() else np.zeros((1, 3))
    lab = np.asarray(lab, dtype=np.float64).reshape(-1, 3)
    hist, _ = np.histogramdd(
        lab, bins=LAB_BINS, range=((0, 100), (-80, 80), (-80, 80))
    )
    colour = np.sqrt(hist.ravel() / max(1, lab.shape[0])).astype(np.float32)

    # texture: orientation histograms of the grey crop inside the mask
    grey = crop_rgb.astype(np.float32).mean(axis=2)
    gy, gx = np.gradient(grey)
    mag = np.hypot(gx, gy) * (crop_mask > 0.5)
    ang = np.mod(np.arctan2(gy, gx), np.pi)
    bins = np.minimum((ang / np.pi * ORIENT_BINS).astype(int), ORIENT_BINS - 1)
    tex = np.zeros((CELLS, CELLS, ORIENT_BINS), dtype=np.float32)
    ry = np.minimum((np.arange(ch) * CELLS) // max(1, ch), CELLS - 1)
    rx = np.minimum((np.arange(cw) * CELLS) // max(1, cw), CELLS - 1)
    cy = np.broadcast_to(ry[:, None], (ch, cw))
    cx = np.broadcast_to(rx[None, :], (ch, cw))
    np.add.at(tex, (cy.ravel(), cx.ravel(), bins.ravel()), mag.ravel())
    tex = np.sqrt(tex.ravel() / (mag.sum() + 1e-6))

    blocks = [
        W_SHAPE * _unit(shape),
        W_PROFILE * _unit(profile),
        W_ASPECT * aspect_block,
        W_COLOUR * _unit(colour),
        W_TEXTURE * _unit(tex),
    ]
    return np.concatenate(blocks).astype(np.float32)


DIM = SHAPE_SIDE * SHAPE_SIDE + 2 * PROFILE_BINS + 2 + int(np.prod(LAB_BINS)) + CELLS * CELLS * ORIENT_BINS


class LiteEncoder(Encoder):
    kind = "lite"
    dim = DIM
    supports_text = False
    batch_size = 64

    def encode_images(self, images: Sequence[Image.Image]) -> np.ndarray:
        if not images:
            return np.zeros((0, self.dim), dtype=np.float32)
        return l2_normalise(np.stack([describe(im) for im in images]))

    def save(self, directory: Path) -> dict[str, Any]:
        Path(directory).mkdir(parents=True, exist_ok=True)
        return {"kind": self.kind, "dim": self.dim, "version": VERSION}

    @classmethod
    def load(cls, directory: Path, config: dict[str, Any]) -> "LiteEncoder":
        if config.get("version") != VERSION or config.get("dim") != DIM:
            raise ArtifactError(
                f"artifact's lite encoder is version {config.get('version')} (dim {config.get('dim')}); "
                f"this StyGig has version {VERSION} (dim {DIM}): rebuild the artifact"
            )
        return cls()
