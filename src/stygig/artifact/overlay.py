"""An attribute overlay: new attribute values for an artifact's items, without a rebuild (issue 14.5).

An overlay is JSON Lines, one item a line::

    {"id": "shirt-0003", "price": 49.99, "in_stock": false}
    {"id": "dress-0001", "sizes": ["S", "M"], "sale": true}

Each line replaces the named attributes of one existing item; what a line leaves out keeps the
artifact's value, and ``null`` removes the value (the item no longer has it). An overlay is
whole: applying one means *the artifact plus this overlay*, never the previous overlay plus this
one. :func:`apply_overlay` checks all of it before anything is used, and every mistake is one
:class:`OverlayError` naming the source and the line:

* a line that is not a JSON object, has no ``"id"`` string, or repeats an earlier line's id;
* an id the artifact does not hold;
* a value whose type differs from the artifact's recorded type for that attribute (a string for
  the number ``price``; a string longer than 128 bytes for a ``string`` attribute);
* an attribute the artifact does not have is *added*, typed as a build would type it from the
  overlay's values (mixed types are an error naming a line of each); items the overlay does not
  name lack it.

The result is new columns for the attributes the overlay touches (copies of the artifact's with
the overlay's values written in; the others stay the artifact's memory-mapped ones) and the
overlay's own values by row, which responses merge into an item's stored ``attributes``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Mapping

import numpy as np

from stygig.artifact.attributes import (BOOLEAN, JSON, MAX_VALUE_BYTES, NUMBER, STRING, STRINGS, TEXT, Column,
                                        merged_type, value_type)
from stygig.errors import StygigError

#: the largest overlay read (bytes): about 2 M rows of a few attributes
MAX_OVERLAY_BYTES = 512 * 1024 * 1024
ID = "id"


class OverlayError(StygigError):
    """An overlay that is refused (the last good one stays)."""

    status = 422
    code = "overlay_error"


@dataclass(frozen=True)
class Overlay:
    """An overlay applied to an artifact's columns."""

    #: every attribute column by name: the artifact's, replaced or added where the overlay sets it
    columns: dict[str, Column]
    #: row -> the overlay's attribute values for that item (None: removed)
    values: "RowValues | dict[int, dict[str, Any]]" = field(default_factory=dict)
    #: attributes the overlay sets, and those of them the artifact did not have (name -> type)
    attributes: tuple[str, ...] = ()
    added: dict[str, str] = field(default_factory=dict)

    @property
    def rows(self) -> int:
        return len(self.values)


class RowValues:
    """Row -> the overlay's values of that item: its line, kept as text and parsed when a response
    asks for it (a hundred thousand kept dicts would be objects the garbage collector walks, in
    every worker, for as long as the overlay is served), found by binary search."""

    def __init__(self, rows: np.ndarray, texts: list[str]):
        self._order = np.argsort(rows, kind="stable")
        self._rows = rows[self._order]
        self._texts = texts

    def __len__(self) -> int:
        return len(self._texts)

    def get(self, row: int, default: Any = None) -> Any:
        pos = int(np.searchsorted(self._rows, row))
        if pos < len(self._rows) and int(self._rows[pos]) == row:
            obj = json.loads(self._texts[int(self._order[pos])])
            obj.pop(ID, None)
            return obj
        return default


_A = {NUMBER: "a number", BOOLEAN: "a boolean", STRING: "a string", STRINGS: "a list of strings",
      TEXT: "a long string", JSON: "a JSON value"}


_DECODER = json.JSONDecoder()
#: lines parsed between two pauses that let a serving thread take the interpreter (a request
#: waiting for the GIL then waits about this many lines' parsing, not Python's 5 ms switch interval)
YIELD_EVERY = 64


