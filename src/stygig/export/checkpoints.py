"""Checkpoints as users bring them, read from local files only (never a download).

* **A weights file** (``--pretrained PATH``): a state dict (.safetensors, or .bin / .pt read
  with ``weights_only=True``). What the file says about the activation it was trained with is read
  without running anything: a file inside a Hugging Face cache folder of one of open_clip's
  pretrained tags (``models--timm--vit_base_patch32_clip_224.openai``) is that tag's weights, and
  the tag says ``quick_gelu``; an **OpenAI TorchScript archive** (OpenAI's own ``ViT-B-32.pt``)
  carries its model's source code (``*/code/**.py``), where OpenAI's models name ``QuickGELU``.
  Exporting OpenAI weights with plain GELU gives wrong embeddings without any error, so
  :func:`activation_of` lets the export choose (or demand) the right one. A TorchScript archive
  itself is not loaded: TorchScript can run the model's code while loading, which StyGig never
  allows; the export names the cached open_clip weights to use instead.
* **A Hugging Face ``transformers`` CLIP directory** (FashionCLIP 2.0:
  ``patrickjohncyh/fashion-clip``; ``config.json`` with ``model_type: clip``): converted to
  open_clip's layout (:func:`hf_clip_to_open_clip`) so that the one export path builds it with
  open_clip; its tokenizer must be CLIP's own BPE vocabulary, which is checked.
* **An open_clip ``hf-hub:org/repo`` name** (Marqo-FashionCLIP, Marqo-FashionSigLIP): its
  ``open_clip_config.json`` and weights are looked up in the local Hugging Face cache only
  (:func:`hub_snapshot`).
"""

from __future__ import annotations

import json
import os
import zipfile
from pathlib import Path
from typing import Any

from stygig.errors import StygigError


class CheckpointError(StygigError):
    code = "export_error"


# ---- activation ------------------------------------------------------------------------------


def is_torchscript(path: str | Path) -> bool:
    """Whether ``path`` is a TorchScript archive (a zip with the model's code and constants)."""
    try:
        with zipfile.ZipFile(path) as z:
            names = z.namelist()
    except (zipfile.BadZipFile, OSError):
        return False
    return any(n.endswith("/constants.pkl") for n in names) and any("/code/" in n for n in names)


def _torchscript_uses_quickgelu(path: str | Path) -> bool:
    with zipfile.ZipFile(path) as z:
        for name in z.namelist():
            if "/code/" in name and name.endswith(".py"):
                if b"QuickGELU" in z.read(name):
                    return True
    return False


def activation_of(open_clip, model: str, path: str | Path) -> tuple[bool | None, str]:
    """``(uses QuickGELU?, how we know)`` for a weights file; ``(None, "")`` when it does not say."""
    path = Path(path)
    if is_torchscript(path):
        quick = _torchscript_uses_quickgelu(path)
        return quick, "an OpenAI TorchScript archive" + (" (its code uses QuickGELU)" if quick else " without QuickGELU")
    base = model[: -len("-quickgelu")] if model.endswith("-quickgelu") else model
    parts = set(path.resolve().parts)
    for name in dict.fromkeys((base, f"{base}-quickgelu")):
        for tag in open_clip.list_pretrained_tags_by_model(name):
            cfg = open_clip.get_pretrained_cfg(name, tag) or {}
            repo = (cfg.get("hf_hub") or "").strip("/").split("/")
            if len(repo) >= 2 and f"models--{repo[0]}--{repo[1]}" in parts:
                return bool(cfg.get("quick_gelu")), f"open_clip's {base} '{tag}' weights (Hugging Face cache {repo[0]}/{repo[1]})"
    return None, ""


# ---- Hugging Face cache ----------------------------------------------------------------------


def hub_snapshot(repo_id: str, cache_dir: str | Path | None, hub_cache: Path) -> Path:
    """The local snapshot folder of ``repo_id`` in the Hugging Face cache (no network)."""
    from huggingface_hub import snapshot_download

    where = Path(cache_dir) if cache_dir else hub_cache
    try:
        return Path(snapshot_download(repo_id, cache_dir=str(where), local_files_only=True))
    except Exception:
        raise CheckpointError(
            f"{repo_id} is not in the local Hugging Face cache ({where}/models--{repo_id.replace('/', '--')}); "
            f"on a machine with internet run: python -c \"import huggingface_hub; "
            f"huggingface_hub.snapshot_download('{repo_id}')\" and copy that folder here (or pass --cache-dir)"
        ) from None


