"""Quality subcommands: ``eval`` (and ``eval --tune``), ``learn``, ``import-polyvore``.
Light at import; handlers import what they need when they run."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from stygig.wording import plural

KIND_CHOICES = ("heuristic", "learned")


def add_compatibility_flag(p: argparse.ArgumentParser) -> None:
    """``--compatibility heuristic|learned`` (recommend, eval, serve)."""
    p.add_argument("--compatibility", choices=KIND_CHOICES, default=None,
                   help="compatibility model to use (default: STYGIG_COMPATIBILITY, else the one the artifact carries)")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("eval", help="measure outfit quality on looks: FITB accuracy, compatibility AUC, coverage, ...",
                       description="Fill in the blank and compatibility AUC on looks (Polyvore's protocol), and the "
                       "catalog's one-piece queries (coverage, rule violations, diversity, latency). --tune searches "
                       "the heuristic's weights on the looks and writes them into a new artifact (-o).")
    p.add_argument("artifact", help="artifact directory")
    p.add_argument("--looks", help="looks.jsonl: {\"look_id\", \"items\": [ids], \"name\"?} a line")
    p.add_argument("--fitb", help="FITB questions (JSONL {\"question\": [ids], \"answers\": [ids], \"answer\": id}) "
                   "instead of drawing them from the looks")
    p.add_argument("--compat", help="compatibility outfits (JSONL {\"items\": [ids], \"label\": 0|1}) instead of "
                   "swapping pieces of the looks")
    add_compatibility_flag(p)
    p.add_argument("--seed", type=int, default=0, help="seed of the drawn questions and outfits (default 0)")
    p.add_argument("--max-queries", type=int, default=None, metavar="N",
                   help="one-piece queries over a seeded sample of N items (default: every item)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--report", metavar="DIR", help="write DIR/index.html with pictures of the best and worst answers")
    p.add_argument("--tune", action="store_true", help="search the heuristic's weights on the looks; write -o OUT")
    p.add_argument("-o", "--out", help="with --tune: the new artifact carrying the tuned weights")
    p.add_argument("--holdout", type=float, default=0.2, help="with --tune: share of looks held out to report on (0.2)")
    p.add_argument("--force", action="store_true", help="replace OUT if it already holds an artifact")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_eval)

    p = sub.add_parser("learn", help="learn a compatibility model from looks; write a new artifact carrying it",
                       description="Type-aware embeddings over the artifact's image vectors and colours, trained on "
                       "looks (needs torch at learn time: pip install 'stygig[export]'; serving stays torch-free). "
                       "Prints held-out FITB and AUC before and after.")
    p.add_argument("artifact", help="artifact directory")
    p.add_argument("--looks", required=True, help="looks.jsonl")
    p.add_argument("-o", "--out", required=True, help="the new artifact")
    p.add_argument("--holdout", type=float, default=0.2, help="share of looks held out to report on (default 0.2)")
    p.add_argument("--epochs", type=int, default=None, help="training epochs (default 12)")
    p.add_argument("--seed", type=int, default=0, help="seed of the held-out split and the training (default 0)")
    p.add_argument("--force", action="store_true", help="replace OUT if it already holds an artifact")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_learn)

    p = sub.add_parser("import-polyvore", help="Polyvore Outfits (research-only licence) -> StyGig catalog, looks, FITB "
                       "and compatibility files")
    p.add_argument("dataset", help="the dataset's folder (polyvore_item_metadata.json, disjoint/, nondisjoint/, images/)")
    p.add_argument("-o", "--out", required=True, help="catalog folder to write")
    p.add_argument("--split", choices=["nondisjoint", "disjoint"], default="nondisjoint", help="which version (nondisjoint)")
    p.add_argument("--mapping", help="semantic_category -> taxonomy category JSON (default: the built-in mapping)")
    p.add_argument("--force", action="store_true", help="replace OUT if it holds an earlier import")
    p.set_defaults(func=cmd_import_polyvore)


# ---- eval --------------------------------------------------------------------------------------
def _inputs(args, rec):
    """Looks, questions and outfits from the files given, checked against the artifact."""
    from stygig.errors import StygigError
    from stygig.evaluate import looks as L
    from stygig.evaluate import runner

    if not (args.looks or args.fitb or args.compat):
        raise StygigError("eval needs --looks FILE (or --fitb / --compat files)")
    resolver = L.Resolver(rec.items, args.artifact)
    looks, look_ids = [], []
    if args.looks:
        raw = L.read_looks(args.looks)
        looks, look_ids = runner.resolve_looks(resolver, args.looks, raw), [lk.look_id for lk in raw]
    questions = runner.resolve_questions(resolver, args.fitb, L.read_questions(args.fitb)) if args.fitb else None
    outfits = runner.resolve_outfits(resolver, args.compat, L.read_outfits(args.compat)) if args.compat else None
    if questions is None and not looks:
        questions = []
    if outfits is None and not looks:
        outfits = []
    return looks, look_ids, questions, outfits


def cmd_eval(args) -> int:
    from stygig.evaluate import runner
    from stygig.recommend.engine import Recommender

    rec = Recommender.load(args.artifact, compatibility=args.compatibility)
    looks, look_ids, questions, outfits = _inputs(args, rec)
    if args.tune:
        return _tune(args, rec, looks, look_ids)
    result = runner.evaluate(rec, looks=looks, look_ids=look_ids, questions=questions, outfits=outfits,
                             seed=args.seed, max_queries=args.max_queries, show_progress=not args.quiet)
    text = runner.table(result)
    if args.report:
        from stygig.evaluate.report import write_report

        page = write_report(args.report, result, text, rec)
        print(f"wrote {page}", file=sys.stderr)
    if args.json:
        print(json.dumps({k: v for k, v in result.items() if k != "examples"}, sort_keys=True))
    else:
        print(text)
    return 0


def _tune(args, rec, looks, look_ids) -> int:
    from stygig.artifact import derive_artifact
    from stygig.errors import StygigError
    from stygig.evaluate import runner
    from stygig.learn.split import holdout_split
    from stygig.learn.tune import tune_weights
    from stygig.recommend.compat import HeuristicCompatibility

    if not args.out:
        raise StygigError("eval --tune writes a new artifact: give -o OUT")
    if not looks:
        raise StygigError("eval --tune searches the weights on looks: give --looks FILE")
    heuristic = _heuristic_of(rec)
    catalog = runner.Catalog.of(rec)
    fit, held = holdout_split(looks, _holdout(args.holdout), args.seed)
    if len(fit) < 5:
        raise StygigError(f"--tune needs at least 5 looks to tune on; {args.looks} leaves {len(fit)} after the holdout")
    q_fit = runner.fitb_questions(fit, catalog.category_codes, seed=args.seed)
    o_fit = runner.swapped_outfits(fit, catalog.category_codes, seed=args.seed)
    weights, on_fit = tune_weights(heuristic, catalog, q_fit, o_fit)
    print(f"tuned on {plural(len(fit), 'look')}: weights " + ", ".join(f"{k}={v:g}" for k, v in weights.items()))
    if held:
        q_h = runner.fitb_questions(held, catalog.category_codes, seed=args.seed)
        o_h = runner.swapped_outfits(held, catalog.category_codes, seed=args.seed)
        before = runner.fitb_and_auc(heuristic, catalog, q_h, o_h)
        after = runner.fitb_and_auc(HeuristicCompatibility(rec.taxonomy, weights), catalog, q_h, o_h)
        print(_before_after(len(held), before, after))
    spec = {"kind": HeuristicCompatibility.kind, "weights": weights}
    manifest = derive_artifact(args.artifact, args.out, compatibility=spec, force=args.force)
    print(f"wrote {args.out} (model {manifest['model_version']}, heuristic with tuned weights)")
    return 0


def _heuristic_of(rec):
    """The artifact's heuristic: the model itself, or the one a learned model shows its parts with."""
    from stygig.recommend.compat import HeuristicCompatibility

    model = rec.compatibility
    if isinstance(model, HeuristicCompatibility):
        return model
    return getattr(model, "heuristic", None) or HeuristicCompatibility(rec.taxonomy)