def apply_overlay(data: bytes, source: str, ids: np.ndarray, columns: Mapping[str, Column], *,
                  pause: Callable[[], None] | None = None) -> Overlay:
    """The overlay in ``data`` (JSON Lines) against an artifact's sorted ``ids`` and its attribute
    ``columns``. Raises :class:`OverlayError` naming ``source`` and the line. ``pause`` is called
    every :data:`YIELD_EVERY` lines (the server passes one that sleeps briefly every 2 ms of work)."""
    n = len(ids)
    if len(data) > MAX_OVERLAY_BYTES:
        raise OverlayError(f"overlay {source} is {len(data)} bytes, over the {MAX_OVERLAY_BYTES}-byte limit")
    lines: list[int] = []
    keys: list[str] = []
    objs: list[dict[str, Any]] = []
    texts: list[str] = []
    decode = _DECODER.raw_decode
    for lineno, raw in _lines(data, source, pause):
        raw = raw.strip()
        if not raw:
            continue
        try:
            obj, end = decode(raw)
        except (ValueError, RecursionError) as e:
            raise OverlayError(f"overlay {source} line {lineno}: not JSON ({getattr(e, 'msg', type(e).__name__)})") from None
        if end != len(raw):
            raise OverlayError(f"overlay {source} line {lineno}: not JSON (extra data after the object)")
        if type(obj) is not dict:
            raise OverlayError(f"overlay {source} line {lineno}: must be a JSON object {{\"id\": ..., attribute: value, ...}}")
        item_id = obj.pop(ID, None)
        if type(item_id) is not str or not item_id:
            raise OverlayError(f"overlay {source} line {lineno}: needs an \"id\" string naming a catalog item")
        lines.append(lineno)
        keys.append(item_id)
        objs.append(obj)
        texts.append(raw)
    if pause is not None:
        pause()
    rows = _rows_of(keys, lines, ids, source, pause)

    # each attribute's values (one pass per attribute), then checked against its type (the
    # artifact's, or the one the overlay's own values give it)
    per: dict[str, tuple[np.ndarray, list[Any]]] = {}
    every = np.arange(len(objs), dtype=np.int64)
    names: set[str] = set()
    for part in _chunks(objs, pause):
        names = names.union(*part)
    for name in sorted(names):
        got: list[Any] = []
        for part in _chunks(objs, pause):
            got += [o.get(name, _MISSING) for o in part]
        if _MISSING in got:  # (identity first: no value compares equal to the marker)
            at = np.fromiter((k for k, v in enumerate(got) if v is not _MISSING), dtype=np.int64)
            per[name] = (at, [got[k] for k in at.tolist()])
        else:
            per[name] = (every, got)
    added: dict[str, str] = {}
    for name, (at, vs) in per.items():
        col = columns.get(name)
        if col is None:
            added[name] = _new_type(name, vs, [lines[k] for k in at.tolist()], source)
        elif not all(_all_fit(part, col.type) for part in _chunks(vs, pause)):
            _first_misfit(name, col.type, vs, [lines[k] for k in at.tolist()], source)

    out = dict(columns)
    for name, (at, vs) in per.items():
        if pause is not None:
            pause()
        col = columns.get(name)
        kind = col.type if col is not None else added[name]
        out[name] = _column(name, kind, col, rows[at], vs, n, pause)
    return Overlay(out, RowValues(rows, texts), tuple(sorted(per)), added)


_NONE = type(None)
_MISSING = object()
_PLAIN = {NUMBER: {int, float, _NONE}, BOOLEAN: {bool, _NONE}, STRING: {str, _NONE}, TEXT: {str, _NONE},
          STRINGS: {list, _NONE}}


def _all_fit(values: list[Any], kind: str) -> bool:
    """Whether every value may stand in an attribute of type ``kind`` (fast: by Python type first)."""
    if kind == JSON:
        return True
    if not set(map(type, values)) <= _PLAIN[kind]:
        return False
    if kind == NUMBER:
        nums = np.array([v for v in values if v is not None], dtype=np.float64)
        return bool(np.isfinite(nums).all())
    if kind == STRING:
        return all(len(v) * 4 <= MAX_VALUE_BYTES or len(v.encode("utf-8")) <= MAX_VALUE_BYTES
                   for v in values if v is not None)
    if kind == STRINGS:
        return all(value_type(v) == STRINGS for v in values if v is not None)
    return True


def _first_misfit(name: str, kind: str, values: list[Any], lines: list[int], source: str) -> None:
    for v, lineno in zip(values, lines):
        t = value_type(v)
        if t is not None and not _fits(t, kind):
            raise OverlayError(f"overlay {source} line {lineno}: attribute {name[:60]!r} is {_A[t]} here but "
                               f"{_A[kind]} in the artifact ({kind}); give it the artifact's type or null")


#: bytes of the overlay decoded and split at once
BLOCK = 1 << 18


