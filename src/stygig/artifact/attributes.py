"""Typed item attributes, stored columnar and memory-mapped like the category codes.

A catalog's free attributes (a manifest's ``attributes`` object, or a CSV's extra columns) are
typed when an artifact is written, one type per attribute across the catalog:

==========  ====================================  ==============================================
type        values                                column(s) under ``items/attributes/``
==========  ====================================  ==============================================
number      JSON numbers (``price``)              ``aNNN.npy`` float64, NaN where missing
boolean     ``true`` / ``false`` (``in_stock``)   ``aNNN.npy`` int8: 1, 0, -1 where missing
string      short strings (``brand``)             ``aNNN.npy`` int32 code (-1 missing) into
                                                  ``aNNN.vocab.npy``, the sorted distinct values
strings     lists of short strings (``sizes``)    ``aNNN.npy`` int32 codes of every row's values,
                                                  ``aNNN.offsets.npy`` int64 (n + 1), the vocab
text        strings longer than ``MAX_VALUE_BYTES``  none: carried in the rows, not filterable
json        anything else (objects, mixed lists)  none: carried in the rows, not filterable
==========  ====================================  ==============================================

The manifest's ``attributes`` records each attribute's type, files and how many items have it.
An attribute that is a number for one item and a string for another is an error naming both.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any, Iterable, Mapping

import numpy as np

from stygig.errors import ArtifactError, CatalogError

NUMBER, BOOLEAN, STRING, STRINGS, TEXT, JSON = "number", "boolean", "string", "strings", "text", "json"
#: the types a filter can test
FILTERABLE = (NUMBER, BOOLEAN, STRING, STRINGS)
#: longest string (UTF-8 bytes) kept as a filterable value; longer ones make the attribute ``text``
MAX_VALUE_BYTES = 128
DIRECTORY = "items/attributes"


def value_type(value: Any) -> str | None:
    """The type of one value (None: missing)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return BOOLEAN
    if isinstance(value, (int, float)):
        return NUMBER if math.isfinite(value) else JSON
    if isinstance(value, str):
        return STRING if len(value.encode("utf-8")) <= MAX_VALUE_BYTES else TEXT
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return STRINGS if all(len(v.encode("utf-8")) <= MAX_VALUE_BYTES for v in value) else JSON
    return JSON


def merged_type(kinds: Iterable[str]) -> str | None:
    """The one type of an attribute whose values are of ``kinds`` (at least one): strings widen to
    text, any JSON value makes it JSON; None when they cannot share one (a number and a string, a
    boolean and a list, ...). The one rule for a build's columns and a live overlay's new ones."""
    kinds = set(kinds)
    if kinds <= {STRING, TEXT}:
        return TEXT if TEXT in kinds else STRING
    if JSON in kinds:
        return JSON
    if len(kinds) == 1:
        return kinds.pop()
    return None


def _merge(name: str, seen: dict[str, str]) -> str:
    """One type from the types seen (type -> first item id), or an error naming an item of each of
    two types that cannot share one."""
    kind = merged_type(seen)
    if kind is not None:
        return kind
    (t1, i1), (t2, i2) = sorted(seen.items())[:2]
    a1, a2 = ("a " + t1) if t1 != STRINGS else "a list of strings", ("a " + t2) if t2 != STRINGS else "a list of strings"
    raise CatalogError(
        f"attribute {name!r} is {a1} in item {i1!r} but {a2} in item {i2!r}: "
        "give it one type in every item (or leave it out)"
    )


class AttributeCollector:
    """Every row's attributes, in row order, typed and written as columns at :meth:`write`."""

    def __init__(self, n: int):
        self.n = n
        self._values: dict[str, list[Any]] = {}
        self._seen: dict[str, dict[str, str]] = {}

    def add(self, row: int, item_id: str, attributes: Mapping[str, Any] | None) -> None:
        for name, value in (attributes or {}).items():
            t = value_type(value)
            if t is None:
                continue
            self._seen.setdefault(name, {}).setdefault(t, item_id)
            col = self._values.get(name)
            if col is None:
                col = self._values[name] = [None] * self.n
            col[row] = value

    def put(self, name: str, rows: Iterable[int], values: Iterable[Any], first_ids: Mapping[str, str]) -> None:
        """One attribute's values for many rows at once (an update's carried rows, from the old
        artifact's columns); ``first_ids``: type -> the first item id with a value of that type
        (empty: no row has a value, and nothing is recorded)."""
        if not first_ids:
            return
        col = self._values.get(name)
        if col is None:
            col = self._values[name] = [None] * self.n
        for r, v in zip(rows, values):
            col[r] = v
        seen = self._seen.setdefault(name, {})
        for t, item_id in first_ids.items():
            seen.setdefault(t, item_id)

    def types(self) -> dict[str, str]:
        return {name: _merge(name, self._seen[name]) for name in sorted(self._values)}

    def write(self, art: Path) -> dict[str, dict[str, Any]]:
        """Write the columns under ``art/items/attributes``; returns the manifest's ``attributes``."""
        out: dict[str, dict[str, Any]] = {}
        types = self.types()
        if not types:
            return out
        d = art / DIRECTORY
        d.mkdir(parents=True, exist_ok=True)
        for k, (name, t) in enumerate(types.items()):
            values = self._values[name]
            present = len(values) - values.count(None)
            entry: dict[str, Any] = {"type": t, "items": present}
            base = f"{DIRECTORY}/a{k:03d}"
            if t == NUMBER:
                col = np.array([np.nan if v is None else float(v) for v in values], dtype=np.float64)
                np.save(art / f"{base}.npy", col, allow_pickle=False)
                entry["column"] = f"{base}.npy"
            elif t == BOOLEAN:
                col = np.array([-1 if v is None else int(v) for v in values], dtype=np.int8)
                np.save(art / f"{base}.npy", col, allow_pickle=False)
                entry["column"] = f"{base}.npy"
            elif t == STRING:
                distinct = set(values)
                distinct.discard(None)
                vocab = sorted(v.encode("utf-8") for v in distinct)  # byte order, as readers search it
                code = {v.decode("utf-8"): i for i, v in enumerate(vocab)}
                code[None] = -1
                col = np.array([code[v] for v in values], dtype=np.int32)
                np.save(art / f"{base}.npy", col, allow_pickle=False)
                _save_vocab(art / f"{base}.vocab.npy", vocab)
                entry.update(column=f"{base}.npy", vocabulary=f"{base}.vocab.npy", values=len(vocab))
            elif t == STRINGS:
                vocab = sorted({s.encode("utf-8") for v in values if v is not None for s in v})
                code = {v: i for i, v in enumerate(vocab)}
                lengths = np.array([0 if v is None else len(v) for v in values], dtype=np.int64)
                offsets = np.zeros(self.n + 1, dtype=np.int64)
                np.cumsum(lengths, out=offsets[1:])
                col = np.array([code[s.encode("utf-8")] for v in values if v is not None for s in v], dtype=np.int32)
                np.save(art / f"{base}.npy", col, allow_pickle=False)
                np.save(art / f"{base}.offsets.npy", offsets, allow_pickle=False)
                _save_vocab(art / f"{base}.vocab.npy", vocab)
                entry.update(column=f"{base}.npy", offsets=f"{base}.offsets.npy", vocabulary=f"{base}.vocab.npy",
                             values=len(vocab))
            out[name] = entry
        return out


