"""Core subcommands: sample-catalog, build, merge, update, recommend (a catalog, its artifact, its outfits, here)."""

from __future__ import annotations

import argparse
import json
import sys

from stygig.wording import plural


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("sample-catalog", help="generate the embedded synthetic sample catalog")
    p.add_argument("out", help="output folder")
    p.add_argument("--n", type=int, default=None, help="number of items (default 30 per category)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.set_defaults(func=cmd_sample_catalog)

    p = sub.add_parser("build", help="build a model artifact from a catalog (folder, manifest or s3://)")
    p.add_argument("catalog", help="catalog folder, manifest (.jsonl/.csv) or s3:// URI")
    p.add_argument("-o", "--out", required=True, help="artifact directory to write")
    p.add_argument("--encoder", default="lite", help="'lite' (default) or a directory made by 'stygig export-clip'")
    p.add_argument("--precision", choices=["fp32", "int8"], default=None, help="CLIP precision to bake in")
    p.add_argument("--taxonomy", default=None, help="taxonomy JSON (default: the built-in one)")
    p.add_argument("--tar", nargs="?", const=True, default=False, metavar="PATH",
                   help="also write model.tar.gz (beside the artifact unless PATH is given)")
    p.add_argument("--shard", default=None, metavar="I/N", help="build only shard I of N (by a stable hash of item ids)")
    p.add_argument("--workers", type=int, default=None, help="decode threads (default: cores, at most 4)")
    p.add_argument("--index", choices=["auto", "flat", "ivf"], default="auto",
                   help="index kind per category: exact while small, IVF above 2,500 items (auto)")
    p.add_argument("--no-resume", action="store_true", help="start over instead of resuming an interrupted build")
    p.add_argument("--force", action="store_true", help="replace the artifact (and --tar archive) if OUT already holds one")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_build)

    p = sub.add_parser("merge", help="merge shard artifacts into one artifact")
    p.add_argument("shards", nargs="+", help="shard artifact directories")
    p.add_argument("-o", "--out", required=True, help="artifact directory to write")
    p.add_argument("--tar", nargs="?", const=True, default=False, metavar="PATH",
                   help="also write model.tar.gz (beside the artifact unless PATH is given)")
    p.add_argument("--force", action="store_true", help="replace the artifact (and --tar archive) if OUT already holds one")
    p.set_defaults(func=cmd_merge)

    p = sub.add_parser("update", help="a new artifact from an artifact and the catalog's changes, without a rebuild",
                       description="Embeds only added pictures and changed ones (noticed by their sha256), drops "
                       "removed items, rewrites attributes and re-indexes only the categories that changed; a "
                       "learned compatibility model is carried over. The result holds what a full build of the "
                       "new catalog would.")
    p.add_argument("artifact", help="the artifact to update (it is not changed)")
    p.add_argument("--add", metavar="MANIFEST",
                   help="items to add or change: a manifest as build reads it (.jsonl/.csv, pictures relative to it)")
    p.add_argument("--remove", metavar="IDS", help="a text file of the item ids to remove, one a line")
    p.add_argument("--attributes", metavar="FILE",
                   help='JSON Lines {"id": ..., "price": 12.5, ...}: replace those attributes (null drops one)')
    p.add_argument("-o", "--out", required=True, help="artifact directory to write")
    p.add_argument("--index", choices=["auto", "flat", "ivf"], default=None,
                   help="index kind for re-indexed categories (default: the one the artifact was built with)")
    p.add_argument("--workers", type=int, default=None, help="decode threads (default: cores, at most 4)")
    p.add_argument("--tar", nargs="?", const=True, default=False, metavar="PATH",
                   help="also write model.tar.gz (beside the artifact unless PATH is given)")
    p.add_argument("--force", action="store_true", help="replace the artifact (and --tar archive) if OUT already holds one")
    p.add_argument("--no-resume", action="store_true", help="start over instead of resuming an interrupted update")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_update)

    p = sub.add_parser("recommend", help="complete an outfit from pieces: photos, texts or catalog items")
    p.add_argument("artifact", help="artifact directory")
    from stygig.schema import add_query_flags

    add_query_flags(p)
    add_query_options(p)
    from stygig.cli.evaluate import add_compatibility_flag

    add_compatibility_flag(p)
    p.add_argument("--json", action="store_true", help="print the full JSON response")
    p.add_argument("--save-visual", metavar="DIR", help="write outfit.png and outfit.json into DIR")
    p.set_defaults(func=cmd_recommend)


