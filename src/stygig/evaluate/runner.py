"""Evaluation of an artifact: its compatibility component on looks, its answers on the catalog.

* **Fill in the blank** (Polyvore Outfits' protocol): for each look, one piece is blanked; the
  candidates are the true piece and :data:`N_NEGATIVES` other items of its category, drawn
  deterministically (a generator seeded by ``(seed, look number)``); the component picks the
  candidate that goes best with the rest (:func:`~stygig.recommend.compat.against_context`).
  Questions may instead come from a file (``--fitb``).
* **Compatibility AUC**: each look against the same look with one piece swapped for another
  item of its category, both scored by :func:`~stygig.recommend.compat.coherence`; the ROC AUC
  of those scores. Outfits may instead come from a file (``--compat``).
* **One-piece queries** (every catalog item, or a deterministic sample): the answer's coverage of
  the catalog, rule violations (two pieces the taxonomy never puts together, two of one
  category, men's with women's pieces), diversity within the outfit and the p50 latency.

Every draw is seeded and every tie broken by row, so the same artifact and looks give the same
figures (latency apart: it is measured).
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np

from stygig.evaluate import metrics
from stygig.evaluate.looks import Look, Outfit, Question, Resolver
from stygig.recommend.compat import Compatibility, Pieces, against_context, coherence

#: wrong candidates per generated FITB question (Polyvore's four-way questions)
N_NEGATIVES = 3
#: best and worst FITB answers kept for the report
N_EXAMPLES = 6


@dataclass(frozen=True)
class RowQuestion:
    """A FITB question in artifact rows."""

    context: np.ndarray
    candidates: np.ndarray
    answer: int
    source: str  # the look id, or "line N" of a --fitb file


@dataclass(frozen=True)
class RowOutfit:
    rows: np.ndarray
    label: int


@dataclass
class Catalog:
    """What evaluation reads of an artifact: its columns (for :class:`Pieces`)."""

    vectors: np.ndarray
    colours: np.ndarray
    category_codes: np.ndarray
    gender_codes: np.ndarray

    @classmethod
    def of(cls, rec) -> "Catalog":
        return cls(rec.vectors, rec.colours, np.asarray(rec.items.category_codes), np.asarray(rec.items.gender_codes))

    def pieces(self, rows: Sequence[int] | np.ndarray) -> Pieces:
        return Pieces.from_rows(rows, colours=self.colours, category_codes=self.category_codes,
                                gender_codes=self.gender_codes, vectors=self.vectors)

    def rows_by_category(self) -> list[np.ndarray]:
        n_cat = int(self.category_codes.max()) + 1 if len(self.category_codes) else 0
        order = np.argsort(self.category_codes, kind="stable")
        bounds = np.searchsorted(self.category_codes[order], np.arange(n_cat + 1))
        return [order[bounds[c] : bounds[c + 1]] for c in range(n_cat)]


# ---- drawing questions and outfits from looks ------------------------------------------------
def fitb_questions(
    looks: Sequence[np.ndarray], category_codes: np.ndarray, *, seed: int = 0, n_negatives: int = N_NEGATIVES,
    pool: Sequence[np.ndarray] | None = None, sources: Sequence[str] | None = None,
) -> list[RowQuestion]:
    """One question per look (a look whose blank's category has no other item is skipped).
    ``pool[c]`` are the rows negatives of category ``c`` are drawn from (default: all)."""
    by_cat = pool if pool is not None else _rows_by_category(category_codes)
    out = []
    for i, rows in enumerate(looks):
        rng = np.random.default_rng([seed, i, 0])
        blank = int(rng.integers(len(rows)))
        true = int(rows[blank])
        others = by_cat[int(category_codes[true])]
        others = others[~np.isin(others, rows)]
        if not len(others):
            continue
        negatives = rng.choice(others, size=min(n_negatives, len(others)), replace=False)
        candidates = np.concatenate(([true], negatives)).astype(np.int64)
        perm = rng.permutation(len(candidates))
        candidates = candidates[perm]
        out.append(RowQuestion(np.delete(np.asarray(rows, np.int64), blank), candidates,
                               int(np.flatnonzero(perm == 0)[0]), sources[i] if sources else str(i)))
    return out


def swapped_outfits(
    looks: Sequence[np.ndarray], category_codes: np.ndarray, *, seed: int = 0, pool: Sequence[np.ndarray] | None = None,
) -> list[RowOutfit]:
    """Each look (label 1) and the look with one piece swapped for another of its category (0)."""
    by_cat = pool if pool is not None else _rows_by_category(category_codes)
    out = []
    for i, rows in enumerate(looks):
        rows = np.asarray(rows, np.int64)
        rng = np.random.default_rng([seed, i, 1])
        pos = int(rng.integers(len(rows)))
        others = by_cat[int(category_codes[rows[pos]])]
        others = others[~np.isin(others, rows)]
        if not len(others):
            continue
        neg = rows.copy()
        neg[pos] = int(rng.choice(others))
        out += [RowOutfit(rows, 1), RowOutfit(neg, 0)]
    return out


def _rows_by_category(category_codes: np.ndarray) -> list[np.ndarray]:
    codes = np.asarray(category_codes)
    n_cat = int(codes.max()) + 1 if len(codes) else 0
    return [np.flatnonzero(codes == c) for c in range(n_cat)]


# ---- scoring ---------------------------------------------------------------------------------
def score_questions(model: Compatibility, catalog: Catalog, questions: Sequence[RowQuestion], *, bar=None) -> list[np.ndarray]:
    """Each question's candidate scores: their compatibility with the rest of the look."""
    out = []
    for q in questions:
        out.append(np.asarray(against_context(model, catalog.pieces(q.context), catalog.pieces(q.candidates)).total))
        if bar is not None:
            bar.update(1)
    return out


def score_outfits(model: Compatibility, catalog: Catalog, outfits: Sequence[RowOutfit], *, bar=None) -> np.ndarray:
    out = np.zeros(len(outfits), dtype=np.float64)
    for i, o in enumerate(outfits):
        out[i] = coherence(model, catalog.pieces(o.rows))
        if bar is not None:
            bar.update(1)
    return out


def fitb_and_auc(model: Compatibility, catalog: Catalog, questions: Sequence[RowQuestion],
                 outfits: Sequence[RowOutfit], *, bar=None) -> dict[str, Any]:
    """FITB accuracy and compatibility AUC of ``model`` (what learn and tune compare)."""
    scores = score_questions(model, catalog, questions, bar=bar)
    answers = [q.answer for q in questions]
    out: dict[str, Any] = {
        "fitb_accuracy": metrics.fitb_accuracy(scores, answers) if questions else None,
        "n_fitb": len(questions),
        "_fitb_scores": scores,
    }
    if outfits:
        s = score_outfits(model, catalog, outfits, bar=bar)
        out["compat_auc"] = metrics.roc_auc(s, np.array([o.label for o in outfits]))
    else:
        out["compat_auc"] = None
    out["n_compat"] = len(outfits)
    return out


# ---- one-piece queries -----------------------------------------------------------------------
@dataclass
class QueryStats:
    n_queries: int = 0
    recommended: list[np.ndarray] = field(default_factory=list)
    latencies_ms: list[float] = field(default_factory=list)
    violations: int = 0
    violating_outfits: int = 0
    diversities: list[float] = field(default_factory=list)
    examples: list[str] = field(default_factory=list)


def answer_pieces(response: dict[str, Any]) -> list[dict[str, Any]]:
    """The outfit an answer makes: the composed outfit's pieces when the response has one, else
    the ranked list's lead layer (its first piece of each group: a bottom, shoes, a bag — the
    rest of the list are alternatives)."""
    outfit = response.get("outfit")
    if isinstance(outfit, dict) and isinstance(outfit.get("pieces"), list):
        return outfit["pieces"]
    lead, groups = [], set()
    for r in response["recommendations"]:
        if r.get("group") not in groups:
            groups.add(r.get("group"))
            lead.append(r)
    return lead


def violations_of(taxonomy, categories: Sequence[str], genders: Sequence[str]) -> list[str]:
    """Rules an outfit (the query's piece first) breaks, one line each."""
    out = []
    for i in range(len(categories)):
        for j in range(i + 1, len(categories)):
            a, b = categories[i], categories[j]
            if a == b:
                out.append(f"two {a}")
            elif taxonomy.compatibility(a, b) <= 0 and taxonomy.compatibility(b, a) <= 0:
                out.append(f"{a} with {b}")
    if "male" in genders and "female" in genders:
        out.append("men's with women's pieces")
    return out


def one_piece_queries(rec, rows: Sequence[int], *, options=None, bar=None) -> QueryStats:
    from stygig.recommend.query import Query
    from stygig.schema import Options

    opts = options or Options()
    stats = QueryStats()
    for r in rows:
        item = rec.items[int(r)]
        t0 = time.perf_counter()
        response = rec.recommend(Query(item_id=item["id"]), opts)
        stats.latencies_ms.append((time.perf_counter() - t0) * 1000)
        pieces = answer_pieces(response)
        prow = np.array([rec.items.row_of(p["item_id"]) for p in pieces], dtype=np.int64)
        stats.recommended.append(prow)
        cats = [response["query_item"]["category"], *(p["category"] for p in pieces)]
        genders = [item["gender"], *(p["gender"] for p in pieces)]
        broken = violations_of(rec.taxonomy, cats, genders)
        stats.violations += len(broken)
        if broken:
            stats.violating_outfits += 1
            if len(stats.examples) < 5:
                stats.examples.append(f"{item['id']}: {', '.join(broken)}")
        all_rows = np.concatenate(([int(r)], prow))
        stats.diversities.append(metrics.diversity(np.asarray(rec.vectors[all_rows], dtype=np.float32)))
        stats.n_queries += 1
        if bar is not None:
            bar.update(1)
    return stats


def query_rows(n_items: int, max_queries: int | None, seed: int = 0) -> np.ndarray:
    """Every row, or a deterministic sample of ``max_queries`` of them (sorted)."""
    if max_queries is None or max_queries >= n_items:
        return np.arange(n_items)
    rng = np.random.default_rng([seed, 2])
    return np.sort(rng.choice(n_items, size=max_queries, replace=False))


# ---- the whole evaluation --------------------------------------------------------------------
def progress(total: int, enabled: bool, desc: str):
    if not enabled:
        return None
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, unit="q", file=sys.stderr, dynamic_ncols=True, leave=False)


