"""Which drawer draws each category, in what box shape, on which canvases."""

from __future__ import annotations

from typing import Callable

import numpy as np

from stygig.catalog.sample.accessories import _bag, _hat
from stygig.catalog.sample.bottoms import _pants, _shorts, _skirt
from stygig.catalog.sample.footwear import _flats, _heels, _shoes, _sneakers
from stygig.catalog.sample.onepieces import _dress, _jumpsuit
from stygig.catalog.sample.painter import _Painter
from stygig.catalog.sample.tops import _jacket, _shirt, _tshirt

DRAWERS: dict[str, tuple[Callable[[_Painter, np.random.Generator], str], tuple[float, float], str]] = {
    # category: (drawer, box aspect range (w/h), pattern weights key)
    "shirt": (_shirt, (1.05, 1.18), "clothes"),
    "tshirt": (_tshirt, (1.08, 1.22), "clothes"),
    "jacket": (_jacket, (0.85, 0.95), "clothes"),
    "pants": (_pants, (0.42, 0.5), "clothes"),
    "shorts": (_shorts, (1.0, 1.15), "clothes"),
    "skirt": (_skirt, (0.85, 1.0), "clothes"),
    "shoes": (_shoes, (2.3, 2.6), "footwear"),
    "sneakers": (_sneakers, (2.0, 2.3), "footwear"),
    "heels": (_heels, (1.3, 1.55), "footwear"),
    "flats": (_flats, (2.9, 3.4), "footwear"),
    "bag": (_bag, (0.9, 1.1), "bag"),
    "hat": (_hat, (1.55, 1.85), "hat"),
    "dress": (_dress, (0.5, 0.58), "clothes"),
    "jumpsuit": (_jumpsuit, (0.46, 0.52), "clothes"),
}

_CANVAS_ASPECTS = (3 / 4, 4 / 5, 2 / 3, 1.0, 1.0, 4 / 3, 3 / 2, 5 / 4)
#: canvases suited to the garment's shape: wide things mostly on square or landscape pictures
_CANVAS_FOR = {
    "tall": (3 / 4, 4 / 5, 2 / 3, 1.0, 5 / 4),
    "wide": (1.0, 1.0, 4 / 3, 3 / 2, 5 / 4, 4 / 5),
}
_SHAPE = {"pants": "tall", "dress": "tall", "jumpsuit": "tall", "shoes": "wide", "sneakers": "wide", "flats": "wide", "hat": "wide"}
