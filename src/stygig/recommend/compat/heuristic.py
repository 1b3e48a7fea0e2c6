"""The default compatibility: a fixed blend of four parts.

    total = w_similarity * similarity + w_color * colour harmony
            + w_category * category compatibility + w_gender * gender compatibility

* similarity: the cosine of the two vectors, clipped to [0, 1];
* colour harmony: :func:`stygig.features.colour.harmony.harmony_batch` of the two pieces' dominant colours
  (symmetric), with the relation of the pair (neutral, monochrome, analogous...);
* category: the taxonomy's compatibility of the candidate's category with the context piece's
  (:meth:`stygig.taxonomy.Taxonomy.compatibility`: directional, 0 = never worn together);
* gender: :func:`stygig.taxonomy.gender_score` with the context piece's gender as the reference.

The weights default to :data:`DEFAULT_WEIGHTS` (they sum to 1 so that a total is in [0, 1]); the
artifact's manifest may carry others (``"compatibility": {"kind": "heuristic", "weights": {...}}``)
and ``STYGIG_WEIGHTS="similarity=…,color=…,category=…,gender=…"`` overrides both at load
(normalised to sum 1).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, ClassVar, Mapping

import numpy as np

from stygig import settings
from stygig.errors import ArtifactError
from stygig.features.colour.harmony import harmony_matrix, harmony_pairs
from stygig.recommend.compat.base import PairScores, Pieces
from stygig.taxonomy import GENDERS, Taxonomy, gender_score

#: default score weights; they sum to 1 so that ``score`` is in [0, 1]
DEFAULT_WEIGHTS = {"similarity": 0.40, "color": 0.30, "category": 0.20, "gender": 0.10}
WEIGHTS_ENV = settings.WEIGHTS.name


class HeuristicCompatibility:
    kind: ClassVar[str] = "heuristic"
    parts: tuple[str, ...] = tuple(DEFAULT_WEIGHTS)
    needs_vectors = False  # its only use of vectors is their cosine, which the search gives

    def __init__(self, taxonomy: Taxonomy, weights: Mapping[str, float] | None = None):
        self.weights = dict(DEFAULT_WEIGHTS if weights is None else weights)
        if set(self.weights) != set(DEFAULT_WEIGHTS):
            raise ValueError(f"heuristic weights must be exactly {', '.join(DEFAULT_WEIGHTS)}")
        self._w = tuple(self.weights[k] for k in self.parts)  # fixed at construction
        cats = list(taxonomy.categories)
        #: (C, C): category compatibility of the column's category with the row's
        self._category = np.array([[taxonomy.compatibility(q, c) for c in cats] for q in cats], dtype=np.float64)
        #: (G + 1, G + 1): gender score of the column's gender with the row's as reference; the
        #: last row and column are "unknown" (code -1 indexes them)
        genders = [*GENDERS, None]
        self._gender = np.array([[gender_score(r, g) for g in genders] for r in genders], dtype=np.float64)

    @property
    def category_table(self) -> np.ndarray:
        """(C, C): the taxonomy's compatibility of the column's category with the row's."""
        return self._category

    @classmethod
    def from_spec(
        cls, spec: Mapping[str, Any], *, taxonomy: Taxonomy, directory: Path | None = None
    ) -> "HeuristicCompatibility":
        """The manifest's weights (or the defaults), then ``STYGIG_WEIGHTS`` over them."""
        weights = _manifest_weights(spec.get("weights"))
        return cls(taxonomy, weights_from_env(weights))

    def describe(self) -> dict[str, Any]:
        return {"kind": self.kind, "weights": dict(self.weights)}

    def pairwise(self, a: Pieces, b: Pieces, *, similarity: np.ndarray | None = None) -> PairScores:
        na, nb = len(a), len(b)
        if similarity is None:
            if a.vectors is None or b.vectors is None:
                raise ValueError("pairwise needs both sides' vectors or their similarity")
            similarity = a.vectors @ b.vectors.T
        if similarity.shape != (na, nb):
            raise ValueError(f"similarity must be ({na}, {nb}), got {similarity.shape}")
        ws, wc, wk, wg = self._w
        sim01 = np.clip(similarity, 0.0, 1.0)
        # every pair at once; each row is what the ranked list has computed since the first release
        colour, relation = harmony_matrix(a.colours[:, :, :3], a.colours[:, :, 3], b.colours[:, :, :3], b.colours[:, :, 3])
        category = self._category[np.asarray(a.categories)][:, np.asarray(b.categories)]
        gender = self._gender[np.asarray(a.genders)][:, np.asarray(b.genders)]
        total = ws * sim01 + wc * colour + wk * category + wg * gender
        parts = {"similarity": sim01, "color": colour, "category": category, "gender": gender}
        return PairScores(total, parts, relation)

    def within(self, p: Pieces, need: np.ndarray) -> np.ndarray:
        """:meth:`pairwise` (p, p)'s totals where ``need``; colour harmony is symmetric, so each
        unordered pair's colours are scored once (0 where not needed)."""
        n = len(p)
        if p.vectors is None:
            raise ValueError("within needs the pieces' vectors")
        need = np.asarray(need, dtype=bool)
        if need.shape != (n, n):
            raise ValueError(f"need must be ({n}, {n}), got {need.shape}")
        need = need & ~np.eye(n, dtype=bool)
        ws, wc, wk, wg = self._w
        i, j = np.nonzero(np.triu(need | need.T, 1))
        colour = np.zeros((n, n))
        if len(i):
            c = p.colours
            h, _ = harmony_pairs(c[i, :, :3], c[i, :, 3], c[j, :, :3], c[j, :, 3])
            colour[i, j] = h
            colour[j, i] = h
        sim01 = np.clip(p.vectors @ p.vectors.T, 0.0, 1.0)
        cats, gens = np.asarray(p.categories), np.asarray(p.genders)
        total = ws * sim01 + wc * colour + wk * self._category[cats][:, cats] + wg * self._gender[gens][:, gens]
        return np.where(need, total, 0.0)


