"""``stygig package``: an artifact as the AWS PyTorch inference container expects ``model.tar.gz``.

Layout (SageMaker unpacks it into ``/opt/ml/model``; the container puts ``code/`` on ``sys.path``
and pip-installs ``code/requirements.txt`` before loading ``code/inference.py``)::

    manifest.json, vectors.npy, index/, ...   the artifact, unchanged (checksums still verify)
    code/inference.py                          re-exports stygig.serving.handler's four functions
    code/requirements.txt                      only what the container lacks, pinned as tested
    code/stygig/...                            this StyGig's own source (it is not on PyPI)

The PyTorch container already has numpy, Pillow and boto3; the serving path needs neither torch
nor the HTTP stack (FastAPI, uvicorn, gunicorn).
"""

from __future__ import annotations

from importlib import metadata
from pathlib import Path

import stygig
from stygig.artifact import pack_artifact, read_manifest
from stygig.errors import StygigError

INFERENCE_PY = '''"""SageMaker inference entry point, written by `stygig package` (StyGig {version})."""

from stygig.serving.handler import input_fn, model_fn, output_fn, predict_fn  # noqa: F401
'''

#: distributions the handler path imports that the PyTorch inference container does not ship
BASE_REQUIREMENTS = ("faiss-cpu", "pydantic")
#: and those only a CLIP artifact needs (ONNX towers, the BPE tokenizer)
CLIP_REQUIREMENTS = ("onnxruntime", "ftfy", "regex")
SOURCE_SUFFIXES = {".py", ".json", ".txt", ".html", ".css", ".js", ".gz"}


def requirements_for(manifest: dict) -> list[str]:
    names = list(BASE_REQUIREMENTS)
    if (manifest.get("encoder") or {}).get("kind") != "lite":
        names += CLIP_REQUIREMENTS
    lines = []
    for name in names:
        try:
            lines.append(f"{name}=={metadata.version(name)}")
        except metadata.PackageNotFoundError:
            raise StygigError(f"cannot package: {name} is not installed here, so its tested version is unknown") from None
    return lines


def source_files() -> dict[str, bytes]:
    """This StyGig's package files as ``code/stygig/...`` archive entries."""
    root = Path(stygig.__file__).resolve().parent
    files: dict[str, bytes] = {}
    for p in sorted(root.rglob("*")):
        if p.is_file() and p.suffix in SOURCE_SUFFIXES and "__pycache__" not in p.parts:
            files["code/stygig/" + p.relative_to(root).as_posix()] = p.read_bytes()
    return files


def package_artifact(artifact_dir: str | Path, out_tar: str | Path) -> Path:
    """Write ``out_tar`` (atomically); return its path."""
    manifest = read_manifest(artifact_dir)
    if (Path(artifact_dir) / "code").exists():
        raise StygigError(f"{artifact_dir} already has a code/ folder; package the artifact as built")
    extra = source_files()
    extra["code/inference.py"] = INFERENCE_PY.format(version=stygig.__version__).encode("utf-8")
    extra["code/requirements.txt"] = ("\n".join(requirements_for(manifest)) + "\n").encode("utf-8")
    return pack_artifact(artifact_dir, out_tar, extra=extra)
