"""The ``precomputed`` encoder: an artifact built from embeddings computed elsewhere.

A shop may already have embeddings for its catalog (or a benchmark synthesises them). Such an
artifact answers item-id queries; it cannot embed a new picture or text, and says so.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import numpy as np
from PIL import Image

from stygig.errors import UnsupportedQuery
from stygig.features.encoders.base import Encoder


class PrecomputedEncoder(Encoder):
    kind = "precomputed"
    supports_text = False

    def __init__(self, dim: int, source: str = "external"):
        self.dim = int(dim)
        self.source = source

    def encode_images(self, images: Sequence[Image.Image]) -> np.ndarray:
        raise UnsupportedQuery(
            f"this artifact was built from precomputed vectors ({self.source}); query it by item_id"
        )

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "source": self.source}

    def save(self, directory: Path) -> dict[str, Any]:
        Path(directory).mkdir(parents=True, exist_ok=True)
        return {"kind": self.kind, "dim": self.dim, "source": self.source}

    @classmethod
    def load(cls, directory: Path, config: dict[str, Any]) -> "PrecomputedEncoder":
        return cls(int(config["dim"]), str(config.get("source", "external")))
