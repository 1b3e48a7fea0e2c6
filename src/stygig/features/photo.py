"""A photo query's features in one call: its embedding and its dominant colours.

The two are independent, so they run side by side: the encoder (ONNX Runtime releases the GIL for
the whole tower) embeds the picture in a helper thread while this thread extracts the dominant
colours. On the 2-core machine the tower cannot keep both cores busy for all of its ~20 ms (its
layer norms, softmax and the small matrix products between the large ones run at about one
core), so the colour work fits mostly in those gaps instead of adding its ~3 ms after the tower.

The colours are taken from the same picture a catalog build takes them from (see
:func:`photo_colours`), so a query's colours and its candidates' colours are comparable.
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from PIL import Image

from stygig.features.colour.dominant import DominantColour, dominant_colours
from stygig.features.encoders.base import Encoder

#: a catalog build reduces each picture by an integer factor to about this side for its colours
#: and thumbnail; a query photo is reduced the same way
COLOUR_SIDE = 192

_lock = threading.Lock()
_pool: ThreadPoolExecutor | None = None
_pool_pid = 0


def _executor() -> ThreadPoolExecutor:
    """One small pool per process (a pool made before a fork has no threads in the child)."""
    global _pool, _pool_pid
    pid = os.getpid()
    if _pool is None or _pool_pid != pid:
        with _lock:
            if _pool is None or _pool_pid != pid:
                _pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="stygig-embed")
                _pool_pid = pid
    return _pool


def colour_picture(image: Image.Image, side: int = COLOUR_SIDE) -> Image.Image:
    """The picture the colours are computed from: reduced by an integer factor (a box filter) so
    that its shorter side stays at least ``side``."""
    factor = max(1, min(image.size) // side)
    return image.reduce(factor) if factor > 1 else image


def photo_colours(image: Image.Image, k: int) -> list[DominantColour]:
    """The dominant colours of a photo, as a catalog build computes them."""
    return dominant_colours(colour_picture(image), k=k)


def photo_features(encoder: Encoder, image: Image.Image, k: int) -> tuple[np.ndarray, list[DominantColour]]:
    """``(embedding (dim,), dominant colours)`` of one photo; the colours are computed while the
    encoder runs when the encoder releases the GIL (:attr:`Encoder.releases_gil`)."""
    if not encoder.releases_gil:
        return encoder.encode_images([image])[0], photo_colours(image, k)
    embedding = _executor().submit(encoder.encode_images, [image])
    try:
        colours = photo_colours(image, k)
    finally:
        vectors = embedding.result()  # the tower's own errors surface here, after the colours'
    return vectors[0], colours