def add_query_options(p: argparse.ArgumentParser) -> None:
    """The engine's options as CLI flags (shared by recommend, invoke and aws invoke)."""
    from stygig.schema import add_cli_flags

    add_cli_flags(p)


def options_dict(args: argparse.Namespace) -> dict:
    from stygig.schema import cli_options

    return cli_options(args)


def _parse_shard(spec: str | None):
    from stygig.errors import StygigError

    if spec is None:
        return None
    try:
        i, n = (int(x) for x in spec.split("/"))
    except ValueError:
        raise StygigError(f"--shard must look like I/N (e.g. 0/4), got {spec!r}") from None
    return i, n


def cmd_sample_catalog(args) -> int:
    from stygig.catalog.sample import generate_sample_catalog

    res = generate_sample_catalog(args.out, n=args.n, seed=args.seed, progress=True)
    print(f"wrote {plural(res['n_items'], 'item')} to {res['root']} (manifest {res['manifest']})")
    return 0


def cmd_build(args) -> int:
    from stygig.build import build_artifact

    summary = build_artifact(
        args.catalog, args.out, encoder=args.encoder, precision=args.precision, taxonomy=args.taxonomy,
        tar=args.tar, shard=_parse_shard(args.shard), progress=not args.quiet, workers=args.workers,
        index_kind=args.index, resume=not args.no_resume, force=args.force,
    )
    print("\n".join(summary.lines()))
    return 0


def cmd_merge(args) -> int:
    from stygig.build import merge_artifacts

    summary = merge_artifacts(args.shards, args.out, tar=args.tar, force=args.force)
    print("\n".join(summary.lines()))
    return 0


def cmd_update(args) -> int:
    from stygig.build.update import update_artifact

    summary = update_artifact(args.artifact, args.out, add=args.add, remove=args.remove, attributes=args.attributes,
                              index_kind=args.index, force=args.force, tar=args.tar, progress=not args.quiet,
                              workers=args.workers, resume=not args.no_resume)
    print("\n".join(summary.lines()))
    return 0


def run_recommend(artifact: str, pieces: list[tuple[str, str, str]], opts: dict, compatibility: str | None = None):
    """Load the artifact and answer the query: ``pieces`` as :func:`stygig.schema.cli_pieces`
    gives them; one piece is the one-piece form (its response has ``query_item``), several the
    list form (``query_items``; errors name each piece as typed, ``--item shirt-0003``)."""
    from stygig.features.encoders.registry import open_in_background

    # the encoder's ONNX session opens (without the GIL) while the engine's modules import
    opening = open_in_background(artifact)
    from stygig.images import decode_image
    from stygig.recommend.engine import Recommender
    from stygig.recommend.query import Piece, Query
    from stygig.schema import Options

    rec = Recommender.load(artifact, compatibility=compatibility, encoder=opening)
    built = [Piece(**{kind: decode_image(value) if kind == "image" else value}, label=label)
             for kind, value, label in pieces]
    query = Query(pieces=built) if len(built) > 1 else Query(image=built[0].image, text=built[0].text,
                                                             item_id=built[0].item_id)
    response = rec.recommend(query, Options.from_dict(opts, rec.taxonomy))
    return rec, built, response


def hint_note(rec, pieces, category: str | None) -> str | None:
    """One line when ``--category`` overrides a catalog item's own category (issue 18.1: a hint
    silently turned a pair of shorts into a jacket), else None."""
    if category is None or len(pieces) != 1 or pieces[0].item_id is None:
        return None
    own = rec.item(pieces[0].item_id)["category"]
    if own == category:
        return None
    return (f"note: --category {category} overrides item {pieces[0].item_id}'s own category ({own}); "
            f"the outfit is composed for a {category}")


def cmd_recommend(args) -> int:
    from stygig.report import artifact_loader, format_outfit, save_visual
    from stygig.schema import cli_pieces

    opts = options_dict(args)
    rec, built, response = run_recommend(args.artifact, cli_pieces(args), opts, args.compatibility)
    note = hint_note(rec, built, opts.get("category"))
    if note:
        print(note, file=sys.stderr)
    if args.json:
        print(json.dumps(response, indent=2, ensure_ascii=False))
    else:
        print(format_outfit(response))
    if args.save_visual:
        load = artifact_loader(rec.artifact_dir)
        # each query piece's picture: the photo given, or the catalog item's
        q_imgs = [p.image if p.image is not None else load(rec.item(p.item_id)) if p.item_id is not None else None
                  for p in built]
        png, js = save_visual(response, args.save_visual, load, q_imgs)
        print(f"wrote {png} and {js}", file=sys.stderr if args.json else sys.stdout)
    return 0
