"""Attribute filters: what a candidate's typed attributes must satisfy (issue 14.2).

Two spellings of one language, both ANDed:

* JSON — ``{"in_stock": true, "price": {"lte": 80, "gte": 10}, "brand": {"in": ["arlo", "corin"]},
  "sizes": {"contains": "M"}, "not": {"brand": "corin"}}``: an attribute's bare value is
  equality (for a list attribute: it holds the value); an object holds operators;
* text — ``in_stock=true``, ``price<=80``, ``brand in arlo,corin``, ``sizes contains M``,
  ``brand!=corin``: one condition per expression (the CLI's repeatable ``--filter``, the query
  string's and custom attributes' repeatable ``filter=``).

Operators by the attribute's type (:mod:`stygig.artifact.attributes`): ``number`` — eq, ne, lt,
lte, gt, gte, in; ``boolean`` — eq, ne; ``string`` — eq, ne, in; ``strings`` — contains, in
(holds any of). A missing value passes no condition but ``not``. Parsing (:func:`parse`) checks
the shape; :func:`compile_mask` checks names and value types against an artifact and gives a
boolean mask over its rows, which retrieval searches *within* (:mod:`stygig.recommend.retrieve`).
Every mistake is an :class:`~stygig.errors.InvalidInput` (422) naming the field.
"""

from __future__ import annotations

import math
import re
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Callable, Mapping, TypeVar, Union

import numpy as np

from stygig.artifact.attributes import BOOLEAN, FILTERABLE, NUMBER, STRING, STRINGS, Column
from stygig.errors import InvalidInput

T = TypeVar("T")

#: operators each attribute type takes ("eq" is also a bare value)
OPERATORS: dict[str, tuple[str, ...]] = {
    NUMBER: ("eq", "ne", "lt", "lte", "gt", "gte", "in"),
    BOOLEAN: ("eq", "ne"),
    STRING: ("eq", "ne", "in"),
    STRINGS: ("contains", "in"),
}
ALL_OPERATORS = ("eq", "ne", "lt", "lte", "gt", "gte", "in", "contains")
#: most conditions in one request, most values of one ``in``, deepest ``not``
MAX_CONDITIONS = 32
MAX_VALUES = 256
MAX_DEPTH = 4
MAX_TEXT = 1000

