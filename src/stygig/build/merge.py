"""``stygig merge``: shard artifacts (``build --shard I/N``) into one artifact."""

from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import Sequence

from stygig.artifact.reader import ArtifactReader
from stygig.artifact.writer import ArtifactWriter, check_target, thumb_path
from stygig.atomic import staged_dir
from stygig.build.summary import BuildSummary, done, summarise
from stygig.errors import StygigError


def merge_artifacts(shards: Sequence[str | Path], out: str | Path, *, tar: bool | str | Path = False,
                    index_kind: str = "auto", force: bool = False) -> BuildSummary:
    """Combine shard artifacts (``build --shard I/N``) into one artifact.

    The result is identical in content to a single-process build of the same catalog: items are
    re-sorted by id, thumbnails renumbered, indexes rebuilt; ``model_version`` is the same.
    """
    t0 = time.perf_counter()
    out = Path(out)
    if not shards:
        raise StygigError("merge needs at least one shard artifact")
    parts = [ArtifactReader.open(s) for s in shards]
    first = parts[0]
    for p in parts[1:]:
        if p.manifest["encoder"] != first.manifest["encoder"]:
            raise StygigError(f"shard {p.root} was built with a different encoder than {first.root}")
        if p.taxonomy_text != first.taxonomy_text:
            raise StygigError(f"shard {p.root} was built with a different taxonomy than {first.root}")
    tax = first.taxonomy
    rows: list[tuple[bytes, int, int]] = []
    skipped: list[dict[str, str]] = []
    for k, p in enumerate(parts):
        rows += [(bytes(i), k, r) for r, i in enumerate(p.items.ids)]
        skipped += p.report.get("skipped", [])
    rows.sort()
    for a, b in zip(rows, rows[1:]):
        if a[0] == b[0]:
            raise StygigError(f"shards overlap: item id {a[0].decode()!r} is in more than one shard")
    skipped.sort(key=lambda d: d["id"])
    check_target(out, force, tar)
    with staged_dir(out, "merging") as art:
        (art / "thumbs").mkdir()
        writer = ArtifactWriter(art, tax, len(rows), first.vectors.shape[1], first.colours.shape[1:])
        for new_row, (_, k, r) in enumerate(rows):
            part = parts[k]
            it = dict(part.items[r])
            if it.get("thumbnail"):
                src_thumb = part.root / it["thumbnail"]
                it["thumbnail"] = thumb_path(new_row)
                shutil.copyfile(src_thumb, art / it["thumbnail"])
            writer.add(it, part.vectors[r], part.colours[r])
        shutil.copytree(first.root / "encoder", art / "encoder")
        manifest = writer.finish(encoder_config=first.manifest["encoder"],
                                 encoder_description=first.report.get("encoder", {}), skipped=skipped,
                                 category_text=first.category_text(), index_kind=index_kind)
        summary = summarise(art, manifest, skipped, writer.per_category, {})
    return done(summary, out, t0, tar)
