"""Which scored candidates make the answer: the composed outfit, and the ranked list.

**The outfit** (:func:`compose`) is chosen jointly. Each open slot of the query
(:meth:`stygig.taxonomy.slots.OutfitRules.plan`) has a short list of candidates, the best
:data:`SHORTLIST` by their compatibility with the query pieces; the compatibility component
then scores every short-listed candidate against every other (:class:`Problem`). An outfit's
score is the mean, over its chosen pieces, of each piece's mean compatibility with every other
piece of the outfit — the query's pieces and the other chosen ones alike (the shoes must go with
the trousers, not only with the shirt)::

    score(S) = (sum_j sum_q s(q, j) + sum_{i != j in S} s(i, j)) / (|S| (n_query + |S| - 1))

The slots decide what an outfit may hold: one base alternative whole (a top and a bottom, or a
one-piece), every required slot (footwear), optional slots (outerwear over a top or a one-piece,
one accessory of each kind) only when their piece does not lower the score; no two pieces whose
slots exclude each other, none for the other gender. A required slot whose short list is empty
(filters, a small catalog) stays empty. :func:`beam` searches slot by slot keeping the
``width`` best partial outfits; :func:`exhaustive` tries every outfit (small cases: tests and
``benchmarks/outfit.py`` measure the beam against it). Each chosen piece gets up to
:data:`ALTERNATIVES` others of its slot, best outfit score first when swapped in.

**The ranked list** (:func:`group_first`, today's): the best ``items_per_category`` of each
category that reach ``min_score``; the best piece of each *group* first (a bottom, shoes, a bag),
then the best of the other categories, then second picks, best scores first in each layer; cut to
``top_k``. The response lists the outfit's pieces first and then these (:func:`outfit_first`).

Every sort breaks ties by catalog row: same input, same output.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from stygig.taxonomy import GENDERS, OutfitRules, gender_allowed

#: candidates per base or required slot that the composer considers (the best by compatibility
#: with the query), and per optional slot (outerwear, each kind of accessory)
SHORTLIST = 4
SHORTLIST_OPTIONAL = 2
#: partial outfits the beam keeps
BEAM_WIDTH = 8
#: other candidates shown for each slot of the outfit
ALTERNATIVES = 3


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


def outfit_first(outfit: Sequence[int], ranked: Sequence[int], slot: np.ndarray, *, items_per_category: int, top_k: int) -> list[int]:
    """The response's order: the outfit's pieces, then the ranked list's others, a category never
    holding more than ``items_per_category`` (the outfit's piece takes one of its places)."""
    out = list(outfit)
    used: dict[int, int] = {}
    for i in out:
        used[int(slot[i])] = used.get(int(slot[i]), 0) + 1
    for i in ranked:
        if i in out:
            continue
        s = int(slot[i])
        if used.get(s, 0) >= items_per_category:
            continue
        used[s] = used.get(s, 0) + 1
        out.append(i)
    return out[:top_k]


# ---- the joint outfit ------------------------------------------------------------------------------
#: (G + 1, G + 1): whether pieces of these genders may be worn together (codes; -1 = unknown, the
#: last row and column): not men's with women's
_WORN_TOGETHER = np.array(
    [[a is None or b is None or (gender_allowed(a, b) and gender_allowed(b, a)) for b in (*GENDERS, None)]
     for a in (*GENDERS, None)], dtype=bool)


@dataclass
class Problem:
    """One composition: the short-listed candidates of the open slots and their scores.

    * ``slots``: the open slots in the taxonomy's order; ``cand_slot`` (n,) the index of each
      candidate's slot in ``slots``;
    * ``context`` (n_query, n): each candidate's total against each query piece;
    * ``pair`` (n, n): ``pair[i, j]`` is candidate ``j``'s total with ``i`` as its context;
    * ``genders`` (n,), ``context_genders`` (n_query,): gender codes (-1 unknown);
    * ``held``: the slots the query's pieces fill; ``rows`` (n,): catalog rows (ties).
    """

    rules: OutfitRules
    slots: tuple[str, ...]
    cand_slot: np.ndarray
    context: np.ndarray
    pair: np.ndarray
    genders: np.ndarray
    context_genders: np.ndarray
    held: frozenset[str]
    rows: np.ndarray

    def __post_init__(self) -> None:
        n = len(self.rows)
        if self.pair.shape != (n, n) or self.context.shape[1:] != (n,) or len(self.cand_slot) != n:
            raise ValueError("Problem: candidate arrays disagree in length")
        g = np.asarray(self.genders, dtype=np.int64)
        ok = _WORN_TOGETHER[g][:, g]
        #: candidates that may be worn with every query piece
        self.usable = wearable_with(g, self.context_genders)
        self.n_context = int(self.context.shape[0])
        self.context_sum = self.context.sum(axis=0)
        #: (n, n) whether two candidates may be worn together; their pair totals both ways
        self.ok = ok
        self.sym = self.pair + self.pair.T
        # plain lists for reading single entries, where numpy's per-call cost dominates
        self._ok = ok.tolist()
        self._ctx = self.context_sum.tolist()
        self._sym = self.sym.tolist()
        self._row = [int(r) for r in self.rows]
        self._members = {name: [int(i) for i in np.flatnonzero((self.cand_slot == k) & self.usable)]
                         for k, name in enumerate(self.slots)}

    def members(self, slot: str) -> list[int]:
        """The usable candidates of ``slot``, in short-list order (best first)."""
        return self._members[slot]

    def allowed(self, i: int, chosen: Sequence[int]) -> bool:
        ok = self._ok[i]
        return all(ok[j] for j in chosen)

    def score(self, chosen: Sequence[int]) -> float:
        """The outfit score of ``chosen`` (candidate indexes), 0 for none."""
        ctx = sum(self._ctx[j] for j in chosen)
        pairs = sum(self._sym[chosen[a]][chosen[b]] for a in range(len(chosen)) for b in range(a))
        return self._mean(len(chosen), ctx, pairs)

    def _mean(self, n: int, ctx: float, pairs: float) -> float:
        return (ctx + pairs) / (n * (self.n_context + n - 1)) if n else 0.0

    def fit(self, j: int, others: Sequence[int]) -> float:
        """Candidate ``j``'s mean compatibility with the query pieces and ``others``."""
        o = [i for i in others if i != j]
        return (float(self.context_sum[j]) + float(self.pair[o, j].sum())) / (self.n_context + len(o))

    # ---- the plans: one per base alternative the query leaves open ----------------------
    def plans(self) -> list[tuple[list[str], list[str]]]:
        """(required slots to fill, optional slots to try), one per base alternative open to the
        query; a slot with no usable candidate is left out (it cannot be filled)."""
        rules = self.rules
        avail = {s for s in self.slots if self._members[s]}
        required = [s.name for s in rules.slots.values() if s.required and s.name in avail]
        alts = []
        for alt in rules.base:
            need = [s for s in alt if s not in self.held]
            if any(s not in self.slots for s in need):
                continue  # excluded by a query piece
            if need and not self.held & set(alt) and any(s not in avail for s in need):
                continue  # nothing of it held and not all of it can be filled
            alts.append([s for s in need if s in avail])
        out = []
        for need in alts or [[]]:
            have = self.held | set(need)
            opt = []
            for name in self.slots:
                s = rules.slots[name]
                if name in need or name in required or not s.optional or name not in avail:
                    continue
                if any(rules.conflicts(name, h) for h in have):
                    continue
                if s.over and not have & set(s.over):
                    continue
                opt.append(name)
            out.append(([s for s in self.slots if s in need or s in required], opt))
        return out

    def key(self, chosen: Sequence[int], score: float) -> tuple:
        """Sort key: best score first, ties by the pieces' places in the short list (which is
        in a deterministic order: score, then catalog row)."""
        return (-round(score, 12), tuple(chosen))


@dataclass(frozen=True)
class Composition:
    """The chosen outfit: candidate indexes in slot order, their slots, the score, and each
    piece's fit and alternatives (candidate index, its fit, the outfit score with it swapped in)."""

    chosen: tuple[int, ...]
    slots: tuple[str, ...]
    score: float
    fits: tuple[float, ...]
    alternatives: tuple[tuple[tuple[int, float, float], ...], ...]


def search(problem: Problem) -> Composition:
    """The outfit the composer answers with: every combination of the required slots' short
    lists (a few dozen: the base and footwear), each then grown greedily — the optional piece
    that raises the outfit's score most, one per slot, until none does; the best outfit found.
    Vectorised over the combinations; measured against :func:`exhaustive`."""
    best: tuple | None = None
    n = len(problem.rows)
    sym, ok, ctxv, q = problem.sym, problem.ok, problem.context_sum, problem.n_context
    for required, optional in problem.plans():
        combo = _combinations(problem, required, strict=True)
        if not len(combo):
            combo = _combinations(problem, required, strict=False)
        if not len(combo):
            continue
        filled = combo < n
        idx = np.where(filled, combo, 0)
        size = filled.sum(axis=1).astype(np.float64)
        tot = np.where(filled, ctxv[idx], 0.0).sum(axis=1)
        acc = np.zeros((len(combo), n))
        may = np.ones((len(combo), n), dtype=bool)
        for a in range(combo.shape[1]):
            for b in range(a):
                tot += np.where(filled[:, a] & filled[:, b], sym[idx[:, a], idx[:, b]], 0.0)
            acc += np.where(filled[:, a, None], sym[idx[:, a]], 0.0)
            may &= np.where(filled[:, a, None], ok[idx[:, a]], True)
        opt = np.asarray([i for name in optional for i in problem.members(name)], dtype=np.int64)
        opt_slot = problem.cand_slot[opt]
        chosen = [list(map(int, row[row < n])) for row in combo]
        open_ = np.ones((len(combo), len(opt)), dtype=bool)
        for _ in range(len(optional)):
            if not len(opt):
                break
            cur = tot / np.maximum(size * (q + size - 1), 1)
            new_n = size[:, None] + 1
            gain = (tot[:, None] + ctxv[opt][None, :] + acc[:, opt]) / (new_n * (q + new_n - 1))
            gain = np.where(open_ & may[:, opt], gain, -np.inf)
            pick = np.argmax(gain, axis=1)  # the first of equals: short-list order
            grow = np.round(gain[np.arange(len(combo)), pick], 12) >= np.round(cur, 12)
            if not grow.any():
                break
            j = opt[pick]
            tot = np.where(grow, tot + ctxv[j] + acc[np.arange(len(combo)), j], tot)
            size = size + grow
            acc = acc + np.where(grow[:, None], sym[j], 0.0)
            may = may & np.where(grow[:, None], ok[j], True)
            open_ &= ~(grow[:, None] & (opt_slot[None, :] == opt_slot[pick][:, None]))
            for r in np.flatnonzero(grow).tolist():
                chosen[r].append(int(j[r]))
        for st, t, k in zip(chosen, tot.tolist(), size.tolist()):
            key = problem.key(tuple(st), problem._mean(int(k), t, 0.0))
            if best is None or key < best[0]:
                best = (key, tuple(st))
    return _finish(problem, best[1] if best else ())


def _combinations(problem: Problem, slots: Sequence[str], *, strict: bool) -> np.ndarray:
    """(c, len(slots)) candidate indexes, one per slot, of the combinations whose pieces may be
    worn together; ``strict=False`` also lets slots stay empty (index n), as few as the pieces
    allow (when men's and women's pieces leave no complete combination)."""
    n = len(problem.rows)
    choices = [np.asarray([*problem.members(s), *(() if strict else (n,))], dtype=np.int64) for s in slots]
    if not choices:
        return np.zeros((1, 0), dtype=np.int64)
    grids = np.meshgrid(*choices, indexing="ij")
    combo = np.stack([g.ravel() for g in grids], axis=1)
    ok = np.ones((n + 1, n + 1), dtype=bool)
    ok[:n, :n] = problem.ok
    valid = np.ones(len(combo), dtype=bool)
    for a in range(len(slots)):
        for b in range(a):
            valid &= ok[combo[:, a], combo[:, b]]
    combo = combo[valid]
    if not strict and len(combo):  # as complete as the pieces allow
        filled = (combo < n).sum(axis=1)
        combo = combo[filled == filled.max()]
    return combo


def exhaustive(problem: Problem, max_outfits: int = 5_000_000) -> Composition:
    """The best outfit of all: every combination scored at once (exponential in the slots:
    small cases only; more than ``max_outfits`` combinations in one plan is a ValueError). A
    required slot is filled in every outfit considered, unless no outfit can fill them all."""
    for strict in (True, False):
        best = _exhaustive(problem, max_outfits, strict)
        if best is not None:
            return _finish(problem, best)
    return _finish(problem, ())


def _exhaustive(problem: Problem, max_outfits: int, strict: bool) -> tuple[int, ...] | None:
    best: tuple | None = None
    n = len(problem.rows)
    sym = np.zeros((n + 1, n + 1))
    sym[:n, :n] = problem.sym  # index n: the empty choice, worth 0
    ok = np.ones((n + 1, n + 1), dtype=bool)
    ok[:n, :n] = problem.ok
    ctxv = np.append(problem.context_sum, 0.0)
    for required, optional in problem.plans():
        names = (*required, *optional)
        choices = [[*problem.members(name), *(() if strict and name in required else (n,))] for name in names]
        count = int(np.prod([len(c) for c in choices]))
        if count > max_outfits:
            raise ValueError(f"exhaustive search of {count} outfits is over the limit of {max_outfits}")
        if not names:
            combo = np.zeros((1, 0), np.int64)
        else:
            grids = np.meshgrid(*[np.asarray(c, dtype=np.int64) for c in choices], indexing="ij")
            combo = np.stack([g.ravel() for g in grids], axis=1)
        size = (combo < n).sum(axis=1)
        total = ctxv[combo].sum(axis=1)
        valid = np.ones(len(combo), dtype=bool)
        for a in range(len(names)):
            for b in range(a):
                total += sym[combo[:, a], combo[:, b]]
                valid &= ok[combo[:, a], combo[:, b]]
        if not valid.any():
            continue
        mean = np.where(size > 0, total / np.maximum(size * (problem.n_context + size - 1), 1), 0.0)
        mean = np.where(valid, mean, -np.inf)
        top = np.flatnonzero(np.round(mean, 12) == np.round(mean.max(), 12))
        for t in top[:64]:
            st = tuple(int(i) for i in combo[t] if i < n)
            key = problem.key(st, problem.score(st))
            if best is None or key < best[0]:
                best = (key, st)
    return None if best is None else best[1]


def _finish(problem: Problem, chosen: tuple[int, ...]) -> Composition:
    order = sorted(chosen, key=lambda i: int(problem.cand_slot[i]))
    fits, alts = [], []
    for j in order:
        rest = [i for i in order if i != j]
        fits.append(problem.fit(j, rest))
        options = []
        for k in problem.members(problem.slots[int(problem.cand_slot[j])]):
            if k == j or not problem.allowed(k, rest):
                continue
            options.append((k, problem.fit(k, rest), problem.score([*rest, k])))
        options.sort(key=lambda t: (-round(t[2], 12), problem._row[t[0]]))
        alts.append(tuple(options[:ALTERNATIVES]))
    return Composition(tuple(order), tuple(problem.slots[int(problem.cand_slot[i])] for i in order),
                       problem.score(order), tuple(fits), tuple(alts))


def wearable_with(genders: np.ndarray, context_genders: np.ndarray) -> np.ndarray:
    """(n,) bool: candidates (gender codes) that may be worn with every query piece (not men's
    with women's)."""
    g = np.asarray(genders, dtype=np.int64)
    return _WORN_TOGETHER[np.asarray(context_genders, dtype=np.int64)][:, g].all(axis=0)


def shortlist(context_total: np.ndarray, rows: np.ndarray, cand_slot: np.ndarray, min_score: float,
              sizes: Sequence[int], usable: np.ndarray | None = None) -> np.ndarray:
    """Indexes of each slot's best ``sizes[slot]`` candidates by their total with the query (at
    least ``min_score``; only ``usable`` ones when given), best first, slots in order."""
    if usable is not None:
        context_total = np.where(usable, context_total, -np.inf)
    lists = best_per_category(context_total, rows, cand_slot, max(sizes, default=0), min_score)
    return np.array([i for lst in lists for i in lst[: sizes[int(cand_slot[lst[0]])]]], dtype=np.int64)


def shortlist_sizes(rules: OutfitRules, slots: Sequence[str]) -> list[int]:
    """How many candidates of each slot the composer considers: :data:`SHORTLIST` for the base
    and required slots (so that each has up to :data:`ALTERNATIVES`), :data:`SHORTLIST_OPTIONAL`
    for optional ones (a piece or none)."""
    return [SHORTLIST_OPTIONAL if rules.slots[s].optional else SHORTLIST for s in slots]
