"""The artifact's manifest: format and version, what it holds, and the sha256 of every file.

``model_version`` is a digest of every file's digest (but the volatile build report), so two
builds of one catalog share it; a compatibility model other than the default one a build
records is part of it too.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from stygig import __version__
from stygig.atomic import write_bytes as atomic_bytes
from stygig.errors import ArtifactError
from stygig.recommend.compat.registry import default_spec as default_compatibility_spec
from stygig.wording import plural

FORMAT = "stygig-artifact"
#: 3: typed attribute columns (items/attributes/, the manifest's "attributes")
FORMAT_VERSION = 3
MANIFEST = "manifest.json"
#: files whose content legitimately differs between two builds of the same catalog
VOLATILE = {"build_report.json"}


def sha256_file(path: Path) -> str:
    """sha256 of a file, streamed (hashlib.file_digest, Python 3.11+)."""
    with open(path, "rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def file_digests(root: Path, known: dict[str, str] | None = None) -> dict[str, str]:
    """sha256 of every file under ``root`` but the manifest, by relative path, in path order.

    ``known`` gives the digests of files that need no hashing: hard links (or copies) of a
    checked artifact's files, whose digests that artifact's manifest already holds."""
    known = known or {}
    out = {}
    for p in sorted(root.rglob("*")):
        if p.is_file() and p.name != MANIFEST:
            rel = p.relative_to(root).as_posix()
            out[rel] = known.get(rel) or sha256_file(p)
    return out


def content_version(files: dict[str, str], compatibility: dict[str, Any] | None = None) -> str:
    """``model_version``: a digest of every file's digest but the volatile ones, and of the
    compatibility model when it is not the one a build records (tuned weights live in the
    manifest alone), so two builds of one catalog share a version and a tuned or learned
    artifact has its own."""
    lines = "".join(f"{k}:{v}\n" for k, v in files.items() if k not in VOLATILE)
    if compatibility is not None and compatibility != default_compatibility_spec():
        lines += "compatibility:" + json.dumps(compatibility, sort_keys=True) + "\n"
    return hashlib.sha256(lines.encode()).hexdigest()[:12]


def dump(manifest: dict[str, Any]) -> bytes:
    """The manifest's bytes, as every writer writes them (sorted keys: byte-identical rebuilds)."""
    return json.dumps(manifest, indent=2, sort_keys=True).encode("utf-8")


def write_manifest(root: Path, manifest: dict[str, Any]) -> None:
    atomic_bytes(root / MANIFEST, dump(manifest))


def new_manifest(
    root: Path,
    *,
    encoder: dict[str, Any],
    taxonomy_name: str,
    categories: list[str],
    n_items: int,
    n_skipped: int,
    index: dict[str, Any],
    has_category_text: bool,
    shard: tuple[int, int] | None,
    attributes: dict[str, Any] | None = None,
    compatibility: dict[str, Any] | None = None,
    known_digests: dict[str, str] | None = None,
) -> dict[str, Any]:
    """The manifest of the files now under ``root``, written there (``compatibility``: the
    model to record, the build's default when None; ``known_digests``: see :func:`file_digests`)."""
    files = file_digests(root, known_digests)
    compatibility = compatibility if compatibility is not None else default_compatibility_spec()
    manifest = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "model_version": content_version(files, compatibility),
        "stygig_version": __version__,
        "encoder": encoder,
        "compatibility": compatibility,
        "taxonomy": {"file": "taxonomy.json", "name": taxonomy_name, "categories": categories},
        "counts": {"items": n_items, "skipped": n_skipped},
        "index": index,
        "category_text": "category_text.npy" if has_category_text else None,
        "shard": list(shard) if shard else None,
        "attributes": attributes or {},
        "files": files,
    }
    write_manifest(root, manifest)
    return manifest


def read_manifest(root: str | Path) -> dict[str, Any]:
    """The manifest of the artifact at ``root``, its format and version checked (not its files)."""
    root = Path(root)
    path = root / MANIFEST
    if not root.is_dir():
        raise ArtifactError(f"artifact not found: {root} is not a directory")
    if not path.is_file():
        raise ArtifactError(f"not a StyGig artifact: {root} has no manifest.json")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ArtifactError(f"artifact manifest {path} is not valid JSON: {e}") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise ArtifactError(f"{path} is not a StyGig artifact manifest")
    if manifest.get("format_version") != FORMAT_VERSION:
        raise ArtifactError(
            f"artifact format version {manifest.get('format_version')!r} is not supported "
            f"(this StyGig reads version {FORMAT_VERSION}, with typed attributes): rebuild it with this version"
        )
    if not isinstance(manifest.get("files"), dict):
        raise ArtifactError(f"artifact manifest {path} lists no files")
    return manifest


def describe(root: Path) -> str:
    """`` (N items, model V)`` for messages about an artifact already there; empty if unreadable."""
    try:
        m = json.loads((root / MANIFEST).read_text(encoding="utf-8"))
        return f" ({plural(int(m['counts']['items']), 'item')}, model {m['model_version']})"
    except (OSError, ValueError, KeyError, TypeError):
        return ""
