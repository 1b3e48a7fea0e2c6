"""JSON Lines, read with line numbers for errors and written whole: one object a line.

Manifests (:mod:`stygig.catalog.ingest`), looks and questions (:mod:`stygig.evaluate.looks`) and
the Polyvore import read and write through here, so a bad line reads the same everywhere:
``<file> line <n>: not valid JSON (<why>)`` or ``... expected a JSON object``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterable, Iterator, Sequence

from stygig.errors import StygigError


def objects(lines: Iterable[str], name: str, error: type[StygigError]) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, object) for every non-blank line; ``error`` names the line of a bad one."""
    for n, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as e:
            raise error(f"{name} line {n}: not valid JSON ({e.msg})") from None
        if not isinstance(obj, dict):
            raise error(f"{name} line {n}: expected a JSON object")
        yield n, obj


def write(path: str | Path, rows: Sequence[dict[str, Any]]) -> Path:
    """One JSON object a line, written atomically."""
    from stygig.atomic import write_bytes

    text = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
    write_bytes(Path(path), text.encode("utf-8"))
    return Path(path)
