"""Boosts: numeric attributes that raise a candidate's score (issue 14.3).

``"boost": {"popularity": 0.1}`` (the CLI's repeatable ``--boost popularity=0.1``, the query
string's ``boost=popularity:0.1``) favours items with a high ``popularity``; a negative weight
(``{"price": -0.2}``) favours low values. Bounded and normalised:

* each attribute's value becomes its **quantile** in the catalog (:func:`quantiles`: the share of
  the catalog's values below it, ties at their middle, 0..1), so a heavy-tailed count such as
  views or sales boosts by rank rather than by its few outliers; an item without the attribute
  gets nothing from it;
* the boost part is the weighted mean of those quantiles (``1 - q`` for a negative weight), in
  0..1, and the score becomes ``(1 - W) * score + W * boost`` where ``W`` is the sum of the
  weights' sizes (at most :data:`MAX_TOTAL`): a score stays within 0..1, and the compatibility
  keeps at least half of it.

Responses show the part as ``boost_score`` and say it in the reason ("popularity in the
catalog's top 5 %"). The composed outfit is chosen with the boosted scores too.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any, Mapping

import numpy as np

from stygig.artifact.attributes import NUMBER, Column
from stygig.errors import InvalidInput

#: most attributes one request boosts by; the largest sum of the weights' sizes
MAX_BOOSTS = 8
MAX_TOTAL = 0.5
#: a quantile at least this far on the boosted side is said in the reason
SAID_FROM = 0.5

_TEXT = re.compile(r"^\s*([^\s=:]+)\s*[=:]\s*(\S+)\s*$")


@dataclass(frozen=True)
class Boost:
    """(attribute, weight) pairs, weights non-zero and in -1..1, their sizes summing to at most
    :data:`MAX_TOTAL`."""

    terms: tuple[tuple[str, float], ...]

    def __bool__(self) -> bool:
        return bool(self.terms)

    @property
    def total(self) -> float:
        return float(sum(abs(w) for _, w in self.terms))


def parse(value: Any, field: str = "boost") -> Boost | None:
    """A boost from a JSON object (``{"popularity": 0.1}``) or text (``popularity=0.1`` or
    ``popularity:0.1``, one or a list of them); every mistake an InvalidInput naming the field."""
    if value is None:
        return None
    pairs: list[tuple[str, Any, str]] = []
    if isinstance(value, Mapping):
        pairs = [(str(k), v, f"{field}.{k}") for k, v in value.items()]
    elif isinstance(value, (str, list, tuple)):
        for i, expr in enumerate([value] if isinstance(value, str) else value):
            where = field if isinstance(value, str) else f"{field}[{i}]"
            m = _TEXT.match(expr) if isinstance(expr, str) else None
            if m is None:
                raise InvalidInput(f"{where} must read NAME=WEIGHT, e.g. popularity=0.1 (got {str(expr)[:80]!r})")
            pairs.append((m.group(1), m.group(2), f"{field}.{m.group(1)}"))
    else:
        raise InvalidInput(f'{field} must be an object of attribute weights, e.g. {{"popularity": 0.1}}')
    if len(pairs) > MAX_BOOSTS:
        raise InvalidInput(f"{field} names {len(pairs)} attributes; the limit is {MAX_BOOSTS}")
    terms: dict[str, float] = {}
    for name, raw, where in pairs:
        if name in terms:
            raise InvalidInput(f"{where} is given twice")
        terms[name] = _weight(raw, where)
    boost = Boost(tuple(sorted((n, w) for n, w in terms.items() if w != 0.0)))
    if boost.total > MAX_TOTAL + 1e-9:
        raise InvalidInput(f"{field}: the weights' sizes sum to {boost.total:g}; the limit is {MAX_TOTAL:g} "
                           "(the compatibility keeps at least half of the score)")
    return boost or None


def _weight(raw: Any, where: str) -> float:
    if isinstance(raw, bool):
        raise InvalidInput(f"{where} must be a number between -{MAX_TOTAL:g} and {MAX_TOTAL:g}, got {raw}")
    try:
        w = float(raw)
    except (TypeError, ValueError):
        raise InvalidInput(f"{where} must be a number between -{MAX_TOTAL:g} and {MAX_TOTAL:g}, got {str(raw)[:40]!r}") from None
    if not math.isfinite(w) or abs(w) > MAX_TOTAL:
        raise InvalidInput(f"{where} must be a number between -{MAX_TOTAL:g} and {MAX_TOTAL:g}, got {w:g}")
    return w


def check(boost: Boost, columns: Mapping[str, Column]) -> None:
    """Every boosted attribute is a number attribute of the artifact."""
    for name, _ in boost.terms:
        col = columns.get(name)
        if col is None:
            numeric = sorted(n for n, c in columns.items() if c.type == NUMBER)
            raise InvalidInput(f"boost.{name}: the catalog has no attribute {name!r}"
                               + (f" (number attributes: {', '.join(numeric)})" if numeric else " (it has no number attributes)"))
        if col.type != NUMBER:
            raise InvalidInput(f"boost.{name}: {name!r} is a {col.type} attribute; a boost needs a number")


def quantiles(values: np.ndarray) -> np.ndarray:
    """float32 (n,): each value's share of the other present values below it, ties counted half
    (0 for the smallest, 1 for the largest, 1 when only one is present); NaN where missing."""
    v = np.asarray(values, dtype=np.float64)
    out = np.full(len(v), np.nan, dtype=np.float32)
    present = ~np.isnan(v)
    m = int(present.sum())
    if m == 0:
        return out
    s = np.sort(v[present])
    x = v[present]
    below = np.searchsorted(s, x, side="left")
    equal = np.searchsorted(s, x, side="right") - below
    out[present] = 1.0 if m == 1 else (below + (equal - 1) / 2.0) / (m - 1)
    return out


@dataclass(frozen=True)
class Applied:
    """A boost read for some candidates: the part (n,) in 0..1, and each term's quantiles (n,)
    (NaN where the item lacks it) for the reasons."""

    boost: Boost
    part: np.ndarray
    quantiles: dict[str, np.ndarray]

    def blend(self, total: np.ndarray) -> np.ndarray:
        """``(1 - W) * total + W * part``."""
        w = self.boost.total
        return (1.0 - w) * np.asarray(total, dtype=np.float64) + w * self.part

    def phrases(self, i: int) -> list[str]:
        """What the boost says of candidate ``i``: an attribute on its boosted side."""
        out = []
        for name, w in self.boost.terms:
            q = float(self.quantiles[name][i])
            if math.isnan(q):
                continue
            if w > 0 and q >= SAID_FROM:
                out.append(f"{name} in the catalog's top {max(1, round((1.0 - q) * 100))} %")
            elif w < 0 and q <= 1.0 - SAID_FROM:
                out.append(f"{name} in the catalog's lowest {max(1, round(q * 100))} %")
        return out


def apply(boost: Boost, quantile_columns: Mapping[str, np.ndarray], rows: np.ndarray) -> Applied:
    """The boost of the items at ``rows``, from each attribute's :func:`quantiles` over the catalog."""
    rows = np.asarray(rows, dtype=np.int64)
    part = np.zeros(len(rows), dtype=np.float64)
    qs = {}
    for name, w in boost.terms:
        q = np.asarray(quantile_columns[name])[rows].astype(np.float64)
        qs[name] = q
        side = q if w > 0 else 1.0 - q
        part += abs(w) * np.nan_to_num(side, nan=0.0)
    return Applied(boost, part / boost.total, qs)
