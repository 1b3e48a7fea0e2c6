"""export-clip on checkpoints as users bring them, each a random-weight instance of its
architecture laid out on disk as the real one is (tiny configurations keep it fast):

* OpenAI weights given as a file under a model name without ``-quickgelu`` (issue 18.12: they
  were exported with GELU, silently wrong): from open_clip's cache (the tag says QuickGELU), and
  as OpenAI's TorchScript archive (recognised, never loaded);
* FashionCLIP 2.0's layout: a Hugging Face transformers ``CLIPModel`` directory
  (``save_pretrained``), by path and by ``hf-hub:`` name in a local Hugging Face cache;
* Marqo-FashionCLIP's layout: ``hf-hub:Marqo/marqo-fashionCLIP`` (``open_clip_config.json`` +
  ``open_clip_model.safetensors`` in the cache);
* Marqo-FashionSigLIP's: the same, with SigLIP's text tower (no causal mask, last-token pooling,
  a Hugging Face SentencePiece-style ``tokenizer.json``, canonicalised text). The tiny test model
  keeps open_clip's own small vision tower; the full ViT-B-16-SigLIP (timm vision tower) is
  exported by ``benchmarks/architectures.py``.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from PIL import Image

from stygig.cli import main
from stygig.features.encoders.clip_onnx import ClipOnnxEncoder, read_export

TINY = {
    "embed_dim": 32,
    "vision_cfg": {"image_size": 64, "layers": 2, "width": 64, "patch_size": 16, "head_width": 32},
    "text_cfg": {"context_length": 77, "vocab_size": 49408, "width": 64, "heads": 2, "layers": 2},
}
PROMPTS = ["a photo of a shirt", "navy linen blazer", "white sneakers, size 42"]


def _pictures():
    rng = np.random.default_rng(5)
    return [Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8)) for w, h in ((64, 64), (90, 140), (200, 120))]


def _register(open_clip, tmp: Path, name: str, cfg: dict) -> None:
    (tmp / f"{name}.json").write_text(json.dumps(cfg))
    open_clip.add_model_config(str(tmp / f"{name}.json"))


def _reference(open_clip, torch, model, preprocess=None):
    cfg = {**open_clip.get_model_preprocess_cfg(model), **(preprocess or {})}
    transform = open_clip.transform.image_transform_v2(open_clip.transform.PreprocessCfg(**cfg), is_train=False)
    with torch.no_grad():
        img = model.encode_image(torch.stack([transform(p) for p in _pictures()]), normalize=True).numpy()
    return img


def _cos(a, b):
    return (a * b).sum(1)


def _hub_layout(cache: Path, repo: str, files: dict[str, Path | bytes]) -> Path:
    """Hugging Face's cache layout: models--ORG--REPO/refs/main -> snapshots/<rev>/<files>."""
    root = cache / f"models--{repo.replace('/', '--')}"
    snap = root / "snapshots" / "0123456789abcdef0123456789abcdef01234567"
    snap.mkdir(parents=True)
    (root / "refs").mkdir()
    (root / "refs" / "main").write_text(snap.name)
    for name, src in files.items():
        (snap / name).write_bytes(src if isinstance(src, bytes) else Path(src).read_bytes())
    return snap


def test_openai_tag_weights_file_gets_quickgelu(tmp_path, capsys, monkeypatch):
    """OpenAI weights from open_clip's cache, given as a file under a name without -quickgelu:
    the cache folder names the tag, the tag says QuickGELU, the export uses it and says so."""
    import open_clip
    import torch
    from safetensors.torch import save_file

    _register(open_clip, tmp_path, "tag-tiny", TINY)
    _register(open_clip, tmp_path, "tag-tiny-quickgelu", {**TINY, "quick_gelu": True})
    # a pretrained tag for the tiny model, as open_clip lists ViT-B-32's 'openai'
    monkeypatch.setitem(open_clip.pretrained._PRETRAINED, "tag-tiny", {
        "openai": open_clip.pretrained._pcfg(hf_hub="timm/tag_tiny_clip.openai/", quick_gelu=True)})
    torch.manual_seed(3)
    quick = open_clip.create_model("tag-tiny-quickgelu", pretrained=None).eval()
    with torch.no_grad():  # larger pre-activations, so that GELU and QuickGELU clearly differ
        for name, p in quick.named_parameters():
            if name.endswith("mlp.c_fc.weight"):
                p.mul_(8.0)
    weights = tmp_path / "hub" / "models--timm--tag_tiny_clip.openai" / "snapshots" / "x" / "open_clip_model.safetensors"
    weights.parent.mkdir(parents=True)
    save_file({k: v.contiguous() for k, v in quick.state_dict().items()}, str(weights))
    out = tmp_path / "export"
    rc = main(["export-clip", "--model", "tag-tiny", "--pretrained", str(weights), "--precision", "fp32", "-o", str(out)])
    assert rc == 0
    err = capsys.readouterr().err
    assert "is open_clip's tag-tiny 'openai' weights" in err and "exporting tag-tiny with QuickGELU" in err
    assert read_export(out)["quick_gelu"] is True
    got = ClipOnnxEncoder.from_export(out).encode_images(_pictures())
    err_quick = 1 - _cos(got, _reference(open_clip, torch, quick))
    assert err_quick.max() <= 1e-4
    # and it is clearly not what the same weights give with plain GELU (the mistake of 18.12)
    gelu = open_clip.create_model("tag-tiny", pretrained=None).eval()
    gelu.load_state_dict(quick.state_dict())
    err_gelu = 1 - _cos(got, _reference(open_clip, torch, gelu))
    assert err_gelu.min() > 20 * err_quick.max()


