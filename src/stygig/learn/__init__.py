"""Learning compatibility from a shop's looks (issue 13).

* :mod:`.train`: ``stygig learn`` — type-aware embeddings trained with torch (learn time only),
  exported as numpy arrays for :class:`stygig.recommend.compat.learned.LearnedCompatibility`;
* :mod:`.tune`: ``stygig eval --tune`` — the heuristic's weights searched on the looks;
* :mod:`.split`: looks held out for the before/after report.

The new model goes into a new artifact through :func:`stygig.artifact.derive_artifact`.
"""
