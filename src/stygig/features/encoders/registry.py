"""Encoder kinds by name, as open_clip names models: ``kind`` -> implementation.

An artifact's manifest names its encoder's kind (``manifest.json`` -> ``encoder`` -> ``kind``);
:func:`load_encoder` finds the implementation by that name. The built-in kinds are listed below as
``"module:Class"`` strings and imported only when asked for, so this module imports none of them
(and they import only :mod:`.base`): no cycle. Another runtime or model family registers without
editing anything here, either at run time with :func:`register` or, from another installed
package, with an entry point in the ``stygig.encoders`` group::

    [project.entry-points."stygig.encoders"]
    my-kind = "my_package.my_module:MyEncoder"

Entry points are read only for a kind that is neither built in nor registered, so start-up does
not pay for scanning installed packages.
"""

from __future__ import annotations

import importlib
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

from stygig.artifact.manifest import read_manifest
from stygig.errors import ArtifactError, StygigError
from stygig.features.encoders.base import Encoder

ENTRY_POINT_GROUP = "stygig.encoders"
#: the kind a build gets when it names no encoder
DEFAULT_KIND = "lite"
#: the kind that runs a ``stygig export-clip`` directory unless a build asks for another
DEFAULT_EXPORT_KIND = "clip-onnx"

_BUILTIN: dict[str, str] = {
    "lite": "stygig.features.encoders.lite:LiteEncoder",
    "precomputed": "stygig.features.encoders.precomputed:PrecomputedEncoder",
    "clip-onnx": "stygig.features.encoders.clip_onnx:ClipOnnxEncoder",
}
_registered: dict[str, type[Encoder] | str] = {}


def register(kind: str, implementation: type[Encoder] | str) -> None:
    """Make ``kind`` mean ``implementation`` (an :class:`Encoder` subclass, or ``"module:Class"``
    imported on first use). Registering a built-in kind's name replaces it."""
    if not kind or not isinstance(kind, str):
        raise ValueError(f"an encoder kind is a non-empty string, not {kind!r}")
    if not isinstance(implementation, str) and not (
        isinstance(implementation, type) and issubclass(implementation, Encoder)
    ):
        raise TypeError(f"{implementation!r} is neither an Encoder subclass nor a 'module:Class' string")
    _registered[kind] = implementation


def kinds() -> list[str]:
    """Every kind known without importing an implementation: built in or registered."""
    return sorted({*_BUILTIN, *_registered})


def _entry_point(kind: str) -> str | None:
    from importlib.metadata import entry_points

    for ep in entry_points(group=ENTRY_POINT_GROUP):
        if ep.name == kind:
            return ep.value
    return None


def _import(path: str, kind: str) -> type[Encoder]:
    module, _, name = path.partition(":")
    cls = getattr(importlib.import_module(module), name, None)
    if not (isinstance(cls, type) and issubclass(cls, Encoder)):
        raise StygigError(f"encoder kind {kind!r} names {path}, which is not an Encoder class")
    return cls


def get(kind: str, *, error: type[StygigError] = StygigError) -> type[Encoder]:
    """The implementation of ``kind``; ``error`` (one line naming the known kinds) if none."""
    impl = _registered.get(kind) or _BUILTIN.get(kind)
    if impl is None and isinstance(kind, str) and kind:
        impl = _entry_point(kind)
    if impl is None:
        raise error(f"unknown encoder kind {kind!r} (known: {', '.join(kinds())})")
    if isinstance(impl, str):
        impl = _import(impl, kind)
        if kind in _registered:
            _registered[kind] = impl
    return impl


def load_encoder(directory: Path, config: dict[str, Any]) -> Encoder:
    """Load the encoder an artifact recorded (its ``encoder`` config and ``encoder/`` directory)."""
    cls = get(config.get("kind"), error=ArtifactError)
    return cls.load(Path(directory), config)


def open_in_background(artifact_dir: str | Path) -> "Future[Encoder]":
    """Start loading the encoder of the artifact at ``artifact_dir`` in a thread of its own, and
    return at once: :meth:`stygig.recommend.engine.Recommender.load` takes the future
    (``encoder=``). A caller that has the engine still to import (``stygig recommend``) starts the
    ONNX session this way first, and it opens (without the GIL) while the imports run. The
    artifact's checksums are not checked here: the load checks them and reports a mismatch before
    anything the encoder says. An unreadable manifest is the future's error."""
    root = Path(artifact_dir)
    pool = ThreadPoolExecutor(1, thread_name_prefix="stygig-encoder")
    try:
        return pool.submit(lambda: load_encoder(root / "encoder", read_manifest(root)["encoder"]))
    finally:
        pool.shutdown(wait=False)


def resolve_encoder(spec: str | None, *, precision: str | None = None, kind: str | None = None) -> Encoder:
    """The encoder a build asked for: ``lite`` (the default), or the path of a ``stygig
    export-clip`` directory run by ``kind`` (default :data:`DEFAULT_EXPORT_KIND`)."""
    if spec in (None, "", DEFAULT_KIND):
        return get(DEFAULT_KIND)()
    path = Path(spec)
    if not path.is_dir():
        raise StygigError(f"--encoder must be 'lite' or a directory made by 'stygig export-clip': {spec}")
    cls = get(kind or DEFAULT_EXPORT_KIND)
    from_export = getattr(cls, "from_export", None)
    if from_export is None:
        raise StygigError(f"encoder kind {cls.kind!r} does not run an export directory")
    return from_export(path, precision=precision)