_TEXT_OPS = {"<=": "lte", ">=": "gte", "!=": "ne", "=": "eq", "<": "lt", ">": "gt"}
_COMPARISON = re.compile(r"^\s*([^\s=!<>]+)\s*(<=|>=|!=|=|<|>)\s*(.*?)\s*$")
_WORD = re.compile(r"^\s*([^\s=!<>]+)\s+(in|contains)\s+(.*?)\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class Condition:
    name: str
    op: str
    #: a JSON value (a tuple for ``in``), or text to read as the attribute's type
    value: Any
    #: where it was given, for messages: ``filters.price.lte``, ``filter 'price<=80'``
    where: str
    textual: bool = False


@dataclass(frozen=True)
class Not:
    inner: "Filter"
    where: str


@dataclass(frozen=True)
class Filter:
    """Conditions (and negated filters), all of which a candidate passes."""

    terms: tuple[Union[Condition, Not], ...]

    def __bool__(self) -> bool:
        return bool(self.terms)

    def names(self) -> set[str]:
        out: set[str] = set()
        for t in self.terms:
            out |= t.inner.names() if isinstance(t, Not) else {t.name}
        return out


# ---- parsing (the shape; no artifact needed) ----------------------------------------------------
def parse(value: Any, field: str = "filters") -> Filter | None:
    """A filter from a JSON object, one text expression, or a list of them (ANDed)."""
    if value is None:
        return None
    if isinstance(value, Mapping):
        f = _parse_object(value, field, 0)
    elif isinstance(value, str):
        f = Filter((_parse_text(value),))
    elif isinstance(value, (list, tuple)):
        terms: list = []
        for i, v in enumerate(value):
            if isinstance(v, str):
                terms.append(_parse_text(v))
            elif isinstance(v, Mapping):
                terms.extend(_parse_object(v, f"{field}[{i}]", 0).terms)
            else:
                raise InvalidInput(f"{field}[{i}] must be an object or a text expression such as 'price<=80'")
        f = Filter(tuple(terms))
    else:
        raise InvalidInput(f"{field} must be an object (e.g. {{\"in_stock\": true, \"price\": {{\"lte\": 80}}}}) "
                           "or text expressions (e.g. 'price<=80')")
    if _count(f) > MAX_CONDITIONS:
        raise InvalidInput(f"{field} has {_count(f)} conditions; the limit is {MAX_CONDITIONS}")
    return f


def _count(f: Filter) -> int:
    return sum(_count(t.inner) if isinstance(t, Not) else 1 for t in f.terms)


def _parse_object(obj: Mapping[str, Any], where: str, depth: int) -> Filter:
    terms: list = []
    for name, spec in obj.items():
        here = f"{where}.{str(name)[:60]}"
        if name == "not":
            if depth >= MAX_DEPTH:
                raise InvalidInput(f"{here}: 'not' nests deeper than {MAX_DEPTH}")
            if not isinstance(spec, Mapping) or not spec:
                raise InvalidInput(f"{here} must be a non-empty object of conditions")
            terms.append(Not(_parse_object(spec, here, depth + 1), here))
        elif isinstance(spec, Mapping):
            if not spec:
                raise InvalidInput(f"{here} is an empty object; give a value or operators ({', '.join(ALL_OPERATORS)})")
            for op, v in spec.items():
                if op not in ALL_OPERATORS:
                    raise InvalidInput(f"{here}: unknown operator {str(op)[:30]!r} (known: {', '.join(ALL_OPERATORS)})")
                terms.append(Condition(name, op, _json_value(v, op, f"{here}.{op}"), f"{here}.{op}"))
        else:
            terms.append(Condition(name, "eq", _json_value(spec, "eq", here), here))
    return Filter(tuple(terms))


def _json_value(v: Any, op: str, where: str) -> Any:
    if op == "in":
        if not isinstance(v, list) or not v:
            raise InvalidInput(f"{where} must be a non-empty list of values")
        if len(v) > MAX_VALUES:
            raise InvalidInput(f"{where} has {len(v)} values; the limit is {MAX_VALUES}")
        if not all(isinstance(x, (str, int, float, bool)) for x in v):
            raise InvalidInput(f"{where} must list numbers, strings or booleans")
        return tuple(v)
    if not isinstance(v, (str, int, float, bool)):
        raise InvalidInput(f"{where} must be a number, a string or a boolean")
    return v


def _parse_text(expr: str) -> Condition:
    where = f"filter {expr[:80]!r}"
    if len(expr) > MAX_TEXT:
        raise InvalidInput(f"filter expression is {len(expr)} characters; the limit is {MAX_TEXT}")
    m = _WORD.match(expr)
    if m:
        name, word, raw = m.group(1), m.group(2).lower(), m.group(3)
        if word == "in":
            values = tuple(x.strip() for x in raw.split(",") if x.strip())
            if not values:
                raise InvalidInput(f"{where}: 'in' needs values separated by commas (brand in arlo,corin)")
            if len(values) > MAX_VALUES:
                raise InvalidInput(f"{where} has {len(values)} values; the limit is {MAX_VALUES}")
            return Condition(name, "in", values, where, textual=True)
        if not raw:
            raise InvalidInput(f"{where}: 'contains' needs a value (sizes contains M)")
        return Condition(name, "contains", raw, where, textual=True)
    m = _COMPARISON.match(expr)
    if not m or not m.group(3):
        raise InvalidInput(f"{where} is not a filter: write NAME=VALUE, NAME<=NUMBER (<, >, >=, !=), "
                           "'NAME in A,B' or 'NAME contains V'")
    return Condition(m.group(1), _TEXT_OPS[m.group(2)], m.group(3), where, textual=True)


# ---- against an artifact: names, types, the mask -------------------------------------------------
def check(f: Filter, columns: Mapping[str, Column]) -> None:
    """Every name an attribute the artifact can filter on, every operator and value of its type."""
    for t in f.terms:
        if isinstance(t, Not):
            check(t.inner, columns)
        else:
            _typed(t, _column(t, columns))


def _column(c: Condition, columns: Mapping[str, Column]) -> Column:
    col = columns.get(c.name)
    filterable = sorted(n for n, k in columns.items() if k.filterable)
    if col is None:
        known = ", ".join(filterable) if filterable else "none: this artifact has no typed attributes"
        raise InvalidInput(f"{c.where}: unknown attribute {c.name[:60]!r} (filterable: {known})")
    if not col.filterable:
        raise InvalidInput(f"{c.where}: attribute {c.name[:60]!r} is {col.type} and cannot be filtered "
                           f"(filterable: {', '.join(filterable)})")
    return col


_A = {NUMBER: "a number", BOOLEAN: "true or false", STRING: "a string", STRINGS: "a string"}


def _typed(c: Condition, col: Column) -> Any:
    """The condition's value as the column's type, or a 422 naming the field."""
    if c.op not in OPERATORS[col.type]:
        raise InvalidInput(f"{c.where}: {c.op!r} does not apply to {c.name[:60]!r}, a {col.type} attribute "
                           f"(its operators: {', '.join(OPERATORS[col.type])})")
    if c.op == "in":
        return tuple(_one(c, col, v) for v in c.value)
    return _one(c, col, c.value)


def _one(c: Condition, col: Column, v: Any) -> Any:
    wrong = InvalidInput(f"{c.where} must be {_A[col.type]} ({c.name[:60]!r} is a {col.type} attribute), "
                         f"got {str(v)[:60]!r}")
    if col.type == NUMBER:
        if c.textual:
            try:
                v = float(v)
            except ValueError:
                raise wrong from None
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
            raise wrong
        return float(v)
    if col.type == BOOLEAN:
        if c.textual:
            low = str(v).lower()
            if low not in ("true", "false"):
                raise wrong
            return low == "true"
        if not isinstance(v, bool):
            raise wrong
        return v
    if not isinstance(v, str):
        raise wrong
    return v


def compile_mask(f: Filter, columns: Mapping[str, Column], n: int) -> np.ndarray:
    """A boolean mask over the artifact's ``n`` rows: True where the filter passes."""
    mask = np.ones(n, dtype=bool)
    for t in f.terms:
        mask &= ~compile_mask(t.inner, columns, n) if isinstance(t, Not) else _condition(t, columns, n)
    return mask


def _codes(col: Column, values: tuple[str, ...]) -> list[int]:
    return [c for c in (col.code_of(v) for v in values) if c is not None]


def _condition(c: Condition, columns: Mapping[str, Column], n: int) -> np.ndarray:
    col = _column(c, columns)
    v = _typed(c, col)
    values = np.asarray(col.values)
    if col.type == STRINGS:
        return col.rows_with_codes(_codes(col, v if c.op == "in" else (v,)), n)
    if col.type == STRING:
        present = values >= 0
        if c.op == "in":
            return np.isin(values, _codes(col, v))
        code = col.code_of(v)
        hit = np.zeros(n, dtype=bool) if code is None else values == code
        return present & ~hit if c.op == "ne" else hit
    if col.type == BOOLEAN:
        hit = values == int(v)
        return (values >= 0) & ~hit if c.op == "ne" else hit
    # numbers: NaN (missing) compares false everywhere
    if c.op == "in":
        return np.isin(values, np.array(v, dtype=np.float64))
    if c.op == "ne":
        return ~np.isnan(values) & (values != v)
    return {"eq": np.equal, "lt": np.less, "lte": np.less_equal, "gt": np.greater, "gte": np.greater_equal}[c.op](values, v)


class FilterCache:
    """What was built from recently used filters (a shop's few common filters cost one pass over
    the columns each, not one per request)."""

    def __init__(self, size: int = 64):
        self.size = size
        self._built: OrderedDict[Filter, Any] = OrderedDict()
        self._lock = threading.Lock()

    def filters(self) -> list[Filter]:
        """The filters held, least recently used first (a new attribute state builds them ahead)."""
        with self._lock:
            return list(self._built)

    def get(self, f: Filter, build: Callable[[Filter], T]) -> T:
        with self._lock:
            if f in self._built:
                self._built.move_to_end(f)
                return self._built[f]
        value = build(f)
        with self._lock:
            self._built[f] = value
            if len(self._built) > self.size:
                self._built.popitem(last=False)
        return value
