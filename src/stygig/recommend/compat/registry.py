"""Compatibility kinds by name, as the artifact's manifest names them.

``manifest.json`` carries ``"compatibility": {"kind": "heuristic", "weights": {...}}`` (written
by the build from :func:`default_spec`); an artifact without the key was built before there was
a choice and loads as the heuristic with the default weights (the key is optional, so the format
version is unchanged). An implementation registers its class under its ``kind`` here; the class's
``from_spec(spec, taxonomy=..., directory=...)`` rebuilds it from the entry and the files it
keeps in the artifact (``directory``: the artifact's root).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

from stygig.errors import ArtifactError
from stygig.recommend.compat.base import Compatibility
from stygig.recommend.compat.heuristic import DEFAULT_WEIGHTS, HeuristicCompatibility
from stygig.taxonomy import Taxonomy

KINDS: dict[str, type] = {HeuristicCompatibility.kind: HeuristicCompatibility}
#: the manifest key
MANIFEST_KEY = "compatibility"


def default_spec() -> dict[str, Any]:
    """What a build records: the heuristic with its default weights."""
    return {"kind": HeuristicCompatibility.kind, "weights": dict(DEFAULT_WEIGHTS)}


def load_compatibility(spec: Mapping[str, Any] | None, *, taxonomy: Taxonomy, directory: Path) -> Compatibility:
    """The compatibility model an artifact's manifest names (None: the heuristic)."""
    if spec is None:
        spec = {"kind": HeuristicCompatibility.kind}
    if not isinstance(spec, Mapping):
        raise ArtifactError(f"artifact manifest: {MANIFEST_KEY!r} must be an object")
    kind = spec.get("kind")
    if kind not in KINDS:
        raise ArtifactError(f"artifact uses unknown compatibility kind {kind!r} (known: {', '.join(sorted(KINDS))})")
    return KINDS[kind].from_spec(spec, taxonomy=taxonomy, directory=Path(directory))
