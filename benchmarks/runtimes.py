"""ONNX Runtime (what StyGig ships) beside OpenVINO, for both CLIP towers: cold start, latency,
build rate.

Full ViT-B-32 architecture with RANDOM weights (the shared benchmark model of ``_common``): speed
is the real model's, quality is not. OpenVINO reads a plain ONNX export of the same towers (the
shipped graphs are ONNX Runtime-optimised and use its own contrib operators, which OpenVINO does
not read). Variants:

* ``ort-int8`` / ``ort-fp32``: the shipped towers, sessions exactly as the encoder opens them;
* ``ov-f32`` / ``ov-bf16``: OpenVINO, ``INFERENCE_PRECISION_HINT`` f32 or bf16 (this CPU has it);
* ``ov-int8w``: NNCF weight-only int8 compression (data-free), bf16 activations where available;
* ``ov-int8``: NNCF post-training int8 quantisation (calibrated on 64 sample-catalog pictures /
  prompts), when NNCF runs.

OpenVINO compiles each model once per process: its model cache (``CACHE_DIR``) keeps the
compiled blob so that a second process (a container start) loads it; cold starts are measured in
fresh processes with the cache already filled, as a container would have it if the cache were
baked into the artifact.

Measured per variant: ``cold_s`` (fresh process: import the runtime, open the image tower, embed
one picture; median of ``--runs``) and ``cold_cpu_s`` (the CPU time that took: on a shared
machine the wall time mostly measures waiting), ``image_p50_ms`` (batch 1), ``image_img_s`` (batch 32,
images per second), ``text_p50_ms`` (batch 1), ``cosine`` (image embeddings against ort-fp32 on
the same pixels). Variants alternate inside each timing loop so that machine load affects all
alike. Last line: one JSON object.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as C  # noqa: E402

COLD = r"""
import sys, time
t0 = float(sys.argv[1])
import numpy as np
kind, path, cache = sys.argv[2], sys.argv[3], sys.argv[4]
x = np.load(sys.argv[5])
if kind.startswith("ort"):
    from stygig.features.encoders.clip_onnx import make_session
    s = make_session(path)
    s.run(None, {"pixel_values": x})
else:
    import openvino as ov
    core = ov.Core()
    core.set_property({"CACHE_DIR": cache})
    cfg = {"INFERENCE_NUM_THREADS": 2, "PERFORMANCE_HINT": "LATENCY",
           "INFERENCE_PRECISION_HINT": "bf16" if kind in ("ov-bf16", "ov-int8w", "ov-int8") else "f32"}
    m = core.compile_model(path, "CPU", cfg)
    m.create_infer_request().infer({0: x})
