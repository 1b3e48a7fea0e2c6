"""Outfit benchmark (issue 12): composed outfits against the slot rules, against independent picks,
against exhaustive search, and what composing costs.

Over the default sample catalog (600 synthetic drawn items, the lite encoder), every item as a
one-piece query and 200 two-piece queries (pairs of items that can be worn together, drawn with a
fixed seed):

* ``slot_violations``: outfits (the query's pieces with the composed ones) that break a slot rule
  of the taxonomy (:meth:`stygig.taxonomy.slots.OutfitRules.violations`: two pieces in one slot,
  excluded slots together, outerwear over no top or one-piece, no complete base, no footwear);
  ``gender_mixes``: outfits where the composer put men's with women's pieces;
* ``outerwear_share``: the share of top and one-piece queries whose outfit has outerwear;
* ``composed_coherence`` vs ``independent_coherence``: the mean pairwise compatibility
  (:func:`stygig.recommend.compat.coherence`, the query's pieces included) of the composed outfits
  and of today's independent picks (the ranked list's first piece of each group, composed
  nothing: what evaluation read before there was an outfit);
* ``beam_vs_exhaustive``: on 50 of the one-piece queries (every 12th item), the composer's outfit
  score over the best score of all combinations of the same short lists (``_min`` too);
* ``compose_latency_ratio``: p50 of a one-piece item query with composition over the same without
  (``Recommender.recommend(..., outfit=False)``), measured side by side in alternating blocks of
  20 queries (this shared machine's speed drifts); ``compose_latency_ratio_1m``: the same on
  ``benchmarks/scale.py``'s synthetic 1 M-item artifact (clustered random vectors, random colours
  and genders: built by scale.py's own builder, once, and kept in ``--work``; ~20 minutes on 2 cores).

The last line is one JSON object.

    python benchmarks/outfit.py [--work DIR] [--n-big 1000000] [--queries 300]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import scale  # noqa: E402  (the 1 M artifact's builder: one definition)

SEED = 0
N_TWO_PIECE = 200
N_EXHAUSTIVE = 50
BLOCK = 20


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def sample_artifact(work: Path) -> Path:
    from stygig.build import build_artifact
    from stygig.catalog.sample import generate_sample_catalog

    cat, art = work / "sample-catalog", work / "sample-artifact"
    if not (art / "manifest.json").exists():
        log("building the sample catalog's artifact (lite encoder)")
        generate_sample_catalog(cat)
        build_artifact(cat, art)
    return art


def big_artifact(work: Path, n: int) -> Path:
    """scale.py's synthetic artifact of ``n`` items, built by scale.py's builder (kept in ``work``)."""
    art = work / f"artifact-{n}"
    if (art / "manifest.json").exists():
        return art
    src = scale.generate(work, n)
    log(f"building the synthetic {n}-item artifact with benchmarks/scale.py's builder (a child process)")
    scale.run_child("_build", str(src), str(art))
    return art


def two_piece_queries(rec, n: int, rng) -> list[tuple[str, str]]:
    """``n`` distinct pairs of catalog items that can be worn together (by the slot rules)."""
    rules, out, seen = rec.taxonomy.outfit, [], set()
    cats = np.asarray(rec.items.category_codes)
    names = list(rec.taxonomy.categories)
    for _ in range(100 * n):
        a, b = (int(x) for x in rng.integers(0, rec.n_items, 2))
        key = (min(a, b), max(a, b))
        if a == b or key in seen or rules.plan([names[cats[a]], names[cats[b]]]).conflicts:
            continue
        seen.add(key)
        out.append((rec.items[a]["id"], rec.items[b]["id"]))
        if len(out) == n:
            break
    return out


def coherence_of(rec, ids: list[str]) -> float | None:
    from stygig.recommend.compat import Pieces, coherence

    if len(ids) < 2:
        return None
    rows = [rec.items.row_of(i) for i in ids]
    p = Pieces.from_rows(rows, colours=rec.colours, category_codes=np.asarray(rec.items.category_codes),
                         gender_codes=np.asarray(rec.items.gender_codes), vectors=rec.vectors)
    return coherence(rec.compatibility, p)


def quality(rec) -> dict:
    from stygig.evaluate.runner import answer_pieces
    from stygig.recommend.query import Piece, Query

    rules = rec.taxonomy.outfit
    rng = np.random.default_rng(SEED)
    queries = [(rec.items[r]["id"],) for r in range(rec.n_items)] + two_piece_queries(rec, N_TWO_PIECE, rng)
    violations = mixes = tops = with_outerwear = 0
    composed, independent, examples = [], [], []
    for ids in queries:
        query = Query(item_id=ids[0]) if len(ids) == 1 else Query(pieces=[Piece(item_id=i) for i in ids])
        resp = rec.recommend(query)
        described = resp.get("query_items") or [resp["query_item"]]
        pieces = resp["outfit"]["pieces"]
        slots = [rules.slot_of[q["category"]] for q in described] + [p["slot"] for p in pieces]
        broken = rules.violations(slots)
        if broken:
            violations += 1
            if len(examples) < 5:
                examples.append(f"{'+'.join(ids)}: {', '.join(broken)}")
        # men's with women's pieces that the composer added (a two-piece query may mix them itself)
        asked = {q.get("gender") for q in described}
        mixes += {"male", "female"} <= asked | {p["gender"] for p in pieces} and not {"male", "female"} <= asked
        if len(ids) == 1 and described[0]["group"] in ("upperwear", "one-piece"):
            tops += 1
            with_outerwear += any(p["slot"] == "outerwear" for p in pieces)
        c = coherence_of(rec, [*ids, *(p["item_id"] for p in pieces)])
        plain = rec.recommend(query, outfit=False)
        i = coherence_of(rec, [*ids, *(p["item_id"] for p in answer_pieces(plain))])
        if c is not None and i is not None:
            composed.append(c)
            independent.append(i)
    return {
        "n_queries": len(queries),
        "n_two_piece": len(queries) - rec.n_items,
        "slot_violations": violations,
        "slot_violation_examples": examples,
        "gender_mixes": mixes,
        "outerwear_share": round(with_outerwear / tops, 4) if tops else None,
        "composed_coherence": round(float(np.mean(composed)), 4),
        "independent_coherence": round(float(np.mean(independent)), 4),
    }


def against_exhaustive(rec) -> dict:
    """The composer's outfit score over the exhaustive optimum, on the engine's own problems."""
    from stygig.recommend import compose
    from stygig.recommend.query import Query

    problems = []
    real = compose.search

    def keep(problem):
        problems.append(problem)
        return real(problem)

    compose.search = keep
    try:
        for r in range(0, rec.n_items, max(1, rec.n_items // N_EXHAUSTIVE))[:N_EXHAUSTIVE]:
            rec.recommend(Query(item_id=rec.items[r]["id"]))
    finally:
        compose.search = real
    ratios, sizes = [], []
    for p in problems:
        found, best = compose.search(p), compose.exhaustive(p)
        ratios.append(found.score / best.score if best.score > 0 else 1.0)
        sizes.append(len(p.rows))
    return {"beam_vs_exhaustive": round(float(np.mean(ratios)), 4), "beam_vs_exhaustive_min": round(float(np.min(ratios)), 4),
            "exhaustive_cases": len(ratios), "exhaustive_candidates_mean": round(float(np.mean(sizes)), 1)}


def latency_ratio(rec, n_queries: int) -> dict:
    """p50 with composition over without, alternating blocks of the same queries."""
    from stygig.recommend.query import Query

    rec.warm()
    rng = np.random.default_rng(SEED + 1)
    ids = [rec.items[int(r)]["id"] for r in rng.integers(0, rec.n_items, n_queries)]
    for i in ids[:10]:
        rec.recommend(Query(item_id=i))
        rec.recommend(Query(item_id=i), outfit=False)
    times = {True: [], False: []}
    for start in range(0, n_queries, BLOCK):
        for flag in (True, False):
            for i in ids[start : start + BLOCK]:
                t = time.perf_counter()
                rec.recommend(Query(item_id=i), outfit=flag)
                times[flag].append((time.perf_counter() - t) * 1000)
    with_, without = float(np.median(times[True])), float(np.median(times[False]))
    return {"p50_ms": round(with_, 3), "p50_without_ms": round(without, 3), "ratio": round(with_ / without, 3)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--work", default=None, help="work folder, kept (default $TMPDIR/stygig-outfit-bench)")
    ap.add_argument("--n-big", type=int, default=1_000_000, help="items of the synthetic artifact (default 1 M)")
    ap.add_argument("--queries", type=int, default=300, help="queries per latency measurement (default 300)")
    args = ap.parse_args()
    from stygig.recommend.engine import Recommender

    work = Path(args.work or Path(os.environ.get("TMPDIR", "/tmp")) / "stygig-outfit-bench")
    work.mkdir(parents=True, exist_ok=True)
    print("StyGig outfit benchmark — the sample catalog (600 SYNTHETIC drawn items, lite encoder) and "
          f"benchmarks/scale.py's SYNTHETIC {args.n_big}-item artifact; 2-core shared machine, medians.")
    rec = Recommender.load(sample_artifact(work))
    t = time.perf_counter()
    q = quality(rec)
    log(f"quality over {q['n_queries']} queries in {time.perf_counter() - t:.0f} s")
    print(json.dumps(q))
    ex = against_exhaustive(rec)
    print(json.dumps(ex))
    small = latency_ratio(rec, args.queries)
    print(json.dumps({"sample": small}))
    big_rec = Recommender.load(big_artifact(work, args.n_big))
    big = latency_ratio(big_rec, args.queries)
    print(json.dumps({"big": big}))
    summary = {k: v for k, v in q.items() if k != "slot_violation_examples"}
    summary.update(ex)
    summary.update({
        "compose_latency_ratio": small["ratio"], "compose_p50_ms": small["p50_ms"],
        "plain_p50_ms": small["p50_without_ms"],
        "compose_latency_ratio_1m": big["ratio"], "compose_p50_ms_1m": big["p50_ms"], "plain_p50_ms_1m": big["p50_without_ms"],
        "n_items_big": args.n_big, "vectors": "synthetic",
    })
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
