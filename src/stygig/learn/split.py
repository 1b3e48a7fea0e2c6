"""Looks held out from learning, for the before/after figures ``learn`` and ``--tune`` print."""

from __future__ import annotations

from typing import Sequence, TypeVar

import numpy as np

T = TypeVar("T")


def holdout_split(looks: Sequence[T], share: float, seed: int = 0) -> tuple[list[T], list[T]]:
    """(training looks, held-out looks): a seeded random ``share`` held out, both in file order."""
    if not 0.0 <= share < 1.0:
        raise ValueError("--holdout must be at least 0 and below 1")
    n = len(looks)
    k = int(round(share * n))
    held = set(np.random.default_rng([seed, 3]).permutation(n)[:k].tolist())
    return [lk for i, lk in enumerate(looks) if i not in held], [lk for i, lk in enumerate(looks) if i in held]
