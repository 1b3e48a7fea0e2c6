"""One item: its picture and its metadata, from (seed, category, number)."""

from __future__ import annotations

import io
import math
import zlib
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from stygig.catalog.sample.colours import PALETTE, RGB, _lum
from stygig.catalog.sample.drawers import _CANVAS_ASPECTS, _CANVAS_FOR, _SHAPE, CUT_ASPECTS, DRAWERS
from stygig.catalog.sample.fabric import FABRIC_WORD, PATTERN_WORD, _fabric
from stygig.catalog.sample.painter import _Painter, _u
from stygig.catalog.sample.shop import shop_attributes
from stygig.catalog.sample.styles import STYLE_TABLE, Look, choose_look
from stygig.errors import CatalogError, InvalidInput
from stygig.taxonomy import Taxonomy

GENERATOR_VERSION = 2
JPEG_QUALITY = 90

#: categories in the order items are dealt (round robin): the default taxonomy's order
CATEGORIES: tuple[str, ...] = tuple(Taxonomy.default().categories)


@lru_cache(maxsize=1)
def _taxonomy() -> Taxonomy:
    """The default taxonomy: the one source of each category's group, display name and gender."""
    tax = Taxonomy.default()
    undrawn = sorted(set(tax.categories) - (set(DRAWERS) & set(STYLE_TABLE)))
    if undrawn:
        raise CatalogError(f"the sample catalog cannot draw the default taxonomy's categories: {', '.join(undrawn)}")
    return tax


@dataclass(frozen=True)
class SampleItem:
    id: str
    category: str
    group: str
    gender: str
    name: str
    look: Look
    shop: dict[str, Any]

    @property
    def image(self) -> str:
        return f"train/{self.group}/{self.category}/{self.id}.jpg"

    def attributes(self) -> dict[str, Any]:
        """What the picture shows (colour, pattern, cut, style, fabric, palette family), the
        synthetic shop data (price, in_stock, brand, sizes), and ``synthetic: true``."""
        lk = self.look
        return {
            "color": lk.color, "pattern": lk.pattern, "cut": lk.cut, "style": lk.style, "fabric": lk.fabric,
            "palette": lk.palette, **self.shop, "synthetic": True,
        }

    def row(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "image": self.image,
            "category": self.category,
            "gender": self.gender,
            "name": self.name,
            "attributes": self.attributes(),
        }


def _name(look: Look, display: str) -> str:
    """The item's name: colour, pattern, fabric, category ("navy striped wool blazer")."""
    fabric = FABRIC_WORD[look.fabric]
    words = (look.color, PATTERN_WORD[look.pattern], "" if fabric in look.color.split() else fabric, display)
    return " ".join(w for w in words if w)


def _background(w: int, h: int, garment: RGB, rng: np.random.Generator) -> Image.Image:
    r = rng.random()
    if _lum(garment) > 200:  # light grey behind white and cream garments, so they stand out
        g = _u(rng, 222, 232)
        base = np.array([g, g, g + _u(rng, 0, 3)])
    elif r < 0.2:  # very light grey
        g = _u(rng, 228, 238)
        base = np.array([g, g, g + _u(rng, 0, 3)])
    elif r < 0.35:  # light beige
        base = np.array([_u(rng, 240, 247), _u(rng, 234, 240), _u(rng, 222, 230)])
    else:
        g = _u(rng, 243, 253)
        tint = _u(rng, -3, 3)
        base = np.array([g + tint, g, g - tint])
    yy = np.linspace(0.0, 1.0, h, dtype=np.float32)[:, None, None]
    grad = _u(rng, -7, 4)  # a studio sweep: slightly darker (or lighter) toward the floor
    column = np.clip(base[None, None, :] + grad * yy + 0.5, 0, 255).astype(np.uint8)
    return Image.fromarray(column).resize((w, h), Image.Resampling.NEAREST)


