"""Which scored candidates make the answer, and in which order.

Today's composition (the ranked list): the best ``items_per_category`` of each category that reach
``min_score``; then the outfit reads like one — the best piece of each *group* first (a bottom,
shoes, a bag), then the best of the other categories, then second picks, best scores first in each
layer; cut to ``top_k``. Every sort breaks ties by catalog row: same input, same output.

The joint outfit composer (each candidate scored against every query piece and the pieces already
chosen) is expected to extend or replace :func:`group_first`.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np


def best_per_category(total: np.ndarray, rows: np.ndarray, slot: np.ndarray, per_category: int, min_score: float) -> list[list[int]]:
    """Indices of each category's best ``per_category`` candidates scoring at least ``min_score``,
    best first (one list per category that has any, in slot order)."""
    order = np.lexsort((rows, -np.round(total, 9), slot))
    order = order[total[order] >= min_score]
    if not len(order):
        return []
    oslot = slot[order]
    starts = np.flatnonzero(np.concatenate(([True], oslot[1:] != oslot[:-1]))).tolist()
    ends = starts[1:] + [len(order)]
    return [order[s : min(e, s + per_category)].tolist() for s, e in zip(starts, ends)]


def group_first(
    total: np.ndarray,
    rows: np.ndarray,
    slot: np.ndarray,
    slot_groups: Sequence[str],
    *,
    items_per_category: int,
    min_score: float,
    top_k: int,
) -> list[int]:
    """Indices of the candidates to show, in order (see the module's docstring); ``slot_groups``
    names the taxonomy group of each searched category."""
    per_category = best_per_category(total, rows, slot, items_per_category, min_score)
    per_category.sort(key=lambda lst: (-round(float(total[lst[0]]), 9), int(rows[lst[0]])))
    groups_seen: set[str] = set()
    lead, rest = [], []
    for lst in per_category:
        group = slot_groups[int(slot[lst[0]])]
        (rest if group in groups_seen else lead).append(lst)
        groups_seen.add(group)
    chosen = [lst[0] for lst in lead] + [lst[0] for lst in rest]
    for depth in range(1, items_per_category):
        chosen += [lst[depth] for lst in per_category if len(lst) > depth]
    return chosen[:top_k]
