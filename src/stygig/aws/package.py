"""``stygig package``: an artifact as the AWS PyTorch inference container expects ``model.tar.gz``.

Layout (SageMaker unpacks it into ``/opt/ml/model``; the container puts ``code/`` on ``PYTHONPATH``
and pip-installs ``code/requirements.txt`` before loading ``code/inference.py``)::

    manifest.json, vectors.npy, index/, ...   the artifact, unchanged (checksums still verify)
    code/inference.py                          re-exports stygig.serving.handler's four functions
    code/stygig/...                            this StyGig's own source (it is not on PyPI)
    code/faiss/, code/pydantic/, ...           the serving dependencies the container lacks, built
                                               for its Python and platform (stygig.aws.vendor)
    code/requirements.txt                      what could not be vendored (normally nothing)

The PyTorch container already has numpy, Pillow and boto3; the serving path needs neither torch
nor the HTTP stack (FastAPI, uvicorn, gunicorn). Without a target Python (``python=None``) nothing
is vendored and ``code/requirements.txt`` pins the dependencies for the container to install at
start, as before.
"""

from __future__ import annotations

from importlib import metadata
from pathlib import Path
from typing import Callable

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


def package_artifact(
    artifact_dir: str | Path,
    out_tar: str | Path,
    *,
    python: str | None = None,
    notes: Callable[[str], None] | None = None,
    require_vendored: bool = False,
) -> Path:
    """Write ``out_tar`` (atomically); return its path. ``python`` (``"py312"``): vendor the
    dependencies for the DLC of that Python; ``notes`` is told, one line each, what was vendored,
    what could not be, and the archive's size. ``require_vendored`` (a network-isolated
    endpoint): refuse an archive that would still need pip."""
    manifest = read_manifest(artifact_dir)
    if (Path(artifact_dir) / "code").exists():
        raise StygigError(f"{artifact_dir} already has a code/ folder; package the artifact as built")
    tell = notes or (lambda line: None)
    requirements = requirements_for(manifest)
    extra = source_files()
    extra["code/inference.py"] = INFERENCE_PY.format(version=stygig.__version__).encode("utf-8")
    left = requirements
    if python is not None:
        from stygig.aws.vendor import PLATFORM_NAME, python_of, vendor

        vendored = vendor(requirements, python_of(python))
        clash = sorted(set(vendored.files) & set(extra))
        if clash:
            raise StygigError(f"cannot package: a vendored distribution would overwrite {clash[0]}")
        extra.update(vendored.files)
        left = [r for r in requirements if r in vendored.missing]
        where = f"{vendored.tag} {PLATFORM_NAME}"
        if vendored.distributions:
            tell(f"vendored into code/ for {where} ({vendored.unpacked_bytes / 1e6:.1f} MB unpacked): "
                 + ", ".join(vendored.distributions))
        if left and require_vendored:
            raise StygigError(
                f"cannot package for a network-isolated endpoint: no {where} wheels to be had here for "
                f"{', '.join(left)} ({vendored.reason})"
            )
        if left:
            tell(f"no {where} wheels to be had here for {', '.join(left)} ({vendored.reason}); "
                 "code/requirements.txt installs them at container start, which needs internet")
    if left:
        extra["code/requirements.txt"] = ("\n".join(left) + "\n").encode("utf-8")
    else:
        extra["code/requirements.txt"] = (
            "# StyGig's serving dependencies are vendored in code/ (stygig package); nothing to install\n"
        ).encode("utf-8")
    out = pack_artifact(artifact_dir, out_tar, extra=extra)
    tell(f"archive {out}: {out.stat().st_size / 1e6:.1f} MB")
    return out
