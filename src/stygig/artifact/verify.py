"""Checking an artifact before it is used: format version, every listed file, every sha256."""

from __future__ import annotations

import hashlib
import json
import os
import stat
from pathlib import Path
from typing import Any

from stygig import settings
from stygig.artifact.manifest import read_manifest, sha256_file
from stygig.atomic import write_bytes as atomic_bytes
from stygig.errors import ArtifactError


def _verified_cache_path(manifest: dict[str, Any]) -> Path:
    key = hashlib.sha256(json.dumps(manifest["files"], sort_keys=True).encode()).hexdigest()[:24]
    return settings.cache_dir() / "verified" / f"{key}.json"


def verify_artifact(root: str | Path, *, checksums: bool = True) -> dict[str, Any]:
    """Check format version, that every listed file exists, and every sha256.

    Hashing gigabytes at every start would cost seconds, so a successful full check is
    remembered (in ``$STYGIG_CACHE_DIR`` or ``~/.cache/stygig``) by each file's size, mtime and
    inode; a file whose stat changed is hashed again. ``STYGIG_VERIFY=full`` always hashes.
    """
    root = Path(root)
    manifest = read_manifest(root)
    root_resolved = root.resolve()
    stats = {}
    dirs: dict[str, Path] = {}  # each directory resolved once, not each of its (thousands of) files
    for rel in manifest["files"]:
        head, _, name = rel.rpartition("/")
        parent = dirs.get(head)
        if parent is None:
            parent = dirs[head] = (root / head).resolve() if head else root_resolved
        p = parent / name
        if name in ("", ".", "..") or os.path.islink(p):
            p = p.resolve()
        if not p.is_relative_to(root_resolved):
            raise ArtifactError(f"artifact manifest lists a path outside the artifact: {rel}")
        try:
            st = p.stat()
        except OSError:
            raise ArtifactError(f"artifact is missing {rel}") from None
        if not stat.S_ISREG(st.st_mode):
            raise ArtifactError(f"artifact is missing {rel}")
        stats[rel] = [str(p), st.st_size, st.st_mtime_ns, st.st_ino]
    if not checksums:
        return manifest
    cache = _verified_cache_path(manifest)
    known: dict[str, Any] = {}
    if settings.VERIFY.read() != "full":
        try:
            known = json.loads(cache.read_text())
        except (OSError, ValueError):
            known = {}
    for rel, digest in manifest["files"].items():
        if known.get(rel) == stats[rel]:
            continue
        if sha256_file(root / rel) != digest:
            raise ArtifactError(f"artifact file {rel} does not match its checksum (corrupted or modified)")
    if known != stats:
        try:
            cache.parent.mkdir(parents=True, exist_ok=True)
            atomic_bytes(cache, json.dumps(stats).encode())
        except OSError:
            pass  # a read-only home: verify in full next time
    return manifest