def _holdout(value: float) -> float:
    from stygig.errors import StygigError

    if not 0.0 <= value < 1.0:
        raise StygigError(f"--holdout must be at least 0 and below 1, got {value:g}")
    return value


def _before_after(n_held: int, before: dict, after: dict) -> str:
    def f(v):
        return "—" if v is None else f"{v:.3f}"

    return (f"held out {plural(n_held, 'look')}: FITB {f(before['fitb_accuracy'])} -> {f(after['fitb_accuracy'])}, "
            f"AUC {f(before['compat_auc'])} -> {f(after['compat_auc'])} (before -> after)")


# ---- learn -------------------------------------------------------------------------------------
def cmd_learn(args) -> int:
    from stygig.artifact import derive_artifact, check_target
    from stygig.errors import StygigError
    from stygig.evaluate import looks as L
    from stygig.evaluate import runner
    from stygig.learn import train as T
    from stygig.learn.split import holdout_split
    from stygig.recommend.engine import Recommender

    share = _holdout(args.holdout)
    rec = Recommender.load(args.artifact)
    check_target(Path(args.out), args.force)  # before the work, not after it
    raw = L.read_looks(args.looks)
    looks = runner.resolve_looks(L.Resolver(rec.items, args.artifact), args.looks, raw)
    fit, held = holdout_split(looks, share, args.seed)
    if len(fit) < T.MIN_LOOKS:
        raise StygigError(
            f"learn needs at least {T.MIN_LOOKS} looks to train on; {args.looks} has {plural(len(looks), 'look')}"
            + (f", {len(fit)} after holding out {share:g}" if held else "")
            + " — too few to learn pairings from without memorising them; use eval --tune to fit the heuristic's weights instead"
        )
    T._torch()  # one line if torch is missing, before anything is printed
    catalog = runner.Catalog.of(rec)
    heuristic = _heuristic_of(rec)
    print(f"learning from {plural(len(fit), 'look')} ({plural(len(held), 'look')} held out), "
          f"{rec.n_items} items, encoder {rec.encoder.describe().get('kind')}", file=sys.stderr)
    trained = T.train(vectors=rec.vectors, colours=rec.colours, category_codes=catalog.category_codes,
                      gender_codes=catalog.gender_codes,
                      taxonomy=rec.taxonomy, looks=fit, heuristic=heuristic, seed=args.seed,
                      epochs=args.epochs or T.EPOCHS, show_progress=not args.quiet)
    print(f"trained {trained.spec['model']} in {trained.seconds:.1f} s "
          f"({plural(trained.spec['training']['pairs'], 'pair')}, loss {trained.losses[0]:.3f} -> {trained.losses[-1]:.3f})")
    if held:
        q = runner.fitb_questions(held, catalog.category_codes, seed=args.seed)
        o = runner.swapped_outfits(held, catalog.category_codes, seed=args.seed)
        before = runner.fitb_and_auc(rec.compatibility, catalog, q, o)
        after = runner.fitb_and_auc(trained.model, catalog, q, o)
        print(_before_after(len(held), before, after))
        trained.spec["training"]["held_out"] = {
            "looks": len(held),
            "before": {k: before[k] for k in ("fitb_accuracy", "compat_auc")},
            "after": {k: after[k] for k in ("fitb_accuracy", "compat_auc")},
        }
    manifest = derive_artifact(args.artifact, args.out, compatibility=trained.spec, files=trained.files, force=args.force)
    print(f"wrote {args.out} (model {manifest['model_version']}, compatibility learned)")
    return 0


# ---- import-polyvore ---------------------------------------------------------------------------
def cmd_import_polyvore(args) -> int:
    from stygig.evaluate.polyvore import import_polyvore

    summary = import_polyvore(args.dataset, args.out, split=args.split, mapping=args.mapping, force=args.force)
    print("\n".join(summary.lines()))
    return 0
