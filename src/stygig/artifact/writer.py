"""The one writer of an artifact's rows: vectors, colours, items and category codes, then the
indexes, taxonomy, report and manifest.

A build (from pictures), an artifact from given vectors, a merge of shards — each hands rows, in
id order, to one :class:`ArtifactWriter` and calls :meth:`~ArtifactWriter.finish`; deriving an
artifact with another compatibility model reuses the manifest writer. Whatever writes, it writes
into a folder beside the target that is renamed into place (:func:`stygig.atomic.staged_dir`).
"""

from __future__ import annotations

import json
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from stygig import __version__
from stygig.artifact.attributes import AttributeCollector
from stygig.artifact.index import build_indexes
from stygig.artifact.items import ItemWriter
from stygig.artifact.manifest import MANIFEST, describe, new_manifest, sha256_file
from stygig.artifact.pack import check_archive_path, tar_path
from stygig.errors import StygigError
from stygig.taxonomy import Taxonomy

#: dominant colours kept per item: ``colors.npy`` is float32 (n, N_COLOURS, 4) of (L, a, b, weight)
N_COLOURS = 3


def thumb_path(row: int) -> str:
    """Where row ``row``'s thumbnail lives in the artifact."""
    return f"thumbs/{row:06d}.jpg"


def check_target(out: Path, force: bool = False, tar: bool | str | Path = False) -> None:
    """Refuse, before any work, to write over what is there: anything but an artifact always,
    an artifact (perhaps one a server is serving) or an archive unless ``force`` (``--force``)."""
    above = next((p for p in out.parents if p.exists()), None)
    if above is not None and not above.is_dir():
        raise StygigError(f"output {out}: {above} is a file, not a folder")
    if out.exists():
        if not out.is_dir():
            raise StygigError(f"output {out} exists and is not a directory")
        if (out / MANIFEST).exists():
            if not force:
                raise StygigError(f"{out} already holds an artifact{describe(out)}; "
                                  "pass --force to replace it, or choose another -o")
        elif any(out.iterdir()):
            raise StygigError(f"output {out} is a non-empty directory that is not a StyGig artifact; refusing to overwrite")
    archive = tar_path(out, tar)
    if archive is not None:
        check_archive_path(archive)
        if archive.exists() and not force:
            raise StygigError(f"{archive} already exists; pass --force to replace it, or choose another --tar PATH")


