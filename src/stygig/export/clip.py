"""open_clip -> ONNX: the build-time half of the ``clip-onnx`` encoder.

``export_clip(model, pretrained, out)`` builds the model with open_clip from weights that are
already on this machine (a weights file, or open_clip's local cache for a tag such as ``openai``),
exports the image tower and the text tower as ONNX graphs whose outputs are L2-normalised, in
fp32 and/or int8 (onnxruntime dynamic quantisation), and writes next to them everything needed to
embed pictures and text without torch: the preprocessing parameters (read from open_clip's
model/pretrained configuration, never hard-coded), the BPE vocabulary and the context length.
``export.json`` lists every file with its sha256, and records the parity measured at export time
(ONNX fp32 vs open_clip torch, int8 vs fp32).

Nothing is downloaded, ever: tag weights are looked up in the caches open_clip would use
(Hugging Face hub cache, ``~/.cache/clip``) and passed to open_clip as a file path; when they are
absent the error says how to put them there.

For tests and benchmarks only: ``pretrained="random"`` (seeded random weights) and
``model_config`` (an open_clip model configuration dict, e.g. a tiny ViT + text transformer).

This package is the only place that imports torch and open_clip; the serving path never imports
this module.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any, Callable, Iterable

import numpy as np

from stygig.atomic import current_umask, make_temp_dir
from stygig.errors import StygigError
from stygig.export import checkpoints as ck
from stygig.features.encoders.clip_onnx import (
    DEFAULT_PRECISION,
    EXPORT_FILE,
    EXPORT_FORMAT,
    EXPORT_FORMAT_VERSION,
    IMAGE_INPUT,
    PRECISIONS,
    TEXT_INPUT,
    ClipPreprocess,
    make_session,
    sha256_file,
    trim_tokens,
)
from stygig.features.encoders.tokenizer import make_tokenizer

log = logging.getLogger(__name__)

OPSET = 17
VOCAB_FILE = "bpe_simple_vocab_16e6.txt.gz"
#: operators quantised to int8. Not Conv: ONNX Runtime's ConvInteger kernel is slow on CPU (the
#: ViT patch embedding took 36% of int8 image-tower time as ConvInteger, 10% left in fp32), and it is
#: a small share of the weights.
INT8_OPS = ("MatMul", "Gemm", "Gather")
#: int8 weights in 7 bits (-64..64), activations in 8. ONNX Runtime multiplies uint8 activations by
#: int8 weights with VPMADDUBSW on AVX2 and AVX-512 processors without VNNI, which adds two
#: products into a saturating int16: with full-range weights (255 x 127 x 2 > 32767) the sums clip.
#: On such a CPU (an AVX2-only AMD EPYC) the tiny test model's int8 text tower fell to cosine 0.983
#: to fp32 (image 0.995) where the same graph computed exactly gives 0.9993; in 7 bits nothing can
#: clip (255 x 64 x 2 <= 32767) and ONNX Runtime's doc advises exactly this. The other cure, uint8
#: weights, runs a slower kernel.
INT8_REDUCE_RANGE = True
#: fp32 ONNX vs open_clip torch: an export below this is broken, not merely imprecise
MIN_EXPORT_COSINE = 0.999
#: prompts and synthetic pictures used to measure parity at export time
PARITY_PROMPTS = (
    "a photo of a shirt",
    "navy linen blazer",
    "white leather sneakers",
    "a black handbag with a gold chain",
    "floral summer dress",
    "",
)

WEIGHTS_HELP = (
    "on a machine with internet run: python -c \"import open_clip; open_clip.create_model('{model}', "
    "pretrained='{tag}')\" and copy its ~/.cache/huggingface/hub (or ~/.cache/clip) here, or pass "
    "--pretrained PATH to a weights file (.safetensors/.bin/.pt)"
)


class WeightsMissing(StygigError):
    code = "weights_missing"


class ExportError(StygigError):
    code = "export_error"


def _say(progress: Callable[[str], None] | None, msg: str) -> None:
    if progress is not None:
        progress(msg)
    log.info(msg)


# ----------------------------------------------------------------------------------------------
# weights
# ----------------------------------------------------------------------------------------------


def find_cached_weights(tag_cfg: dict[str, Any], cache_dir: str | Path | None = None) -> tuple[str | None, list[str]]:
    """Where open_clip would have cached the weights of a pretrained tag; (path | None, places looked)."""
    looked: list[str] = []
    hub = tag_cfg.get("hf_hub") or ""
    if hub:
        from huggingface_hub import try_to_load_from_cache

        # open_clip's convention: 'org/repo/' (default file names) or 'org/repo/filename'
        repo_id, filename = os.path.split(hub)
        names = [filename] if filename else ["open_clip_model.safetensors", "open_clip_pytorch_model.bin"]
        if filename.endswith((".bin", ".pth")):
            names.insert(0, filename[:-4] + ".safetensors")
        hub_cache = Path(cache_dir) if cache_dir else ck.env_hub_cache()
        for name in names:
            looked.append(f"{hub_cache}/models--{repo_id.replace('/', '--')}")
            found = try_to_load_from_cache(repo_id, name, cache_dir=str(hub_cache))
            if isinstance(found, str) and os.path.isfile(found):
                return found, looked
    url = tag_cfg.get("url") or ""
    if url:
        url_cache = Path(cache_dir) if cache_dir else Path("~/.cache/clip").expanduser()
        candidate = url_cache / os.path.basename(url)
        looked.append(str(candidate))
        if candidate.is_file():
            return str(candidate), looked
    return None, looked


# ----------------------------------------------------------------------------------------------
# the export
# ----------------------------------------------------------------------------------------------


def export_clip(
    model: str,
    pretrained: str,
    out: str | Path,
    *,
    precisions: Iterable[str] = PRECISIONS,
    seed: int = 0,
    model_config: dict[str, Any] | None = None,
    cache_dir: str | Path | None = None,
    force: bool = False,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Export ``model`` with ``pretrained`` weights (tag | file path | ``"random"``) into ``out``.

    Returns the ``export.json`` dict. ``out`` is written atomically (temp dir, then rename).
    """
    out = Path(out)
    precisions = _check_precisions(precisions)
    if out.exists() and not force:
        raise ExportError(f"{out} already exists; remove it, pass --force, or choose another -o")
    if not pretrained:
        if not ck.looks_like_hub(model):
            raise WeightsMissing("--pretrained is needed (a tag, a weights file or directory, or 'random')")
        pretrained = "hub"
    hub_model = ck.looks_like_hub(model)
    hf_dir: Path | None = None
    if pretrained != "random" and not hub_model and not ck.looks_like_hub(pretrained) and Path(pretrained).is_dir():
        hf_dir = Path(pretrained)
    is_file = hf_dir is None and pretrained not in ("random", "hub") and not ck.looks_like_hub(pretrained) and _looks_like_path(pretrained)
    if is_file and not Path(pretrained).is_file():
        raise WeightsMissing(
            f"weights file not found: {pretrained}; " + WEIGHTS_HELP.format(model=model, tag="openai")
        )

    # Belt and braces: we always hand open_clip a local file, but nothing below may reach a hub.
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    t0 = time.perf_counter()
    _say(progress, "loading torch and open_clip")
    try:
        import onnx  # noqa: F401  (quantisation and the exporter need it)
        import open_clip
        import torch
    except ImportError as e:
        raise ExportError(
            f"export-clip needs the export extra (missing {e.name or e}): pip install 'stygig[export]'"
        ) from None

    staging = Path(tempfile.mkdtemp(prefix="stygig-export-"))
    try:
        return _export(
            open_clip, torch, model, pretrained, out, precisions, seed, model_config, cache_dir, force, progress,
            t0, staging, hub_model, hf_dir, is_file,
        )
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _export(open_clip, torch, model, pretrained, out, precisions, seed, model_config, cache_dir, force, progress,
            t0, staging: Path, hub_model: bool, hf_dir: Path | None, is_file: bool) -> dict[str, Any]:
    create_kw: dict[str, Any] = {}
    described = pretrained
    checkpoint: str | None = None
    hub_cache = Path(cache_dir) if cache_dir else ck.env_hub_cache()
    if ck.looks_like_hub(pretrained) and not hub_model:
        # a transformers CLIP named by its hub repo (hf-hub:patrickjohncyh/fashion-clip)
        hf_dir = ck.hub_snapshot(ck.hub_repo(pretrained), cache_dir, hub_cache)
    if hub_model:
        repo = ck.hub_repo(model)
        snapshot = ck.hub_snapshot(repo, cache_dir, hub_cache)
        hub_cfg = ck.open_clip_hub_config(snapshot)
        model = f"hf-hub:{repo}"
        model_config = hub_cfg["model_cfg"]
        _register_model_config(open_clip, _registered_name(model), model_config)
        create_kw["force_preprocess_cfg"] = {
            k: v for k, v in (hub_cfg.get("preprocess_cfg") or {}).items()
            if k in ("mean", "std", "interpolation", "resize_mode")
        }
        if pretrained == "hub":
            checkpoint = str(ck.hub_weights(snapshot))
            weights_desc = f"{model} ({checkpoint})"
            described = model
    elif hf_dir is not None:
        if not ck.is_hf_clip_dir(hf_dir):
            raise WeightsMissing(
                f"{hf_dir} is a directory but not a Hugging Face transformers CLIP checkpoint (no config.json "
                "with model_type 'clip'); pass a weights file, an open_clip tag or --model hf-hub:ORG/REPO"
            )
        model_config, pre = ck.hf_clip_config(hf_dir)
        ck.check_hf_clip_vocab(hf_dir, open_clip)
        name = json.loads((hf_dir / "config.json").read_text(encoding="utf-8")).get("_name_or_path") or hf_dir.name
        if not isinstance(name, str) or not name or name.startswith(("/", ".")):
            name = hf_dir.name
        model = f"hf:{name}"
        _register_model_config(open_clip, _registered_name(model), model_config)
        from safetensors.torch import save_file

        converted = staging / "open_clip.safetensors"
        save_file(ck.hf_clip_to_open_clip(hf_dir, torch), str(converted))
        checkpoint = str(converted)
        create_kw["force_preprocess_cfg"] = pre
        weights_desc = f"transformers CLIP {hf_dir} (converted to open_clip's layout)"
        described = pretrained if ck.looks_like_hub(pretrained) else f"hf-dir:{hf_dir.name}"
    elif model_config is not None:
        _register_model_config(open_clip, model, model_config)
    open_name = _registered_name(model)
    base_cfg = open_clip.get_model_config(open_name)
    if base_cfg is None:
        raise ExportError(f"unknown open_clip model {model!r} (see open_clip.list_models())")
    tokenizer_cfg, tokenizer_src, tokenizer_ref = _tokenizer_cfg(open_clip, model, open_name, base_cfg, cache_dir, hub_cache)
    tokenizer_file = VOCAB_FILE if tokenizer_cfg["kind"] == "clip-bpe" else "tokenizer.json"

    if checkpoint is not None:
        pass
    elif pretrained == "random":
        weights_desc = f"random (seed {seed})"
    elif is_file:
        checkpoint = str(Path(pretrained).resolve())
        weights_desc = f"file {Path(pretrained).name}"
        described = f"file:{Path(pretrained).name}"
        # OpenAI weights need QuickGELU; exported with GELU they give wrong embeddings silently
        quick, how = ck.activation_of(open_clip, model, checkpoint)
        if ck.is_torchscript(checkpoint):
            raise ExportError(
                f"{Path(pretrained).name} is {how}; StyGig does not load TorchScript (it can run the model's code "
                f"while loading): use open_clip's cached copy of the same weights, e.g. --model "
                f"{model.removesuffix('-quickgelu')} --pretrained openai (exported with "
                f"{'QuickGELU' if quick else 'its own activation'})"
            )
        if quick and not base_cfg.get("quick_gelu"):
            create_kw["force_quick_gelu"] = True
            _say(progress, f"{Path(pretrained).name} is {how}: exporting {model} with QuickGELU, as {model}-quickgelu")
        elif quick is False and base_cfg.get("quick_gelu"):
            raise ExportError(
                f"{Path(pretrained).name} is {how}, trained with GELU, but {model} uses QuickGELU: "
                f"use --model {model.removesuffix('-quickgelu')}"
            )
    elif not hub_model:
        tag_cfg = open_clip.get_pretrained_cfg(model, pretrained)
        if not tag_cfg:
            tags = open_clip.list_pretrained_tags_by_model(model)
            raise WeightsMissing(
                f"--pretrained {pretrained!r} is neither a weights file nor a known open_clip tag for {model} "
                f"(tags: {', '.join(tags) or 'none'})"
            )
        checkpoint, looked = find_cached_weights(tag_cfg, cache_dir)
        if checkpoint is None:
            raise WeightsMissing(
                f"no local weights for {model} '{pretrained}' (looked in {', '.join(dict.fromkeys(looked))}); "
                + WEIGHTS_HELP.format(model=model, tag=pretrained)
            )
        weights_desc = f"tag {pretrained} ({checkpoint})"
        # What open_clip itself would take from the tag when downloading: activation and the
        # preprocessing the weights were trained with.
        if tag_cfg.get("quick_gelu") and not base_cfg.get("quick_gelu"):
            create_kw["force_quick_gelu"] = True
        create_kw["force_preprocess_cfg"] = {
            k: tag_cfg[k] for k in ("mean", "std", "interpolation", "resize_mode") if k in tag_cfg
        }
    else:
        raise WeightsMissing(f"with --model {model}, --pretrained is the hub repo's own weights (omit it), a weights file or 'random'")

    _say(progress, f"building {model} with {weights_desc}")
    torch.manual_seed(seed)
    try:
        with _quiet():
            clip = open_clip.create_model(
                open_name, pretrained=checkpoint, device="cpu", precision="fp32", pretrained_text=False, **create_kw
            )
    except (RuntimeError, OSError, ValueError, KeyError) as e:
        raise ExportError(f"open_clip could not build {model} from {weights_desc}: {_one_line(e)}") from None
    clip.eval()
    pp = open_clip.get_model_preprocess_cfg(clip)
    preprocess = {
        "size": _size2(pp["size"]),
        "resize_mode": pp.get("resize_mode", "shortest"),
        "interpolation": pp.get("interpolation", "bicubic"),
        "mean": [float(v) for v in _triple(pp["mean"])],
        "std": [float(v) for v in _triple(pp["std"])],
        "fill_color": int(pp.get("fill_color", 0) or 0),
    }
    if preprocess["interpolation"] == "random":
        preprocess["interpolation"] = "bicubic"  # open_clip's eval transform does the same
    text_cfg = base_cfg.get("text_cfg", {})
    context_length = int(getattr(clip, "context_length", 0) or text_cfg.get("context_length", 77))
    tokenizer_cfg["context_length"] = context_length
    with torch.no_grad():
        dim = int(clip.encode_image(torch.zeros(1, 3, *preprocess["size"])).shape[-1])
        logit_scale = float(clip.logit_scale.exp().item())

    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = make_temp_dir(out.parent, f".{out.name}.tmp-")
    umask = current_umask()
    try:
        shutil.copyfile(tokenizer_src, tmp / tokenizer_file)
        tokenizer_cfg["vocab"] = tokenizer_file
        tokenize = make_tokenizer(tmp, tokenizer_cfg)
        if tokenizer_ref is not None:
            _check_tokenizer(tokenize, tokenizer_ref, model)
        files = _write_towers(torch, clip, tmp, precisions, preprocess, tokenize, progress)
        names = sorted({*files["names"], tokenizer_file})
        spec = {
            "format": EXPORT_FORMAT,
            "format_version": EXPORT_FORMAT_VERSION,
            "model": model,
            "pretrained": described,
            "seed": seed if pretrained == "random" else None,
            "random_weights": pretrained == "random",
            "dim": dim,
            "logit_scale": logit_scale,
            "quick_gelu": bool(create_kw.get("force_quick_gelu") or base_cfg.get("quick_gelu", False)),
            "default_precision": DEFAULT_PRECISION if DEFAULT_PRECISION in precisions else precisions[0],
            "precisions": files["precisions"],
            "inputs": {"image": IMAGE_INPUT, "text": TEXT_INPUT, "output": "embedding"},
            "preprocess": preprocess,
            "tokenizer": tokenizer_cfg,
            "parity": files["parity"],
            "quantization": files.get("quantization"),
            "text_trim": files.get("text_trim"),
            "ort_optimization": files.get("ort_optimization"),
            "exported_with": {
                "open_clip": getattr(open_clip, "__version__", "?"),
                "torch": torch.__version__,
                "onnx_opset": OPSET,
                "exporter": "torch.onnx TorchScript (dynamo=False), dynamic batch axis"
                + (" and text sequence axis" if files.get("text_trim") else ""),
            },
            "model_config": base_cfg if model_config is not None else None,
            "files": {n: {"sha256": sha256_file(tmp / n), "bytes": (tmp / n).stat().st_size} for n in names},
        }
        spec = {k: v for k, v in spec.items() if v is not None}
        for n in names:  # some writers make private files; an artifact must be readable by the server's user
            os.chmod(tmp / n, 0o666 & ~umask)
        (tmp / EXPORT_FILE).write_text(json.dumps(spec, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        _replace_dir(tmp, out, force)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    _say(progress, f"wrote {out} ({', '.join(precisions)}) in {time.perf_counter() - t0:.1f} s")
    return spec


def _check_tokenizer(tokenize, reference, model: str) -> None:
    """The torch-free tokenizer must give open_clip's own ids (checked on awkward strings too)."""
    texts = [*PARITY_PROMPTS, "Chaussures en cuir — très élégantes!", "A  T-SHIRT, size XL?", "x" * 400]
    ours, theirs = tokenize(texts), reference(texts).numpy()
    if ours.shape != theirs.shape or not np.array_equal(ours, theirs):
        bad = next((t for t, a, b in zip(texts, ours, theirs) if not np.array_equal(a, b)), texts[0])
        raise ExportError(f"the torch-free tokenizer disagrees with {model}'s own on {bad[:40]!r}")


def _write_towers(torch, clip, tmp: Path, precisions, preprocess, tokenize, progress):
    import torch.nn.functional as F

    class ImageTower(torch.nn.Module):
        def __init__(self, m):
            super().__init__()
            self.m = m

        def forward(self, pixel_values):
            return F.normalize(self.m.encode_image(pixel_values), dim=-1)

    class TextTower(torch.nn.Module):
        def __init__(self, m):
            super().__init__()
            self.m = m

        def forward(self, input_ids):
            return F.normalize(self.m.encode_text(input_ids), dim=-1)

    class TrimmableTextTower(torch.nn.Module):
        """open_clip's ``CLIP.encode_text`` for any sequence length up to the context length: the
        positions and the causal mask cut to the input's length (open_clip adds all 77)."""

        def __init__(self, m):
            super().__init__()
            self.m = m

        def forward(self, input_ids):
            from open_clip.transformer import text_global_pool

            m, n = self.m, input_ids.shape[1]
            cast = m.transformer.get_cast_dtype()
            x = m.token_embedding(input_ids).to(cast) + m.positional_embedding[:n].to(cast)
            mask = m.attn_mask[:n, :n].to(cast)
            for block in m.transformer.resblocks:  # open_clip's ResidualAttentionBlock.forward
                x = x + block.ls_1(self.attention(block.attn, block.ln_1(x), mask))
                x = x + block.ls_2(block.mlp(block.ln_2(x)))
            x = m.ln_final(x)
            x = text_global_pool(x, input_ids, m.text_pool_type, eos_token_id=getattr(m, "text_eos_id", None))
            if m.text_projection is not None:
                x = m.text_projection(x) if isinstance(m.text_projection, torch.nn.Linear) else x @ m.text_projection
            return F.normalize(x, dim=-1)

        @staticmethod
        def attention(attn, x, mask):
            """``nn.MultiheadAttention`` (batch first) written with -1 for the length: torch's own
            function, traced, fixes the sequence length of the example in its reshapes."""
            b, width, heads = x.shape[0], attn.embed_dim, attn.num_heads
            qkv = F.linear(x, attn.in_proj_weight, attn.in_proj_bias).reshape(b, -1, 3, heads, width // heads)
            q, k, v = qkv.permute(2, 0, 3, 1, 4).unbind(0)
            out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
            return attn.out_proj(out.transpose(1, 2).reshape(b, -1, width))

    pre = ClipPreprocess(preprocess)
    pixels = pre.batch(_parity_images(preprocess["size"]))
    ids = tokenize(list(PARITY_PROMPTS))
    trim = text_trim(clip)
    with torch.no_grad():
        ref_img = ImageTower(clip)(torch.from_numpy(pixels)).numpy()
        ref_txt = TextTower(clip)(torch.from_numpy(ids)).numpy()
        if trim is not None:  # the cut tower must be open_clip's own at full length and when cut
            short = trim_tokens(ids, trim)
            for got in (TrimmableTextTower(clip)(torch.from_numpy(ids)), TrimmableTextTower(clip)(torch.from_numpy(short))):
                if _cosines(got.numpy(), ref_txt).min() < 1 - 1e-5:
                    trim = None  # e.g. a text tower that attends to every token: keep the fixed length
                    break

    scratch = tmp / ".raw"
    scratch.mkdir()
    raw = {(t, p): scratch / f"{t}_{p}.onnx" for t in ("image", "text") for p in PRECISIONS}
    text_axes = {0: "batch", 1: "sequence"} if trim is not None else {0: "batch"}
    for tower, module, example, input_name, axes in (
        ("image", ImageTower(clip), torch.from_numpy(pixels[:2]), IMAGE_INPUT, {0: "batch"}),
        ("text", TrimmableTextTower(clip) if trim is not None else TextTower(clip), torch.from_numpy(ids[:2]), TEXT_INPUT, text_axes),
    ):
        _say(progress, f"exporting the {tower} tower to ONNX (fp32, opset {OPSET})")
        with _quiet():
            torch.onnx.export(
                module,
                (example,),
                str(raw[tower, "fp32"]),
                input_names=[input_name],
                output_names=["embedding"],
                dynamic_axes={input_name: axes, "embedding": {0: "batch"}},
                opset_version=OPSET,
                do_constant_folding=True,
                dynamo=False,
            )
    if "int8" in precisions:
        from onnxruntime.quantization import QuantType, quantize_dynamic

        for tower in ("image", "text"):
            _say(progress, f"quantising the {tower} tower to int8 (dynamic, per channel, 7-bit weights, {'/'.join(INT8_OPS)})")
            with _quiet():
                quantize_dynamic(
                    str(raw[tower, "fp32"]),
                    str(raw[tower, "int8"]),
                    weight_type=QuantType.QInt8,
                    per_channel=True,
                    reduce_range=INT8_REDUCE_RANGE,
                    op_types_to_quantize=list(INT8_OPS),
                )

    # What ships: ONNX Runtime's own optimised graph (level "extended": operator fusions for the
    # CPU provider, nothing specific to this processor) with the weights in a separate file.
    # Measured on ViT-B-32, this halves session creation (int8 image tower 0.42 -> 0.21 s CPU,
    # fp32 0.9 -> 0.5 s): no graph rewriting at load, and weights read straight from the file.
    result: dict[str, Any] = {"names": [], "precisions": {}}
    final: dict[tuple[str, str], Path] = {}
    for p in precisions:
        entry: dict[str, Any] = {"files": []}
        for tower in ("image", "text"):
            _say(progress, f"optimising the {p} {tower} tower for ONNX Runtime")
            final[tower, p] = _finalise_tower(raw[tower, p], tmp / f"{tower}_{p}.onnx")
            entry[tower] = final[tower, p].name
            entry["files"] += [final[tower, p].name, final[tower, p].name + ".data"]
        result["precisions"][p] = entry
        result["names"] += entry["files"]

    parity: dict[str, Any] = {}
    fp32_out = {}
    cut = trim_tokens(ids, trim) if trim is not None else ids  # what the encoder will send
    for tower, inputs, ref, input_name in (
        ("image", pixels, ref_img, IMAGE_INPUT),
        ("text", ids, ref_txt, TEXT_INPUT),
    ):
        session = make_session(final.get((tower, "fp32"), raw[tower, "fp32"]))
        got = session.run(None, {input_name: inputs})[0]
        fp32_out[tower] = got
        cos = _cosines(got, ref)
        parity[f"fp32_{tower}_cosine_min"] = round(float(cos.min()), 6)
        if cos.min() < MIN_EXPORT_COSINE:
            raise ExportError(
                f"the exported {tower} tower disagrees with open_clip (cosine {cos.min():.4f} < {MIN_EXPORT_COSINE})"
            )
        if tower == "text" and trim is not None:
            try:
                short = _cosines(session.run(None, {input_name: cut})[0], got)
            except Exception as e:  # onnxruntime's own Fail/InvalidArgument types
                raise ExportError(f"the exported text tower cannot take cut token rows: {_one_line(e)}") from None
            parity["fp32_text_cut_cosine_min"] = round(float(short.min()), 6)
            if short.min() < 1 - 1e-5:
                raise ExportError(f"the exported text tower gives other vectors for cut token rows (cosine {short.min():.6f})")
            inputs = cut
        if "int8" in precisions:
            got = make_session(final[tower, "int8"]).run(None, {input_name: inputs})[0]
            cos = _cosines(got, fp32_out[tower])
            parity[f"int8_{tower}_cosine_to_fp32_mean"] = round(float(cos.mean()), 6)
            parity[f"int8_{tower}_cosine_to_fp32_min"] = round(float(cos.min()), 6)
    parity["samples"] = {"images": int(len(pixels)), "prompts": int(len(ids))}
    result["parity"] = parity
    result["text_trim"] = trim
    if "int8" in precisions:
        result["quantization"] = {
            "method": "onnxruntime.quantization.quantize_dynamic",
            "weight_type": "QInt8",
            "per_channel": True,
            "reduce_range": INT8_REDUCE_RANGE,
            "op_types": list(INT8_OPS),
        }
    import onnxruntime

    result["ort_optimization"] = {
        "level": "extended",
        "onnxruntime": onnxruntime.__version__,
        "external_data": True,
    }
    shutil.rmtree(scratch)
    return result


def text_trim(clip) -> dict[str, Any] | None:
    """How the text tower's token rows may be cut, or None when they may not.

    A causal text transformer pooled at one token (open_clip's ``argmax``: the end-of-text token,
    the highest id; ``eos``: the first end-of-sequence id) gives the same vector whatever follows
    that token, so a batch needs only as many columns as its longest row's pooled position: about
    10 of CLIP's 77 for a prompt or a shop's query. A tower that attends to every token (SigLIP's)
    or pools otherwise keeps its fixed length. ``_write_towers`` checks the claim on its prompts.
    """
    import torch

    pool = getattr(clip, "text_pool_type", None)
    mask = getattr(clip, "attn_mask", None)
    transformer = getattr(clip, "transformer", None)
    if pool not in ("argmax", "eos") or mask is None or not hasattr(clip, "positional_embedding"):
        return None
    if not getattr(transformer, "batch_first", False) or not all(
        isinstance(getattr(b, "attn", None), torch.nn.MultiheadAttention) and b.attn.batch_first
        and b.attn.in_proj_weight is not None and not hasattr(b, "ln_1_kv")
        for b in getattr(transformer, "resblocks", ())
    ):
        return None  # blocks other than the ones _write_towers writes out for any length
    above = np.triu(np.ones(tuple(mask.shape), dtype=bool), 1)
    values = mask.detach().cpu().numpy()
    if not (np.isneginf(values[above]).all() and (values[~above] == 0).all()):
        return None  # not a causal mask
    if pool == "eos":
        eos = getattr(clip, "text_eos_id", None)
        return None if eos is None else {"pool": "eos", "eos_id": int(eos)}
    return {"pool": "argmax"}


def _finalise_tower(src: Path, dst: Path) -> Path:
    """Save ONNX Runtime's optimised graph of ``src`` as ``dst`` + ``dst.data`` (the weights)."""
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED
    so.optimized_model_filepath = str(dst)
    so.add_session_config_entry("session.optimized_model_external_initializers_file_name", dst.name + ".data")
    so.add_session_config_entry("session.optimized_model_external_initializers_min_size_in_bytes", "1024")
    so.log_severity_level = 3
    ort.InferenceSession(str(src), sess_options=so, providers=["CPUExecutionProvider"])
    for f in (dst, dst.with_name(dst.name + ".data")):
        if not f.is_file():
            raise ExportError(f"ONNX Runtime did not write {f.name}")
    return dst


def _parity_images(size) -> list:
    """A few deterministic pictures of different sizes and aspects (garment-like blobs on a ground)."""
    from PIL import Image, ImageDraw

    rng = np.random.default_rng(1234)
    pics = []
    for w, h in ((320, 480), (500, 500), (640, 360), (97, 150)):
        bg = tuple(int(v) for v in rng.integers(180, 256, 3))
        img = Image.new("RGB", (w, h), bg)
        draw = ImageDraw.Draw(img)
        for _ in range(4):
            x0, y0 = int(rng.integers(0, w // 2)), int(rng.integers(0, h // 2))
            x1, y1 = int(rng.integers(x0 + 8, w)), int(rng.integers(y0 + 8, h))
            draw.ellipse((x0, y0, x1, y1), fill=tuple(int(v) for v in rng.integers(0, 256, 3)))
        noise = rng.integers(-12, 13, (h, w, 3))
        arr = np.clip(np.asarray(img, dtype=np.int16) + noise, 0, 255).astype(np.uint8)
        pics.append(Image.fromarray(arr, "RGB"))
    return pics


def _cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a = a / np.linalg.norm(a, axis=-1, keepdims=True)
    b = b / np.linalg.norm(b, axis=-1, keepdims=True)
    return (a * b).sum(-1)


# ----------------------------------------------------------------------------------------------
# helpers
# ----------------------------------------------------------------------------------------------


def _check_precisions(precisions: Iterable[str]) -> list[str]:
    if isinstance(precisions, str):
        precisions = precisions.split(",")
    chosen = []
    for p in precisions:
        p = p.strip()
        if p not in PRECISIONS:
            raise ExportError(f"--precision must be a comma-separated subset of {','.join(PRECISIONS)}, not {p!r}")
        if p not in chosen:
            chosen.append(p)
    if not chosen:
        raise ExportError("--precision names no precision")
    return [p for p in PRECISIONS if p in chosen]


def _registered_name(model: str) -> str:
    """The name a model is registered with in open_clip (a file name: no ':' or '/')."""
    return model.replace(":", "--").replace("/", "--")


def _register_model_config(open_clip, name: str, cfg: dict[str, Any]) -> None:
    if not isinstance(cfg, dict) or "vision_cfg" not in cfg or "text_cfg" not in cfg or "embed_dim" not in cfg:
        raise ExportError("--model-config must be an open_clip model config with embed_dim, vision_cfg and text_cfg")
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / f"{name}.json"
        path.write_text(json.dumps(cfg), encoding="utf-8")
        open_clip.add_model_config(str(path))


def _tokenizer_cfg(open_clip, model: str, open_name: str, cfg: dict[str, Any], cache_dir, hub_cache: Path):
    """``(tokenizer spec for export.json, the file to copy, open_clip's own tokenizer or None)``."""
    text_cfg = cfg.get("text_cfg", {})
    kwargs = dict(text_cfg.get("tokenizer_kwargs", {}))
    if kwargs.get("reduction_mask"):
        raise ExportError(f"{model} uses tokenizer reduction_mask={kwargs['reduction_mask']!r}, which is not supported")
    if text_cfg.get("hf_model_name"):
        raise ExportError(f"{model} has a Hugging Face text model; the torch-free encoder exports open_clip text towers only")
    if text_cfg.get("hf_tokenizer_name"):
        # SigLIP: a Hugging Face tokenizer (SentencePiece), run at serve time by the tokenizers library
        if text_cfg.get("tokenizer_mode"):
            raise ExportError(f"{model} uses tokenizer_mode {text_cfg['tokenizer_mode']!r}, which is not supported")
        repo = str(text_cfg["hf_tokenizer_name"])
        snapshot = ck.hub_snapshot(repo, cache_dir, hub_cache)
        if not (snapshot / "tokenizer.json").is_file():
            raise ExportError(f"the tokenizer {repo} in the Hugging Face cache has no tokenizer.json")
        try:
            reference = open_clip.get_tokenizer(open_name, cache_dir=str(hub_cache), local_files_only=True)
        except ImportError as e:
            raise ExportError(f"exporting {model}'s Hugging Face tokenizer needs transformers (missing {e.name or e})") from None
        except Exception as e:  # transformers raises OSError/ValueError/its own for a cache it cannot use
            raise ExportError(f"cannot load the tokenizer {repo} from the local Hugging Face cache: {_one_line(e)}") from None
        hf = reference.tokenizer
        spec = {
            "kind": "hf-tokenizers",
            "clean": kwargs.get("clean", "whitespace"),
            "pad_id": int(hf.pad_token_id if hf.pad_token_id is not None else 0),
            "source": repo,
        }
        if kwargs.get("strip_sep_token") and hf.sep_token_id is not None:
            spec["strip_sep_id"] = int(hf.sep_token_id)
        return spec, snapshot / "tokenizer.json", reference
    if "siglip" in model.lower():
        raise ExportError(f"{model} looks like SigLIP but names no Hugging Face tokenizer")
    vocab = int(text_cfg.get("vocab_size", 49408))
    if vocab != 49408:
        raise ExportError(f"{model} has a text vocabulary of {vocab}; CLIP's BPE tokenizer needs 49408")
    return {"kind": "clip-bpe", "clean": kwargs.get("clean", "lower")}, Path(open_clip.tokenizer.default_bpe()), None


def _looks_like_path(value: str) -> bool:
    return (
        "/" in value
        or os.sep in value
        or value.endswith((".pt", ".pth", ".bin", ".safetensors", ".ckpt"))
        or Path(value).exists()
    )


def _size2(size) -> list[int]:
    if isinstance(size, (int, float)):
        return [int(size), int(size)]
    size = list(size)
    return [int(size[-2]), int(size[-1])] if len(size) >= 2 else [int(size[0]), int(size[0])]


def _triple(v) -> list[float]:
    return list(v) if isinstance(v, (list, tuple)) else [v, v, v]


def _one_line(e: BaseException) -> str:
    text = " ".join(str(e).split())
    return text[:300] + ("..." if len(text) > 300 else "")


def _replace_dir(tmp: Path, out: Path, force: bool) -> None:
    from stygig.atomic import replace_dir

    if out.exists() and not force:
        raise ExportError(f"{out} appeared while exporting; not overwriting it")
    replace_dir(tmp, out)


@contextlib.contextmanager
def _quiet():
    """open_clip and the exporters warn loudly about things that are expected here."""
    root = logging.getLogger()
    level = root.level
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        root.setLevel(max(level, logging.ERROR))
        try:
            yield
        finally:
            root.setLevel(level)


def stderr_progress(msg: str) -> None:
    print(f"export-clip: {msg}", file=sys.stderr, flush=True)
