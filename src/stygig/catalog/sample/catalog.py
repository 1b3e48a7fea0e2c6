"""The catalog: items dealt round robin, drawn in threads, written atomically; the contact sheet."""

from __future__ import annotations

import json
import os
import shutil
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageDraw

from stygig import settings
from stygig.catalog.sample.render import CATEGORIES, GENERATOR_VERSION, _jpeg_bytes, _taxonomy, render_item
from stygig.errors import CatalogError, InvalidInput

MAX_ITEMS = 100_000
#: items per category in the default catalog
DEFAULT_PER_CATEGORY = 30
#: the default catalog size: 30 items of each category of the default taxonomy (20 -> 600)
DEFAULT_N = DEFAULT_PER_CATEGORY * len(CATEGORIES)
#: what sample.json says about the data
SYNTHETIC_NOTE = (
    "synthetic: every picture is drawn by stygig.catalog.sample; every attribute is generated, and price, in_stock, "
    "brand and sizes are made-up shop data, not real products"
)


def _render_task(args: tuple[str, int, int, str]) -> dict[str, Any]:
    category, number, seed, root = args
    img, item = render_item(category, number, seed)
    path = Path(root) / item.image
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(_jpeg_bytes(img))
    return item.row()



# ------------------------------------------------------------------------------------------------
# the catalog


def plan(n: int) -> list[tuple[str, int]]:
    """(category, number) of each of ``n`` items, dealt round robin over :data:`CATEGORIES`."""
    return [(CATEGORIES[i % len(CATEGORIES)], i // len(CATEGORIES)) for i in range(n)]


def _check_args(n: Any, seed: Any) -> tuple[int, int]:
    if n is None:
        n = DEFAULT_N
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or not 1 <= int(n) <= MAX_ITEMS:
        raise InvalidInput(f"--n must be a whole number from 1 to {MAX_ITEMS}, got {n!r}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or not 0 <= int(seed) < 2**32:
        raise InvalidInput(f"--seed must be a whole number from 0 to {2**32 - 1}, got {seed!r}")
    return int(n), int(seed)


def _is_previous_sample(out: Path) -> bool:
    try:
        meta = json.loads((out / "sample.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(meta, dict) and meta.get("generator") == "stygig.catalog.sample"


def _workers(n: int) -> int:
    env = settings.SAMPLE_WORKERS.read()
    if env is not None:
        return max(1, env)
    if n < 16:
        return 1
    return max(1, min(2, os.cpu_count() or 1))


def generate_sample_catalog(
    out: str | Path, n: int | None = None, seed: int = 0, *, progress: bool = False
) -> dict[str, Any]:
    """Write the sample catalog of ``n`` items drawn from ``seed`` into ``out``.

    ``n`` (CLI ``--n``, 1..100000, default :data:`DEFAULT_N`: 30 per category) items are dealt
    round robin over the default taxonomy's categories; ``seed`` (CLI ``--seed``, default 0)
    picks everything random. ``progress`` shows a progress bar on stderr.

    Same ``n`` and ``seed`` -> byte-identical files. ``out`` must not exist, be an empty
    directory, or hold an earlier sample catalog (which is replaced). The catalog is written to a
    temporary directory beside ``out`` and renamed into place, so ``out`` is never half written.

    Returns ``{"root", "manifest", "n_items", "per_category"}`` (paths as strings).
    ``STYGIG_SAMPLE_WORKERS`` sets the number of drawing threads (default: up to 2). Items do
    not depend on each other nor on the order they are drawn in, so it never changes the output.
    """
    n, seed = _check_args(n, seed)
    _taxonomy()
    out = Path(out)
    if out.exists() and out.resolve() == Path.cwd().resolve():
        raise CatalogError("write the sample catalog into a new directory, not the current one")
    if out.exists():
        if not out.is_dir():
            raise CatalogError(f"{out} exists and is not a directory")
        if any(out.iterdir()) and not _is_previous_sample(out):
            raise CatalogError(f"{out} is not empty and is not a sample catalog; choose a new directory")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.parent / f".{out.name}.tmp-{os.getpid()}"
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir()
    try:
        tasks = [(c, k, seed, str(tmp)) for c, k in plan(n)]
        bar = None
        if progress:
            from tqdm import tqdm

            bar = tqdm(total=n, desc="drawing sample catalog", unit="item", file=sys.stderr)
        rows: list[dict[str, Any]] = []
        workers = _workers(n)
        if workers > 1:
            # threads, not processes: Pillow and numpy release the GIL while they draw, resize and
            # encode (2 threads: ~1.6x), and threads need no __main__ guard in the caller's script
            with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="stygig-sample") as pool:
                for row in pool.map(_render_task, tasks):
                    rows.append(row)
                    if bar is not None:
                        bar.update(1)
        else:
            for t in tasks:
                rows.append(_render_task(t))
                if bar is not None:
                    bar.update(1)
        if bar is not None:
            bar.close()
        with open(tmp / "manifest.jsonl", "w", encoding="utf-8", newline="\n") as f:
            for row in rows:
                f.write(json.dumps(row, sort_keys=True) + "\n")
        meta = {
            "generator": "stygig.catalog.sample", "version": GENERATOR_VERSION, "n": n, "seed": seed, "data": SYNTHETIC_NOTE,
        }
        (tmp / "sample.json").write_text(json.dumps(meta, sort_keys=True) + "\n", encoding="utf-8")
        if out.exists():
            old = out.parent / f".{out.name}.old-{os.getpid()}"
            out.rename(old)
            tmp.rename(out)
            shutil.rmtree(old, ignore_errors=True)
        else:
            tmp.rename(out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    per_category = {c: 0 for c in CATEGORIES}
    for c, _ in plan(n):
        per_category[c] += 1
    return {
        "root": str(out),
        "manifest": str(out / "manifest.jsonl"),
        "n_items": n,
        "per_category": {c: k for c, k in per_category.items() if k},
    }


def contact_sheet(out_png: str | Path, per_category: int = 3, seed: int = 0, cell: int = 200,
                  categories: tuple[str, ...] | list[str] | None = None, first: int = 0) -> Path:
    """A PNG grid with ``per_category`` items (numbers ``first``, ``first + 1``, ...) of each
    category (one row each, labelled with the id, style and cut), for looking at the pictures:
    ``python -c "from stygig.catalog.sample import contact_sheet; contact_sheet('/tmp/sheet.png')"``."""
    cats = tuple(categories) if categories else CATEGORIES
    for cat in cats:
        if cat not in CATEGORIES:
            raise InvalidInput(f"the sample catalog has no category {cat!r}")
    sheet = Image.new("RGB", (cell * per_category, cell * len(cats)), (255, 255, 255))
    draw = ImageDraw.Draw(sheet)
    for r, cat in enumerate(cats):
        for c in range(per_category):
            img, item = render_item(cat, first + c, seed)
            img.thumbnail((cell - 6, cell - 6))
            sheet.paste(img, (c * cell + (cell - img.width) // 2, r * cell + (cell - img.height) // 2))
            if cell >= 120:
                label = f"{item.id} {item.look.style[0]} {item.look.cut}"
                draw.text((c * cell + 4, r * cell + cell - 14), label, fill=(90, 90, 90))
    out_png = Path(out_png)
    sheet.save(out_png)
    return out_png
