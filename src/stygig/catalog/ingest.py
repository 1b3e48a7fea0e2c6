"""Catalog ingestion: folder layouts and manifests -> a validated list of :class:`CatalogItem`.

Accepted sources:

* a folder laid out as ``<root>/train/<group>/<category>/<id>.<ext>`` (the original StyGig
  layout), ``<root>/<group>/<category>/...`` or flat ``<root>/<category>/...``;
* a manifest, ``.jsonl`` or ``.csv`` (or a folder holding ``manifest.jsonl`` / ``manifest.csv``),
  with columns ``id``, ``image`` (path relative to the manifest, or ``s3://`` URI), ``category``
  and optional ``gender``, ``name`` and any free attributes; the manifest itself may be at an
  ``s3://`` URI.

What is wrong with the *catalog* (duplicate ids, unknown categories, paths escaping the root,
bad gender values) is an error naming the offenders. What is wrong with one *image* is found
later, when it is decoded, and only skips that item (see :mod:`stygig.build.featurize`).
"""

from __future__ import annotations

import csv
import difflib
import io
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

from stygig import jsonlines
from stygig.artifact.attributes import check_catalog_types
from stygig.errors import CatalogError
from stygig.images import SUFFIXES
from stygig.taxonomy import GENDERS, Taxonomy

IMAGE_EXTENSIONS = SUFFIXES
MANIFEST_NAMES = ("manifest.jsonl", "manifest.csv")
RESERVED = {"id", "image", "category", "gender", "name"}
REQUIRED = ("id", "image", "category")
CSV_DELIMITERS = (",", ";", "\t")
#: how many of the pictures a manifest leaves out are named in the build's output
UNLISTED_EXAMPLES = 5


@dataclass
class CatalogItem:
    id: str
    category: str
    gender: str
    name: str
    source: str  # absolute local path or s3:// URI (build-side only; never sent to clients)
    attributes: dict[str, Any] = field(default_factory=dict)
    path: str = ""  # the picture as the catalog names it: relative to its root, or an s3:// URI


@dataclass
class Catalog:
    root: str
    kind: str  # "folders" | "manifest"
    items: list[CatalogItem]
    #: what was read: the manifest (as named) or the folder the category folders are in
    source: str = ""
    #: pictures in a catalog folder that its manifest does not list (catalog-relative, sorted)
    unlisted: list[str] = field(default_factory=list)

    def describe(self) -> dict[str, Any]:
        """Which source was read and what it left out, for the build's output and report."""
        return {"kind": self.kind, "source": self.source, "items": len(self.items),
                "unlisted_pictures": len(self.unlisted), "unlisted_examples": self.unlisted[:UNLISTED_EXAMPLES]}


def _is_s3(s: str) -> bool:
    return s.startswith("s3://")


