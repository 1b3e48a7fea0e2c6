"""The embedded sample catalog: synthetic product-style pictures drawn from a seed.

``stygig sample-catalog OUT [--n N] [--seed 0]`` (or :func:`generate_sample_catalog`) draws
``n`` garment illustrations for the categories of the default taxonomy (default
:data:`DEFAULT_N`: 30 per category, 600) and writes::

    OUT/train/<group>/<category>/<id>.jpg     e.g. train/upperwear/shirt/shirt-0007.jpg
    OUT/manifest.jsonl                        one JSON object per item
    OUT/sample.json                           how the catalog was generated (n, seed, version, data)

Each manifest row is ``{"id", "image", "category", "gender", "name", "attributes"}`` with
``image`` relative to ``OUT`` and ``attributes``:

* what the picture shows (:mod:`.styles`): ``style`` (formal | casual | sport), ``cut`` (the
  drawing's variant: "dress shirt", "trench coat", "running shoe"...), ``fabric`` (wool, denim,
  linen, knit, leather...), ``pattern`` (solid | stripes | checks | dots), ``palette`` (the colour's
  family: dark | neutral | earth | pastel | bright) and ``color``;
* synthetic shop data (:mod:`.shop`): ``price`` (a number), ``in_stock`` (bool), ``brand`` (one
  of six invented names) and ``sizes`` (a list of strings);
* ``synthetic``: ``true`` — none of it describes a real product.

``--n`` items are dealt round robin over the categories. ``--seed`` picks everything random. The
same seed gives byte-identical files; an item depends only on (seed, category, its number), so
``shirt-0007`` is the same picture whatever ``n`` is or where the taxonomy lists shirts.

Every category has its own silhouette so that it stays recognisable in grey scale, and every style
shows in cut, fabric and colour (a formal shirt is slim with a spread collar and French cuffs, a
casual one wider with a button-down collar and pockets; coats reach the knee, blazers the hip,
jackets are cropped; running shoes stand on a chunky sculpted sole, oxfords on a thin one...).
Shapes are drawn at three times their size and scaled down, so edges are anti-aliased; look at
them with :func:`contact_sheet`.

Modules: ``styles`` (style -> cut -> fabric -> pattern -> palette -> colour), ``shop``, ``colours``,
``fabric`` (material textures and patterns), ``painter`` (the drawing surface), one drawer module
per kind of garment (``tops``, ``outerwear``, ``bottoms``, ``onepieces``, ``footwear``,
``accessories``, ``jewellery``, ``eyewear``), ``drawers`` (which draws what), ``render`` (one
item) and ``catalog`` (the whole catalog, written atomically).
"""

from __future__ import annotations

from stygig.catalog.sample.catalog import DEFAULT_N, MAX_ITEMS, contact_sheet, generate_sample_catalog, plan
from stygig.catalog.sample.render import CATEGORIES, GENERATOR_VERSION, SampleItem, render_item

__all__ = ["CATEGORIES", "DEFAULT_N", "GENERATOR_VERSION", "MAX_ITEMS", "SampleItem", "contact_sheet", "generate_sample_catalog", "plan", "render_item"]