def _save_vocab(path: Path, vocab: list[bytes]) -> None:
    width = max((len(v) for v in vocab), default=1) or 1
    np.save(path, np.array(vocab, dtype=f"S{width}"), allow_pickle=False)


def check_catalog_types(items: Iterable[tuple[str, Mapping[str, Any]]]) -> dict[str, str]:
    """The types a catalog's attributes will get (item id, attributes) — a mixed attribute is a
    :class:`~stygig.errors.CatalogError` before any picture is read."""
    seen: dict[str, dict[str, str]] = {}
    for item_id, attributes in items:
        for name, value in (attributes or {}).items():
            t = value_type(value)
            if t is not None:
                seen.setdefault(name, {}).setdefault(t, item_id)
    return {name: _merge(name, seen[name]) for name in sorted(seen)}


# ---- reading -----------------------------------------------------------------------------------
@dataclass
class Column:
    """One typed attribute of an artifact, its arrays memory-mapped when first used."""

    name: str
    type: str
    root: Path
    entry: dict[str, Any]

    def _load(self, key: str) -> np.ndarray:
        try:
            return np.load(self.root / self.entry[key], mmap_mode="r", allow_pickle=False)
        except (OSError, ValueError, KeyError) as e:
            raise ArtifactError(f"artifact attribute {self.name!r} is unreadable: {e}") from None

    @classmethod
    def in_memory(cls, name: str, type: str, *, values: np.ndarray | None = None, offsets: np.ndarray | None = None,
                  vocabulary: np.ndarray | None = None, items: int | None = None) -> "Column":
        """A column whose arrays are held in memory (a live overlay's, :mod:`stygig.artifact.overlay`),
        read exactly as an artifact's: the arrays fill the cached properties."""
        col = cls(name, type, Path("."), {"type": type, **({} if items is None else {"items": items})})
        for key, arr in (("values", values), ("offsets", offsets), ("vocabulary", vocabulary)):
            if arr is not None:
                col.__dict__[key] = arr  # what functools.cached_property would have stored
        return col

    @property
    def filterable(self) -> bool:
        return self.type in FILTERABLE

    @cached_property
    def values(self) -> np.ndarray:
        """number: float64 (NaN missing); boolean: int8 (-1 missing); string: int32 codes; strings:
        every row's codes, concatenated (see :attr:`offsets`)."""
        return self._load("column")

    @cached_property
    def offsets(self) -> np.ndarray:
        return self._load("offsets")

    @cached_property
    def vocabulary(self) -> np.ndarray:
        return self._load("vocabulary")

    def code_of(self, value: str) -> int | None:
        """A string's code in the vocabulary (None: no item has it)."""
        key = value.encode("utf-8")
        vocab = self.vocabulary
        if len(key) > vocab.dtype.itemsize or b"\0" in key:
            return None
        pos = int(np.searchsorted(vocab, key))
        return pos if pos < len(vocab) and vocab[pos] == key else None

    def rows_with_codes(self, codes: list[int], n: int) -> np.ndarray:
        """strings: a boolean mask of the rows whose list holds any of ``codes``."""
        mask = np.zeros(n, dtype=bool)
        if not codes:
            return mask
        flat = np.asarray(self.values)
        hits = np.flatnonzero(np.isin(flat, codes)) if len(codes) > 1 else np.flatnonzero(flat == codes[0])
        if len(hits):
            mask[np.searchsorted(np.asarray(self.offsets), hits, side="right") - 1] = True
        return mask


def load_columns(root: Path, manifest: Mapping[str, Any], n: int) -> dict[str, Column]:
    """The artifact's typed attributes by name (checked for length when first read)."""
    entries = manifest.get("attributes") or {}
    if not isinstance(entries, dict):
        raise ArtifactError("artifact manifest: 'attributes' must be an object")
    out = {}
    for name, entry in entries.items():
        if not isinstance(entry, dict) or entry.get("type") not in (*FILTERABLE, TEXT, JSON):
            raise ArtifactError(f"artifact manifest: attribute {name!r} has no known type")
        out[name] = Column(name, entry["type"], Path(root), entry)
    return out
