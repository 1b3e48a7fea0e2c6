"""A compatibility model learned from a shop's looks: type-aware embeddings (served with numpy).

After Vasileva et al., *Learning Type-Aware Embeddings for Fashion Compatibility* (ECCV 2018):
every garment is embedded once, by a small network over what the artifact already holds for it
— its image vector, its dominant colours, its category and gender — into a ``dim``-dimensional unit vector ``e``; the
compatibility of two garments is a masked inner product in a subspace chosen by the pair of
their *groups* (tops with bottoms, bottoms with footwear, ...)::

    features(x)  = [vector, colour features, category, gender]           (features)
    e(x)         = normalise(W2 · relu(W1 · (features(x) - mean) / std + b1) + b2)
    s(x, y)      = sum_k  mask[group(x), group(y), k] · e(x)_k · e(y)_k         in [-1, 1]
    learned      = sigmoid(scale · s + bias)
    total        = learned, or 0 where the taxonomy never puts the two categories together

The masks (in [0, 1], symmetric in the pair of groups) let one embedding hold several notions of
"goes with" at once (a shoe's colour may matter to a bag and not to a coat). Training (``stygig
learn``, :mod:`stygig.learn`) fits the network, the masks, ``scale`` and ``bias`` on the looks;
the artifact keeps the weights as ``.npy`` files under ``compat/`` plus the embedding of every
catalog item (``compat/table.npy``, one row per artifact row), so a request only gathers rows and
takes one masked product per candidate; a piece from outside the catalog (a photo) is embedded
on the fly. The heuristic's parts (similarity, colour harmony, category, gender) are still
computed and shown, and its colour relation still explains the pair; only the total is learned.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar, Mapping

import numpy as np

from stygig.errors import ArtifactError
from stygig.recommend.compat.base import PairScores, Pieces
from stygig.recommend.compat.heuristic import HeuristicCompatibility, _manifest_weights, weights_from_env
from stygig.taxonomy import GENDERS, Taxonomy

#: the arrays a learned model keeps under ``compat/``
WEIGHT_FILES = ("mean", "std", "w1", "b1", "w2", "b2", "masks")
TABLE_FILE = "table"
DIRECTORY = "compat"


def colour_features(colours: np.ndarray) -> np.ndarray:
    """(n, k, 4) dominant colours (L, a, b, weight) -> (n, 5k): L, a, b and chroma scaled by 100,
    and the weight, per colour."""
    c = np.asarray(colours, dtype=np.float32)
    lab = c[:, :, :3] / 100.0
    chroma = np.hypot(c[:, :, 1], c[:, :, 2])[:, :, None] / 100.0
    return np.concatenate([lab, chroma, c[:, :, 3:4]], axis=2).reshape(len(c), -1)


def features(vectors: np.ndarray, colours: np.ndarray, categories: np.ndarray, genders: np.ndarray,
             n_categories: int) -> np.ndarray:
    """The network's input for pieces: their vectors, colour features, category (one-hot) and
    gender (one-hot over :data:`~stygig.taxonomy.GENDERS` and unknown) side by side."""
    n = len(vectors)
    cat = np.zeros((n, n_categories), dtype=np.float32)
    cat[np.arange(n), np.asarray(categories, dtype=np.int64)] = 1.0
    gen = np.zeros((n, len(GENDERS) + 1), dtype=np.float32)
    gen[np.arange(n), np.asarray(genders, dtype=np.int64)] = 1.0  # -1 (unknown) is the last column
    return np.concatenate([np.asarray(vectors, dtype=np.float32), colour_features(colours), cat, gen], axis=1)


class LearnedCompatibility:
    kind: ClassVar[str] = "learned"
    parts: tuple[str, ...] = ("learned", *HeuristicCompatibility.parts)
    needs_vectors = False  # catalog pieces are looked up in the table; only outside pieces need theirs

    def __init__(self, taxonomy: Taxonomy, weights: Mapping[str, np.ndarray], table: np.ndarray, *,
                 scale: float, bias: float, groups: list[str], heuristic: HeuristicCompatibility,
                 spec: Mapping[str, Any] | None = None):
        self.taxonomy = taxonomy
        self.heuristic = heuristic
        self.w = {k: np.asarray(weights[k], dtype=np.float32) for k in WEIGHT_FILES}
        self.table = table
        self.scale, self.bias = float(scale), float(bias)
        self.groups = list(groups)
        #: group code of every category code
        self._cat_group = np.array([self.groups.index(taxonomy.group_of(c)) for c in taxonomy.categories], dtype=np.int64)
        self._spec = dict(spec or {})
        d = self.w["w2"].shape[1]
        if self.w["masks"].shape != (len(self.groups), len(self.groups), d) or table.ndim != 2 or table.shape[1] != d:
            raise ArtifactError("artifact learned compatibility model: its arrays disagree in shape")

    @property
    def weights(self) -> dict[str, float]:
        """The heuristic's weights (its parts are shown beside the learned total)."""
        return dict(self.heuristic.weights)

    # ---- artifact ------------------------------------------------------------------------------
    @classmethod
    def from_spec(cls, spec: Mapping[str, Any], *, taxonomy: Taxonomy, directory: Path) -> "LearnedCompatibility":
        directory = Path(directory)
        files = spec.get("files")
        if not isinstance(files, dict) or set(files) != {*WEIGHT_FILES, TABLE_FILE}:
            raise ArtifactError("artifact manifest: the learned compatibility model must list its files "
                                f"({', '.join((*WEIGHT_FILES, TABLE_FILE))})")
        arrays = {}
        for key, rel in files.items():
            try:
                arrays[key] = np.load(directory / rel, mmap_mode="r" if key == TABLE_FILE else None, allow_pickle=False)
            except (OSError, ValueError) as e:
                raise ArtifactError(f"artifact learned compatibility file {rel} is unreadable: {e}") from None
        groups = spec.get("groups")
        if not isinstance(groups, list) or set(groups) != {taxonomy.group_of(c) for c in taxonomy.categories}:
            raise ArtifactError("artifact manifest: the learned compatibility model's groups are not its taxonomy's")
        try:
            n_items = np.load(directory / "vectors.npy", mmap_mode="r", allow_pickle=False).shape[0]
        except (OSError, ValueError):
            n_items = None
        if n_items is not None and arrays[TABLE_FILE].shape[0] != n_items:
            raise ArtifactError(f"artifact learned compatibility table has {arrays[TABLE_FILE].shape[0]} rows "
                                f"for {n_items} items: it was learned for another catalog")
        heuristic = HeuristicCompatibility(taxonomy, weights_from_env(_manifest_weights(spec.get("heuristic_weights"))))
        return cls(taxonomy, arrays, arrays[TABLE_FILE], scale=float(spec["scale"]), bias=float(spec["bias"]),
                   groups=groups, heuristic=heuristic, spec=spec)

    def describe(self) -> dict[str, Any]:
        return {**self._spec, "kind": self.kind}

    # ---- scoring -------------------------------------------------------------------------------
    def embed_features(self, x: np.ndarray) -> np.ndarray:
        """Unit embeddings of feature rows (see :func:`features`)."""
        w = self.w
        h = np.maximum((x - w["mean"]) / w["std"] @ w["w1"] + w["b1"], 0.0)
        e = h @ w["w2"] + w["b2"]
        return e / np.maximum(np.linalg.norm(e, axis=1, keepdims=True), 1e-12)

    def embed(self, p: Pieces) -> np.ndarray:
        """The pieces' embeddings: the table's row for catalog pieces, computed for the others."""
        rows = np.asarray(p.rows)
        inside = rows >= 0
        if inside.all():
            return np.asarray(self.table[rows], dtype=np.float32)
        if p.vectors is None:
            raise ValueError("the learned model needs the vectors of pieces from outside the catalog")
        out = np.empty((len(rows), self.table.shape[1]), dtype=np.float32)
        if inside.any():
            out[inside] = self.table[rows[inside]]
        out_ = ~inside
        out[out_] = self.embed_features(features(p.vectors[out_], p.colours[out_], p.categories[out_], p.genders[out_],
                                                 len(self.taxonomy.categories)))
        return out

    def raw(self, a: Pieces, b: Pieces) -> np.ndarray:
        """(na, nb) masked inner products ``s``."""
        ea, eb = self.embed(a), self.embed(b)
        ga, gb = self._cat_group[np.asarray(a.categories)], self._cat_group[np.asarray(b.categories)]
        masks = self.w["masks"]
        out = np.empty((len(a), len(b)), dtype=np.float64)
        for i in range(len(a)):
            out[i] = np.einsum("jk,jk->j", masks[ga[i]][gb] * ea[i], eb)
        return out

    def within(self, p: Pieces, need: np.ndarray) -> np.ndarray:
        """:meth:`pairwise` (p, p)'s totals where ``need`` (0 elsewhere): the learned score, 0
        where the taxonomy never puts the two together; no heuristic parts are needed."""
        need = np.asarray(need, dtype=bool) & ~np.eye(len(p), dtype=bool)
        learned = 1.0 / (1.0 + np.exp(-(self.scale * self.raw(p, p) + self.bias)))
        cats = np.asarray(p.categories)
        return np.where(need & (self.heuristic.category_table[cats][:, cats] > 0), learned, 0.0)

    def pairwise(self, a: Pieces, b: Pieces, *, similarity: np.ndarray | None = None) -> PairScores:
        h = self.heuristic.pairwise(a, b, similarity=similarity)
        learned = 1.0 / (1.0 + np.exp(-(self.scale * self.raw(a, b) + self.bias)))
        total = np.where(h.parts["category"] > 0, learned, 0.0)
        return PairScores(total, {"learned": learned, **h.parts}, h.relation)