class ArtifactWriter:
    """Rows into ``art`` (a folder being filled), in increasing id order.

    ``n`` rows of ``dim``-wide vectors are expected; each row's metadata is the item's JSON row
    (``id``, ``category``, ``gender``, ``name``, ``thumbnail``, ``colors``, ``attributes``, …).
    """

    def __init__(self, art: Path, taxonomy: Taxonomy, n: int, dim: int,
                 colour_shape: tuple[int, ...] = (N_COLOURS, 4)):
        self.art = Path(art)
        self.taxonomy = taxonomy
        self.n = n
        self._vec = _RowFile(self.art / "vectors.npy", n, (dim,))
        self._col = _RowFile(self.art / "colors.npy", n, tuple(colour_shape))
        self._items = ItemWriter(self.art / "items", list(taxonomy.categories))
        self._cat_code = {c: i for i, c in enumerate(taxonomy.categories)}
        self.taxonomy_categories = list(taxonomy.categories)
        self.codes = np.zeros(n, dtype=np.uint16)
        self._attributes = AttributeCollector(n)
        self.row = 0
        self._hasher: ThreadPoolExecutor | None = None
        self._hashing: dict[str, Any] = {}

    def add(self, meta: dict[str, Any], vector: np.ndarray | None = None, colours: np.ndarray | None = None) -> int:
        """One row; ``vector``/``colours`` None when :meth:`put_vectors`/:meth:`put_colours` give them."""
        r = self.row
        if r >= self.n:
            raise ValueError(f"more than the {self.n} rows this writer was opened for")
        self._items.add(meta)
        self._attributes.add(r, meta["id"], meta.get("attributes"))
        if vector is not None:
            self._vec.append(vector[None])
        if colours is not None:
            self._col.append(colours[None])
        self.codes[r] = self._cat_code[meta["category"]]
        self.row = r + 1
        return r

    def add_line(self, item_id: bytes, category_code: int, gender_code: int, line: bytes) -> int:
        """One row whose JSON line is given as :meth:`add` would write it (an update's carried
        rows); its attributes are given column-wise by :meth:`put_attributes`."""
        r = self.row
        if r >= self.n:
            raise ValueError(f"more than the {self.n} rows this writer was opened for")
        self._items.add_line(item_id, category_code, gender_code, line)
        self.codes[r] = category_code
        self.row = r + 1
        return r

    def add_lines(self, item_ids: Sequence[bytes], category_codes: np.ndarray, gender_codes: np.ndarray,
                  lines: Sequence[bytes]) -> None:
        """Consecutive rows as :meth:`add_line`, many at once (ids in increasing order)."""
        lengths = np.fromiter((len(x) for x in lines), dtype=np.int64, count=len(lines))
        self.add_serialised(item_ids, category_codes, gender_codes, b"".join(lines), lengths)

    def add_serialised(self, item_ids: Sequence[bytes], category_codes: np.ndarray, gender_codes: np.ndarray,
                       data: bytes, lengths: np.ndarray) -> None:
        """Consecutive rows as one run of JSON lines, as :meth:`add` writes them (``lengths``:
        each line's bytes): an update copies a run of unchanged rows in one piece."""
        r, m = self.row, len(lengths)
        if r + m > self.n:
            raise ValueError(f"more than the {self.n} rows this writer was opened for")
        codes = np.asarray(category_codes, dtype=np.uint16)
        self._items.add_serialised(item_ids, codes, gender_codes, data, lengths)
        self.codes[r : r + m] = codes
        self.row = r + m

    @property
    def per_category(self) -> dict[str, int]:
        """Items per category of the rows written so far, in the order the rows first meet them."""
        present, first, count = np.unique(self.codes[: self.row], return_index=True, return_counts=True)
        return {self.taxonomy_categories[int(present[k])]: int(count[k]) for k in np.argsort(first)}

    def put_attributes(self, name: str, rows: Sequence[int], values: Sequence[Any], first_ids: dict[str, str]) -> None:
        """One attribute's values for the given rows at once (see :meth:`AttributeCollector.put`)."""
        self._attributes.put(name, rows, values, first_ids)

    def add_block(self, metas: Sequence[dict[str, Any]], vectors: np.ndarray, colours: np.ndarray) -> None:
        """Consecutive rows at once (a build's chunk)."""
        self.put_vectors(self.row, vectors)
        self.put_colours(self.row, colours)
        for m in metas:
            self.add(m)

    def put_vectors(self, start: int, block: np.ndarray) -> None:
        """Vectors of rows ``start…`` (rows are written in order: ``start`` is the next one)."""
        self._vec.append(block, start)

    def put_colours(self, start: int, block: np.ndarray) -> None:
        self._col.append(block, start)

    def copy_rows(self, vectors: Path, colours: Path, first: int, stop: int) -> None:
        """The vectors and colours of rows ``first…stop-1`` of another artifact's ``vectors.npy``
        and ``colors.npy`` as the next rows, copied file to file (an update's unchanged rows)."""
        self._vec.copy_from(vectors, first, stop)
        self._col.copy_from(colours, first, stop)

    def arrays_written(self) -> None:
        """Say that every row's vector and colours are written (before the rows' metadata, as an
        update writes them): the two files are closed and hashed by a thread meanwhile."""
        if self._hasher is not None:
            return
        self._vec.close()
        self._col.close()
        self._hasher = ThreadPoolExecutor(max_workers=1)  # hashlib lets go of the GIL
        self._hashing = {rel: self._hasher.submit(sha256_file, self.art / rel) for rel in ("vectors.npy", "colors.npy")}

    def abandon(self) -> None:
        """Wait for the hashing thread, if any (an update that fails leaves nothing running)."""
        if self._hasher is not None:
            self._hasher.shutdown(wait=True)

    def finish(
        self,
        *,
        encoder_config: dict[str, Any],
        encoder_description: dict[str, Any],
        skipped: list[dict[str, str]],
        category_text: np.ndarray | None = None,
        shard: tuple[int, int] | None = None,
        index_kind: str = "auto",
        timings: dict[str, float] | None = None,
        indexer: Callable[[Path, np.ndarray, list[str], Path, str], dict] | None = None,
        compatibility: dict[str, Any] | None = None,
        known_digests: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        """Close the columns, then write indexes, taxonomy, report and manifest (the encoder's
        files must be in ``art/encoder`` by now). Returns the manifest.

        ``indexer(vectors_path, codes, categories, index_dir, kind)`` writes the indexes
        (:func:`~stygig.artifact.index.build_indexes` unless given: an update reuses what it
        can); ``compatibility`` is the model to record (its files already under ``art``),
        ``known_digests`` the digests of files linked from a checked artifact."""
        import time

        if self.row != self.n:
            raise ValueError(f"{self.row} rows written of the {self.n} expected")
        self._items.close()
        # the two largest files hashed by a thread while the rest is written and the indexes are made
        self.arrays_written()
        timings = timings if timings is not None else {}
        tax, art = self.taxonomy, self.art
        hasher, hashing = self._hasher, self._hashing
        if category_text is not None:
            np.save(art / "category_text.npy", category_text, allow_pickle=False)
        (art / "taxonomy.json").write_text(tax.to_json(), encoding="utf-8")
        try:
            attributes = self._attributes.write(art)
        except BaseException:
            hasher.shutdown()
            raise
        for p in sorted((art / "items").rglob("*")):  # the items' columns and attributes, finished now
            if p.is_file():
                hashing[p.relative_to(art).as_posix()] = hasher.submit(sha256_file, p)
        try:
            t = time.perf_counter()
            index_info = (indexer or _build_indexes)(art / "vectors.npy", self.codes, list(tax.categories), art / "index", index_kind)
            timings["index_s"] = round(time.perf_counter() - t, 3)
            known_digests = {**(known_digests or {}), **{rel: f.result() for rel, f in hashing.items()}}
        finally:
            hasher.shutdown()
        report = {
            "items": self.n,
            "skipped": skipped,
            "per_category": self.per_category,
            "encoder": encoder_description,
            "shard": list(shard) if shard else None,
            "seconds": None,
            "timings": None,
            "stygig_version": __version__,
        }
        (art / "build_report.json").write_text(json.dumps(report, indent=2), encoding="utf-8")
        return new_manifest(art, encoder=encoder_config, taxonomy_name=tax.name, categories=list(tax.categories),
                            n_items=self.n, n_skipped=len(skipped), index=index_info,
                            has_category_text=category_text is not None, shard=shard, attributes=attributes,
                            compatibility=compatibility, known_digests=known_digests)


def _build_indexes(vectors: Path, codes: np.ndarray, categories: list[str], out_dir: Path, kind: str) -> dict:
    return build_indexes(vectors, codes, categories, out_dir, kind=kind)


class _RowFile:
    """A float32 ``.npy`` of ``n`` rows written front to back with plain writes: unlike a
    writable memory map, what is written does not stay in the process's resident set (a million
    512-d vectors are 2 GB)."""

    def __init__(self, path: Path, n: int, row_shape: tuple[int, ...]):
        self.path, self.n, self.row_shape = path, n, row_shape
        self.rows = 0
        self.row_bytes = 4 * int(np.prod(row_shape, dtype=np.int64))
        self._fh = open(path, "wb")
        np.lib.format.write_array_header_1_0(self._fh, {"descr": "<f4", "fortran_order": False, "shape": (n,) + row_shape})
        self._data_at = self._fh.tell()
        self._sources: dict[Path, tuple[Any, int]] = {}

    def copy_from(self, src: Path, first: int, stop: int) -> None:
        """Rows ``first…stop-1`` of the float32 ``.npy`` ``src`` (rows of this file's shape),
        appended by the kernel (``copy_file_range``), not through this process's memory."""
        if src not in self._sources:
            fh = open(src, "rb")
            version = np.lib.format.read_magic(fh)
            header = {(1, 0): np.lib.format.read_array_header_1_0, (2, 0): np.lib.format.read_array_header_2_0}
            if version not in header:
                fh.close()
                raise ValueError(f"{src}: .npy format {version} is not one numpy writes for float32 rows")
            shape, fortran, dtype = header[version](fh)
            if dtype != np.dtype("<f4") or fortran or tuple(shape[1:]) != self.row_shape:
                fh.close()
                raise ValueError(f"{src}: {dtype} {shape} rows do not fit {self.path.name}")
            self._sources[src] = (fh, fh.tell())
        fh, at = self._sources[src]
        m = stop - first
        if m <= 0:
            return
        if self.rows + m > self.n:
            raise ValueError(f"{self.path.name}: {m} rows do not fit")
        self._fh.flush()
        offset_src, count = at + first * self.row_bytes, m * self.row_bytes
        offset_dst = self._data_at + self.rows * self.row_bytes
        while count:
            try:
                done = os.copy_file_range(fh.fileno(), self._fh.fileno(), count, offset_src, offset_dst)
            except OSError:  # not on this file system: through a buffer
                done = os.pwrite(self._fh.fileno(), os.pread(fh.fileno(), min(count, 1 << 24), offset_src), offset_dst)
            if done <= 0:
                raise OSError(f"{src}: {count} bytes short of row {stop}")
            offset_src, offset_dst, count = offset_src + done, offset_dst + done, count - done
        self._fh.seek(offset_dst)
        self.rows += m

    def append(self, block: np.ndarray, start: int | None = None) -> None:
        if start is not None and start != self.rows:
            raise ValueError(f"{self.path.name}: rows are written in order; row {self.rows} is next, not {start}")
        block = np.ascontiguousarray(block, dtype=np.float32)
        if block.shape[1:] != self.row_shape or self.rows + len(block) > self.n:
            raise ValueError(f"{self.path.name}: a block of shape {block.shape} does not fit")
        self._fh.write(memoryview(block).cast("B"))  # the array's own bytes, not a copy
        self.rows += len(block)

    def close(self) -> None:
        self._fh.close()
        for fh, _ in self._sources.values():
            fh.close()
        if self.rows != self.n:
            raise ValueError(f"{self.path.name}: {self.rows} rows written of {self.n}")
