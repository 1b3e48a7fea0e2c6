"""Which drawer draws each category, in what box shape, on which canvases."""

from __future__ import annotations

from typing import Callable

import numpy as np

from stygig.catalog.sample.accessories import _bag, _belt, _hat, _scarf
from stygig.catalog.sample.bottoms import _pants, _shorts, _skirt
from stygig.catalog.sample.eyewear import _sunglasses
from stygig.catalog.sample.footwear import _flats, _heels, _shoes, _sneakers
from stygig.catalog.sample.jewellery import _necklace
from stygig.catalog.sample.onepieces import _dress, _jumpsuit
from stygig.catalog.sample.outerwear import _blazer, _coat, _jacket
from stygig.catalog.sample.painter import _Painter
from stygig.catalog.sample.styles import Look
from stygig.catalog.sample.tops import _shirt, _tshirt

Drawer = Callable[[_Painter, np.random.Generator, Look], None]

#: category: (drawer, box aspect range (w/h))
DRAWERS: dict[str, tuple[Drawer, tuple[float, float]]] = {
    "shirt": (_shirt, (1.05, 1.18)),
    "tshirt": (_tshirt, (1.08, 1.22)),
    "jacket": (_jacket, (0.9, 1.0)),
    "coat": (_coat, (0.56, 0.66)),
    "blazer": (_blazer, (0.8, 0.88)),
    "pants": (_pants, (0.42, 0.5)),
    "shorts": (_shorts, (1.0, 1.15)),
    "skirt": (_skirt, (0.85, 1.0)),
    "shoes": (_shoes, (2.3, 2.6)),
    "sneakers": (_sneakers, (2.0, 2.3)),
    "heels": (_heels, (1.3, 1.55)),
    "flats": (_flats, (2.9, 3.4)),
    "bag": (_bag, (0.9, 1.1)),
    "hat": (_hat, (1.55, 1.85)),
    "belt": (_belt, (1.7, 2.1)),
    "necklace": (_necklace, (0.85, 1.0)),
    "scarf": (_scarf, (0.6, 0.7)),
    "sunglasses": (_sunglasses, (2.5, 2.8)),
    "dress": (_dress, (0.5, 0.58)),
    "jumpsuit": (_jumpsuit, (0.46, 0.52)),
}
#: cuts whose box differs from their category's
CUT_ASPECTS: dict[str, tuple[float, float]] = {
    "pencil skirt": (0.8, 0.88), "pleated midi": (0.7, 0.8), "tennis skirt": (1.0, 1.15),
    "running shorts": (1.1, 1.25), "basketball shorts": (0.9, 1.0),
    "evening gown": (0.36, 0.42), "sheath dress": (0.5, 0.56),
    "briefcase": (1.3, 1.5), "gym duffle": (1.45, 1.65),
    "beanie": (0.95, 1.1), "baseball cap": (1.35, 1.55), "bucket hat": (1.35, 1.55),
    "silk square": (0.95, 1.05), "shield": (2.7, 3.0), "running shoe": (2.1, 2.4), "espadrille wedge": (1.4, 1.6),
}

_CANVAS_ASPECTS = (3 / 4, 4 / 5, 2 / 3, 1.0, 1.0, 4 / 3, 3 / 2, 5 / 4)
#: canvases suited to the garment's shape: wide things mostly on square or landscape pictures
_CANVAS_FOR = {
    "tall": (3 / 4, 4 / 5, 2 / 3, 1.0, 5 / 4),
    "wide": (1.0, 1.0, 4 / 3, 3 / 2, 5 / 4, 4 / 5),
}
_SHAPE = {
    "pants": "tall", "dress": "tall", "jumpsuit": "tall", "coat": "tall", "scarf": "tall",
    "shoes": "wide", "sneakers": "wide", "flats": "wide", "hat": "wide", "belt": "wide", "sunglasses": "wide",
}
