"""``stygig export-clip`` and the clip-onnx encoder against open_clip itself.

A tiny open_clip configuration (2-layer ViT and text transformer, CLIP's real 49408-token
vocabulary) with seeded random weights keeps this fast; the weights go through a real
``.safetensors`` file and the real CLI, export and load code.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from PIL import Image

from stygig.cli import main
from stygig.errors import ArtifactError, StygigError
from stygig.features.encoders.clip_onnx import ClipOnnxEncoder, ClipPreprocess, read_export, sha256_file, trim_tokens
from stygig.features.encoders.tokenizer import ClipTokenizer
from stygig.features.encoders.registry import load_encoder, resolve_encoder

TINY_NAME = "stygig-tiny-test"
TINY_CONFIG = {
    "embed_dim": 32,
    "vision_cfg": {"image_size": 64, "layers": 2, "width": 64, "patch_size": 16, "head_width": 32},
    "text_cfg": {"context_length": 77, "vocab_size": 49408, "width": 64, "heads": 2, "layers": 2},
}
PROMPTS = [
    "a photo of a shirt",
    "navy linen blazer",
    "Chaussures en cuir — très élégantes!",
    "white sneakers with red laces, size 42",
    "",
]


def _pictures() -> list[Image.Image]:
    """Pictures of different sizes and aspects with structure (so embeddings differ)."""
    rng = np.random.default_rng(3)
    out = []
    for w, h in ((64, 64), (100, 200), (333, 211), (640, 480), (40, 300), (1000, 1000)):
        yy, xx = np.mgrid[0:h, 0:w]
        base = rng.uniform(0, 255, 3)
        arr = np.empty((h, w, 3))
        for c in range(3):
            f = rng.uniform(0.01, 0.2, 2)
            arr[..., c] = base[c] * 0.5 + 100 * np.sin(xx * f[0] + c) * np.cos(yy * f[1])
        arr += rng.normal(0, 20, arr.shape)
        out.append(Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8), "RGB"))
    return out


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    import open_clip
    import torch
    from safetensors.torch import save_file

    d = tmp_path_factory.mktemp("clip-export")
    cfg_path = d / "tiny.json"
    cfg_path.write_text(json.dumps(TINY_CONFIG))
    open_clip.add_model_config(str(d / "tiny.json"))  # registered as "tiny" for the reference model
    torch.manual_seed(7)
    model = open_clip.create_model("tiny", pretrained=None).eval()
    weights = d / "weights.safetensors"
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(weights))
    out = d / "export"
    rc = main(
        ["export-clip", "--model", TINY_NAME, "--model-config", str(cfg_path), "--pretrained", str(weights), "-o", str(out)]
    )
    assert rc == 0
    transform = open_clip.transform.image_transform_v2(
        open_clip.transform.PreprocessCfg(**open_clip.get_model_preprocess_cfg(model)), is_train=False
    )
    return SimpleNamespace(model=model, export=out, weights=weights, cfg_path=cfg_path, transform=transform, dir=d)


def test_export_directory_describes_itself(tiny):
    spec = read_export(tiny.export)
    assert spec["model"] == TINY_NAME and spec["dim"] == 32
    assert spec["pretrained"] == "file:weights.safetensors"
    assert set(spec["precisions"]) == {"fp32", "int8"}
    assert spec["default_precision"] == "int8"
    names = {f.name for f in tiny.export.iterdir()}
    assert names == {"export.json", *spec["files"]}
    for name, meta in spec["files"].items():
        assert sha256_file(tiny.export / name) == meta["sha256"]
        assert (tiny.export / name).stat().st_size == meta["bytes"]
    # preprocessing read from open_clip's configuration, not invented
    import open_clip

    pp = open_clip.get_model_preprocess_cfg(tiny.model)
    assert spec["preprocess"]["size"] == [64, 64]
    assert spec["preprocess"]["mean"] == pytest.approx(list(pp["mean"]))
    assert spec["preprocess"]["std"] == pytest.approx(list(pp["std"]))
    assert spec["preprocess"]["interpolation"] == pp["interpolation"]
    assert spec["tokenizer"]["context_length"] == 77
    assert spec["parity"]["fp32_image_cosine_min"] >= 0.9999
    # towers ship as ONNX Runtime-optimised graphs with their weights in a separate file
    assert spec["precisions"]["int8"]["files"] == [
        "image_int8.onnx", "image_int8.onnx.data", "text_int8.onnx", "text_int8.onnx.data"
    ]
    assert spec["ort_optimization"]["external_data"] is True
    # written atomically: no temp directories left beside it, nothing private inside it
    assert [p.name for p in tiny.export.parent.iterdir() if p.name.startswith(".")] == []
    assert [p.name for p in tiny.export.iterdir() if p.name.startswith(".")] == []
    umask = os.umask(0)
    os.umask(umask)
    for p in [tiny.export, *tiny.export.iterdir()]:
        assert p.stat().st_mode & 0o777 == (0o777 if p.is_dir() else 0o666) & ~umask, p


@pytest.mark.parametrize(
    "size,mode,interp",
    [
        (64, "shortest", "bicubic"),
        (224, "shortest", "bicubic"),
        (224, "shortest", "bilinear"),
        ((96, 128), "shortest", "bicubic"),
        ((96, 128), "longest", "bicubic"),
        (224, "squash", "bilinear"),
    ],
)
def test_preprocessing_matches_open_clip_transform(size, mode, interp):
    import open_clip
    from open_clip.constants import OPENAI_DATASET_MEAN, OPENAI_DATASET_STD

    ref = open_clip.image_transform(
        size, is_train=False, mean=OPENAI_DATASET_MEAN, std=OPENAI_DATASET_STD, resize_mode=mode, interpolation=interp
    )
    ours = ClipPreprocess(
        {"size": size, "resize_mode": mode, "interpolation": interp, "mean": OPENAI_DATASET_MEAN, "std": OPENAI_DATASET_STD}
    )
    for img in _pictures():
        expected = ref(img).numpy()
        got = ours(img)
        assert got.shape == expected.shape and got.dtype == np.float32
        assert np.abs(got - expected).max() < 1e-5, (img.size, size, mode)


def test_model_preprocessing_matches_its_transform(tiny):
    enc = ClipOnnxEncoder.from_export(tiny.export, precision="fp32")
    for img in _pictures():
        np.testing.assert_allclose(enc.preprocess(img), tiny.transform(img).numpy(), atol=1e-5)


def test_fp32_onnx_matches_open_clip_torch(tiny):
    import open_clip
    import torch

    enc = ClipOnnxEncoder.from_export(tiny.export, precision="fp32")
    pics = _pictures()
    tokenizer = open_clip.get_tokenizer("tiny")
    with torch.no_grad():
        ref_img = tiny.model.encode_image(torch.stack([tiny.transform(p) for p in pics]), normalize=True).numpy()
        ref_txt = tiny.model.encode_text(tokenizer(PROMPTS), normalize=True).numpy()
    got_img = enc.encode_images(pics)
    got_txt = enc.encode_texts(PROMPTS)
    assert got_img.shape == (len(pics), 32) and got_txt.shape == (len(PROMPTS), 32)
    assert np.allclose(np.linalg.norm(got_img, axis=1), 1, atol=1e-5)
    assert (got_img * ref_img).sum(1).min() >= 0.9999
    assert (got_txt * ref_txt).sum(1).min() >= 0.9999
    # the comparison can fail: different inputs give clearly different embeddings
    off_diag = (ref_img @ ref_img.T)[~np.eye(len(pics), dtype=bool)]
    assert off_diag.max() < 0.999
    assert (ref_txt @ ref_txt.T)[~np.eye(len(PROMPTS), dtype=bool)].max() < 0.999
    # batching does not change results
    np.testing.assert_allclose(enc.encode_images(pics[:1]), got_img[:1], atol=1e-5)


def test_text_tower_runs_only_the_tokens_it_pools(tiny):
    # CLIP's text tower pools the end-of-text token of a causal transformer: the export takes any
    # sequence length and the encoder cuts each batch after its longest row's end-of-text token,
    # which gives open_clip's own vectors at full length (a prompt runs ~10 of 77 positions)
    import open_clip
    import onnxruntime as ort
    import torch

    spec = read_export(tiny.export)
    assert spec["text_trim"] == {"pool": "argmax"} and spec["parity"]["fp32_text_cut_cosine_min"] >= 0.99999
    session = ort.InferenceSession(str(tiny.export / "text_fp32.onnx"), providers=["CPUExecutionProvider"])
    assert session.get_inputs()[0].shape == ["batch", "sequence"]
    prompts = [*PROMPTS, "a " * 200 + "very long prompt cut at 77 tokens"]
    tokenizer = open_clip.get_tokenizer("tiny")
    ids = tokenizer(prompts).numpy()
    cut = trim_tokens(ids, spec["text_trim"])
    assert cut.shape == (len(prompts), 77)  # the long one ends at the last position
    assert trim_tokens(ids[:2], spec["text_trim"]).shape == (2, int(ids[:2].argmax(1).max()) + 1) and ids[:2].argmax(1).max() < 12
    with torch.no_grad():
        ref = tiny.model.encode_text(torch.from_numpy(ids), normalize=True).numpy()
    short = session.run(None, {"input_ids": trim_tokens(ids[:4], spec["text_trim"])})[0]
    assert (short * ref[:4]).sum(1).min() >= 0.99999
    enc = ClipOnnxEncoder.from_export(tiny.export, precision="fp32")
    got = np.concatenate([enc.encode_texts(prompts[:-1]), enc.encode_texts(prompts[-1:])])
    np.testing.assert_allclose(got, ref, atol=2e-5)
    np.testing.assert_allclose(enc.encode_texts(prompts), ref, atol=2e-5)  # mixed lengths in one batch


def test_a_text_tower_that_attends_to_every_token_keeps_its_length(tiny, tmp_path):
    import onnxruntime as ort

    cfg = json.loads(json.dumps(TINY_CONFIG))
    cfg["text_cfg"].update(no_causal_mask=True, pool_type="last")  # as SigLIP's tower: every token counts
    cfg_path = tmp_path / "bidirectional.json"
    cfg_path.write_text(json.dumps(cfg))
    out = tmp_path / "export"
    args = ["export-clip", "--model", "stygig-tiny-bidirectional", "--model-config", str(cfg_path), "--pretrained", "random"]
    assert main([*args, "--precision", "fp32", "-o", str(out)]) == 0
    spec = read_export(out)
    assert "text_trim" not in spec and "fp32_text_cut_cosine_min" not in spec["parity"]
    enc = ClipOnnxEncoder.from_export(out)
    assert ort.InferenceSession(str(out / "text_fp32.onnx"), providers=["CPUExecutionProvider"]).get_inputs()[0].shape == ["batch", 77]
    v = enc.encode_texts(PROMPTS)
    assert v.shape == (len(PROMPTS), 32) and np.isfinite(v).all()


def test_a_bad_text_trim_is_named(tiny, tmp_path):
    import shutil

    out = tmp_path / "export"
    shutil.copytree(tiny.export, out)
    spec = json.loads((out / "export.json").read_text())
    spec["text_trim"] = {"pool": "mean"}
    (out / "export.json").write_text(json.dumps(spec))
    with pytest.raises(StygigError, match="bad text_trim in the CLIP export"):
        ClipOnnxEncoder.from_export(out)


def test_int8_close_to_fp32(tiny):
    fp32 = ClipOnnxEncoder.from_export(tiny.export, precision="fp32")
    int8 = ClipOnnxEncoder.from_export(tiny.export)  # the default
    assert int8.precision == "int8"
    pics = _pictures()
    cos_img = (fp32.encode_images(pics) * int8.encode_images(pics)).sum(1)
    cos_txt = (fp32.encode_texts(PROMPTS) * int8.encode_texts(PROMPTS)).sum(1)
    assert cos_img.mean() >= 0.995 and cos_img.min() >= 0.99
    assert cos_txt.mean() >= 0.995 and cos_txt.min() >= 0.99
    def size(enc, tower):
        return sum(p.stat().st_size for p in enc.directory.glob(f"{tower}_{enc.precision}.onnx*"))

    assert size(int8, "image") < size(fp32, "image")
    assert size(int8, "text") * 3 < size(fp32, "text")


def test_int8_weights_cannot_saturate_the_cpu_kernel(tiny):
    """ONNX Runtime's uint8 x int8 kernel on AVX2 / AVX-512 without VNNI (VPMADDUBSW) adds two
    products into a saturating int16; the int8 weights must be small enough that it never clips
    (255 x |w| x 2 <= 32767), on whatever CPU the export or the server runs. Full-range int8
    weights (127) clipped on an AVX2 machine: text tower cosine 0.983 to fp32."""
    import onnx
    from onnx import numpy_helper

    spec = read_export(tiny.export)
    assert spec["quantization"]["reduce_range"] is True
    checked = 0
    for tower in ("image", "text"):
        graph = onnx.load(str(tiny.export / f"{tower}_int8.onnx")).graph
        weights = {i.name: i for i in graph.initializer}
        for node in graph.node:
            if node.op_type not in ("MatMulInteger", "DynamicQuantizeMatMul", "MatMulIntegerToFloat"):
                continue
            w = weights.get(node.input[1])
            assert w is not None and w.data_type == onnx.TensorProto.INT8, (tower, node.name)
            w = numpy_helper.to_array(w, base_dir=str(tiny.export)).astype(np.int32)
            assert 255 * np.abs(w).max() * 2 <= 32767, (tower, node.name, int(np.abs(w).max()))
            checked += 1
    assert checked >= 2 * 9  # every linear layer of both 2-layer towers, the projections too


TOKENIZER_TEXTS = [
    "a red shirt",
    "Navy LINEN blazer!!",
    "café crème — naïve 🙂 日本語のテキスト Ελληνικά русский",
    "  multiple   spaces\tand\nnewlines ",
    "",
    "&amp; html &lt;b&gt; it's we'll they'd I'M",
    "x" * 300,
    " ".join(["word"] * 120),
    "12345 6.7 $99.99 50% off!!!",
    "ﬁ ligature, Ｆｕｌｌｗｉｄｔｈ, Ã©mojibake",
    "snake_case and dashes-between words",
]


@pytest.mark.parametrize("context_length,clean", [(77, "lower"), (16, "lower"), (77, "whitespace"), (24, "canonicalize")])
def test_tokenizer_matches_open_clip(tiny, context_length, clean):
    import open_clip

    vocab = tiny.export / "bpe_simple_vocab_16e6.txt.gz"
    ref = open_clip.SimpleTokenizer(str(vocab), context_length=context_length, clean=clean)
    ours = ClipTokenizer(vocab, context_length=context_length, clean=clean)
    got = ours(TOKENIZER_TEXTS)
    assert got.dtype == np.int64 and got.shape == (len(TOKENIZER_TEXTS), context_length)
    np.testing.assert_array_equal(got, ref(TOKENIZER_TEXTS).numpy())
    # long text is truncated to the context length and still ends with <end_of_text>
    assert got[6, -1] == ours.eot_token_id


def test_save_copies_one_precision_and_loads_back(tiny, tmp_path):
    enc = resolve_encoder(str(tiny.export), precision="fp32")
    assert isinstance(enc, ClipOnnxEncoder) and enc.precision == "fp32"
    config = enc.save(tmp_path / "encoder")
    config = json.loads(json.dumps(config))  # what the manifest stores
    assert config["kind"] == "clip-onnx" and config["precision"] == "fp32" and config["dim"] == 32
    assert sorted(p.name for p in (tmp_path / "encoder").iterdir()) == [
        "bpe_simple_vocab_16e6.txt.gz",
        "export.json",
        "image_fp32.onnx",
        "image_fp32.onnx.data",
        "text_fp32.onnx",
        "text_fp32.onnx.data",
    ]
    loaded = load_encoder(tmp_path / "encoder", config)
    pics = _pictures()[:3]
    np.testing.assert_allclose(loaded.encode_images(pics), enc.encode_images(pics), atol=1e-6)
    np.testing.assert_allclose(loaded.encode_texts(PROMPTS), enc.encode_texts(PROMPTS), atol=1e-6)
    # the saved encoder directory is itself a valid one-precision export
    again = ClipOnnxEncoder.from_export(tmp_path / "encoder")
    assert again.precision == "fp32"
    with pytest.raises(StygigError, match="no int8 towers"):
        ClipOnnxEncoder.from_export(tmp_path / "encoder", precision="int8")
    # a missing or truncated weights file is refused with one line
    (tmp_path / "encoder" / "text_fp32.onnx.data").unlink()
    with pytest.raises(ArtifactError, match="missing.*text_fp32.onnx.data"):
        load_encoder(tmp_path / "encoder", config)
    tower = tmp_path / "encoder" / "image_fp32.onnx.data"
    tower.write_bytes(tower.read_bytes()[:1000])
    with pytest.raises(ArtifactError, match="image_fp32.onnx.data has 1000 bytes"):
        load_encoder(tmp_path / "encoder", config)


def test_from_export_checks_hashes(tiny, tmp_path):
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(tiny.export, copy)
    vocab = copy / "bpe_simple_vocab_16e6.txt.gz"
    data = bytearray(vocab.read_bytes())
    data[100] ^= 0xFF
    vocab.write_bytes(bytes(data))
    with pytest.raises(StygigError, match="does not match its sha256"):
        ClipOnnxEncoder.from_export(copy)
    with pytest.raises(StygigError, match="not a CLIP export"):
        ClipOnnxEncoder.from_export(tmp_path)


def _one_line(capsys, rc):
    err = capsys.readouterr().err.strip().splitlines()
    errors = [l for l in err if l.startswith("stygig: error:")]
    assert rc != 0 and len(errors) == 1 and errors[0] == err[-1]
    assert "Traceback" not in "\n".join(err)
    return errors[0]


def test_missing_weights_one_line(tmp_path, capsys):
    out = tmp_path / "x"
    rc = main(["export-clip", "--model", "ViT-B-32", "--pretrained", str(tmp_path / "nope.pt"), "-o", str(out)])
    line = _one_line(capsys, rc)
    assert "weights file not found" in line and "--pretrained PATH" in line
    # a tag whose weights are not in the (empty) cache: says where it looked and how to get them
    rc = main(["export-clip", "--pretrained", "openai", "--cache-dir", str(tmp_path / "cache"), "-o", str(out)])
    line = _one_line(capsys, rc)
    assert "no local weights for ViT-B-32 'openai'" in line and "open_clip.create_model" in line
    assert not out.exists()
    rc = main(["export-clip", "--pretrained", "no-such-tag", "-o", str(out)])
    assert "neither a weights file nor a known open_clip tag" in _one_line(capsys, rc)


def test_cached_tag_weights_are_found(tmp_path):
    """The Hugging Face cache layout open_clip downloads into (refs/main -> snapshots/<rev>/file)."""
    import open_clip

    from stygig.export.clip import find_cached_weights

    cfg = open_clip.get_pretrained_cfg("ViT-B-32", "openai")
    assert find_cached_weights(cfg, tmp_path)[0] is None
    repo = tmp_path / "models--timm--vit_base_patch32_clip_224.openai"
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text("abc123")
    snap = repo / "snapshots" / "abc123"
    snap.mkdir(parents=True)
    (snap / "open_clip_pytorch_model.bin").write_bytes(b"weights")
    found, _ = find_cached_weights(cfg, tmp_path)
    assert found is not None and Path(found).name == "open_clip_pytorch_model.bin"
    (snap / "open_clip_model.safetensors").write_bytes(b"weights")
    assert Path(find_cached_weights(cfg, tmp_path)[0]).name == "open_clip_model.safetensors"


def test_random_weights_int8_only_and_refuses_overwrite(tiny, tmp_path, capsys):
    out = tmp_path / "rand"
    args = ["export-clip", "--model", TINY_NAME, "--model-config", str(tiny.cfg_path), "--pretrained", "random"]
    assert main([*args, "--seed", "3", "--precision", "int8", "-o", str(out)]) == 0
    spec = read_export(out)
    assert spec["random_weights"] is True and spec["seed"] == 3 and set(spec["precisions"]) == {"int8"}
    assert sorted(p.name for p in out.iterdir()) == [
        "bpe_simple_vocab_16e6.txt.gz",
        "export.json",
        "image_int8.onnx",
        "image_int8.onnx.data",
        "text_int8.onnx",
        "text_int8.onnx.data",
    ]
    capsys.readouterr()
    line = _one_line(capsys, main([*args, "-o", str(out)]))
    assert "already exists" in line
    # same seed, same weights: --force re-export gives identical int8 towers
    assert main([*args, "--seed", "3", "--precision", "int8", "--force", "-o", str(out)]) == 0
    assert read_export(out)["files"]["image_int8.onnx"]["sha256"] == spec["files"]["image_int8.onnx"]["sha256"]


def test_thread_count_follows_omp(monkeypatch):
    from stygig.features.encoders.clip_onnx import thread_count

    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    assert thread_count() == 3
    monkeypatch.delenv("OMP_NUM_THREADS")
    assert thread_count() == len(os.sched_getaffinity(0))


def test_without_the_export_extra_one_line(tmp_path):
    """On a serving-only install (no torch) export-clip says what to install, in one line."""
    import subprocess
    import sys

    code = (
        "import sys; sys.modules['torch'] = None; from stygig.cli import main; "
        f"sys.exit(main(['export-clip', '--pretrained', 'random', '-o', {str(tmp_path / 'x')!r}]))"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 2
    assert r.stderr.strip().splitlines()[-1] == (
        "stygig: error: export-clip needs the export extra (missing torch): pip install 'stygig[export]'"
    )
    assert not (tmp_path / "x").exists()
