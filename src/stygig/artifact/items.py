"""Item metadata in columnar form, read lazily.

A million items must not cost a million JSON parses at start. The artifact keeps:

    items/ids.npy          fixed-width UTF-8 ids, sorted (rows are sorted by id): id -> row is a
                           binary search over a memory-mapped array
    items/category.npy     uint16 code per row (index into the taxonomy's category list)
    items/gender.npy       uint8 code per row (index into taxonomy.GENDERS)
    items/meta.jsonl       one JSON object per row (name, source, thumbnail, colours, attributes)
    items/meta.offsets.npy int64 byte offsets of each row's line (n + 1 entries)

Only the three small columns are touched at load; a row's JSON is parsed when it is asked for.
"""

from __future__ import annotations

import json
import mmap
from pathlib import Path
from typing import Any, Iterator, Sequence

import numpy as np

from stygig.errors import ArtifactError
from stygig.taxonomy import GENDERS


class ItemWriter:
    """Stream rows (in id order) into ``items/``; ``close()`` writes the columns.

    The columns are kept as blocks (an update hands runs of thousands of carried rows at once),
    joined at ``close()``."""

    def __init__(self, directory: Path, categories: Sequence[str]):
        self.dir = Path(directory)
        self.dir.mkdir(parents=True, exist_ok=True)
        self._cat_code = {c: i for i, c in enumerate(categories)}
        self._ids: list[np.ndarray] = []  # fixed-width byte strings, a block each
        self._cats: list[np.ndarray] = []
        self._genders: list[np.ndarray] = []
        self._lengths: list[np.ndarray] = []
        self._last: bytes | None = None
        self._rows: list[tuple[bytes, int, int, int]] = []  # added one by one, not yet a block
        self._fh = open(self.dir / "meta.jsonl", "wb")

    def add(self, row: dict[str, Any]) -> None:
        line = (json.dumps(row, ensure_ascii=False, sort_keys=True) + "\n").encode("utf-8")
        self.add_line(row["id"].encode("utf-8"), self._cat_code[row["category"]], GENDERS.index(row["gender"]), line)

    def add_line(self, item_id: bytes, category_code: int, gender_code: int, line: bytes) -> None:
        """A row already serialised as :meth:`add` serialises it (an update carries rows over)."""
        if self._last is not None and item_id <= self._last:
            raise ValueError(f"items must be added in increasing id order ({item_id.decode('utf-8', 'replace')!r})")
        self._last = item_id
        self._rows.append((item_id, category_code, gender_code, len(line)))
        self._fh.write(line)

    def _flush_rows(self) -> None:
        """The rows added one by one since the last block, as a block."""
        if self._rows:
            ids, cats, genders, lengths = zip(*self._rows)
            self._rows = []
            self._ids.append(np.array(ids, dtype=bytes))
            self._cats.append(np.array(cats, dtype=np.uint16))
            self._genders.append(np.array(genders, dtype=np.uint8))
            self._lengths.append(np.array(lengths, dtype=np.int64))

    def add_lines(self, item_ids: Sequence[bytes], category_codes: Sequence[int], gender_codes: Sequence[int],
                  lines: Sequence[bytes]) -> None:
        """Consecutive rows already serialised (:meth:`add_line`, many at once)."""
        lengths = np.fromiter((len(x) for x in lines), dtype=np.int64, count=len(lines))
        self.add_serialised(item_ids, category_codes, gender_codes, b"".join(lines), lengths)

    def add_serialised(self, item_ids: "Sequence[bytes] | np.ndarray", category_codes: "Sequence[int] | np.ndarray",
                       gender_codes: "Sequence[int] | np.ndarray", data: bytes, lengths: np.ndarray) -> None:
        """Consecutive rows as one run of JSON lines (``lengths``: each line's bytes); the ids in
        increasing order, as a list of bytes or a fixed-width byte-string array."""
        if not len(item_ids):
            return
        ids = np.asarray(item_ids)
        if ids.dtype.kind != "S":
            ids = np.array(list(item_ids), dtype=bytes)
        first = bytes(ids[0])
        if self._last is not None and first <= self._last:
            raise ValueError(f"items must be added in increasing id order ({first.decode('utf-8', 'replace')!r})")
        self._last = bytes(ids[-1])
        self._flush_rows()
        self._ids.append(ids)
        self._cats.append(np.asarray(category_codes, dtype=np.uint16))
        self._genders.append(np.asarray(gender_codes, dtype=np.uint8))
        self._lengths.append(np.asarray(lengths, dtype=np.int64))
        self._fh.write(data)

    def close(self) -> int:
        self._fh.close()
        self._flush_rows()
        # as wide as the longest id (a block may be wider: carried from an artifact whose longest is gone)
        width = max((int(np.char.str_len(block).max()) for block in self._ids), default=1)
        ids = np.concatenate([b.astype(f"S{width}") for b in self._ids]) if self._ids else np.zeros(0, dtype="S1")
        lengths = np.concatenate(self._lengths) if self._lengths else np.zeros(0, dtype=np.int64)
        offsets = np.zeros(len(lengths) + 1, dtype=np.int64)
        np.cumsum(lengths, out=offsets[1:])
        np.save(self.dir / "ids.npy", ids, allow_pickle=False)
        np.save(self.dir / "category.npy", np.concatenate(self._cats) if self._cats else np.zeros(0, np.uint16),
                allow_pickle=False)
        np.save(self.dir / "gender.npy", np.concatenate(self._genders) if self._genders else np.zeros(0, np.uint8),
                allow_pickle=False)
        np.save(self.dir / "meta.offsets.npy", offsets, allow_pickle=False)
        return len(ids)