def resolve_looks(resolver: Resolver, path, looks: Sequence[Look]) -> list[np.ndarray]:
    resolver.check(path, [(lk.line, lk.items) for lk in looks])
    return [resolver.rows(lk.items) for lk in looks]


def resolve_questions(resolver: Resolver, path, questions: Sequence[Question]) -> list[RowQuestion]:
    resolver.check(path, [(q.line, (*q.question, *q.answers)) for q in questions])
    return [RowQuestion(resolver.rows(q.question), resolver.rows(q.answers), q.answer_index, f"line {q.line}")
            for q in questions]


def resolve_outfits(resolver: Resolver, path, outfits: Sequence[Outfit]) -> list[RowOutfit]:
    resolver.check(path, [(o.line, o.items) for o in outfits])
    return [RowOutfit(resolver.rows(o.items), o.label) for o in outfits]


def evaluate(
    rec,
    *,
    looks: Sequence[np.ndarray] = (),
    look_ids: Sequence[str] | None = None,
    questions: Sequence[RowQuestion] | None = None,
    outfits: Sequence[RowOutfit] | None = None,
    seed: int = 0,
    max_queries: int | None = None,
    queries: bool = True,
    show_progress: bool = True,
) -> dict[str, Any]:
    """Every figure for the artifact loaded in ``rec`` (a Recommender). ``questions`` and
    ``outfits`` default to those drawn from ``looks``."""
    catalog = Catalog.of(rec)
    if questions is None:
        questions = fitb_questions(looks, catalog.category_codes, seed=seed, sources=look_ids)
    if outfits is None:
        outfits = swapped_outfits(looks, catalog.category_codes, seed=seed)
    bar = progress(len(questions) + len(outfits), show_progress, "fitb+auc")
    try:
        scored = fitb_and_auc(rec.compatibility, catalog, questions, outfits, bar=bar)
    finally:
        if bar is not None:
            bar.close()
    scores = scored.pop("_fitb_scores")
    result: dict[str, Any] = {
        "artifact": str(rec.artifact_dir),
        "model_version": rec.model_version,
        "compatibility": rec.compatibility.describe().get("kind"),
        "n_looks": len(looks),
        **scored,
        "fitb_chance": float(np.mean([1.0 / len(q.candidates) for q in questions])) if questions else None,
        "seed": seed,
    }
    result["examples"] = _examples(rec, questions, scores)
    if queries:
        rows = query_rows(rec.n_items, max_queries, seed)
        bar = progress(len(rows), show_progress, "queries")
        try:
            stats = one_piece_queries(rec, rows, bar=bar)
        finally:
            if bar is not None:
                bar.close()
        result.update({
            "n_queries": stats.n_queries,
            "coverage": metrics.coverage(stats.recommended, rec.n_items),
            "violations": stats.violations,
            "violation_rate": stats.violating_outfits / stats.n_queries if stats.n_queries else None,
            "violation_examples": stats.examples,
            "diversity": float(np.nanmean(stats.diversities)) if stats.diversities else None,
            "latency_p50_ms": round(metrics.percentile(stats.latencies_ms, 50), 3),
        })
    return result


