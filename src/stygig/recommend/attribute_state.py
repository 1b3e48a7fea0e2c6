"""What a request reads of the catalog's attributes, as one immutable object (issue 14.5).

The typed columns (the artifact's, or a live overlay's), the filter masks built from them, and
the overlay's values by row: a :class:`~stygig.recommend.engine.Recommender` holds one
``AttributeState`` and a live overlay replaces it whole, by one reference assignment
(:meth:`Recommender.swap_attributes`). A request takes the reference once and reads only that
state, so it sees the old attributes or the new ones, never a mix; nothing in a state changes
after it is made (its filter and quantile caches only fill).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

from stygig.artifact.attributes import Column
from stygig.recommend.filters import FilterCache


@dataclass(frozen=True)
class AttributeState:
    #: every typed attribute by name
    columns: Mapping[str, Column]
    #: pass masks of recently used filters, built from these columns only
    cache: FilterCache = field(default_factory=FilterCache)
    #: row -> the overlay's values (None: the overlay removed it), merged over the stored row's
    values: Mapping[int, Mapping[str, Any]] = field(default_factory=dict)
    #: boosts' quantile columns by attribute name (computed when a boost first names one)
    quantiles: dict[str, Any] = field(default_factory=dict)
    #: what was applied (source, version, rows, times); empty for the artifact's own attributes
    overlay: Mapping[str, Any] = field(default_factory=dict)

    def attributes_of(self, row: int, stored: Mapping[str, Any] | None) -> dict[str, Any]:
        """An item's attributes as responses show them: its stored ones with the overlay's over them."""
        over = self.values.get(row)
        if not over:
            return dict(stored or {})
        out = dict(stored or {})
        for name, value in over.items():
            if value is None:
                out.pop(name, None)
            else:
                out[name] = value
        return out