class ItemStore(Sequence[dict]):
    """Read-only, lazily parsed rows. ``store[row]`` -> dict; ``store.row_of(id)`` -> row or None."""

    def __init__(self, directory: Path, categories: Sequence[str]):
        d = Path(directory)
        try:
            self.ids = np.load(d / "ids.npy", mmap_mode="r", allow_pickle=False)
            self.category_codes = np.load(d / "category.npy", mmap_mode="r", allow_pickle=False)
            self.gender_codes = np.load(d / "gender.npy", mmap_mode="r", allow_pickle=False)
            self._offsets = np.load(d / "meta.offsets.npy", mmap_mode="r", allow_pickle=False)
            self._fh = open(d / "meta.jsonl", "rb")
            size = (d / "meta.jsonl").stat().st_size
            self._mm = mmap.mmap(self._fh.fileno(), 0, access=mmap.ACCESS_READ) if size else b""
        except (OSError, ValueError) as e:
            raise ArtifactError(f"artifact item metadata is unreadable: {e}") from None
        n = len(self.ids)
        if not (len(self.category_codes) == len(self.gender_codes) == n and len(self._offsets) == n + 1):
            raise ArtifactError("artifact item metadata columns disagree in length")
        offsets = np.asarray(self._offsets)
        if int(offsets[0]) != 0 or int(offsets[-1]) != size or bool((np.diff(offsets) < 0).any()):
            raise ArtifactError("artifact item metadata is truncated or its offsets disagree with meta.jsonl")
        if n and int(self.category_codes.max()) >= len(categories):
            raise ArtifactError("artifact item metadata refers to a category its taxonomy does not have")
        self.categories = list(categories)
        self._cache: dict[int, dict[str, Any]] = {}

    def __len__(self) -> int:
        return len(self.ids)

    def __getitem__(self, row):  # type: ignore[override]
        if isinstance(row, slice):
            return [self[i] for i in range(*row.indices(len(self)))]
        row = int(row)
        if row < 0:
            row += len(self)
        if not 0 <= row < len(self):
            raise IndexError(row)
        hit = self._cache.get(row)
        if hit is None:
            start, end = int(self._offsets[row]), int(self._offsets[row + 1])
            hit = json.loads(self._mm[start:end])
            if len(self._cache) > 65536:
                self._cache.clear()
            self._cache[row] = hit
        return hit

    def __iter__(self) -> Iterator[dict]:
        for i in range(len(self)):
            yield self[i]

    def row_of(self, item_id: str) -> int | None:
        if not isinstance(item_id, str):
            return None
        key = item_id.encode("utf-8")
        if len(key) > self.ids.dtype.itemsize or b"\0" in key:
            return None
        pos = int(np.searchsorted(self.ids, key))
        if pos < len(self.ids) and self.ids[pos] == key:
            return pos
        return None

    def category_of(self, row: int) -> str:
        return self.categories[int(self.category_codes[row])]

    def gender_of(self, row: int) -> str:
        return GENDERS[int(self.gender_codes[row])]

    def rows_in_category(self, category: str) -> np.ndarray:
        return np.flatnonzero(np.asarray(self.category_codes) == self.categories.index(category))
