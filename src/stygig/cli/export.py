"""``stygig export-clip``: open_clip weights -> ONNX towers + preprocessing + tokenizer.

Light at import time: torch and open_clip are imported by the handler only.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from stygig.errors import StygigError

DESCRIPTION = """\
Export a CLIP model with open_clip into a directory that 'stygig build --encoder DIR' bakes into
an artifact: image and text towers as ONNX graphs (L2-normalised outputs) in fp32 and/or int8,
the preprocessing parameters, the tokenizer vocabulary, and export.json (files, sha256s, parity).

Weights are never downloaded. --pretrained openai (or another open_clip tag) uses open_clip's
local cache (~/.cache/huggingface/hub, ~/.cache/clip, or --cache-dir); --pretrained PATH uses a
weights file; --pretrained DIR a Hugging Face transformers CLIP checkpoint (FashionCLIP 2.0);
--model hf-hub:ORG/REPO an open_clip model in the local Hugging Face cache (Marqo-FashionCLIP,
Marqo-FashionSigLIP). Needs the export extra: pip install 'stygig[export]'.
"""


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "export-clip",
        help="export CLIP (open_clip) to ONNX for the clip-onnx encoder",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--model",
        default="ViT-B-32",
        help="open_clip model name (default: ViT-B-32), or hf-hub:ORG/REPO for an open_clip model in the local "
        "Hugging Face cache (hf-hub:Marqo/marqo-fashionCLIP, hf-hub:Marqo/marqo-fashionSigLIP)",
    )
    p.add_argument(
        "--pretrained",
        metavar="TAG|PATH|DIR|hf-hub:ORG/REPO|random",
        help="an open_clip tag whose weights are in the local cache (e.g. openai), a weights file (an OpenAI "
        "TorchScript .pt is recognised and exported with QuickGELU), a Hugging Face transformers CLIP directory "
        "or its hf-hub:ORG/REPO name in the local cache (FashionCLIP 2.0: hf-hub:patrickjohncyh/fashion-clip), "
        "or 'random' (seeded random weights: tests and benchmarks only); with --model hf-hub:... omit it to use "
        "that repo's own weights",
    )
    p.add_argument("-o", "--out", required=True, metavar="DIR", help="directory to create")
    p.add_argument(
        "--precision",
        default="fp32,int8",
        help="comma-separated precisions to write: fp32, int8 (default: both)",
    )
    p.add_argument("--seed", type=int, default=0, help="seed for --pretrained random (default: 0)")
    p.add_argument(
        "--model-config",
        metavar="JSON",
        help="tests/benchmarks: an open_clip model config (a JSON file or inline JSON) registered under --model",
    )
    p.add_argument("--cache-dir", metavar="DIR", help="where open_clip's weights cache is, if not the default")
    p.add_argument("--force", action="store_true", help="replace DIR if it exists")
    p.set_defaults(func=run_export_clip)


def run_export_clip(args) -> int:
    model_config = None
    if args.model_config:
        model_config = _read_model_config(args.model_config)
    from stygig.export.clip import export_clip, stderr_progress

    spec = export_clip(
        args.model,
        args.pretrained,
        args.out,
        precisions=args.precision,
        seed=args.seed,
        model_config=model_config,
        cache_dir=args.cache_dir,
        force=args.force,
        progress=stderr_progress,
    )
    summary = {
        "out": str(args.out),
        "model": spec["model"],
        "pretrained": spec["pretrained"],
        "dim": spec["dim"],
        "precisions": sorted(spec["precisions"]),
        "default_precision": spec["default_precision"],
        "parity": spec["parity"],
    }
    print(json.dumps(summary, indent=2, sort_keys=True))
    return 0


def _read_model_config(value: str) -> dict:
    text = value
    if not value.lstrip().startswith("{"):
        try:
            text = Path(value).read_text(encoding="utf-8")
        except OSError as e:
            raise StygigError(f"cannot read --model-config {value}: {e.strerror or e}") from None
    try:
        cfg = json.loads(text)
    except json.JSONDecodeError as e:
        raise StygigError(f"--model-config is not valid JSON: {e}") from None
    if not isinstance(cfg, dict):
        raise StygigError("--model-config must be a JSON object")
    return cfg