def _examples(rec, questions: Sequence[RowQuestion], scores: Sequence[np.ndarray]) -> dict[str, list[dict[str, Any]]]:
    """The best and worst FITB answers by margin (the right candidate's score minus the best
    wrong one's), ties by question order."""
    if not questions:
        return {"best": [], "worst": []}
    margins = np.array([float(s[q.answer] - np.max(np.delete(s, q.answer))) for q, s in zip(questions, scores)])
    order = np.lexsort((np.arange(len(margins)), -np.round(margins, 9)))

    def one(i: int) -> dict[str, Any]:
        q, s = questions[int(i)], scores[int(i)]
        ids = lambda rows: [rec.items[int(r)]["id"] for r in rows]  # noqa: E731
        return {
            "source": q.source,
            "question": ids(q.context),
            "candidates": ids(q.candidates),
            "scores": [round(float(x), 4) for x in s],
            "answer": rec.items[int(q.candidates[q.answer])]["id"],
            "picked": rec.items[int(q.candidates[int(np.argmax(s))])]["id"],
            "margin": round(float(margins[int(i)]), 4),
        }

    best = [one(i) for i in order[:N_EXAMPLES]]
    worst = [one(i) for i in order[::-1][:N_EXAMPLES]]
    return {"best": best, "worst": worst}


