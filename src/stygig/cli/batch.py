"""``stygig batch``: an outfit for every item of an artifact, one JSON line each (see :mod:`stygig.batch`)."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    from stygig.batch import CHUNK
    from stygig.cli.evaluate import add_compatibility_flag

    p = sub.add_parser(
        "batch",
        help="precompute an outfit for every item (or listed ids): one JSON line per item, resumable",
        description="An outfit for every item of ART (or each id of --ids), one JSON line per item "
        '({"item_id": ID, "response": ANSWER}, ANSWER byte for byte what a request {"item_id": ID, '
        "**OPTIONS} is answered, less its processing time), in parallel worker processes. A killed run "
        "started again with the same arguments continues where it stopped (OUT.parts/ holds the finished "
        "chunks); OUT appears whole when every item is done.",
    )
    p.add_argument("artifact", metavar="ART", help="artifact directory")
    p.add_argument("--ids", metavar="FILE", help="item ids to answer, one a line (default: every item)")
    p.add_argument("--workers", type=int, default=None, help="worker processes (default: one per core)")
    p.add_argument("--options", metavar="JSON", help='request options for every item, e.g. \'{"top_k": 3, "gender": "female"}\'')
    add_compatibility_flag(p)
    p.add_argument("-o", "--out", required=True, metavar="OUT.jsonl", help="JSON Lines file to write")
    p.add_argument("--chunk", type=int, default=CHUNK, help=f"items per part file (default {CHUNK}); a resumed run must use the same")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_batch)


def cmd_batch(args) -> int:
    from stygig.batch import run_batch
    from stygig.serving.config import cpu_count

    summary = run_batch(
        args.artifact, args.out, ids_file=args.ids, options_json=args.options,
        workers=args.workers if args.workers is not None else cpu_count(), chunk=args.chunk,
        compatibility=args.compatibility, progress=not args.quiet,
    )
    print("\n".join(summary.lines()))
    return 0
