"""Update benchmark (issue 14.4): ``update_ratio``, the time of an update of 1 % of a 100 k-item
catalog over the time of a full build of the new catalog.

The catalog is :func:`scale.generate`'s (synthetic clustered 512-d vectors, random genders and
colours: 20 categories of 5,000 items, every one an IVF index) with synthetic ``price``,
``in_stock`` and ``brand`` attributes. Vectors are given, as scale.py builds (no pictures: the
encoder's time is the same per picture in both, and an update embeds 1 % of them). The update
touches 1 % of the items: 400 added, 400 changed (new vectors and attributes) and 200 removed, at
random ids across every category — so every category's index is updated (its centroids kept,
its recall@50 measured) and every row after the first change moves.

* ``full_build_s``: :func:`stygig.build.write_artifact_from_arrays` of the new catalog;
* ``update_s``: :func:`stygig.build.update_from_arrays` of the old artifact into a new folder
  (each run checks the old artifact, its checksums remembered as after its first load);
  both medians of ``--repeat`` runs, a build and an update alternating (this machine is shared);
* ``update_ratio`` = ``update_s / full_build_s`` (target <= 0.1).

    python benchmarks/update.py [--n 100000] [--repeat 3] [--work DIR]

The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from scale import DIM, generate  # noqa: E402  (the same synthetic catalog)

SEED = 14
N_BRANDS = 50


def catalog(work: Path, n: int) -> dict:
    """The old catalog (``n`` items) and the update: 0.4 % added, 0.4 % changed, 0.2 % removed."""
    from stygig.taxonomy import GENDERS, Taxonomy

    src = generate(work, n)
    cats = list(Taxonomy.default().categories)
    rng = np.random.default_rng(SEED)
    vec = np.load(src / "vectors.npy", mmap_mode="r")
    codes = np.load(src / "categories.npy")
    genders = [GENDERS[g] for g in np.load(src / "genders.npy")]
    colours = np.load(src / "colors.npy")
    ids = [f"item-{i:07d}" for i in range(n)]
    attrs = {"price": rng.uniform(5, 300, n).round(2).tolist(), "in_stock": (rng.random(n) < 0.5).tolist(),
             "brand": [f"brand-{b:02d}" for b in rng.integers(0, N_BRANDS, n)]}
    k = n // 250  # 0.4 %
    touched = rng.choice(n, size=2 * k + k // 2, replace=False)
    changed, removed = np.sort(touched[:k]), np.sort(touched[k : k + k // 2])
    # added: new ids between the old ones (item-0001234a), of the categories' own distribution
    base = np.sort(touched[k + k // 2 :])
    noise = rng.standard_normal((k, DIM)).astype(np.float32)

    def near(rows):
        x = np.asarray(vec[rows]) + 0.3 * noise[: len(rows)]
        return x / np.linalg.norm(x, axis=1, keepdims=True)

    update = {
        "ids": [ids[i] for i in changed] + [ids[i] + "a" for i in base],
        "categories": [cats[codes[i]] for i in changed] + [cats[codes[i]] for i in base],
        "genders": [genders[i] for i in changed] + [genders[i] for i in base],
        "vectors": np.concatenate([near(changed), near(base)]).astype(np.float32),
        "colours": np.concatenate([colours[changed], colours[base]]),
        "attributes": {"price": rng.uniform(5, 300, 2 * k).round(2).tolist(),
                       "in_stock": (rng.random(2 * k) < 0.5).tolist(),
                       "brand": [f"brand-{b:02d}" for b in rng.integers(0, N_BRANDS, 2 * k)]},
        "remove": [ids[i] for i in removed],
    }
    old = {"ids": ids, "categories": [cats[c] for c in codes], "genders": genders, "vectors": src / "vectors.npy",
           "colours": colours, "attributes": attrs}
    return {"old": old, "update": update, "src": src}


def new_catalog(c: dict) -> dict:
    """The catalog the update makes, in id order (what a full build is given)."""
    old, up = c["old"], c["update"]
    vec = np.load(old["vectors"], mmap_mode="r")
    gone = set(up["remove"])
    given = {i: k for k, i in enumerate(up["ids"])}
    rows = [(i, ("old", r)) for r, i in enumerate(old["ids"]) if i not in gone and i not in given]
    rows += [(i, ("new", k)) for i, k in given.items()]
    rows.sort()
    out = {"ids": [], "categories": [], "genders": [], "attributes": {k: [] for k in old["attributes"]}}
    vectors = np.empty((len(rows), DIM), dtype=np.float32)
    colours = np.empty((len(rows), 3, 4), dtype=np.float32)
    for j, (i, (where, r)) in enumerate(rows):
        src = old if where == "old" else up
        out["ids"].append(i)
        out["categories"].append(src["categories"][r])
        out["genders"].append(src["genders"][r])
        for k in out["attributes"]:
            out["attributes"][k].append(src["attributes"][k][r])
        vectors[j] = vec[r] if where == "old" else up["vectors"][r]
        colours[j] = src["colours"][r]
    out["vectors"], out["colours"] = vectors, colours
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=100_000, help="catalog size (default 100000)")
    ap.add_argument("--repeat", type=int, default=3, help="build and update runs, alternating (median; default 3)")
    ap.add_argument("--work", default=None, help="work folder (default: a temporary one, removed)")
    args = ap.parse_args()
    from stygig.build import update_from_arrays, write_artifact_from_arrays
    from stygig.features.encoders.precomputed import PrecomputedEncoder

    work = Path(args.work) if args.work else Path(tempfile.mkdtemp(prefix="stygig-update-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        enc = PrecomputedEncoder(DIM, "synthetic benchmark vectors")
        c = catalog(work, args.n)
        old_art = work / "old"
        if not (old_art / "manifest.json").exists():
            write_artifact_from_arrays(old_art, **c["old"], encoder=enc)
        fresh = new_catalog(c)
        from stygig.artifact.reader import ArtifactReader

        ArtifactReader.open(old_art)  # its checksums remembered, as after its first load
        builds, times, summary, full = [], [], None, None
        for _ in range(args.repeat):  # alternating, so that a busy minute falls on both alike
            shutil.rmtree(work / "full", ignore_errors=True)
            t = time.perf_counter()
            full = write_artifact_from_arrays(work / "full", **fresh, encoder=enc)
            builds.append(time.perf_counter() - t)
            shutil.rmtree(work / "updated", ignore_errors=True)  # a new OUT each time, as the build's
            t = time.perf_counter()
            summary = update_from_arrays(old_art, work / "updated", **c["update"])
            times.append(time.perf_counter() - t)
        full_s, update_s = statistics.median(builds), statistics.median(times)
        actions: dict[str, int] = {}
        for a in summary.indexes.values():
            actions[a] = actions.get(a, 0) + 1
        print(f"full builds {', '.join(f'{x:.2f}' for x in builds)} s; updates {', '.join(f'{x:.2f}' for x in times)} s; "
              f"index actions {actions}; timings {summary.timings}", file=sys.stderr)
        same = full.n_items == summary.n_items
        print(json.dumps({
            "n_items": args.n, "added": summary.added, "changed": summary.changed, "removed": summary.removed,
            "full_build_s": round(full_s, 3), "update_s": round(update_s, 3),
            "full_build_runs_s": [round(x, 3) for x in builds], "update_runs_s": [round(x, 3) for x in times],
            "update_ratio": round(update_s / full_s, 4), "target_update_ratio": 0.1,
            "index_actions": actions, "same_item_count": same,
            "note": "synthetic vectors and attributes (scale.py's catalog); vectors given, no pictures",
        }))
    finally:
        if not args.work:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