def table(result: dict[str, Any]) -> str:
    """The figures as a readable table."""
    def f(v, spec=".3f"):
        return "—" if v is None else format(v, spec) if isinstance(v, float) else str(v)

    rows = [
        ("artifact", f"{result['artifact']} (model {result['model_version']}, compatibility {result['compatibility']})"),
        ("looks", f(result["n_looks"])),
        ("FITB accuracy", f"{f(result['fitb_accuracy'])} over {result['n_fitb']} questions (chance {f(result['fitb_chance'])})"),
        ("compatibility AUC", f"{f(result['compat_auc'])} over {result['n_compat']} outfits"),
    ]
    if "n_queries" in result:
        rows += [
            ("one-piece queries", f(result["n_queries"])),
            ("catalog coverage", f(result["coverage"])),
            ("rule violations", f"{result['violations']} in {f(result['violation_rate'])} of outfits"),
            ("diversity", f"{f(result['diversity'])} (mean cosine distance within an outfit)"),
            ("latency p50", f"{f(result['latency_p50_ms'], '.2f')} ms"),
        ]
    width = max(len(k) for k, _ in rows)
    return "\n".join(f"{k:<{width}}  {v}" for k, v in rows)


__all__ = [
    "Catalog", "RowOutfit", "RowQuestion", "evaluate", "fitb_and_auc", "fitb_questions", "swapped_outfits",
    "score_questions", "score_outfits", "one_piece_queries", "table",
]