def test_openai_torchscript_archive_is_named_not_loaded(tmp_path, capsys):
    """OpenAI's own TorchScript .pt: recognised (its code names QuickGELU) without loading it, and
    answered with the safe way to the same weights, in one line."""
    import open_clip
    import torch

    _register(open_clip, tmp_path, "ts-tiny-quickgelu", {**TINY, "quick_gelu": True})
    archive = tmp_path / "ViT-B-32.pt"
    torch.jit.save(torch.jit.script(open_clip.create_model("ts-tiny-quickgelu", pretrained=None)), str(archive))
    rc = main(["export-clip", "--model", "ViT-B-32", "--pretrained", str(archive), "-o", str(tmp_path / "o")])
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert rc != 0 and err.startswith("stygig: error: ViT-B-32.pt is an OpenAI TorchScript archive (its code uses QuickGELU)")
    assert "--model ViT-B-32 --pretrained openai" in err and not (tmp_path / "o").exists()


def test_open_clip_tag_in_the_cache_says_its_activation(tmp_path, capsys):
    import open_clip

    from stygig.export.checkpoints import activation_of

    openai = tmp_path / "models--timm--vit_base_patch32_clip_224.openai" / "snapshots" / "x" / "open_clip_model.safetensors"
    laion = tmp_path / "models--laion--CLIP-ViT-B-32-laion2B-s34B-b79K" / "snapshots" / "x" / "open_clip_model.safetensors"
    for p in (openai, laion):
        p.parent.mkdir(parents=True)
        p.write_bytes(b"not read")
    assert activation_of(open_clip, "ViT-B-32", openai)[0] is True
    assert activation_of(open_clip, "ViT-B-32-quickgelu", laion)[0] is False
    assert activation_of(open_clip, "ViT-B-32", tmp_path / "elsewhere.safetensors") == (None, "")
    # GELU weights under a QuickGELU model name: demanded, in one line, before anything is built
    rc = main(["export-clip", "--model", "ViT-B-32-quickgelu", "--pretrained", str(laion), "-o", str(tmp_path / "o")])
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert rc != 0 and err.startswith("stygig: error: ")
    assert "trained with GELU, but ViT-B-32-quickgelu uses QuickGELU: use --model ViT-B-32" in err


def _hf_clip(tmp_path: Path):
    """A random transformers CLIPModel saved as FashionCLIP 2.0 is on the hub (tiny sizes)."""
    import open_clip
    import torch
    import transformers

    cfg = transformers.CLIPConfig(
        text_config={"vocab_size": 49408, "hidden_size": 64, "intermediate_size": 256, "num_hidden_layers": 2,
                     "num_attention_heads": 2, "max_position_embeddings": 77, "hidden_act": "quick_gelu"},
        vision_config={"image_size": 64, "patch_size": 16, "hidden_size": 64, "intermediate_size": 256,
                       "num_hidden_layers": 2, "num_attention_heads": 2, "hidden_act": "quick_gelu"},
        projection_dim=32,
    )
    torch.manual_seed(11)
    model = transformers.CLIPModel(cfg).eval()
    d = tmp_path / "fashion-clip"
    model.save_pretrained(d)
    # CLIP's own BPE vocabulary, as FashionCLIP ships it (vocab.json + merges.txt)
    bpe = open_clip.tokenizer.SimpleTokenizer()
    special = {"<start_of_text>": "<|startoftext|>", "<end_of_text>": "<|endoftext|>"}
    (d / "vocab.json").write_text(json.dumps({special.get(k, k): v for k, v in bpe.encoder.items()}))
    merges = sorted(bpe.bpe_ranks, key=bpe.bpe_ranks.get)
    (d / "merges.txt").write_text("#version: 0.2\n" + "\n".join(" ".join(m) for m in merges) + "\n")
    tok = transformers.CLIPTokenizer(str(d / "vocab.json"), str(d / "merges.txt"))
    tok.save_pretrained(d)
    transformers.CLIPImageProcessor(size={"shortest_edge": 64}, crop_size={"height": 64, "width": 64}).save_pretrained(d)
    return model, tok, d


