"""What the query is: its category and gender, when the user did not say.

* category: an explicit hint wins; a catalog item knows its own; otherwise the neighbour vote —
  the ``VOTE_K`` nearest items (each category's top hits merged), each weighing its similarity —
  blended, for a text query on a CLIP artifact, half and half with zero-shot prompts built from
  the taxonomy's display names;
* gender: an item knows its own; otherwise the neighbours' similarity-weighted vote when one
  gender other than unisex holds 60 % of it; else unknown.

:func:`leave_one_out_accuracy` measures the vote on the catalog itself (each item left out of its
own vote), for tests and benchmarks.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from stygig.artifact.index import Indexes
from stygig.recommend.retrieve import nearest, search_all
from stygig.taxonomy import GENDERS

VOTE_K = 15
#: share of the neighbours' vote a gender needs to be the query's
GENDER_VOTE_SHARE = 0.6


def neighbour_vote(
    indexes: Indexes, category_codes: np.ndarray, categories: Sequence[str], qvec: np.ndarray, exclude_row: int | None = None
) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray]]:
    """The category vote of the ``VOTE_K`` nearest items: a distribution over ``categories`` (each
    neighbour weighs its similarity), and the neighbours (scores, rows)."""
    hits = search_all(indexes, qvec, VOTE_K + 1, categories)
    scores, rows = nearest(hits, VOTE_K, exclude_row)
    vote = np.zeros(len(categories), dtype=np.float64)
    codes = np.asarray(category_codes)
    for s, r in zip(scores, rows):
        vote[int(codes[r])] += max(float(s), 0.0) + 1e-6
    if vote.sum() > 0:
        vote /= vote.sum()
    return vote, (scores, rows)


def query_category(
    qvec: np.ndarray,
    *,
    hint: str | None,
    row: int | None,
    is_text: bool,
    items,
    indexes: Indexes,
    categories: Sequence[str],
    category_text: np.ndarray | None,
    logit_scale: float,
):
    """(category, source, confidence, neighbours or None): source is ``hint``, ``item``,
    ``vote`` or ``zero-shot+vote``."""
    if hint is not None:
        return hint, "hint", 1.0, None
    if row is not None:
        return items.category_of(row), "item", 1.0, None
    vote, (scores, rows) = neighbour_vote(indexes, items.category_codes, categories, qvec)
    source = "vote"
    if is_text and category_text is not None:
        logits = logit_scale * (category_text @ qvec)
        zs = np.exp(logits - logits.max())
        zs /= zs.sum()
        vote = 0.5 * zs + 0.5 * vote
        source = "zero-shot+vote"
    best = int(np.argmax(vote))  # argmax takes the first maximum: deterministic
    return categories[best], source, float(vote[best]), (scores, rows)


def query_gender(row: int | None, neighbours, items) -> tuple[str | None, str]:
    """(gender or None, source): ``item``, ``vote`` or ``unknown``."""
    if row is not None:
        return items.gender_of(row), "item"
    if neighbours is None:
        return None, "unknown"
    scores, rows = neighbours
    if len(rows) == 0:
        return None, "unknown"
    counts = {g: 0.0 for g in GENDERS}
    for s, r in zip(scores, rows):
        counts[items.gender_of(int(r))] += max(float(s), 0.0)
    total = sum(counts.values())
    g = max(GENDERS, key=lambda k: (counts[k], -GENDERS.index(k)))
    if total > 0 and counts[g] / total >= GENDER_VOTE_SHARE and g != "unisex":
        return g, "vote"
    return None, "unknown"


def leave_one_out_accuracy(
    vectors: np.ndarray, items, indexes: Indexes, categories: Sequence[str]
) -> tuple[float, dict[str, int]]:
    """How often the neighbour vote names an item's own category when the item itself is left
    out; and the confusions (``"true->voted"`` counts)."""
    correct, confusions = 0, {}
    n = len(items)
    for row in range(n):
        vote, _ = neighbour_vote(indexes, items.category_codes, categories,
                                 np.asarray(vectors[row], dtype=np.float32), exclude_row=row)
        voted, truth = categories[int(np.argmax(vote))], items.category_of(row)
        if voted == truth:
            correct += 1
        else:
            key = f"{truth}->{voted}"
            confusions[key] = confusions.get(key, 0) + 1
    return correct / max(1, n), confusions