def _lines(data: bytes, source: str, pause: Callable[[], None] | None) -> Iterator[tuple[int, str]]:
    """(line number, text) of every line, decoded a block of whole lines at a time, pausing every
    :data:`YIELD_EVERY` lines."""
    lineno, start = 0, 0
    while start < len(data):
        end = data.find(b"\n", min(start + BLOCK, len(data)))
        end = len(data) if end < 0 else end + 1
        try:
            block = data[start:end].decode("utf-8")
        except UnicodeDecodeError as e:
            line = lineno + data[start:start + e.start].count(b"\n") + 1
            raise OverlayError(f"overlay {source} line {line}: not UTF-8 (byte {start + e.start})") from None
        for raw in block.split("\n"):
            lineno += 1
            if pause is not None and lineno % YIELD_EVERY == 0:
                pause()
            yield lineno, raw
        lineno -= 1  # the block ends with a newline: its last "line" is the empty rest
        start = end


#: values handled between two pauses (a few milliseconds of work)
CHUNK = 2048


def _chunks(seq: list[Any], pause: Callable[[], None] | None) -> Iterator[list[Any]]:
    """``seq`` in slices of :data:`CHUNK`, pausing before each but the first."""
    for start in range(0, len(seq), CHUNK):
        if start and pause is not None:
            pause()
        yield seq[start:start + CHUNK]


def _rows_of(keys: list[str], lines: list[int], ids: np.ndarray, source: str,
             pause: Callable[[], None] | None = None) -> np.ndarray:
    """Each id's row (binary searches over the artifact's sorted ids, a chunk of ids at a time)."""
    if not keys:
        return np.zeros(0, dtype=np.int64)
    width = ids.dtype.itemsize
    sorted_ids = np.asarray(ids)
    found: list[np.ndarray] = []
    positions: list[np.ndarray] = []
    for part in _chunks(keys, pause):
        enc = [k.encode("utf-8") for k in part]
        fits = np.fromiter(map(len, enc), dtype=np.int64, count=len(enc)) <= width
        if b"\0" in b"".join(enc):  # (rare) an id with a NUL byte is no catalog id
            fits &= np.fromiter((b"\0" not in e for e in enc), dtype=bool, count=len(enc))
        probe = np.array([e if ok else b"" for e, ok in zip(enc, fits)], dtype=f"S{max(width, 1)}")
        pos = np.searchsorted(sorted_ids, probe)
        inside = pos < len(sorted_ids)
        hit = fits & inside
        hit[inside] &= sorted_ids[pos[inside]] == probe[inside]
        found.append(hit)
        positions.append(pos)
    every = np.concatenate(found)
    if not every.all():
        i = int(np.flatnonzero(~every)[0])
        raise OverlayError(f"overlay {source} line {lines[i]}: unknown item id {keys[i][:100]!r} "
                           "(an overlay changes the attributes of the artifact's items)")
    rows = np.concatenate(positions).astype(np.int64)
    order = np.argsort(rows, kind="stable")
    dup = np.flatnonzero(np.diff(rows[order]) == 0)
    if len(dup):
        a, b = sorted((int(order[dup[0]]), int(order[dup[0] + 1])))
        raise OverlayError(f"overlay {source} line {lines[b]}: item {keys[b][:100]!r} is already on line {lines[a]}; "
                           "give each item one line")
    return rows


def _fits(t: str, kind: str) -> bool:
    """Whether a value of type ``t`` may stand in an attribute of type ``kind``."""
    if kind == JSON:
        return True
    if kind == TEXT:
        return t in (STRING, TEXT)
    return t == kind


def _new_type(name: str, values: list[Any], lines: list[int], source: str) -> str:
    """An added attribute's type from the overlay's values, as a build types a catalog's."""
    seen: dict[str, int] = {}
    for v, lineno in zip(values, lines):
        t = value_type(v)
        if t is not None and t not in seen:
            seen[t] = lineno
    if not seen:
        return JSON  # only nulls: nothing to type, nothing to filter
    kind = merged_type(seen)
    if kind is not None:
        return kind
    (t1, l1), (t2, l2) = sorted(seen.items(), key=lambda kv: kv[1])[:2]
    raise OverlayError(f"overlay {source} line {l2}: attribute {name[:60]!r} is {_A[t2]} here but {_A[t1]} on line "
                       f"{l1}; give it one type (the artifact does not have it)")


