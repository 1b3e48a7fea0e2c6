"""The encoder interface.

An encoder turns pictures (and, when it has a text tower, text) into L2-normalised float32
vectors. The artifact records which encoder built it (``manifest.json`` -> ``encoder`` ->
``kind``) and stores the encoder's own files under ``encoder/``; queries are always embedded with
that same encoder. Implementations are found by their kind name through
:mod:`stygig.features.encoders.registry`; this module knows none of them.
"""

from __future__ import annotations

import abc
from pathlib import Path
from typing import Any, Sequence

import numpy as np
from PIL import Image

from stygig.errors import UnsupportedQuery


class Encoder(abc.ABC):
    #: registry key written to the manifest
    kind: str = ""
    #: embedding dimension
    dim: int = 0
    #: whether :meth:`encode_texts` works
    supports_text: bool = False
    #: preferred batch size for builds
    batch_size: int = 32
    #: whether :meth:`encode_images` spends its time outside the GIL (a native runtime), so that
    #: other work can run beside it (:func:`stygig.features.photo.photo_features`)
    releases_gil: bool = False

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


def l2_normalise(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float32)
    norms = np.linalg.norm(x, axis=-1, keepdims=True)
    norms[norms == 0] = 1.0
    return (x / norms).astype(np.float32)
