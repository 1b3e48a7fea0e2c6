"""Compatibility kinds by name, as the artifact's manifest names them.

``manifest.json`` carries ``"compatibility": {"kind": "heuristic", "weights": {...}}`` (written
by the build from :func:`default_spec`), or ``{"kind": "learned", ...}`` once ``stygig learn``
has trained a model on looks (:mod:`.learned`); an artifact without the key was built before
there was a choice and loads as the heuristic with the default weights (the key is optional, so
the format version is unchanged). An implementation registers its class under its ``kind`` here;
the class's ``from_spec(spec, taxonomy=..., directory=...)`` rebuilds it from the entry and the
files it keeps in the artifact (``directory``: the artifact's root).

Which one is used: the one the manifest names, unless a *choice* says otherwise — the
``--compatibility heuristic|learned`` flag of ``recommend``, ``eval`` and ``serve``, or else the
environment variable :data:`CHOICE_ENV` (``STYGIG_COMPATIBILITY``, what a server's workers read).
Choosing ``heuristic`` on a learned artifact gives the heuristic with the weights the learned
model shows its parts with; choosing ``learned`` on an artifact that carries none is an error.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

from stygig import settings
from stygig.errors import ArtifactError, StygigError
from stygig.recommend.compat.base import Compatibility
from stygig.recommend.compat.heuristic import DEFAULT_WEIGHTS, HeuristicCompatibility
from stygig.recommend.compat.learned import LearnedCompatibility
from stygig.taxonomy import Taxonomy

KINDS: dict[str, type] = {
    HeuristicCompatibility.kind: HeuristicCompatibility,
    LearnedCompatibility.kind: LearnedCompatibility,
}
#: the manifest key
MANIFEST_KEY = "compatibility"
#: the environment's choice of kind (named in stygig.settings)
CHOICE_ENV = settings.COMPATIBILITY.name


def default_spec() -> dict[str, Any]:
    """What a build records: the heuristic with its default weights."""
    return {"kind": HeuristicCompatibility.kind, "weights": dict(DEFAULT_WEIGHTS)}


def chosen_kind(choice: str | None = None) -> str | None:
    """The kind asked for: ``choice`` (a CLI flag), else :data:`CHOICE_ENV`, else None (the manifest's)."""
    if choice is None:
        choice = settings.COMPATIBILITY.read()
        source = CHOICE_ENV
    else:
        source = "--compatibility"
    if choice is not None and choice not in KINDS:
        raise StygigError(f"{source} must be one of {', '.join(sorted(KINDS))}, got {choice!r}")
    return choice


def load_compatibility(
    spec: Mapping[str, Any] | None, *, taxonomy: Taxonomy, directory: Path, choice: str | None = None
) -> Compatibility:
    """The compatibility model an artifact's manifest names (None: the heuristic), or the kind
    :func:`chosen_kind` picks (``choice`` or the environment)."""
    if spec is None:
        spec = {"kind": HeuristicCompatibility.kind}
    if not isinstance(spec, Mapping):
        raise ArtifactError(f"artifact manifest: {MANIFEST_KEY!r} must be an object")
    kind = spec.get("kind")
    if kind not in KINDS:
        raise ArtifactError(f"artifact uses unknown compatibility kind {kind!r} (known: {', '.join(sorted(KINDS))})")
    want = chosen_kind(choice)
    if want is not None and want != kind:
        if want == LearnedCompatibility.kind:
            raise StygigError(f"artifact {directory} carries no learned compatibility model (its kind is {kind!r}); "
                              "train one with: stygig learn ART --looks FILE -o OUT")
        # the heuristic a learned model shows its parts with
        spec = {"kind": HeuristicCompatibility.kind, "weights": spec.get("heuristic_weights")}
        kind = want
    return KINDS[kind].from_spec(spec, taxonomy=taxonomy, directory=Path(directory))
