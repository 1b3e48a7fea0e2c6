"""Synthetic shop attributes of a sample item: price, stock, brand, sizes and popularity.

None of this describes a real product: the brands are made up and the prices, stock and sizes are
drawn from the seed so that filters (price range, in stock, brand, size) have something to work
on. They follow the item's category and style (formal pieces cost more, sport pieces come mostly
from the sport brand) and are drawn from their own random stream, so they never change a picture.
"""

from __future__ import annotations

from typing import Any

import numpy as np

#: made-up brands, most formal first
BRANDS = ("Aldermoor", "Corvane", "Everline", "Brightwell", "Dunmere", "Kinetra")
_BRAND_WEIGHTS = {
    "formal": {"Aldermoor": 0.4, "Corvane": 0.35, "Everline": 0.25},
    "casual": {"Brightwell": 0.35, "Dunmere": 0.35, "Everline": 0.2, "Corvane": 0.1},
    "sport": {"Kinetra": 0.6, "Everline": 0.25, "Brightwell": 0.15},
}
_BRAND_PRICE = {"Aldermoor": 1.3, "Corvane": 1.1, "Everline": 1.0, "Brightwell": 0.9, "Dunmere": 0.85, "Kinetra": 1.05}
_STYLE_PRICE = {"formal": 1.35, "casual": 0.9, "sport": 1.0}
#: a typical price of each category, before style, brand and a random spread
_BASE_PRICE = {
    "shirt": 45, "tshirt": 20, "jacket": 90, "coat": 160, "blazer": 140, "pants": 60, "shorts": 35, "skirt": 50,
    "shoes": 110, "sneakers": 80, "heels": 95, "flats": 60, "bag": 85, "hat": 35, "belt": 40, "necklace": 55,
    "scarf": 35, "sunglasses": 70, "dress": 80, "jumpsuit": 85,
}
IN_STOCK_SHARE = 0.85
#: views in 30 days: lognormal, median about 150, the top 1 % above 2000
POPULARITY_LOG_MEAN, POPULARITY_LOG_SIGMA = 5.0, 1.1

LETTER_SIZES = ("XS", "S", "M", "L", "XL", "XXL")
WAIST_SIZES = ("28", "30", "32", "34", "36", "38")
SHOE_SIZES_FEMALE = tuple(str(s) for s in range(35, 43))
SHOE_SIZES = tuple(str(s) for s in range(38, 47))
BELT_SIZES = ("75", "80", "85", "90", "95", "100", "105")
HAT_SIZES = ("S", "M", "L")
ONE_SIZE = ("one size",)
_SIZE_CHART = {
    "pants": WAIST_SIZES, "belt": BELT_SIZES, "hat": HAT_SIZES,
    "bag": ONE_SIZE, "necklace": ONE_SIZE, "scarf": ONE_SIZE, "sunglasses": ONE_SIZE,
}


def size_chart(category: str, group: str, gender: str) -> tuple[str, ...]:
    """Every size a category can be made in."""
    if category in _SIZE_CHART:
        return _SIZE_CHART[category]
    if group == "footwear":
        return SHOE_SIZES_FEMALE if gender == "female" else SHOE_SIZES
    return LETTER_SIZES


def shop_attributes(category: str, group: str, gender: str, style: str, rng: np.random.Generator) -> dict[str, Any]:
    """``{"price", "in_stock", "brand", "sizes", "popularity"}``: synthetic, deterministic for
    ``rng``. ``popularity`` is a made-up count of views in the last 30 days, heavy-tailed as real
    ones are (a few pieces draw most of them): what a boost (``{"popularity": 0.1}``) ranks by."""
    weights = _BRAND_WEIGHTS[style]
    names = list(weights)
    w = np.array([weights[b] for b in names])
    brand = names[int(rng.choice(len(names), p=w / w.sum()))]
    price = _BASE_PRICE[category] * _STYLE_PRICE[style] * _BRAND_PRICE[brand] * float(rng.lognormal(0.0, 0.25))
    price = max(5.0, float(round(price))) - 0.01  # shop prices: 59.99
    in_stock = bool(rng.random() < IN_STOCK_SHARE)
    chart = size_chart(category, group, gender)
    if len(chart) > 4:  # a run of the chart: the smallest or the largest size may be missing
        lo = int(rng.integers(0, 2))
        hi = len(chart) - int(rng.integers(0, 2))
        sizes = list(chart[lo:hi])
    else:
        sizes = list(chart)
    # drawn last, so that adding it left every other attribute as it was
    popularity = int(rng.lognormal(POPULARITY_LOG_MEAN, POPULARITY_LOG_SIGMA))
    return {"price": round(price, 2), "in_stock": in_stock, "brand": brand, "sizes": sizes, "popularity": popularity}