def open_clip_hub_config(snapshot: Path) -> dict[str, Any]:
    path = snapshot / "open_clip_config.json"
    if not path.is_file():
        raise CheckpointError(f"{snapshot} has no open_clip_config.json: not an open_clip hf-hub model")
    cfg = json.loads(path.read_text(encoding="utf-8"))
    if "model_cfg" not in cfg:
        raise CheckpointError(f"{path} lacks 'model_cfg'")
    return cfg


def hub_weights(snapshot: Path) -> Path:
    for name in ("open_clip_model.safetensors", "open_clip_pytorch_model.bin"):
        if (snapshot / name).is_file():
            return snapshot / name
    raise CheckpointError(f"{snapshot} has neither open_clip_model.safetensors nor open_clip_pytorch_model.bin")


# ---- Hugging Face transformers CLIP -> open_clip ---------------------------------------------


def is_hf_clip_dir(path: str | Path) -> bool:
    cfg = Path(path) / "config.json"
    if not cfg.is_file():
        return False
    try:
        return json.loads(cfg.read_text(encoding="utf-8")).get("model_type") == "clip"
    except (OSError, ValueError):
        return False


def hf_clip_config(directory: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """``(open_clip model config, open_clip preprocess config)`` of a transformers CLIP directory."""
    cfg = json.loads((directory / "config.json").read_text(encoding="utf-8"))
    v, t = cfg.get("vision_config") or {}, cfg.get("text_config") or {}
    acts = {v.get("hidden_act", "quick_gelu"), t.get("hidden_act", "quick_gelu")}
    if len(acts) != 1 or not acts <= {"quick_gelu", "gelu"}:
        raise CheckpointError(f"{directory}: unsupported activations {sorted(acts)} (quick_gelu or gelu)")
    vw, tw = int(v.get("hidden_size", 768)), int(t.get("hidden_size", 512))
    model_cfg = {
        "embed_dim": int(cfg.get("projection_dim", 512)),
        "quick_gelu": acts == {"quick_gelu"},
        "vision_cfg": {
            "image_size": int(v.get("image_size", 224)),
            "layers": int(v.get("num_hidden_layers", 12)),
            "width": vw,
            "head_width": vw // int(v.get("num_attention_heads", 12)),
            "mlp_ratio": int(v.get("intermediate_size", 4 * vw)) / vw,
            "patch_size": int(v.get("patch_size", 32)),
        },
        "text_cfg": {
            "context_length": int(t.get("max_position_embeddings", 77)),
            "vocab_size": int(t.get("vocab_size", 49408)),
            "width": tw,
            "heads": int(t.get("num_attention_heads", 8)),
            "layers": int(t.get("num_hidden_layers", 12)),
            "mlp_ratio": int(t.get("intermediate_size", 4 * tw)) / tw,
        },
    }
    eps = {float(v.get("layer_norm_eps", 1e-5)), float(t.get("layer_norm_eps", 1e-5))}
    if eps != {1e-5}:
        raise CheckpointError(f"{directory}: layer_norm_eps {sorted(eps)} differs from CLIP's 1e-5")
    pre: dict[str, Any] = {"resize_mode": "shortest", "interpolation": "bicubic"}
    pp_path = directory / "preprocessor_config.json"
    if pp_path.is_file():
        pp = json.loads(pp_path.read_text(encoding="utf-8"))
        if "image_mean" in pp:
            pre["mean"] = tuple(float(x) for x in pp["image_mean"])
        if "image_std" in pp:
            pre["std"] = tuple(float(x) for x in pp["image_std"])
        if pp.get("resample") == 2:
            pre["interpolation"] = "bilinear"
        crop = pp.get("crop_size")
        crop = crop.get("height") if isinstance(crop, dict) else crop
        if crop and int(crop) != model_cfg["vision_cfg"]["image_size"]:
            raise CheckpointError(f"{pp_path}: crop size {crop} differs from the model's {model_cfg['vision_cfg']['image_size']}")
    return model_cfg, pre


def _hf_weights(directory: Path, torch) -> dict[str, Any]:
    st = directory / "model.safetensors"
    if st.is_file():
        from safetensors.torch import load_file

        return load_file(str(st))
    bin_ = directory / "pytorch_model.bin"
    if bin_.is_file():
        path = str(bin_)
        return torch.load(path, weights_only=True, map_location="cpu")
    raise CheckpointError(f"{directory} has neither model.safetensors nor pytorch_model.bin")


def hf_clip_to_open_clip(directory: Path, torch) -> dict[str, Any]:
    """A transformers ``CLIPModel`` state dict renamed (and q/k/v fused) into open_clip's ``CLIP``."""
    src = {k.removeprefix("clip."): v for k, v in _hf_weights(directory, torch).items()}
    out: dict[str, Any] = {}

    def blocks(prefix_hf: str, prefix_oc: str) -> None:
        i = 0
        while f"{prefix_hf}.encoder.layers.{i}.layer_norm1.weight" in src:
            h, o = f"{prefix_hf}.encoder.layers.{i}", f"{prefix_oc}.resblocks.{i}"
            for part in ("weight", "bias"):
                out[f"{o}.attn.in_proj_{part}"] = torch.cat(
                    [src[f"{h}.self_attn.{p}_proj.{part}"] for p in ("q", "k", "v")], dim=0
                )
                out[f"{o}.attn.out_proj.{part}"] = src[f"{h}.self_attn.out_proj.{part}"]
                out[f"{o}.ln_1.{part}"] = src[f"{h}.layer_norm1.{part}"]
                out[f"{o}.ln_2.{part}"] = src[f"{h}.layer_norm2.{part}"]
                out[f"{o}.mlp.c_fc.{part}"] = src[f"{h}.mlp.fc1.{part}"]
                out[f"{o}.mlp.c_proj.{part}"] = src[f"{h}.mlp.fc2.{part}"]
            i += 1
        if i == 0:
            raise CheckpointError(f"{directory}: no {prefix_hf} encoder layers in the weights")

    try:
        out["token_embedding.weight"] = src["text_model.embeddings.token_embedding.weight"]
        out["positional_embedding"] = src["text_model.embeddings.position_embedding.weight"]
        blocks("text_model", "transformer")
        for part in ("weight", "bias"):
            out[f"ln_final.{part}"] = src[f"text_model.final_layer_norm.{part}"]
            out[f"visual.ln_pre.{part}"] = src[f"vision_model.pre_layrnorm.{part}"]
            out[f"visual.ln_post.{part}"] = src[f"vision_model.post_layernorm.{part}"]
        out["text_projection"] = src["text_projection.weight"].T.contiguous()
        out["visual.class_embedding"] = src["vision_model.embeddings.class_embedding"]
        out["visual.conv1.weight"] = src["vision_model.embeddings.patch_embedding.weight"]
        out["visual.positional_embedding"] = src["vision_model.embeddings.position_embedding.weight"]
        blocks("vision_model", "visual.transformer")
        out["visual.proj"] = src["visual_projection.weight"].T.contiguous()
        out["logit_scale"] = src["logit_scale"]
    except KeyError as e:
        raise CheckpointError(f"{directory}: not a CLIPModel checkpoint (missing {e.args[0]})") from None
    return out


def check_hf_clip_vocab(directory: Path, open_clip) -> None:
    """The directory's tokenizer must be CLIP's BPE vocabulary (the torch-free tokenizer's)."""
    vocab_path = directory / "vocab.json"
    if vocab_path.is_file():
        vocab = json.loads(vocab_path.read_text(encoding="utf-8"))
    elif (directory / "tokenizer.json").is_file():
        vocab = json.loads((directory / "tokenizer.json").read_text(encoding="utf-8"))["model"]["vocab"]
    else:
        raise CheckpointError(f"{directory} has no tokenizer (vocab.json or tokenizer.json)")
    ours = dict(open_clip.tokenizer.SimpleTokenizer().encoder)
    # the same ids; transformers spells the two special tokens as OpenAI's original code did
    hf_names = {"<start_of_text>": "<|startoftext|>", "<end_of_text>": "<|endoftext|>"}
    ours_hf = {hf_names.get(k, k): v for k, v in ours.items()}
    if vocab != ours and vocab != ours_hf:
        raise CheckpointError(
            f"{directory}: its tokenizer vocabulary differs from CLIP's BPE vocabulary, which the torch-free encoder uses"
        )


def looks_like_hub(name: str) -> bool:
    return name.startswith("hf-hub:")


def hub_repo(name: str) -> str:
    repo = name[len("hf-hub:"):].strip("/")
    if repo.count("/") != 1 or not all(repo.split("/")):
        raise CheckpointError(f"{name!r} is not an hf-hub:org/repo name")
    return repo


def env_hub_cache() -> Path:
    env = os.environ.get("HF_HUB_CACHE")
    if env:
        return Path(env)
    home = os.environ.get("HF_HOME") or os.path.join(os.environ.get("XDG_CACHE_HOME") or "~/.cache", "huggingface")
    return Path(home).expanduser() / "hub"
