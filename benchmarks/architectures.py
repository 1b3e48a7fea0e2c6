"""What each CLIP architecture a fashion shop may bring costs here: cold start, photo latency,
build rate (int8, ONNX Runtime).

* ``ViT-B-32`` -- OpenAI CLIP's and FashionCLIP 2.0's architecture (patrickjohncyh/fashion-clip);
* ``ViT-B-16`` -- Marqo-FashionCLIP's (hf-hub:Marqo/marqo-fashionCLIP): 4x the image tokens;
* ``ViT-B-16-SigLIP`` -- Marqo-FashionSigLIP's (hf-hub:Marqo/marqo-fashionSigLIP): timm vision
  tower with attention pooling, SigLIP text tower and SentencePiece tokenizer.

Full architectures with RANDOM weights (nothing can be downloaded here): speed, sizes and memory
are the real models'; quality is not (for quality, see the recall figures Marqo reports, quoted in
the README). The SigLIP tokenizer is a synthetic Unigram tokenizer (same format and code path as
the real ``tokenizer.json``; its vocabulary is smaller, which does not change the towers' cost).

Per architecture: ``export-clip --precision int8``, ``stygig build`` of the 420-item sample catalog
(``build_img_s``: items per second of the whole build, measured once per architecture, so under
whatever load the machine had then), ``encoder_img_s`` (the encoder alone on batches of 32 catalog
pictures, alternating across architectures: the fair comparison of build cost), ``cold_s`` (fresh process: load the artifact
and answer a 1000 px JPEG photo; median of ``--runs``), ``p50_ms`` (photo query, alternating across
architectures) and ``embed_p50_ms`` (the image tower alone in the same loop). Last line: one JSON
object.
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

ARCHS = {
    "ViT-B-32": "OpenAI CLIP, FashionCLIP 2.0",
    "ViT-B-16": "Marqo-FashionCLIP",
    "ViT-B-16-SigLIP": "Marqo-FashionSigLIP",
}

COLD = r"""
import json, sys, time
t0 = float(sys.argv[1])
from stygig.recommend.engine import Recommender
from stygig.recommend.query import Query
from stygig.images import decode_image
rec = Recommender.load(sys.argv[2])
json.dumps(rec.recommend(Query(image=decode_image(sys.argv[3]))))
print(time.time() - t0)
"""


def siglip_tokenizer_cache(work: Path) -> Path:
    """A Hugging Face cache holding a tokenizer for open_clip's ViT-B-16-SigLIP config."""
    cache = work / "hub"
    root = cache / "models--timm--ViT-B-16-SigLIP"
    snap = root / "snapshots" / ("0" * 40)
    if (snap / "tokenizer.json").is_file():
        return cache
    snap.mkdir(parents=True, exist_ok=True)
    (root / "refs").mkdir(exist_ok=True)
    (root / "refs" / "main").write_text(snap.name)
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers

    words = [r.get("name", "") for r in _rows(C.sample_catalog(work))]
    tok = Tokenizer(models.Unigram())
    tok.pre_tokenizer = pre_tokenizers.Metaspace()
    tok.decoder = decoders.Metaspace()
    tok.train_from_iterator(words * 5, trainers.UnigramTrainer(vocab_size=2000, special_tokens=["<pad>", "</s>", "<unk>"],
                                                               unk_token="<unk>"))
    tok.post_processor = processors.TemplateProcessing(single="$A </s>", special_tokens=[("</s>", 1)])
    tok.save(str(snap / "tokenizer.json"))
    (snap / "tokenizer_config.json").write_text(json.dumps({
        "tokenizer_class": "PreTrainedTokenizerFast", "pad_token": "<pad>", "eos_token": "</s>", "unk_token": "<unk>",
        "model_max_length": 64}))
    (snap / "config.json").write_text("{}")
    return cache


def _rows(catalog: Path) -> list[dict]:
    return [json.loads(l) for l in (catalog / "manifest.jsonl").read_text().splitlines() if l]


