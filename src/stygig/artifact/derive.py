"""A new artifact from an existing one with another compatibility model (``learn``, ``eval --tune``)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import numpy as np

from stygig.artifact.manifest import content_version, file_digests, write_manifest
from stygig.artifact.verify import verify_artifact
from stygig.artifact.writer import check_target
from stygig.atomic import staged_dir
from stygig.errors import StygigError


def derive_artifact(
    source: str | Path,
    out: str | Path,
    *,
    compatibility: dict[str, Any],
    files: dict[str, "np.ndarray | bytes"] | None = None,
    directory: str = "compat",
    force: bool = False,
) -> dict[str, Any]:
    """A new artifact ``out``: ``source``'s files (hard-linked where the file system allows,
    else copied — vectors, indexes, thumbnails, encoder are reused as they are) with another
    compatibility model: the manifest entry ``compatibility`` and the model's ``files`` (relative
    path -> array, saved as ``.npy`` without pickle, or bytes), which replace whatever
    ``source`` kept under ``directory/``. Checksums and ``model_version`` are those of the new
    content; ``derived_from`` records the source's version. Written beside ``out`` and renamed
    into place; ``source`` is checked first and never changed."""
    source, out = Path(source), Path(out)
    manifest = verify_artifact(source)
    if out.resolve() == source.resolve():
        raise StygigError(f"-o {out} is the artifact being read; write the new artifact elsewhere")
    check_target(out, force)
    with staged_dir(out, "derive") as art:
        for rel in manifest["files"]:
            if rel.split("/", 1)[0] == directory:
                continue
            dest = art / rel
            dest.parent.mkdir(parents=True, exist_ok=True)
            try:
                os.link(source / rel, dest)
            except OSError:
                shutil.copyfile(source / rel, dest)
        for rel, value in (files or {}).items():
            if rel.split("/", 1)[0] != directory:
                raise ValueError(f"a compatibility model's files go under {directory}/, not {rel}")
            dest = art / rel
            dest.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(value, (bytes, bytearray)):
                dest.write_bytes(value)
            else:
                with open(dest, "wb") as fh:
                    np.save(fh, np.ascontiguousarray(value), allow_pickle=False)
        digests = file_digests(art)
        new = {**manifest, "compatibility": compatibility, "files": digests,
               "model_version": content_version(digests, compatibility),
               "derived_from": manifest["model_version"]}
        write_manifest(art, new)
    return new
