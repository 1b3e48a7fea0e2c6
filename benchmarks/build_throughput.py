"""Images per second of ``stygig build`` with the ViT-B-32 int8 encoder, next to the raw encoder.

The build (decode, dominant colours, thumbnails, embeddings, indexes, manifest) runs on the
default sample catalog; the raw encoder rate is ``encode_images`` on the same pictures, already
decoded, at the encoder's build batch size, measured in the same run: passes of the raw encoder
alternate with builds, and the medians are compared. If the build is much slower than the raw encoder, something other than the
model -- decoding, colour extraction, thumbnails -- is the bottleneck.

Targets: >= 50 img/s and >= 85% of the raw encoder's rate (issue 17.2). The median build's time
is broken down (encoder, waiting for features, writing, indexes, the rest). Last line: one JSON object.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as C  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--items", type=int, default=420, help="sample catalog size (default 420, max 5000)")
    ap.add_argument("--repeats", type=int, default=3, help="builds, alternating with raw passes (1..10)")
    ap.add_argument("--workdir", type=Path, default=C.default_workdir())
    args = ap.parse_args()
    repeats = max(1, min(args.repeats, 10))
    n_items = max(28, min(args.items, 5000))
    work = args.workdir
    work.mkdir(parents=True, exist_ok=True)

    from stygig.build import build_artifact
    from stygig.features.encoders.clip_onnx import ClipOnnxEncoder
    from stygig.images import decode_image

    export = C.clip_export(work)
    catalog = C.sample_catalog(work, n_items)
    rows = [json.loads(l) for l in (catalog / "manifest.jsonl").read_text().splitlines() if l]
    enc = ClipOnnxEncoder.from_export(export, precision="int8")
    batch = enc.batch_size
    pictures = [decode_image(catalog / r["image"]) for r in rows]

    def raw_rate() -> float:
        enc.encode_images(pictures[:batch])  # warm
        t = time.perf_counter()
        for start in range(0, len(pictures), batch):
            enc.encode_images(pictures[start : start + batch])
        return len(pictures) / (time.perf_counter() - t)

    # alternate raw / build / raw / ... so that load from other processes hits both alike
    raws, builds, n_built, timings = [raw_rate()], [], 0, []
    out = work / "throughput-artifact"
    for _ in range(repeats):
        shutil.rmtree(out, ignore_errors=True)
        t = time.perf_counter()
        summary = build_artifact(catalog, out, encoder=enc, resume=False)
        builds.append(summary.n_items / (time.perf_counter() - t))
        timings.append(dict(summary.timings))
        n_built = summary.n_items
        raws.append(raw_rate())
    shutil.rmtree(out, ignore_errors=True)

    raw = C.median(raws)
    build = C.median(builds)
    # where the median build's time went: the encoder, waiting for pictures, writing chunks, the
    # indexes, the rest (reading the catalog, the category prompts through the text tower,
    # assembling, the manifest); featurize is thread time beside the encoder (it overlaps it: it
    # costs the build only where it takes the encoder's cores)
    t_med = timings[sorted(range(len(builds)), key=builds.__getitem__)[len(builds) // 2]]
    parts = {k: round(float(t_med.get(k, 0.0)), 2) for k in ("total_s", "encode_s", "wait_for_features_s", "write_s", "index_s")}
    parts["other_s"] = round(parts["total_s"] - sum(v for k, v in parts.items() if k != "total_s"), 2)
    parts["featurize_thread_s"] = round(float(t_med.get("featurize_worker_s", 0.0)), 2)
    ratio = build / raw
    print(C.RANDOM_NOTE)
    print(f"machine: {C.machine()}; catalog {n_built} items; batch size {batch}; int8 ViT-B-32; "
          f"{repeats} builds alternating with {len(raws)} raw-encoder passes, medians")
    print(f"stygig build: {build:.1f} img/s  (each build: {', '.join(f'{b:.1f}' for b in builds)})")
    print(f"raw encoder (decoded pictures, batch {batch}): {raw:.1f} img/s  (each pass: {', '.join(f'{r:.1f}' for r in raws)})")
    print(f"build / raw encoder: {100 * ratio:.0f}%")
    print("the median build's time: " + ", ".join(f"{k} {v}" for k, v in parts.items())
          + f"; the encoder alone at the raw rate would take {n_built / raw:.2f} s")
    print(f"machine at the end: {C.machine()}")
    checks = {">= 50 img/s": build >= 50, ">= 85% of raw": ratio >= 0.85}
    print("targets: " + "; ".join(f"{k}: {'met' if v else 'MISSED'}" for k, v in checks.items()))
    print(json.dumps({
        "build_img_s": round(build, 2),
        "raw_encoder_img_s": round(raw, 2),
        "ratio": round(ratio, 3),
        "items": n_built,
        "batch_size": batch,
        "breakdown_s": parts,
        "random_weights": True,
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
