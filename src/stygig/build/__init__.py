"""Building artifacts, in stages: read → featurize → embed → write (:mod:`~stygig.build.runner`).

* :mod:`~stygig.build.read` — the catalog's items in id order, and their pictures' bytes;
* :mod:`~stygig.build.featurize` — decode, dominant colours, thumbnail (worker threads);
* :mod:`~stygig.build.embed` — the encoder, in its batch size;
* :mod:`~stygig.build.sink` — checkpointed chunks, assembled by the one artifact writer
  (:class:`stygig.artifact.writer.ArtifactWriter`);
* :mod:`~stygig.build.distribute` — threads, shards, SageMaker training: named strategies;
* :mod:`~stygig.build.merge` — shard artifacts into one; :mod:`~stygig.build.arrays` — an
  artifact from given vectors; :mod:`~stygig.build.update` — an artifact and the catalog's
  changes into a new artifact, embedding only what changed.

Every path writes its rows through the same writer, so a merged or vectors-given artifact is laid
out exactly as a built one.
"""

from stygig.build.arrays import write_artifact_from_arrays
from stygig.build.merge import merge_artifacts
from stygig.build.runner import CHUNK, build_artifact
from stygig.build.summary import BuildSummary, catalog_lines
from stygig.build.update import update_artifact, update_from_arrays

__all__ = ["CHUNK", "BuildSummary", "build_artifact", "catalog_lines", "merge_artifacts", "update_artifact",
           "update_from_arrays", "write_artifact_from_arrays"]
