"""The model artifact: the format only — manifest, verify, reader, the one writer, pack.

An artifact is a self-contained directory — what SageMaker unpacks into ``/opt/ml/model`` —
holding everything needed to answer a recommendation, and nothing that can run code::

    manifest.json       format + version, encoder config, taxonomy, counts, index choice,
                        typed attributes, sha256 of every file         (manifest, verify)
    vectors.npy         float32 (n, dim), L2-normalised, rows sorted by item id
    colors.npy          float32 (n, K, 4): dominant colours per item as (L, a, b, weight)
    items/              columnar item metadata, read lazily           (items)
    items/attributes/   typed attribute columns                       (attributes)
    index/              one FAISS index per category                  (index)
    category_text.npy   (CLIP only) one text embedding per taxonomy category, for zero-shot
    encoder/            the encoder's own files (ONNX towers, preprocessing, tokenizer)
    taxonomy.json       the rules the artifact was built with
    thumbs/<row>.jpg    a small picture of every item, for reports and pages
    build_report.json   what was built and skipped, with reasons, and where the time went

Rows are written by :class:`~stygig.artifact.writer.ArtifactWriter` alone, whoever produces
them (:mod:`stygig.build`: pictures, given vectors, merged shards, an update's carried and new rows); :mod:`stygig.artifact.derive`
swaps the compatibility model; :mod:`stygig.artifact.pack` makes ``model.tar.gz``.

The names below are importable from ``stygig.artifact`` itself; each loads its module when first
asked for (PEP 562), so that importing a light part — the attribute columns the request schema
checks filters against — does not load FAISS and the writer.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "FORMAT": "manifest", "FORMAT_VERSION": "manifest", "VOLATILE": "manifest", "content_version": "manifest",
    "read_manifest": "manifest", "sha256_file": "manifest", "verify_artifact": "verify", "pack_artifact": "pack",
    "derive_artifact": "derive", "ArtifactReader": "reader", "ArtifactWriter": "writer", "check_target": "writer",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'stygig.artifact' has no attribute {name!r}")
    return getattr(importlib.import_module(f"stygig.artifact.{module}"), name)
