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
    grid = simplex_grid(len(names))
    fitb = _fitb_on_grid(grid, q_parts, [q.answer for q in questions])
    auc = _auc_on_grid(grid, o_parts, labels) if len(outfits) and len(set(labels.tolist())) == 2 else np.zeros(len(grid))
    default = np.array([DEFAULT_WEIGHTS[n] for n in names])
    distance = np.abs(grid - default).sum(axis=1)
    # best FITB, then AUC, then nearest the defaults, then grid order
    order = np.lexsort((np.arange(len(grid)), np.round(distance, 9), -np.round(auc, 9), -np.round(fitb, 9)))
    g = int(order[0])
    weights = {n: round(float(x), 4) for n, x in zip(names, grid[g])}
    return weights, {"fitb_accuracy": float(fitb[g]), "compat_auc": float(auc[g])}


def _fitb_on_grid(grid: np.ndarray, q_parts: Sequence[np.ndarray], answers: Sequence[int], chunk: int = 64) -> np.ndarray:
    """FITB accuracy of every weight vector (ties credited as :func:`metrics.fitb_credit` does)."""
    if not q_parts:
        return np.zeros(len(grid))
    n_c = max(p.shape[1] for p in q_parts)
    parts = np.zeros((len(q_parts), grid.shape[1], n_c))
    valid = np.zeros((len(q_parts), n_c), dtype=bool)
    for i, p in enumerate(q_parts):
        parts[i, :, : p.shape[1]] = p
        valid[i, : p.shape[1]] = True
    answers = np.asarray(answers)
    out = np.zeros(len(grid))
    for s in range(0, len(grid), chunk):
        scores = np.round(np.einsum("gp,qpc->gqc", grid[s : s + chunk], parts), 9)
        scores[:, ~valid] = -np.inf
        top = scores.max(axis=2, keepdims=True)
        is_top = scores == top
        right = np.take_along_axis(is_top, answers[None, :, None], axis=2)[:, :, 0]
        out[s : s + chunk] = (right / is_top.sum(axis=2)).mean(axis=1)
    return out


def _auc_on_grid(grid: np.ndarray, o_parts: np.ndarray, labels: np.ndarray) -> np.ndarray:
    return np.array([metrics.roc_auc(o_parts @ w, labels) for w in grid])
