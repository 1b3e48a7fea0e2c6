"""An artifact from vectors already computed (no pictures, no thumbnails): synthetic catalogs
and scale benchmarks ("index only, vectors given")."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from stygig.artifact.index import VectorFile
from stygig.artifact.writer import ArtifactWriter, check_target
from stygig.atomic import staged_dir
from stygig.build.summary import BuildSummary, done, summarise
from stygig.errors import StygigError
from stygig.features.encoders.base import Encoder
from stygig.taxonomy import Taxonomy

BLOCK = 65536


def write_artifact_from_arrays(
    out: str | Path,
    *,
    ids: Sequence[str],
    categories: Sequence[str],
    genders: Sequence[str],
    vectors: "np.ndarray | Path",
    colours: np.ndarray,
    encoder: Encoder,
    taxonomy: Taxonomy | None = None,
    index_kind: str = "auto",
    force: bool = False,
    attributes: Mapping[str, Sequence[Any]] | None = None,
) -> BuildSummary:
    """An artifact from precomputed vectors (no images, no thumbnails): for scale benchmarks.

    ``vectors`` is an (n, dim) float32 array or the path of one saved as ``.npy``, streamed so
    that a million vectors never sit in memory twice. ``attributes`` gives typed attribute
    columns (name -> one value per item, in the order of ``ids``; None where missing).
    """
    t0 = time.perf_counter()
    out = Path(out)
    tax = taxonomy or Taxonomy.default()
    order = np.argsort(np.array(ids, dtype=object), kind="stable")
    check_target(out, force)
    n = len(ids)
    colours = np.asarray(colours, dtype=np.float32)
    with staged_dir(out, "arrays") as art:
        if isinstance(vectors, (str, Path)):
            if not np.array_equal(order, np.arange(n)):
                raise StygigError("vectors given as a file must already be in id order")
            src = VectorFile(Path(vectors))
            writer = ArtifactWriter(art, tax, n, src.dim, colours.shape[1:])
            for start, buf in src.chunks():
                writer.put_vectors(start, buf)
        else:
            writer = ArtifactWriter(art, tax, n, vectors.shape[1], colours.shape[1:])
            for s in range(0, n, BLOCK):
                writer.put_vectors(s, vectors[order[s : s + BLOCK]])
        for s in range(0, n, BLOCK):
            writer.put_colours(s, colours[order[s : s + BLOCK]])
        columns = {name: _plain(values) for name, values in (attributes or {}).items()}
        for i in order:
            c = categories[i]
            attrs = {name: col[i] for name, col in columns.items() if not _missing(col[i])}
            writer.add({"id": ids[i], "category": c, "group": tax.group_of(c), "gender": genders[i],
                        "name": f"{tax.categories[c].display} {ids[i]}", "source": "", "path": "", "thumbnail": None,
                        "colors": [], "attributes": attrs})
        enc_config = encoder.save(art / "encoder")
        manifest = writer.finish(encoder_config=enc_config, encoder_description=encoder.describe(), skipped=[],
                                 index_kind=index_kind)
        summary = summarise(art, manifest, [], writer.per_category, {})
    return done(summary, out, t0)


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and value != value)  # None or NaN


def _plain(values: Sequence[Any]) -> list[Any]:
    """A column as JSON-ready Python values (numpy scalars and arrays become floats, bools, lists)."""
    return values.tolist() if isinstance(values, np.ndarray) else list(values)