def render_item(category: str, number: int, seed: int = 0) -> tuple[Image.Image, SampleItem]:
    """Draw item ``number`` of ``category``: the picture and its metadata.

    Depends only on (seed, category, number): the same arguments give the same pixels.
    """
    if category not in DRAWERS:
        raise InvalidInput(f"the sample catalog has no category {category!r}")
    key = zlib.crc32(category.encode())  # an item does not depend on the taxonomy's order
    rng = np.random.default_rng([int(seed), key, int(number), GENERATOR_VERSION])
    drawer, (amin, amax) = DRAWERS[category]

    look = choose_look(category, rng)
    amin, amax = CUT_ASPECTS.get(look.cut, (amin, amax))
    base = PALETTE[look.color]
    info = _taxonomy().categories[category]
    if info.default_gender == "female":  # skirts, heels, flats, dresses, jumpsuits
        gender = "female"
    else:
        gender = ("male", "female", "unisex")[int(rng.choice(3, p=[0.36, 0.3, 0.34]))]

    # canvas: 256..640 px, portrait, square or landscape
    aspects = _CANVAS_FOR.get(_SHAPE.get(category, ""), _CANVAS_ASPECTS)
    aspect = aspects[int(rng.integers(len(aspects)))]
    long_side = int(rng.integers(320, 641))
    if aspect >= 1:
        cw, ch = long_side, max(256, int(round(long_side / aspect)))
    else:
        ch, cw = long_side, max(256, int(round(long_side * aspect)))

    # the garment's box: its own aspect, 55-85 % of what fits, anywhere with a margin
    box_aspect = _u(rng, amin, amax)
    fit = min(ch, cw / box_aspect)
    bh = max(24, int(fit * _u(rng, 0.55, 0.85)))
    bw = max(24, int(bh * box_aspect))
    if bw > cw - 16:
        bw = cw - 16
        bh = int(bw / box_aspect)
    margin_x, margin_y = (cw - bw) // 2, (ch - bh) // 2
    x0 = margin_x + int(round(margin_x * _u(rng, -0.6, 0.6)))
    y0 = margin_y + int(round(margin_y * _u(rng, -0.6, 0.6)))

    painter = _Painter(bw, bh, base)
    drawer(painter, rng, look)
    # outlines go under the details but over the fabric: draw them on a layer of their own
    details = painter.det
    outl = Image.new("RGBA", details.size, (0, 0, 0, 0))
    painter.det, painter.dd = outl, ImageDraw.Draw(outl)
    painter.draw_outlines(0.005)
    over = Image.alpha_composite(outl, details)

    mask = painter.mask.resize((bw, bh), Image.Resampling.BOX)
    fabric = _fabric(bw, bh, base, look.pattern, rng, look.fabric, look.style)
    obj = Image.fromarray(np.clip(fabric, 0, 255).astype(np.uint8)).convert("RGBA")
    obj.putalpha(mask)
    obj = Image.alpha_composite(obj, over.resize((bw, bh), Image.Resampling.BOX))
    if rng.random() < 0.5:
        obj = obj.transpose(Image.Transpose.FLIP_LEFT_RIGHT)

    canvas = _background(cw, ch, base, rng)
    # soft drop shadow from the garment's own alpha, computed only around the garment
    radius = max(2.0, 0.025 * math.sqrt(bw * bh))
    off = max(2, int(0.02 * math.sqrt(bw * bh)))
    dx = int(off * _u(rng, -0.5, 0.8))
    pad = int(3 * radius) + off + 2
    rx0, ry0 = max(0, x0 - pad), max(0, y0 - pad)
    rx1, ry1 = min(cw, x0 + bw + pad), min(ch, y0 + bh + pad)
    shadow = Image.new("L", (rx1 - rx0, ry1 - ry0), 0)
    shadow.paste(obj.getchannel("A"), (x0 + dx - rx0, y0 + off - ry0))
    shadow = shadow.filter(ImageFilter.GaussianBlur(radius))
    s = np.asarray(shadow, np.float32)[..., None] * (0.22 / 255.0)
    region = np.asarray(canvas.crop((rx0, ry0, rx1, ry1)), np.float32)
    canvas.paste(Image.fromarray(np.clip(region * (1.0 - s) + 0.5, 0, 255).astype(np.uint8)), (rx0, ry0))
    img = canvas
    img.paste(obj, (x0, y0), obj)

    # shop data from a stream of its own: changing it never changes a picture
    shop_rng = np.random.default_rng([int(seed), key, int(number), GENERATOR_VERSION, 1])
    item = SampleItem(
        id=f"{category}-{number:04d}", category=category, group=info.group, gender=gender,
        name=_name(look, info.display), look=look, shop=shop_attributes(category, info.group, gender, look.style, shop_rng),
    )
    return img, item


def _jpeg_bytes(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format="JPEG", quality=JPEG_QUALITY)
    return buf.getvalue()