def _manifest_weights(raw: Any) -> dict[str, float]:
    """Weights recorded in a manifest: all four, finite, non-negative, summing to 1."""
    if raw is None:
        return dict(DEFAULT_WEIGHTS)
    if not isinstance(raw, dict) or set(raw) != set(DEFAULT_WEIGHTS):
        raise ArtifactError(f"artifact manifest: compatibility weights must name exactly {', '.join(DEFAULT_WEIGHTS)}")
    out = {}
    for k in DEFAULT_WEIGHTS:
        v = raw[k]
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v < 0:
            raise ArtifactError(f"artifact manifest: compatibility weight {k} must be a non-negative number")
        out[k] = float(v)
    if abs(sum(out.values()) - 1.0) > 1e-6:
        raise ArtifactError("artifact manifest: compatibility weights must sum to 1")
    return out


def weights_from_env(base: Mapping[str, float] | None = None) -> dict[str, float]:
    """``STYGIG_WEIGHTS="similarity=0.4,color=0.3,category=0.2,gender=0.1"`` over ``base`` (the
    defaults unless given), normalised to sum 1; ``base`` unchanged when the variable is unset."""
    spec = settings.WEIGHTS.read()
    w = dict(DEFAULT_WEIGHTS if base is None else base)
    if not spec:
        return w
    for part in spec.split(","):
        k, _, v = part.partition("=")
        k = k.strip()
        if k not in w:
            raise ArtifactError(f"{WEIGHTS_ENV}: unknown weight {k!r} (known: {', '.join(w)})")
        try:
            w[k] = float(v)
        except ValueError:
            raise ArtifactError(f"{WEIGHTS_ENV}: {k} must be a number") from None
    total = sum(w.values())
    if total <= 0:
        raise ArtifactError(f"{WEIGHTS_ENV} must not all be zero")
    return {k: v / total for k, v in w.items()}