def _column(name: str, kind: str, col: Column | None, rows: np.ndarray, values: list[Any], n: int,
            pause: Callable[[], None] | None = None) -> Column:
    """``col`` (None: an empty one) with ``values`` written at ``rows``."""
    if kind == NUMBER:
        out = np.full(n, np.nan) if col is None else np.array(col.values, dtype=np.float64)
        out[rows] = np.concatenate([np.array([np.nan if v is None else v for v in part], dtype=np.float64)
                                    for part in _chunks(values, pause)])
        return Column.in_memory(name, kind, values=out, items=int(np.count_nonzero(~np.isnan(out))))
    if kind == BOOLEAN:
        out = np.full(n, -1, dtype=np.int8) if col is None else np.array(col.values, dtype=np.int8)
        out[rows] = np.concatenate([np.array([-1 if v is None else v for v in part], dtype=np.int8)
                                    for part in _chunks(values, pause)])
        return Column.in_memory(name, kind, values=out, items=int(np.count_nonzero(out >= 0)))
    if kind == STRING:
        distinct: set[Any] = set()
        for part in _chunks(values, pause):
            distinct.update(part)
        distinct.discard(None)
        vocab, remap = _extend(_vocab(col), {v.encode("utf-8") for v in distinct})
        codes = np.full(n, -1, dtype=np.int32) if col is None else _remapped(np.asarray(col.values), remap)
        index: dict[Any, int] = {v.decode("utf-8"): i for i, v in enumerate(vocab.tolist())}
        index[None] = -1
        codes[rows] = np.concatenate([np.fromiter(map(index.__getitem__, part), dtype=np.int32, count=len(part))
                                      for part in _chunks(values, pause)])
        return Column.in_memory(name, kind, values=codes, vocabulary=vocab, items=int(np.count_nonzero(codes >= 0)))
    if kind == STRINGS:
        return _strings(name, col, rows, values, n)
    # text, json: carried in the rows only (the overlay's values reach responses; nothing to filter)
    return col if col is not None else Column.in_memory(name, kind)


def _vocab(col: Column | None) -> list[bytes]:
    return [] if col is None else np.asarray(col.vocabulary).tolist()


def _extend(old: list[bytes], new: set[bytes]) -> tuple[np.ndarray, np.ndarray | None]:
    """The sorted vocabulary holding ``old`` and ``new``, and how old codes map into it (None: unchanged)."""
    missing = new.difference(old)
    merged = sorted(set(old) | missing) if missing else old
    width = max((len(v) for v in merged), default=1) or 1
    vocab = np.array(merged, dtype=f"S{width}")
    if not missing:
        return vocab, None
    remap = np.searchsorted(vocab, np.array(old, dtype=f"S{width}")).astype(np.int32) if old else np.zeros(0, np.int32)
    return vocab, remap


def _remapped(codes: np.ndarray, remap: np.ndarray | None) -> np.ndarray:
    if remap is None:
        return np.array(codes, dtype=np.int32)
    return np.where(codes >= 0, remap[np.maximum(codes, 0)] if len(remap) else -1, -1).astype(np.int32)


def _strings(name: str, col: Column | None, rows: np.ndarray, values: list[Any], n: int) -> Column:
    """A list-of-strings column with the overlay's lists at ``rows``: every other row's codes moved
    to their new places in one pass."""
    vocab, remap = _extend(_vocab(col), {s.encode("utf-8") for v in values if v is not None for s in v})
    if col is None:
        old_off, flat = np.zeros(n + 1, dtype=np.int64), np.zeros(0, dtype=np.int32)
    else:
        old_off, flat = np.asarray(col.offsets, dtype=np.int64), _remapped(np.asarray(col.values), remap)
    old_len = np.diff(old_off)
    new_len = old_len.copy()
    new_len[rows] = [0 if v is None else len(v) for v in values]
    new_off = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(new_len, out=new_off[1:])
    out = np.empty(int(new_off[-1]), dtype=np.int32)
    kept = np.ones(n, dtype=bool)
    kept[rows] = False
    keep = np.repeat(kept, old_len)
    shift = np.repeat(new_off[:-1] - old_off[:-1], old_len)
    out[(np.arange(len(flat), dtype=np.int64) + shift)[keep]] = flat[keep]
    index = {v: i for i, v in enumerate(vocab.tolist())}
    for row, v in zip(rows.tolist(), values):
        if v:
            start = int(new_off[row])
            out[start:start + len(v)] = [index[s.encode("utf-8")] for s in v]
    return Column.in_memory(name, STRINGS, values=out, offsets=new_off, vocabulary=vocab,
                            items=int(np.count_nonzero(new_len)))
