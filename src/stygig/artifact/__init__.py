"""The model artifact: the format only — manifest, verify, reader, the one writer, pack.

An artifact is a self-contained directory — what SageMaker unpacks into ``/opt/ml/model`` —
holding everything needed to answer a recommendation, and nothing that can run code::

    manifest.json       format + version, encoder config, taxonomy, counts, index choice,
                        sha256 of every file                          (manifest, verify)
    vectors.npy         float32 (n, dim), L2-normalised, rows sorted by item id
    colors.npy          float32 (n, K, 4): dominant colours per item as (L, a, b, weight)
    items/              columnar item metadata, read lazily           (items)
    index/              one FAISS index per category                  (index)
    category_text.npy   (CLIP only) one text embedding per taxonomy category, for zero-shot
    encoder/            the encoder's own files (ONNX towers, preprocessing, tokenizer)
    taxonomy.json       the rules the artifact was built with
    thumbs/<row>.jpg    a small picture of every item, for reports and pages
    build_report.json   what was built and skipped, with reasons, and where the time went

Rows are written by :class:`~stygig.artifact.writer.ArtifactWriter` alone, whoever produces
them (:mod:`stygig.build`: pictures, given vectors, merged shards); :mod:`stygig.artifact.derive`
swaps the compatibility model; :mod:`stygig.artifact.pack` makes ``model.tar.gz``.
"""

from stygig.artifact.derive import derive_artifact
from stygig.artifact.manifest import FORMAT, FORMAT_VERSION, VOLATILE, content_version, read_manifest, sha256_file
from stygig.artifact.pack import pack_artifact
from stygig.artifact.reader import ArtifactReader
from stygig.artifact.verify import verify_artifact
from stygig.artifact.writer import ArtifactWriter, check_target

__all__ = [
    "FORMAT", "FORMAT_VERSION", "VOLATILE", "ArtifactReader", "ArtifactWriter", "check_target", "content_version",
    "derive_artifact", "pack_artifact", "read_manifest", "sha256_file", "verify_artifact",
]