import resource
ru = resource.getrusage(resource.RUSAGE_SELF)
print(time.time() - t0, ru.ru_utime + ru.ru_stime)
"""


def plain_onnx(work: Path) -> dict[str, Path]:
    """Plain (not ONNX Runtime-optimised) fp32 ONNX of both towers of the benchmark model."""
    out = work / "plain-onnx"
    paths = {t: out / f"{t}.onnx" for t in ("image", "text")}
    if all(p.is_file() for p in paths.values()):
        return paths
    out.mkdir(parents=True, exist_ok=True)
    import open_clip
    import torch
    import torch.nn.functional as F

    weights = C.random_weights(work)
    model = open_clip.create_model("ViT-B-32", pretrained=str(weights)).eval()

    class Tower(torch.nn.Module):
        def __init__(self, m, tower):
            super().__init__()
            self.m, self.tower = m, tower

        def forward(self, x):
            return F.normalize(self.m.encode_image(x) if self.tower == "image" else self.m.encode_text(x), dim=-1)

    for tower, example, name in (
        ("image", torch.zeros(2, 3, 224, 224), "pixel_values"),
        ("text", torch.zeros(2, 77, dtype=torch.int64), "input_ids"),
    ):
        torch.onnx.export(Tower(model, tower), (example,), str(paths[tower]), input_names=[name], output_names=["embedding"],
                          dynamic_axes={name: {0: "batch"}, "embedding": {0: "batch"}}, opset_version=17, dynamo=False)
    return paths


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workdir", type=Path, default=C.default_workdir())
    ap.add_argument("--runs", type=int, default=5, help="fresh processes per variant for the cold start")
    ap.add_argument("--requests", type=int, default=60, help="timed batch-1 runs per variant")
    args = ap.parse_args()
    work = args.workdir
    import numpy as np

    try:
        import openvino as ov
    except ImportError:
        raise SystemExit("benchmarks/runtimes.py needs OpenVINO: pip install 'openvino>=2026.4,<2027' 'nncf>=3.4,<4'")
    from PIL import Image

    from stygig.features.encoders.clip_onnx import ClipPreprocess, make_session, read_export
    from stygig.features.encoders.tokenizer import ClipTokenizer

    export = C.clip_export(work)
    spec = read_export(export)
    plain = plain_onnx(work)
    catalog = C.sample_catalog(work)
    rows = [json.loads(l) for l in (catalog / "manifest.jsonl").read_text().splitlines() if l]
    pre = ClipPreprocess(spec["preprocess"])
    pictures = [Image.open(catalog / r["image"]).convert("RGB") for r in rows[::6][:64]]
    pixels = pre.batch(pictures)
    tok = ClipTokenizer(export / spec["tokenizer"]["vocab"], context_length=77)
    ids = tok([r.get("name", r["category"]) for r in rows[:64]])
    x1 = pixels[:1]
    cache = work / "ov-cache"
    cache.mkdir(exist_ok=True)
    np.save(work / "x1.npy", x1)

    core = ov.Core()
    core.set_property({"CACHE_DIR": str(cache)})
    variants: dict[str, dict] = {}

    def ov_variant(name: str, models: dict[str, object], precision: str):
        cfg = {"INFERENCE_NUM_THREADS": 2, "PERFORMANCE_HINT": "LATENCY", "INFERENCE_PRECISION_HINT": precision}
        compiled, compile_s = {}, {}
        for tower, m in models.items():
            t = time.perf_counter()
            compiled[tower] = core.compile_model(m, "CPU", cfg)
            compile_s[tower] = time.perf_counter() - t
        reqs = {t: c.create_infer_request() for t, c in compiled.items()}
        variants[name] = {
            "image": lambda x, r=reqs["image"]: r.infer({0: x})[0],
            "text": lambda x, r=reqs["text"]: r.infer({0: x})[0],
            "compile_s": compile_s,
        }

    for p in ("int8", "fp32"):
        towers = spec["precisions"][p]
        s_img, s_txt = make_session(export / towers["image"]), make_session(export / towers["text"])
        variants[f"ort-{p}"] = {
            "image": lambda x, s=s_img: s.run(None, {"pixel_values": x})[0],
            "text": lambda x, s=s_txt: s.run(None, {"input_ids": x})[0],
            "path": export / towers["image"],
        }
    read = {t: core.read_model(str(p)) for t, p in plain.items()}
    ov_variant("ov-f32", read, "f32")
    ov_variant("ov-bf16", read, "bf16")
    paths = {"ov-f32": plain["image"], "ov-bf16": plain["image"]}
    notes = []
    try:
        import nncf

        C.log("NNCF weight compression (int8, data-free)")
        int8w = {t: nncf.compress_weights(core.read_model(str(p))) for t, p in plain.items()}
        ov.save_model(int8w["image"], str(work / "ov-int8w-image.xml"))
        paths["ov-int8w"] = work / "ov-int8w-image.xml"
        ov_variant("ov-int8w", int8w, "bf16")
        C.log("NNCF post-training int8 quantisation (64 calibration pictures / prompts)")
        q = {
            "image": nncf.quantize(core.read_model(str(plain["image"])),
                                   nncf.Dataset([pixels[i : i + 1] for i in range(len(pixels))]),
                                   model_type=nncf.ModelType.TRANSFORMER, subset_size=len(pixels)),
            "text": nncf.quantize(core.read_model(str(plain["text"])),
                                  nncf.Dataset([ids[i : i + 1] for i in range(len(ids))]),
                                  model_type=nncf.ModelType.TRANSFORMER, subset_size=len(ids)),
        }
        ov.save_model(q["image"], str(work / "ov-int8-image.xml"))
        paths["ov-int8"] = work / "ov-int8-image.xml"
        ov_variant("ov-int8", q, "bf16")
    except Exception as e:  # report, do not hide: NNCF is an optional part of the comparison
        notes.append(f"NNCF failed: {type(e).__name__}: {str(e)[:200]}")
    for name in variants:
        if name.startswith("ort"):
            paths[name] = variants[name]["path"]

    names = list(variants)
    ref = variants["ort-fp32"]["image"](pixels[:8])
    results = {}
    for name in names:
        got = variants[name]["image"](pixels[:8])
        results[name] = {"cosine": float(np.mean(np.sum(ref * got, 1) / np.linalg.norm(got, axis=1)))}
    # warm-up, then alternate
    for name in names:
        for _ in range(3):
            variants[name]["image"](x1)
            variants[name]["text"](ids[:1])
    lat = {n: {"image": [], "text": []} for n in names}
    for _ in range(args.requests):
        for n in names:
            for tower, x in (("image", x1), ("text", ids[:1])):
                t = time.perf_counter()
                variants[n][tower](x)
                lat[n][tower].append(time.perf_counter() - t)
    rate = {n: [] for n in names}
    for _ in range(3):
        for n in names:
            t = time.perf_counter()
            variants[n]["image"](pixels[:32])
            rate[n].append(32 / (time.perf_counter() - t))
    cold = {n: [] for n in names}
    cold_cpu = {n: [] for n in names}
    for _ in range(args.runs):
        for n in names:
            r = subprocess.run([sys.executable, "-c", COLD, str(time.time()), n, str(paths[n]), str(cache),
                                str(work / "x1.npy")], capture_output=True, text=True)
            if r.returncode != 0:
                raise SystemExit(f"cold start of {n} failed: {r.stderr[-500:]}")
            wall, cpu = r.stdout.strip().splitlines()[-1].split()
            cold[n].append(float(wall))
            cold_cpu[n].append(float(cpu))

    print(C.RANDOM_NOTE)
    print(f"machine: {C.machine()}; OpenVINO {ov.__version__}; CPU capabilities "
          f"{core.get_property('CPU', 'OPTIMIZATION_CAPABILITIES')}")
    for n in names:
        r = results[n]
        r["cold_s"] = round(C.median(cold[n]), 3)
        r["cold_cpu_s"] = round(C.median(cold_cpu[n]), 3)
        r["image_p50_ms"] = round(1000 * C.median(lat[n]["image"]), 2)
        r["text_p50_ms"] = round(1000 * C.median(lat[n]["text"]), 2)
        r["image_img_s"] = round(C.median(rate[n]), 1)
        r["cosine"] = round(r["cosine"], 5)
        if "compile_s" in variants[n]:
            r["first_compile_s"] = round(variants[n]["compile_s"]["image"], 2)
        print(f"{n:9s} cold {r['cold_s']:.2f} s (CPU {r['cold_cpu_s']:.2f} s)  image p50 {r['image_p50_ms']:.1f} ms  text p50 "
              f"{r['text_p50_ms']:.1f} ms  batch-32 {r['image_img_s']:.1f} img/s  cosine to fp32 {r['cosine']:.5f}"
              + (f"  (first compile {r['first_compile_s']:.2f} s, cached after)" if "first_compile_s" in r else ""))
    for note in notes:
        print(note)
    print(f"machine at the end: {C.machine()}")
    print(json.dumps({"variants": results, "notes": notes, "random_weights": True}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
