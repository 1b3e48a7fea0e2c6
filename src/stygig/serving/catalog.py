"""The catalog listing behind ``GET /items``: the artifact's items, optionally of one category, for
one wearer and matching a search, one page at a time, in artifact (id) order.

* ``category``: one of the taxonomy's categories;
* ``gender``: the items a wearer of that gender may be recommended — the recommendations' own hard
  filter, :func:`stygig.taxonomy.gender_allowed` (women's or men's pieces and unisex ones; for
  ``unisex``, every piece);
* ``q``: a case-insensitive substring of the item's name or id.

The search reads every row's name once per worker (on the first search) into a column of folded
``"id\\nname"`` strings; later searches scan that column and parse no JSON.
"""

from __future__ import annotations

import weakref
from typing import Any

import numpy as np

from stygig.taxonomy import GENDERS, gender_allowed

#: the longest search string ``GET /items?q=`` accepts
MAX_QUERY_CHARS = 100

_search_columns: "weakref.WeakKeyDictionary[Any, list[str]]" = weakref.WeakKeyDictionary()


def _search_column(items) -> list[str]:
    column = _search_columns.get(items)
    if column is None:
        column = [f"{it['id']}\n{it.get('name') or ''}".casefold() for it in items]
        _search_columns[items] = column
    return column


def matching_rows(items, *, category: str | None = None, gender: str | None = None,
                  q: str | None = None) -> np.ndarray:
    """The rows of ``items`` (an :class:`stygig.items.ItemStore`) that pass every filter given, in
    row order."""
    keep = np.ones(len(items), dtype=bool)
    if category is not None:
        keep &= np.asarray(items.category_codes) == items.categories.index(category)
    if gender is not None:
        allowed = [i for i, g in enumerate(GENDERS) if gender_allowed(gender, g)]
        keep &= np.isin(np.asarray(items.gender_codes), allowed)
    rows = np.flatnonzero(keep)
    if q:
        needle = q.casefold()
        column = _search_column(items)
        rows = np.array([r for r in rows if needle in column[r]], dtype=np.int64)
    return rows


def page(recommender, *, category: str | None = None, gender: str | None = None, q: str | None = None,
         offset: int = 0, limit: int = 100, thumbnail_url) -> dict[str, Any]:
    """One page of the listing, as ``GET /items`` answers it (``thumbnail_url(item_id)`` -> its URL)."""
    rows = matching_rows(recommender.items, category=category, gender=gender, q=q)
    chosen = [recommender.items[int(r)] for r in rows[offset : offset + limit]]
    return {
        "total": int(len(rows)),
        "offset": offset,
        "limit": limit,
        "items": [
            {
                "item_id": it["id"],
                "name": it.get("name"),
                "category": it["category"],
                "group": it.get("group"),
                "gender": it.get("gender"),
                "thumbnail_url": thumbnail_url(it["id"]),
            }
            for it in chosen
        ],
    }