def _fmt_list(names: Iterable[str], limit: int = 8, fmt: Callable[[str], str] = repr) -> str:
    names = list(names)
    shown = ", ".join(fmt(n) for n in names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")


def _closest(name: str, known: Iterable[str], taxonomy: Taxonomy | None = None) -> str | None:
    """The known name that ``name`` differs from only in case (``Shirt``), else by a typo; with
    ``taxonomy``, a category is also known by its display name (``trousers`` -> ``pants``)."""
    aliases = {k.lower(): k for k in known}
    if taxonomy is not None:
        aliases.update({taxonomy.categories[k].display.lower(): k for k in aliases.values() if k in taxonomy.categories})
    match = aliases.get(name.lower())
    if match is None:
        close = difflib.get_close_matches(name.lower(), list(aliases), n=1, cutoff=0.8)
        match = aliases[close[0]] if close else None
    return match


def _unknown(name: str, suggestion: str | None) -> str:
    return repr(name) + (f" (did you mean {suggestion!r}?)" if suggestion else "")


def read_catalog(source: str | Path, taxonomy: Taxonomy | None = None) -> Catalog:
    """Read and validate a catalog from a folder, a manifest file, or an ``s3://`` manifest."""
    taxonomy = taxonomy or Taxonomy.default()
    src = str(source)
    if _is_s3(src):
        from stygig import s3io

        if src.endswith("/"):
            for name in MANIFEST_NAMES:
                uri = src + name
                try:
                    data = s3io.read_s3_bytes(uri, allowed_buckets=None, max_bytes=1 << 30)
                except Exception:  # noqa: BLE001 - try the next name
                    continue
                return _from_manifest_text(_decode(data, uri), name, uri.rsplit("/", 1)[0], taxonomy, uri)
            raise CatalogError(f"no manifest.jsonl or manifest.csv under {src}")
        data = s3io.read_s3_bytes(src, allowed_buckets=None, max_bytes=1 << 30)
        return _from_manifest_text(_decode(data, src), src, src.rsplit("/", 1)[0], taxonomy, src)
    path = Path(src)
    if not path.exists():
        raise CatalogError(f"catalog not found: {src}")
    if path.is_file():
        return _from_manifest_file(path, taxonomy)
    for name in MANIFEST_NAMES:
        if (path / name).is_file():
            catalog = _from_manifest_file(path / name, taxonomy)
            catalog.unlisted = _unlisted_pictures(path, catalog.items)
            return catalog
    return _from_folders(path, taxonomy)


def _unlisted_pictures(root: Path, items: list[CatalogItem]) -> list[str]:
    """Pictures under ``root`` that no manifest row names: the manifest wins, so they are left out.

    Hidden files and folders (a build's work directory) and artifacts (folders holding a
    ``manifest.json``, e.g. ``-o`` inside the catalog) are not catalog pictures.
    """
    listed = {it.source for it in items}
    listed_as_written = {os.path.normpath(it.path) for it in items if not _is_s3(it.path)}
    found = []
    for folder, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if not d.startswith(".") and not os.path.isfile(os.path.join(folder, d, "manifest.json"))]
        for f in files:
            if f.startswith(".") or os.path.splitext(f)[1].lower() not in IMAGE_EXTENSIONS:
                continue
            rel = os.path.relpath(os.path.join(folder, f), root)
            # most rows name their picture as the walk finds it; resolve only the others
            if rel not in listed_as_written and os.path.realpath(os.path.join(folder, f)) not in listed:
                found.append(Path(rel).as_posix())
    return sorted(found)


