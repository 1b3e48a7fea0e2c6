"""Compatibility of garments: one interface (:mod:`.base`), its implementations by kind
(:mod:`.heuristic`; a learned model next) and the registry that loads the one an artifact names
(:mod:`.registry`)."""

from stygig.recommend.compat.base import (
    Compatibility,
    ContextScores,
    PairScores,
    Pieces,
    against_context,
    coherence,
    mean_off_diagonal,
    pairs_within,
)
from stygig.recommend.compat.heuristic import DEFAULT_WEIGHTS, HeuristicCompatibility
from stygig.recommend.compat.registry import KINDS, MANIFEST_KEY, default_spec, load_compatibility

__all__ = [
    "Compatibility", "ContextScores", "PairScores", "Pieces", "against_context", "coherence", "mean_off_diagonal", "pairs_within",
    "DEFAULT_WEIGHTS", "HeuristicCompatibility", "KINDS", "MANIFEST_KEY", "default_spec", "load_compatibility",
]
