"""``stygig demo``: sample catalog -> artifact -> outfits; ``--serve`` also starts a server, invokes it, stops it."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from stygig.errors import StygigError
from stygig.wording import plural

DEMO_QUERIES = ("shirt", "pants", "dress", "sneakers")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("demo", help="sample catalog -> artifact -> outfits, end to end")
    p.add_argument("--out", default="stygig-demo", help="output folder (default ./stygig-demo)")
    p.add_argument("--n", type=int, default=None, help="sample catalog size (default 30 per category)")
    p.add_argument("--seed", type=int, default=0, help="sample catalog seed (default 0)")
    p.add_argument("--serve", action="store_true", help="also start a local server, invoke it, stop it")
    p.set_defaults(func=cmd_demo)


def cmd_demo(args) -> int:
    from stygig.build import build_artifact
    from stygig.catalog.sample import generate_sample_catalog
    from stygig.images import decode_image
    from stygig.recommend.engine import Recommender
    from stygig.recommend.query import Query
    from stygig.report import artifact_loader, format_outfit, save_visual
    from stygig.schema import Options

    out = Path(args.out)
    t0 = time.perf_counter()
    cat = generate_sample_catalog(out / "catalog", n=args.n, seed=args.seed, progress=True)
    print(f"[1/3] sample catalog: {plural(cat['n_items'], 'item')} in {out / 'catalog'} ({time.perf_counter() - t0:.1f} s)")
    # the demo's folder is its own: a second run replaces what the first wrote
    summary = build_artifact(out / "catalog", out / "artifact", progress=True, tar=out / "model.tar.gz", force=True)
    print("[2/3] " + "\n      ".join(summary.lines()))
    rec = Recommender.load(out / "artifact")
    manifest = [json.loads(l) for l in Path(cat["manifest"]).read_text().splitlines() if l]
    print("[3/3] outfits for sample photos:")
    written = []
    for category in DEMO_QUERIES:
        row = next((m for m in manifest if m["category"] == category), None)
        if row is None:
            continue
        img = decode_image(Path(cat["root"]) / row["image"])
        # an outside photo: the query is the picture, not the item id, so the item itself is
        # found as a near-duplicate and left out
        response = rec.recommend(Query(image=img), Options(top_k=4, items_per_category=1))
        print(format_outfit(response))
        png, js = save_visual(response, out / "outfits" / category, artifact_loader(rec.artifact_dir), img)
        written.append(png)
    print("\nwrote:")
    print(f"  catalog   {out / 'catalog'}")
    print(f"  artifact  {out / 'artifact'}  (model.tar.gz: {out / 'model.tar.gz'})")
    for p in written:
        print(f"  outfit    {p}")
    if args.serve:
        serve_demo(out / "artifact", out / "outfits" / "served")
    return 0


def demo_photo(artifact_dir: Path, category: str = "shirt") -> Path:
    """A catalog photo to send (the first item of ``category``, else the first item)."""
    from stygig.recommend.engine import Recommender

    rec = Recommender.load(artifact_dir, verify=False)
    chosen = next(iter(rec.items_in_category(category, 0, 1)), None) or rec.items[0]
    source = Path(str(chosen.get("source", "")))
    return source if source.is_file() else artifact_dir / chosen["thumbnail"]


def serve_demo(artifact_dir: str | Path, out_dir: str | Path, *, workers: int = 1) -> int:
    """Start ``stygig serve`` on a free port, ``stygig invoke`` it with a photo, print, stop."""
    from stygig.cli import main as cli_main
    from stygig.serving.child import free_port, stop, wait_ready

    artifact_dir = Path(artifact_dir).resolve()
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    cmd = [sys.executable, "-m", "stygig.cli", "serve", str(artifact_dir), "--port", str(port), "--workers", str(workers)]
    print(f"[serve] starting: stygig serve {artifact_dir} --port {port} --workers {workers}")
    log_path = Path(out_dir) / "server.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=dict(os.environ))
        try:
            ready = wait_ready(url, proc)
            print(f"[serve] GET /ping -> 200 after {ready:.1f} s")
            photo = demo_photo(artifact_dir)
            argv = ["invoke", "--url", url, str(photo), "--top-k", "4", "--items-per-category", "1", "--save-visual", str(out_dir)]
            print(f"[serve] stygig {' '.join(argv)}")
            rc = cli_main(argv)
            if rc != 0:
                raise StygigError(f"stygig invoke failed (status {rc}); server log: {log_path}")
        finally:
            code = stop(proc)
            print(f"[serve] server stopped (SIGTERM, exit status {code}); its log: {log_path}")
    print("To keep a server running:")
    print(f"  stygig serve {artifact_dir} --port 8080")
    print(f"  stygig invoke --url http://127.0.0.1:8080 {photo} --save-visual outfit/")
    return 0