def export(work: Path, arch: str) -> Path:
    out = work / f"export-{arch}"
    if (out / "export.json").is_file():
        return out
    C.log(f"exporting {arch} (random weights, int8)")
    cmd = [sys.executable, "-m", "stygig.cli", "export-clip", "--model", arch, "--pretrained", "random",
           "--precision", "int8", "-o", str(out), "--force"]
    if "SigLIP" in arch:
        cmd += ["--cache-dir", str(siglip_tokenizer_cache(work))]
    if subprocess.run(cmd, stdout=subprocess.DEVNULL).returncode != 0:
        raise SystemExit(f"export-clip {arch} failed")
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workdir", type=Path, default=C.default_workdir())
    ap.add_argument("--runs", type=int, default=3, help="fresh processes per architecture for the cold start")
    ap.add_argument("--requests", type=int, default=60, help="timed photo queries per architecture")
    args = ap.parse_args()
    work = args.workdir
    work.mkdir(parents=True, exist_ok=True)

    from stygig.build import build_artifact
    from stygig.recommend.engine import Recommender
    from stygig.recommend.query import Query
    from stygig.images import decode_image

    catalog = C.sample_catalog(work)
    query = C.query_jpeg(work, catalog)
    data = query.read_bytes()
    arts, build_rate, sizes = {}, {}, {}
    for arch in ARCHS:
        exp = export(work, arch)
        art = work / f"artifact-{arch}"
        if not (art / "manifest.json").is_file():
            C.log(f"building the {arch} artifact")
            t = time.perf_counter()
            summary = build_artifact(catalog, art, encoder=str(exp))
            build_rate[arch] = summary.n_items / (time.perf_counter() - t)
            (work / f"build-rate-{arch}.json").write_text(json.dumps(build_rate[arch]))
        else:
            build_rate[arch] = json.loads((work / f"build-rate-{arch}.json").read_text())
        arts[arch] = art
        sizes[arch] = sum(f.stat().st_size for f in (art / "encoder").iterdir()) / 1e6
    recs = {a: Recommender.load(p) for a, p in arts.items()}
    pixels = {a: r.encoder.preprocess.batch([decode_image(data)]) for a, r in recs.items()}
    for a, r in recs.items():
        for _ in range(3):
            r.recommend(Query(image=decode_image(data)))
    lat = {a: [] for a in recs}
    tower = {a: [] for a in recs}
    for _ in range(args.requests):
        for a, r in recs.items():
            t = time.perf_counter()
            json.dumps(r.recommend(Query(image=decode_image(data))))
            lat[a].append(time.perf_counter() - t)
            t = time.perf_counter()
            r.encoder._image_session.run(None, {"pixel_values": pixels[a]})
            tower[a].append(time.perf_counter() - t)
    from PIL import Image

    rows = _rows(catalog)
    batch = [Image.open(catalog / r["image"]).convert("RGB") for r in rows[:32]]
    enc_rate = {a: [] for a in recs}
    for _ in range(3):
        for a, r in recs.items():
            t = time.perf_counter()
            r.encoder.encode_images(batch)
            enc_rate[a].append(len(batch) / (time.perf_counter() - t))
    del recs
    cold = {a: [] for a in arts}
    for _ in range(args.runs):
        for a, p in arts.items():
            r = subprocess.run([sys.executable, "-c", COLD, str(time.time()), str(p), str(query)],
                               capture_output=True, text=True)
            if r.returncode != 0:
                raise SystemExit(f"cold start of {a} failed: {r.stderr[-400:]}")
            cold[a].append(float(r.stdout.strip().splitlines()[-1]))

    print(C.RANDOM_NOTE.replace("ViT-B-32 architecture", "architectures"))
    print(f"machine: {C.machine()}; int8 towers, ONNX Runtime; {len(_rows(catalog))}-item sample catalog")
    print("| architecture | as in | encoder files | cold start | photo p50 | tower alone | encoder, batch 32 | build (once) |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    out = {}
    for a in arts:
        out[a] = {
            "cold_s": round(C.median(cold[a]), 3),
            "p50_ms": round(1000 * C.median(lat[a]), 2),
            "embed_p50_ms": round(1000 * C.median(tower[a]), 2),
            "build_img_s": round(build_rate[a], 1),
            "encoder_img_s": round(C.median(enc_rate[a]), 1),
            "encoder_mb": round(sizes[a], 1),
        }
        o = out[a]
        print(f"| {a} | {ARCHS[a]} | {o['encoder_mb']:.0f} MB | {o['cold_s']:.2f} s | {o['p50_ms']:.1f} ms | "
              f"{o['embed_p50_ms']:.1f} ms | {o['encoder_img_s']:.1f} img/s | {o['build_img_s']:.1f} img/s |")
    print(f"machine at the end: {C.machine()}")
    print(json.dumps({"architectures": out, "precision": "int8", "runtime": "onnxruntime", "random_weights": True}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