def _hf_reference(model, tok, pixels):
    """The transformers model's own embeddings of the given pixels and of PROMPTS."""
    import torch

    with torch.no_grad():
        img = model.get_image_features(pixel_values=torch.from_numpy(pixels))
        txt = model.get_text_features(**tok(PROMPTS, padding="max_length", max_length=77, return_tensors="pt"))
    img = getattr(img, "pooler_output", img)
    txt = getattr(txt, "pooler_output", txt)
    return (torch.nn.functional.normalize(img, dim=-1).numpy(), torch.nn.functional.normalize(txt, dim=-1).numpy())


def test_fashion_clip_transformers_directory(tmp_path):
    import transformers

    model, tok, d = _hf_clip(tmp_path)
    out = tmp_path / "export"
    assert main(["export-clip", "--pretrained", str(d), "--precision", "fp32", "-o", str(out)]) == 0
    spec = read_export(out)
    assert spec["quick_gelu"] is True and spec["pretrained"] == "hf-dir:fashion-clip"
    enc = ClipOnnxEncoder.from_export(out)
    pixels = enc.preprocess.batch(_pictures())
    # the preprocessing read from preprocessor_config.json is the processor's (a square picture;
    # for other shapes transformers' centre crop may sit one pixel off torchvision's)
    hf_pixels = transformers.CLIPImageProcessor.from_pretrained(d)(images=_pictures()[:1], return_tensors="np")
    np.testing.assert_allclose(hf_pixels["pixel_values"][0], pixels[0], atol=0.02)
    ref_img, ref_txt = _hf_reference(model, tok, pixels)
    # the ONNX towers match the transformers model itself (the conversion, not only the export)
    assert _cos(enc.encode_images(_pictures()), ref_img).min() >= 0.9999
    assert _cos(enc.encode_texts(PROMPTS), ref_txt).min() >= 0.9999
    assert spec["parity"]["fp32_image_cosine_min"] >= 0.999


def test_fashion_clip_by_hub_name_from_the_local_cache(tmp_path, capsys):
    model, tok, d = _hf_clip(tmp_path)
    cache = tmp_path / "hub"
    _hub_layout(cache, "patrickjohncyh/fashion-clip", {p.name: p for p in d.iterdir()})
    out = tmp_path / "export"
    rc = main(["export-clip", "--pretrained", "hf-hub:patrickjohncyh/fashion-clip", "--cache-dir", str(cache),
               "--precision", "int8", "-o", str(out)])
    assert rc == 0
    assert read_export(out)["pretrained"] == "hf-hub:patrickjohncyh/fashion-clip"
    # not in the cache: one line saying where it looked and how to fill it, nothing downloaded
    rc = main(["export-clip", "--pretrained", "hf-hub:patrickjohncyh/other", "--cache-dir", str(cache), "-o",
               str(tmp_path / "o2")])
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert rc != 0 and "patrickjohncyh/other is not in the local Hugging Face cache" in err


def _open_clip_hub_model(tmp_path: Path, repo: str, cfg: dict, seed: int):
    """A random open_clip model saved in the cache as an hf-hub: repo holds it; (model, cache, snapshot)."""
    import open_clip
    import torch
    from safetensors.torch import save_file

    name = repo.split("/")[-1] + "-ref"
    _register(open_clip, tmp_path, name, cfg["model_cfg"])
    torch.manual_seed(seed)
    model = open_clip.create_model(name, pretrained=None).eval()
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(tmp_path / "w.safetensors"))
    cache = tmp_path / "hub"
    snap = _hub_layout(cache, repo, {
        "open_clip_config.json": json.dumps(cfg).encode(), "open_clip_model.safetensors": tmp_path / "w.safetensors"})
    return model, cache, snap


