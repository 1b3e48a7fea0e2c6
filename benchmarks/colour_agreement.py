"""Do two versions of StyGig agree on the dominant colours of the sample catalog's photos?

Run it once with each tree (e.g. ``PYTHONPATH=<old tree>/src python benchmarks/colour_agreement.py
write old.json``, then ``... write new.json`` with this tree), then ``compare old.json new.json``.

``write`` computes, for every photo of the default sample catalog (420 items, generated), its
dominant colours (a) as a catalog build does (decode, reduce by an integer factor to about 192 px,
``dominant_colours``) and (b) as a photo query does for the same photo uploaded at 1000x1000 px
(JPEG quality 90): through :func:`stygig.features.photo.photo_colours` where the tree has it,
else ``dominant_colours`` of the decoded upload (what the engine did before).

``compare`` prints, for each of (a) and (b): the CIEDE2000 difference of the top colour; the
share-weighted CIEDE2000 from each old colour to its nearest new one (robust to two colours of
nearly equal share swapping places); the change of the top colour's share; the change of the
colour-harmony score against 60 other catalog items; how often the top colour keeps its name.
Last line: one JSON object.
"""

from __future__ import annotations

import argparse
import io
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as C  # noqa: E402


def write(out: Path, work: Path) -> None:
    from PIL import Image

    from stygig.images import decode_image

    try:
        from stygig.features.colour.dominant import dominant_colours
    except ImportError:  # trees before the colour package
        from stygig.features.colour import dominant_colours
    try:
        from stygig.features.photo import photo_colours
    except ImportError:
        photo_colours = None
    catalog = C.sample_catalog(work)
    rows = [json.loads(line) for line in (catalog / "manifest.jsonl").read_text().splitlines() if line]
    result = {}
    for r in rows:
        src = catalog / r["image"]
        img = decode_image(src)
        factor = max(1, min(img.size) // 192)
        small = img.reduce(factor) if factor > 1 else img.copy()
        build = [c.to_dict() for c in dominant_colours(small, k=3)]
        with Image.open(src) as im:
            big = im.convert("RGB").resize((1000, 1000), Image.Resampling.BICUBIC)
        buf = io.BytesIO()
        big.save(buf, "JPEG", quality=90)
        upload = decode_image(buf.getvalue())
        query = photo_colours(upload, 3) if photo_colours else dominant_colours(upload, k=3)
        result[r["id"]] = {"build": build, "query": [c.to_dict() for c in query]}
    out.write_text(json.dumps(result))
    print(f"wrote the colours of {len(result)} photos to {out}")


def compare(old_path: Path, new_path: Path) -> None:
    import numpy as np

    from stygig.features.colour.harmony import harmony
    from stygig.features.colour.space import delta_e

    a, b = json.loads(old_path.read_text()), json.loads(new_path.read_text())
    keys = sorted(set(a) & set(b))
    others = keys[::7]
    summary = {}

    def stats(x) -> dict:
        return {"median": round(float(np.median(x)), 3), "p95": round(float(np.percentile(x, 95)), 3),
                "max": round(float(np.max(x)), 3)}

    for side in ("build", "query"):
        top, matched, share, harm = [], [], [], []
        for k in keys:
            ca, cb = a[k][side], b[k][side]
            top.append(float(delta_e(ca[0]["lab"], cb[0]["lab"])))
            la = np.array([c["lab"] for c in ca])
            lb = np.array([c["lab"] for c in cb])
            wa = np.array([c["weight"] for c in ca])
            d = np.asarray(delta_e(la[:, None, :], lb[None, :, :])).reshape(len(la), len(lb))
            matched.append(float((d.min(axis=1) * wa).sum()))
            share.append(abs(ca[0]["weight"] - cb[int(d[0].argmin())]["weight"]))
        for k in keys[:120]:
            for o in others:
                harm.append(abs(harmony(a[k][side], a[o]["build"])[0] - harmony(b[k][side], a[o]["build"])[0]))
        same = sum(a[k][side][0]["name"] == b[k][side][0]["name"] for k in keys)
        summary[side] = {"top_delta_e": stats(top), "matched_delta_e": stats(matched), "top_share_diff": stats(share),
                         "harmony_diff": stats(harm), "same_top_name": f"{same}/{len(keys)}"}
        s = summary[side]
        print(f"{side}: top colour dE00 {s['top_delta_e']}; share-weighted nearest dE00 {s['matched_delta_e']}; "
              f"top share change {s['top_share_diff']}; harmony score change {s['harmony_diff']}; "
              f"top colour keeps its name {s['same_top_name']}")
    print(json.dumps({"photos": len(keys), **summary}))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    w = sub.add_parser("write")
    w.add_argument("out", type=Path)
    w.add_argument("--workdir", type=Path, default=C.default_workdir())
    c = sub.add_parser("compare")
    c.add_argument("old", type=Path)
    c.add_argument("new", type=Path)
    args = ap.parse_args()
    if args.cmd == "write":
        write(args.out, args.workdir)
    else:
        compare(args.old, args.new)
    return 0


if __name__ == "__main__":
    sys.exit(main())
