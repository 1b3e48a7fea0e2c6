"""Stage 2, featurize: decode a picture, its dominant colours and its thumbnail (worker threads)."""

from __future__ import annotations

import hashlib
import io
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
from PIL import Image

from stygig.artifact.writer import N_COLOURS
from stygig.build.read import picture_sha256, read_source
from stygig.catalog.ingest import CatalogItem
from stygig.errors import ImageError, StygigError
from stygig.features.colour.dominant import dominant_colours
from stygig.images import decode_image

THUMB_SIDE = 192


@dataclass
class Featurized:
    item: CatalogItem
    image: Image.Image | None
    thumb: bytes | None
    colours: list[dict[str, Any]]
    error: str | None = None
    seconds: float = 0.0
    sha256: str | None = None  # of the picture's bytes (recorded as the row's image_sha256)


def featurize(item: CatalogItem) -> Featurized:
    t0 = time.perf_counter()
    try:
        data = read_source(item.source)
        img = decode_image(data)
        digest = picture_sha256(item.source) if isinstance(data, str) else hashlib.sha256(data).hexdigest()
    except ImageError as e:
        return Featurized(item, None, None, [], str(e), time.perf_counter() - t0)
    except StygigError as e:
        return Featurized(item, None, None, [], f"unreadable: {e}", time.perf_counter() - t0)
    except OSError as e:  # decoded, then gone before it was hashed
        return Featurized(item, None, None, [], f"unreadable: {e.strerror or e}", time.perf_counter() - t0)
    # colours and the thumbnail both want a small picture: one fast integer reduction serves both
    factor = max(1, min(img.size) // THUMB_SIDE)
    small = img.reduce(factor) if factor > 1 else img.copy()
    colours = [c.to_dict() for c in dominant_colours(small, k=N_COLOURS)]
    thumb = small
    thumb.thumbnail((THUMB_SIDE, THUMB_SIDE), Image.BILINEAR, reducing_gap=2.0)
    buf = io.BytesIO()
    thumb.save(buf, "JPEG", quality=85)
    return Featurized(item, img, buf.getvalue(), colours, None, time.perf_counter() - t0, digest)


def colour_array(colours: list[dict[str, Any]]) -> np.ndarray:
    """An item's colours as its ``colors.npy`` row: (N_COLOURS, 4) of (L, a, b, weight)."""
    arr = np.zeros((N_COLOURS, 4), dtype=np.float32)
    for j, c in enumerate(colours[:N_COLOURS]):
        arr[j, :3] = c["lab"]
        arr[j, 3] = c["weight"]
    return arr
