"""Outfit-quality metrics as free functions over arrays (faiss ``contrib/evaluation`` style).

Nothing here knows about artifacts or models: scores and labels in, a number out. Ties are
counted as a random tie-break would count them on average, so a model that cannot tell the
candidates apart scores chance, whatever order they come in.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np


def fitb_accuracy(scores: Sequence[np.ndarray], answers: Sequence[int] | np.ndarray) -> float:
    """Fill-in-the-blank accuracy: the share of questions whose right candidate scores highest.

    ``scores[q]`` holds question ``q``'s candidate scores (questions may have different numbers
    of candidates); ``answers[q]`` the index of the right one. A tie at the top between ``t``
    candidates that include the right one counts ``1/t``."""
    return float(np.mean(fitb_credit(scores, answers))) if len(answers) else float("nan")


def fitb_credit(scores: Sequence[np.ndarray], answers: Sequence[int] | np.ndarray) -> np.ndarray:
    """Each question's credit (1, 0, or ``1/t`` on a tie of ``t`` at the top)."""
    out = np.zeros(len(answers), dtype=np.float64)
    for q, (s, a) in enumerate(zip(scores, answers)):
        s = np.round(np.asarray(s, dtype=np.float64), 9)
        top = s.max()
        if s[a] == top:
            out[q] = 1.0 / int((s == top).sum())
    return out


def roc_auc(scores: np.ndarray, labels: np.ndarray) -> float:
    """Area under the ROC curve of ``scores`` for binary ``labels`` (1 positive): the
    Mann-Whitney U statistic, ties given half credit (average ranks)."""
    s = np.round(np.asarray(scores, dtype=np.float64), 9)
    y = np.asarray(labels).astype(bool)
    n_pos, n_neg = int(y.sum()), int((~y).sum())
    if n_pos == 0 or n_neg == 0:
        raise ValueError("roc_auc needs both positive and negative labels")
    ranks = average_ranks(s)
    return float((ranks[y].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def average_ranks(values: np.ndarray) -> np.ndarray:
    """1-based ranks of ``values``, tied values sharing their average rank."""
    order = np.argsort(values, kind="stable")
    sorted_v = values[order]
    starts = np.flatnonzero(np.concatenate(([True], sorted_v[1:] != sorted_v[:-1])))
    ends = np.concatenate((starts[1:], [len(values)]))
    avg = (starts + ends + 1) / 2.0  # ranks start..end-1 (0-based) -> mean of 1-based
    ranks = np.empty(len(values), dtype=np.float64)
    ranks[order] = np.repeat(avg, ends - starts)
    return ranks


def coverage(recommended_rows: Sequence[np.ndarray], n_items: int) -> float:
    """The share of the catalog's ``n_items`` that appear in at least one answer."""
    if n_items <= 0:
        return float("nan")
    seen = np.unique(np.concatenate([np.asarray(r, dtype=np.int64) for r in recommended_rows])) if recommended_rows else []
    return float(len(seen) / n_items)


def diversity(vectors: np.ndarray) -> float:
    """Diversity within one outfit: the mean cosine distance (1 - cosine) over its pairs of
    pieces (rows L2-normalised); NaN for fewer than two pieces."""
    v = np.asarray(vectors, dtype=np.float64)
    n = len(v)
    if n < 2:
        return float("nan")
    sims = v @ v.T
    iu = np.triu_indices(n, k=1)
    return float(np.mean(1.0 - sims[iu]))


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0-100) of ``values`` (NaN when empty)."""
    return float(np.percentile(np.asarray(values, dtype=np.float64), q)) if len(values) else float("nan")
