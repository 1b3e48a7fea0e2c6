"""The embedded sample catalog: product-style garment pictures drawn from a seed.

``stygig sample-catalog OUT [--n 420] [--seed 0]`` (or :func:`generate_sample_catalog`) draws
``n`` garment illustrations for the 14 categories of the default taxonomy and writes::

    OUT/train/<group>/<category>/<id>.jpg     e.g. train/upperwear/shirt/shirt-0007.jpg
    OUT/manifest.jsonl                        one JSON object per item
    OUT/sample.json                           how the catalog was generated (n, seed, version)

Each manifest row is ``{"id", "image", "category", "gender", "name", "attributes"}`` with
``image`` relative to ``OUT`` and ``attributes`` = ``{"color", "pattern", "style"}``.

* ``--n`` items are dealt round robin over the categories (420 -> 30 per category).
* ``--seed`` picks the colours, patterns, shapes, canvas sizes and genders. The same seed gives
  byte-identical files; an item depends only on (seed, category, its number), so ``shirt-0007``
  is the same picture whatever ``n`` is.

Every category has its own silhouette so that it stays recognisable in grey scale (shirts spread
long sleeves and show a pointed collar and button placket, jackets hang their sleeves beside a
boxy body with an open front, sneakers stand on a thick white sole, heels on a thin tall heel...).
Shapes are drawn at three times their size and scaled down, so edges are anti-aliased.
"""

from __future__ import annotations

from stygig.catalog.sample.catalog import MAX_ITEMS, contact_sheet, generate_sample_catalog, plan
from stygig.catalog.sample.render import CATEGORIES, GENERATOR_VERSION, SampleItem, render_item

__all__ = ["CATEGORIES", "GENERATOR_VERSION", "MAX_ITEMS", "SampleItem", "contact_sheet", "generate_sample_catalog", "plan", "render_item"]