# ---- folders -----------------------------------------------------------------------------------
def _from_folders(root: Path, taxonomy: Taxonomy) -> Catalog:
    base = root / "train" if (root / "train").is_dir() else root
    items: list[CatalogItem] = []
    unknown: list[str] = []
    dirs = sorted(p for p in base.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not dirs:
        raise CatalogError(f"catalog folder {root} has no category folders and no manifest")
    for d in dirs:
        if d.name in taxonomy.categories:
            items += _files_in(d, d.name, taxonomy, base)
        elif d.name in taxonomy.groups:
            for sub in sorted(p for p in d.iterdir() if p.is_dir() and not p.name.startswith(".")):
                if sub.name in taxonomy.categories and taxonomy.group_of(sub.name) == d.name:
                    items += _files_in(sub, sub.name, taxonomy, base)
                else:
                    close = _closest(sub.name, [c for c in taxonomy.categories if taxonomy.group_of(c) == d.name], taxonomy)
                    unknown.append(_unknown(f"{d.name}/{sub.name}", close and f"{d.name}/{close}"))
        else:
            unknown.append(_unknown(d.name, _closest(d.name, [*taxonomy.categories, *taxonomy.groups], taxonomy)))
    if unknown:
        raise CatalogError(
            f"unknown categories in {base}: {_fmt_list(unknown, fmt=str)} "
            f"(known: {', '.join(taxonomy.categories)})"
        )
    _check_duplicates(items, [it.path for it in items], f"duplicate item ids in {base}")
    return Catalog(str(root.resolve()), "folders", items, source=str(base))


def _files_in(folder: Path, category: str, taxonomy: Taxonomy, base: Path) -> list[CatalogItem]:
    out = []
    base_resolved = base.resolve()
    for f in sorted(folder.iterdir()):
        if f.is_file() and f.suffix.lower() in IMAGE_EXTENSIONS and not f.name.startswith("."):
            resolved = f.resolve()
            if not resolved.is_relative_to(base_resolved):
                raise CatalogError(f"image {f} links outside the catalog root {base}")
            cat = taxonomy.categories[category]
            out.append(
                CatalogItem(
                    id=f.stem,
                    category=category,
                    gender=cat.default_gender,
                    name=f"{cat.display} {f.stem}",
                    source=str(resolved),
                    path=f.relative_to(base).as_posix(),
                )
            )
    return out


# ---- manifests ---------------------------------------------------------------------------------
def _from_manifest_file(path: Path, taxonomy: Taxonomy) -> Catalog:
    try:
        data = path.read_bytes()
    except OSError as e:
        raise CatalogError(f"cannot read manifest {path}: {e.strerror or e}") from None
    return _from_manifest_text(_decode(data, path), path.name, str(path.parent.resolve()), taxonomy, str(path))


def _decode(data: bytes, where: str | Path) -> str:
    """UTF-8, with or without the byte-order mark Excel's "CSV UTF-8" writes."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise CatalogError(
            f"cannot read manifest {where}: not UTF-8 (byte {e.start}); save it as UTF-8 (Excel: 'CSV UTF-8')"
        ) from None


def _csv_delimiter(header: str) -> str:
    """The separator is whichever of ``,`` ``;`` and tab the header line holds most (``,`` on a
    tie): Excel writes ``;`` where the decimal mark is a comma, and column names hold none of them."""
    return max(CSV_DELIMITERS, key=header.count)


def _csv_rows(text: str, name: str) -> list[tuple[int, dict[str, Any]]]:
    try:
        return _csv_rows_of(text, name)
    except csv.Error as e:  # a NUL byte, an unterminated quote...
        raise CatalogError(f"manifest {name}: not readable as CSV ({e})") from None


def _csv_rows_of(text: str, name: str) -> list[tuple[int, dict[str, Any]]]:
    header_line = next((line for line in text.splitlines() if line.strip()), "")
    delimiter = _csv_delimiter(header_line)
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    header = next((row for row in reader if any(c.strip() for c in row)), [])
    # the reserved columns in any case ("ID,Image,Category"); free attributes as written
    columns = [c.strip().lower() if c.strip().lower() in RESERVED else c.strip() for c in header]
    shown = ", ".join(c.strip() for c in header) or "nothing"
    shown = shown if len(shown) <= 200 else shown[:200] + "..."
    sep = {",": "comma", ";": "semicolon", "\t": "tab"}[delimiter]
    twice = sorted({c for c in columns if c in RESERVED and columns.count(c) > 1})
    if twice:
        raise CatalogError(f"manifest {name}: column {twice[0]!r} appears twice in the header ({shown})")
    absent = [c for c in REQUIRED if c not in columns]
    if absent:
        names = [repr(c) for c in absent]
        what = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " or " + names[-1]
        raise CatalogError(
            f"manifest {name}: no {what} column; "
            f"the header ({sep}-separated) is: {shown}"
        )
    rows = []
    for cells in reader:
        if not any(c.strip() for c in cells):
            continue
        rows.append((reader.line_num, {k: v.strip() for k, v in zip(columns, cells) if k}))
    for column in dict.fromkeys(c for c in columns if c and c not in RESERVED):
        typed = csv_column([row.get(column, "") for _, row in rows])
        for (_, row), value in zip(rows, typed):
            if value is None:
                row.pop(column, None)
            else:
                row[column] = value
    return rows


_NUMBER = re.compile(r"^[+-]?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?$|^[+-]?\.[0-9]+$")


def csv_column(cells: list[str]) -> list[Any]:
    """A CSV attribute column's cells, typed as a whole column: ``true``/``false`` (any case)
    in every filled cell is a boolean, numbers in every filled cell a number (``0123`` is not
    one: leading zeros mean a code), a ``|`` in any cell a list of strings (``S|M|L``), else
    strings. An empty cell is a missing value (None)."""
    filled = [c for c in cells if c != ""]
    if not filled:
        return [None] * len(cells)
    if all(c.lower() in ("true", "false") for c in filled):
        return [None if c == "" else c.lower() == "true" for c in cells]
    if all(_NUMBER.match(c) for c in filled):
        return [None if c == "" else (int(c) if re.fullmatch(r"[+-]?[0-9]+", c) else float(c)) for c in cells]
    if any("|" in c for c in filled):
        return [None if c == "" else [p.strip() for p in c.split("|") if p.strip()] for c in cells]
    return [None if c == "" else c for c in cells]


def _rows(text: str, name: str) -> list[tuple[int, dict[str, Any]]]:
    if name.endswith(".csv"):
        return _csv_rows(text, name)
    if name.endswith(".jsonl") or name.endswith(".json"):
        return list(jsonlines.objects(text.splitlines(), name, CatalogError))
    raise CatalogError(f"manifest must be .jsonl or .csv: {name}")


def _from_manifest_text(text: str, name: str, root: str, taxonomy: Taxonomy, read_from: str) -> Catalog:
    rows = _rows(text, name)
    if not rows:
        raise CatalogError(f"manifest {name} has no rows")
    items: list[CatalogItem] = []
    where: list[str] = []  # each item's row, for errors
    unknown_cats: dict[str, list[str]] = {}
    escaping: list[str] = []
    bad_gender: list[str] = []
    missing: list[str] = []
    root_is_s3 = _is_s3(root)
    root_path = None if root_is_s3 else Path(root).resolve()
    for line, row in rows:
        item_id = str(row.get("id") or "").strip()
        image = str(row.get("image") or "").strip()
        category = str(row.get("category") or "").strip()
        if not item_id or not image or not category:
            empty = [k for k, v in (("id", item_id), ("image", image), ("category", category)) if not v]
            missing.append(f"line {line} ({', '.join(empty)})")
            continue
        if category not in taxonomy.categories:
            unknown_cats.setdefault(category, []).append(item_id)
            continue
        gender = str(row.get("gender") or "").strip().lower() or taxonomy.categories[category].default_gender
        if gender not in GENDERS:
            bad_gender.append(f"{item_id}={gender!r}")
            continue
        if _is_s3(image):
            source = image
        elif root_is_s3:
            if image.startswith("/") or ".." in image.split("/"):
                escaping.append(f"{item_id} ({image})")
                continue
            source = f"{root.rstrip('/')}/{image}"
        else:
            assert root_path is not None
            candidate = (root_path / image).resolve()
            if not candidate.is_relative_to(root_path):
                escaping.append(f"{item_id} ({image})")
                continue
            source = str(candidate)
        attributes = {k: v for k, v in row.items() if k not in RESERVED}
        if isinstance(attributes.get("attributes"), dict):
            nested = attributes.pop("attributes")
            attributes = {**nested, **attributes}
        display = taxonomy.categories[category].display
        where.append(f"line {line}: {image}")
        items.append(
            CatalogItem(
                id=item_id,
                category=category,
                gender=gender,
                name=str(row.get("name") or f"{display} {item_id}"),
                source=source,
                attributes=attributes,
                path=image,
            )
        )
    if missing:
        raise CatalogError(f"manifest {name}: rows without id, image or category: {_fmt_list(missing, fmt=str)}")
    if unknown_cats:
        desc = "; ".join(f"{_unknown(c, _closest(c, taxonomy.categories, taxonomy))} (items {_fmt_list(ids, 3)})"
                         for c, ids in unknown_cats.items())
        raise CatalogError(f"manifest {name}: unknown categories: {desc}")
    if escaping:
        raise CatalogError(f"manifest {name}: image paths escape the catalog root: {_fmt_list(escaping)}")
    if bad_gender:
        raise CatalogError(
            f"manifest {name}: unknown gender values (use {', '.join(GENDERS)}): {_fmt_list(bad_gender)}"
        )
    _check_duplicates(items, where, f"manifest {name}: duplicate item ids")
    try:
        check_catalog_types((it.id, it.attributes) for it in items)
    except CatalogError as e:
        raise CatalogError(f"manifest {name}: {e.message}") from None
    return Catalog(root, "manifest", items, source=read_from)


def _check_duplicates(items: list[CatalogItem], where: list[str], what: str) -> None:
    """Duplicate ids are an error naming, for each, every file (or manifest row) that holds it."""
    places: dict[str, list[str]] = {}
    for it, w in zip(items, where):
        places.setdefault(it.id, []).append(w)
    dups = sorted(i for i, ws in places.items() if len(ws) > 1)
    if dups:
        desc = [f"{i!r} ({' and '.join(places[i])})" for i in dups]
        raise CatalogError(f"{what}: {_fmt_list(desc, 5, fmt=str)}")
