"""Reading an artifact's parts: its checked manifest, taxonomy, item rows, vectors and colours.

The arrays are memory-mapped and rows parsed when asked for, so opening even a million-item
artifact costs milliseconds. (The engine adds the indexes and the encoder; see
:class:`stygig.recommend.engine.Recommender`.)
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from stygig.artifact.items import ItemStore
from stygig.artifact.verify import verify_artifact
from stygig.taxonomy import Taxonomy


@dataclass
class ArtifactReader:
    root: Path
    manifest: dict[str, Any]

    @classmethod
    def open(cls, root: str | Path, *, checksums: bool = True) -> "ArtifactReader":
        root = Path(root)
        return cls(root, verify_artifact(root, checksums=checksums))

    @cached_property
    def taxonomy_text(self) -> str:
        return (self.root / "taxonomy.json").read_text(encoding="utf-8")

    @cached_property
    def taxonomy(self) -> Taxonomy:
        return Taxonomy.from_dict(json.loads(self.taxonomy_text))

    @cached_property
    def items(self) -> ItemStore:
        return ItemStore(self.root / "items", list(self.taxonomy.categories))

    @cached_property
    def vectors(self) -> np.ndarray:
        return np.load(self.root / "vectors.npy", mmap_mode="r")

    @cached_property
    def colours(self) -> np.ndarray:
        return np.load(self.root / "colors.npy", mmap_mode="r")

    @cached_property
    def report(self) -> dict[str, Any]:
        return json.loads((self.root / "build_report.json").read_text(encoding="utf-8"))

    def category_text(self) -> np.ndarray | None:
        rel = self.manifest.get("category_text")
        return np.load(self.root / rel, allow_pickle=False) if rel else None
