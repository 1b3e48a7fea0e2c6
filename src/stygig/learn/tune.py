"""``stygig eval --tune``: the heuristic's weights searched on looks, for shops with too few looks
to learn from.

The heuristic's total is a weighted sum of its parts, and both FITB (a candidate's mean score
with the rest of the look) and coherence (an outfit's mean pairwise score) are linear in the
weights; so every question's and outfit's parts are computed once and every point of a grid over
the simplex (steps of :data:`STEP`, weights >= 0 summing to 1: 1,771 points) is scored with one
matrix product. The best point maximises FITB accuracy on the tuning looks; ties go to the higher
AUC, then to the point nearest the default weights, then to grid order.
"""

from __future__ import annotations

import itertools
from typing import Sequence

import numpy as np

from stygig.evaluate import metrics
from stygig.evaluate.runner import Catalog, RowOutfit, RowQuestion
from stygig.recommend.compat.heuristic import DEFAULT_WEIGHTS, HeuristicCompatibility

STEP = 0.05


def simplex_grid(n_parts: int, step: float = STEP) -> np.ndarray:
    """Every weight vector of ``n_parts`` non-negative multiples of ``step`` that sum to 1."""
    k = int(round(1 / step))
    points = [c for c in itertools.product(range(k + 1), repeat=n_parts - 1) if sum(c) <= k]
    return np.array([[*c, k - sum(c)] for c in points], dtype=np.float64) / k


def tune_weights(
    heuristic: HeuristicCompatibility, catalog: Catalog, questions: Sequence[RowQuestion], outfits: Sequence[RowOutfit]
) -> tuple[dict[str, float], dict[str, float]]:
    """(best weights, their figures on the given questions and outfits)."""
    names = heuristic.parts
    # per question: (parts, candidates), each part the mean over the context pieces
    q_parts = []
    for q in questions:
        pairs = heuristic.pairwise(catalog.pieces(q.context), catalog.pieces(q.candidates))
        q_parts.append(np.stack([np.asarray(pairs.parts[n]).mean(axis=0) for n in names]))
    o_parts = np.zeros((len(outfits), len(names)))
    for i, o in enumerate(outfits):
        p = catalog.pieces(o.rows)
        pairs = heuristic.pairwise(p, p)
        off = ~np.eye(len(o.rows), dtype=bool)
        o_parts[i] = [np.asarray(pairs.parts[n])[off].mean() for n in names]
    labels = np.array([o.label for o in outfits])
    answers = [q.answer for q in questions]
    grid = simplex_grid(len(names))
    default = np.array([DEFAULT_WEIGHTS[n] for n in names])
    best_key, best = None, None
    for g, w in enumerate(grid):
        fitb = metrics.fitb_accuracy([w @ p for p in q_parts], answers) if questions else 0.0
        auc = metrics.roc_auc(o_parts @ w, labels) if len(outfits) and len(set(labels)) == 2 else 0.0
        key = (round(fitb, 9), round(auc, 9), -round(float(np.abs(w - default).sum()), 9), -g)
        if best_key is None or key > best_key:
            best_key, best = key, (w, fitb, auc)
    w, fitb, auc = best
    weights = {n: round(float(x), 4) for n, x in zip(names, w)}
    return weights, {"fitb_accuracy": fitb, "compat_auc": auc}
