"""Outfit quality that can tell a better model from a worse one: FITB and compatibility AUC of
random, the heuristic blend, the tuned heuristic (``eval --tune``) and the learned model
(``stygig learn``), with the lite encoder and with ViT-B-32, on held-out looks.

Everything is **synthetic**:

* the catalog is the styled sample catalog (``--n`` items, default 1,200: 60 per category), whose
  pictures show each item's style, cut, fabric, pattern and palette;
* the looks follow rules the heuristic blend does not encode (:mod:`stygig.catalog.sample.looks`,
  exactly): (1) one style per look (formal, casual or sport); (2) palette families that go
  together — the same family, neutral with any, dark with bright and with earth, never pastel
  with dark, earth or bright, nor bright with earth; (3) at most one patterned piece; (4) at most
  one denim piece; (5) one gender (or unisex) and one category at most once per look;
* ViT-B-32 has **random weights** (no weights can be downloaded here; ``_common`` exports the full
  architecture with seeded random weights): its quality figures say what learning over random
  features achieves, not what CLIP achieves.

Items are split per category, 70 % for training and 30 % for testing; training looks (``--looks``,
default 6,250, of which ``learn`` holds out 20 % for its own before/after report and trains on
5,000) are drawn from training items only, test looks (``--test-looks``, default 600) from test
items only, so no test look holds an item that appears in any training look. The test FITB
questions (the true piece and 3 others of its category) and compatibility outfits (each look and
the look with one piece swapped for another of its category) draw their other pieces from the
test items too, and are given to ``stygig eval`` as files (``--fitb``, ``--compat``). "random" is
the exact chance level (mean of 1/candidates for FITB; 0.5 for AUC).

``serve_ratio``: recommend p50 (item queries over the whole catalog, default options) with the
learned model over the heuristic's, both artifacts loaded in this process and queried
alternately, side by side. ``learn_s``: the wall time of ``stygig learn`` with the lite encoder.

Last line: one JSON object (lite figures under the plain keys, ViT-B-32's with ``_vitb32``).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np  # noqa: E402

from _common import RANDOM_NOTE, clip_export, default_workdir, log, machine  # noqa: E402

TRAIN_SHARE = 0.7


def stygig(*args: str, timed: bool = False) -> tuple[str, float]:
    t = time.perf_counter()
    r = subprocess.run([sys.executable, "-m", "stygig.cli", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    took = time.perf_counter() - t
    if r.returncode != 0:
        sys.stderr.write(r.stderr[-3000:])
        raise SystemExit(f"stygig {' '.join(args[:2])} failed")
    return r.stdout, took


def data(work: Path, n_items: int, n_looks: int, n_test: int, seed: int) -> dict[str, Path]:
    from stygig.catalog.sample import generate_sample_catalog
    from stygig.catalog.sample.looks import generate_looks, split_items
    from stygig.jsonlines import write as write_jsonl
    from stygig.evaluate.runner import fitb_questions, swapped_outfits
    from stygig.taxonomy import Taxonomy

    cat = work / f"catalog-{n_items}"
    if not (cat / "manifest.jsonl").is_file():
        log(f"generating the styled sample catalog ({n_items} items, synthetic)")
        generate_sample_catalog(cat, n=n_items, seed=seed)
    rows = [json.loads(l) for l in (cat / "manifest.jsonl").read_text().splitlines() if l]
    train_items, test_items = split_items(rows, TRAIN_SHARE, seed)
    train = generate_looks(train_items, n_looks, seed=seed + 1, prefix="train")
    test = generate_looks(test_items, n_test, seed=seed + 2, prefix="test")
    files = {"catalog": cat, "train": work / "train.jsonl", "test": work / "test.jsonl",
             "fitb": work / "test_fitb.jsonl", "compat": work / "test_compat.jsonl"}
    write_jsonl(files["train"], train)
    write_jsonl(files["test"], test)
    # questions and swapped outfits in ids, their other pieces drawn from the test items
    tax = Taxonomy.default()
    ids = sorted(r["id"] for r in rows)
    row_of = {i: k for k, i in enumerate(ids)}
    cat_of = {r["id"]: r["category"] for r in rows}
    codes = np.array([list(tax.categories).index(cat_of[i]) for i in ids])
    test_rows = np.array(sorted(row_of[r["id"]] for r in test_items))
    pool = [test_rows[codes[test_rows] == c] for c in range(len(tax.categories))]
    looks = [np.array([row_of[i] for i in lk["items"]]) for lk in test]
    qs = fitb_questions(looks, codes, seed=seed, pool=pool)
    write_jsonl(files["fitb"], [{"question": [ids[r] for r in q.context], "answers": [ids[r] for r in q.candidates],
                                 "answer": ids[q.candidates[q.answer]]} for q in qs])
    outs = swapped_outfits(looks, codes, seed=seed, pool=pool)
    write_jsonl(files["compat"], [{"items": [ids[r] for r in o.rows], "label": o.label} for o in outs])
    shared = {i for lk in train for i in lk["items"]} & {i for lk in test for i in lk["items"]}
    assert not shared, "a test look holds an item of a training look"
    log(f"looks: {len(train)} training (from {len(train_items)} items), {len(test)} test (from {len(test_items)} items), "
        f"{len(qs)} FITB questions, {len(outs)} compatibility outfits")
    return files


def chance(fitb: Path) -> float:
    qs = [json.loads(l) for l in fitb.read_text().splitlines() if l]
    return float(np.mean([1.0 / len(q["answers"]) for q in qs]))


def evaluate(art: Path, files: dict[str, Path]) -> dict:
    out, _ = stygig("eval", str(art), "--fitb", str(files["fitb"]), "--compat", str(files["compat"]),
                    "--max-queries", "200", "--json", "--quiet")
    return json.loads(out.strip().splitlines()[-1])


def serve_ratio(heuristic_art: Path, learned_art: Path, rounds: int = 2) -> tuple[float, float, float]:
    from stygig.recommend.engine import Recommender
    from stygig.recommend.query import Query

    recs = [Recommender.load(heuristic_art), Recommender.load(learned_art)]
    assert recs[1].compatibility.kind == "learned"
    ids = [it["id"] for it in recs[0].items]
    times: list[list[float]] = [[], []]
    for rec in recs:  # warm
        for i in ids[:50]:
            rec.recommend(Query(item_id=i))
    for r in range(rounds):
        for k, i in enumerate(ids):
            order = (0, 1) if (k + r) % 2 == 0 else (1, 0)
            for j in order:
                t = time.perf_counter()
                recs[j].recommend(Query(item_id=i))
                times[j].append((time.perf_counter() - t) * 1000)
    p50 = [float(np.median(t)) for t in times]
    return p50[0], p50[1], p50[1] / p50[0]


def one_encoder(name: str, art: Path, files: dict[str, Path], work: Path) -> dict:
    heur = evaluate(art, files)
    tuned_art = work / f"{name}-tuned"
    out, _ = stygig("eval", str(art), "--looks", str(files["train"]), "--tune", "-o", str(tuned_art), "--force", "--quiet")
    log(out.strip())
    tuned = evaluate(tuned_art, files)
    learned_art = work / f"{name}-learned"
    out, learn_s = stygig("learn", str(art), "--looks", str(files["train"]), "-o", str(learned_art), "--force", "--quiet")
    log(out.strip())
    learned = evaluate(learned_art, files)
    return {"heuristic": heur, "tuned": tuned, "learned": learned, "learn_s": learn_s, "learned_art": learned_art}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--workdir", type=Path, default=None)
    ap.add_argument("--n", type=int, default=1200, help="catalog items (default 1200)")
    ap.add_argument("--looks", type=int, default=6250, help="training looks given to learn (default 6250: 5000 trained on)")
    ap.add_argument("--test-looks", type=int, default=600)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--no-clip", action="store_true", help="lite encoder only")
    args = ap.parse_args()
    work = (args.workdir or default_workdir()) / "quality"
    work.mkdir(parents=True, exist_ok=True)
    log(machine())
    files = data(work, args.n, args.looks, args.test_looks, args.seed)
    fitb_random = chance(files["fitb"])
    arts = {"lite": work / "artifact-lite"}
    if not (arts["lite"] / "manifest.json").is_file():
        log("building the lite artifact")
        stygig("build", str(files["catalog"]), "-o", str(arts["lite"]), "--quiet", "--force")
    if not args.no_clip:
        arts["vitb32"] = work / "artifact-vitb32"
        if not (arts["vitb32"] / "manifest.json").is_file():
            export = clip_export(default_workdir() if args.workdir is None else args.workdir)
            log("building the ViT-B-32 (random weights) artifact")
            stygig("build", str(files["catalog"]), "-o", str(arts["vitb32"]), "--encoder", str(export), "--quiet", "--force")
    figures = {}
    for name, art in arts.items():
        log(f"== {name}")
        figures[name] = one_encoder(name, art, files, work)
    p50_h, p50_l, ratio = serve_ratio(arts["lite"], figures["lite"]["learned_art"])

    print("synthetic looks over the styled sample catalog (see the docstring for the rules); held-out looks only")
    if "vitb32" in arts:
        print(RANDOM_NOTE)
    print(f"{'encoder':<8} {'model':<10} {'FITB':>6} {'AUC':>6}")
    for name, f in figures.items():
        print(f"{name:<8} {'random':<10} {fitb_random:6.3f} {0.5:6.3f}")
        for m in ("heuristic", "tuned", "learned"):
            print(f"{name:<8} {m:<10} {f[m]['fitb_accuracy']:6.3f} {f[m]['compat_auc']:6.3f}")
    print(f"learn (lite, {args.looks} looks given, 20 % held out): {figures['lite']['learn_s']:.1f} s"
          + (f"; ViT-B-32: {figures['vitb32']['learn_s']:.1f} s" if "vitb32" in figures else ""))
    print(f"recommend p50 (lite, item queries, side by side): heuristic {p50_h:.3f} ms, learned {p50_l:.3f} ms, ratio {ratio:.2f}")
    lite = figures["lite"]
    result = {
        "fitb_random": round(fitb_random, 4),
        "fitb_heuristic": round(lite["heuristic"]["fitb_accuracy"], 4),
        "fitb_tuned": round(lite["tuned"]["fitb_accuracy"], 4),
        "fitb_learned": round(lite["learned"]["fitb_accuracy"], 4),
        "auc_heuristic": round(lite["heuristic"]["compat_auc"], 4),
        "auc_tuned": round(lite["tuned"]["compat_auc"], 4),
        "auc_learned": round(lite["learned"]["compat_auc"], 4),
        "learn_s": round(lite["learn_s"], 1),
        "serve_ratio": round(ratio, 3),
        "n_test_fitb": lite["learned"]["n_fitb"],
        "n_train_looks": args.looks,
    }
    if "vitb32" in figures:
        v = figures["vitb32"]
        result.update({
            "fitb_heuristic_vitb32": round(v["heuristic"]["fitb_accuracy"], 4),
            "fitb_tuned_vitb32": round(v["tuned"]["fitb_accuracy"], 4),
            "fitb_learned_vitb32": round(v["learned"]["fitb_accuracy"], 4),
            "auc_heuristic_vitb32": round(v["heuristic"]["compat_auc"], 4),
            "auc_learned_vitb32": round(v["learned"]["compat_auc"], 4),
            "learn_s_vitb32": round(v["learn_s"], 1),
        })
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
