"""The encoder interface and its registry.

An encoder turns pictures (and, when it has a text tower, text) into L2-normalised float32
vectors. The artifact records which encoder built it (``manifest.json`` -> ``encoder``) and stores
the encoder's own files under ``encoder/``; queries are always embedded with that same encoder.

Implementations:

* ``lite`` (:mod:`stygig.features.lite`): a deterministic descriptor computed from the picture
  itself (silhouette, colour, texture). No weights; the embedded default.
* ``clip-onnx`` (:mod:`stygig.features.clip_onnx`): CLIP towers exported to ONNX, run by ONNX
  Runtime. No torch.
"""

from __future__ import annotations

import abc
from pathlib import Path
from typing import Any, Sequence

import numpy as np
from PIL import Image

from stygig.errors import ArtifactError, StygigError, UnsupportedQuery


class Encoder(abc.ABC):
    #: registry key written to the manifest
    kind: str = ""
    #: embedding dimension
    dim: int = 0
    #: whether :meth:`encode_texts` works
    supports_text: bool = False
    #: preferred batch size for builds
    batch_size: int = 32

    @abc.abstractmethod
    def encode_images(self, images: Sequence[Image.Image]) -> np.ndarray:
        """RGB pictures -> (n, dim) float32, each row L2-normalised."""

    def encode_texts(self, texts: Sequence[str]) -> np.ndarray:
        """Texts -> (n, dim) float32, each row L2-normalised."""
        raise UnsupportedQuery(
            f"the artifact's encoder ({self.kind}) cannot embed text; build the artifact with a "
            "CLIP encoder (stygig build --encoder DIR) to use text queries"
        )

    @abc.abstractmethod
    def save(self, directory: Path) -> dict[str, Any]:
        """Write the encoder's files into ``directory``; return its JSON config (with ``kind``)."""

    @classmethod
    @abc.abstractmethod
    def load(cls, directory: Path, config: dict[str, Any]) -> "Encoder":
        """Rebuild the encoder from what :meth:`save` wrote."""

    def describe(self) -> dict[str, Any]:
        return {"kind": self.kind, "dim": self.dim, "supports_text": self.supports_text}


def _registry() -> dict[str, type[Encoder]]:
    from stygig.features.lite import LiteEncoder
    from stygig.features.precomputed import PrecomputedEncoder

    reg: dict[str, type[Encoder]] = {LiteEncoder.kind: LiteEncoder, PrecomputedEncoder.kind: PrecomputedEncoder}
    try:
        from stygig.features.clip_onnx import ClipOnnxEncoder
    except ImportError:  # the CLIP encoder module is optional until it exists
        pass
    else:
        reg[ClipOnnxEncoder.kind] = ClipOnnxEncoder
    return reg


def load_encoder(directory: Path, config: dict[str, Any]) -> Encoder:
    """Load the encoder an artifact recorded."""
    kind = config.get("kind")
    reg = _registry()
    if kind not in reg:
        raise ArtifactError(f"artifact uses unknown encoder kind {kind!r} (known: {', '.join(sorted(reg))})")
    return reg[kind].load(Path(directory), config)


def resolve_encoder(spec: str | None, *, precision: str | None = None) -> Encoder:
    """The encoder a build asked for: ``lite`` (default) or the path of an exported CLIP directory."""
    if spec in (None, "", "lite"):
        from stygig.features.lite import LiteEncoder

        return LiteEncoder()
    path = Path(spec)
    if not path.is_dir():
        raise StygigError(f"--encoder must be 'lite' or a directory made by 'stygig export-clip': {spec}")
    try:
        from stygig.features.clip_onnx import ClipOnnxEncoder
    except ImportError as e:  # pragma: no cover
        raise StygigError(f"the CLIP encoder is not available: {e}") from None
    return ClipOnnxEncoder.from_export(path, precision=precision)


def l2_normalise(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float32)
    norms = np.linalg.norm(x, axis=-1, keepdims=True)
    norms[norms == 0] = 1.0
    return (x / norms).astype(np.float32)