def test_marqo_fashion_clip_hub_layout(tmp_path):
    import open_clip
    import torch

    cfg = {"model_cfg": TINY, "preprocess_cfg": {"mean": [0.48145466, 0.4578275, 0.40821073],
                                                "std": [0.26862954, 0.26130258, 0.27577711],
                                                "interpolation": "bicubic", "resize_mode": "shortest"}}
    model, cache, _ = _open_clip_hub_model(tmp_path, "Marqo/marqo-fashionCLIP", cfg, seed=5)
    out = tmp_path / "export"
    assert main(["export-clip", "--model", "hf-hub:Marqo/marqo-fashionCLIP", "--cache-dir", str(cache),
                 "--precision", "fp32", "-o", str(out)]) == 0
    spec = read_export(out)
    assert spec["model"] == "hf-hub:Marqo/marqo-fashionCLIP" and spec["quick_gelu"] is False
    got = ClipOnnxEncoder.from_export(out).encode_images(_pictures())
    assert _cos(got, _reference(open_clip, torch, model)).min() >= 0.9999


def _siglip_tokenizer(snap: Path) -> None:
    """A small Unigram (SentencePiece-style) tokenizer saved as transformers would load it."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers

    corpus = ["a photo of a shirt", "navy linen blazer", "white leather sneakers", "floral summer dress",
              "black handbag with a gold chain", "denim shorts", "red wool jumper", "a t shirt size xl"] * 20
    tok = Tokenizer(models.Unigram())
    tok.pre_tokenizer = pre_tokenizers.Metaspace()
    tok.decoder = decoders.Metaspace()
    tok.train_from_iterator(corpus, trainers.UnigramTrainer(vocab_size=120, special_tokens=["<pad>", "</s>", "<unk>"],
                                                            unk_token="<unk>"))
    tok.post_processor = processors.TemplateProcessing(single="$A </s>", special_tokens=[("</s>", 1)])
    tok.save(str(snap / "tokenizer.json"))
    (snap / "tokenizer_config.json").write_text(json.dumps({
        "tokenizer_class": "PreTrainedTokenizerFast", "pad_token": "<pad>", "eos_token": "</s>", "unk_token": "<unk>",
        "model_max_length": 16}))
    (snap / "config.json").write_text(json.dumps({"architectures": ["MarqoFashionSigLIP"]}))  # transformers reads it


def test_marqo_fashion_siglip_hub_layout(tmp_path):
    import open_clip
    import torch

    model_cfg = {
        "embed_dim": 32, "init_logit_bias": -10, "custom_text": True,
        "vision_cfg": TINY["vision_cfg"],
        "text_cfg": {"context_length": 16, "vocab_size": 128, "hf_tokenizer_name": "Marqo/marqo-fashionSigLIP",
                     "tokenizer_kwargs": {"clean": "canonicalize"}, "width": 64, "heads": 2, "layers": 2,
                     "no_causal_mask": True, "proj_bias": True, "pool_type": "last", "norm_kwargs": {"eps": 1e-6}},
    }
    cfg = {"model_cfg": model_cfg, "preprocess_cfg": {"mean": [0.5, 0.5, 0.5], "std": [0.5, 0.5, 0.5],
                                                      "interpolation": "bicubic", "resize_mode": "squash"}}
    model, cache, snap = _open_clip_hub_model(tmp_path, "Marqo/marqo-fashionSigLIP", cfg, seed=9)
    _siglip_tokenizer(snap)
    out = tmp_path / "export"
    assert main(["export-clip", "--model", "hf-hub:Marqo/marqo-fashionSigLIP", "--cache-dir", str(cache),
                 "--precision", "fp32", "-o", str(out)]) == 0
    spec = read_export(out)
    assert spec["tokenizer"]["kind"] == "hf-tokenizers" and spec["tokenizer"]["clean"] == "canonicalize"
    assert spec["preprocess"]["resize_mode"] == "squash" and spec["preprocess"]["mean"] == [0.5, 0.5, 0.5]
    enc = ClipOnnxEncoder.from_export(out)
    assert _cos(enc.encode_images(_pictures()), _reference(open_clip, torch, model, cfg["preprocess_cfg"])).min() >= 0.9999
    reference_tok = open_clip.get_tokenizer("marqo-fashionSigLIP-ref", cache_dir=str(cache), local_files_only=True)
    prompts = [*PROMPTS, "A Navy, LINEN blazer!!"]
    with torch.no_grad():
        ref_txt = model.encode_text(reference_tok(prompts), normalize=True).numpy()
    assert _cos(enc.encode_texts(prompts), ref_txt).min() >= 0.9999
