"""The compatibility interface: how well pieces go together, and why.

Every scorer of compatibility — the ranked list, the outfit composer, evaluation (fill in the
blank, compatibility AUC) and a learned model at serve time — meets here:

* :class:`Pieces`: garments as columns (vectors, dominant colours, category and gender codes,
  catalog rows); query pieces from outside the catalog have row -1;
* :class:`Compatibility`: ``pairwise(a, b)`` scores every piece of ``b`` against every piece of
  ``a`` (``a`` is the context, ``b`` the candidates: scores may be directional), as a total in
  [0, 1] and its named parts;
* :func:`pairs_within`: the pieces of one set against each other, only where asked (what the
  outfit composer needs of its short list; a model may have a faster ``within`` for it);
* :func:`against_context` (a candidate's score with a whole context: the mean over its pieces) and
  :func:`coherence` (an outfit's mean pairwise score) are derived from ``pairwise`` alone, so they
  are the same for every implementation.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Mapping, Protocol, Sequence, runtime_checkable

import numpy as np

from stygig.taxonomy import Taxonomy


@dataclass(frozen=True)
class Pieces:
    """``n`` garments as columns.

    * ``colours`` (n, k, 4) float32: dominant colours as L, a, b, weight (weight 0 = padding);
    * ``categories`` (n,) int: codes into the taxonomy's categories (a query piece's code is the
      category it was resolved to: hint, own category or vote);
    * ``genders`` (n,) int: codes into :data:`stygig.taxonomy.GENDERS`, -1 unknown;
    * ``rows`` (n,) int64: rows in the artifact, -1 for a piece from outside the catalog;
    * ``vectors`` (n, d) float32, L2-normalised, or None when the caller did not gather them (a
      catalog candidate whose similarity the search already gave: see
      :attr:`Compatibility.needs_vectors`).
    """

    colours: np.ndarray
    categories: np.ndarray
    genders: np.ndarray
    rows: np.ndarray
    vectors: np.ndarray | None = None

    def __post_init__(self) -> None:
        n = len(self.rows)
        if self.colours.ndim != 3 or self.colours.shape[0] != n or self.colours.shape[2] != 4:
            raise ValueError(f"Pieces: colours must be (n, k, 4) for n={n}, got {self.colours.shape}")
        if len(self.categories) != n or len(self.genders) != n:
            raise ValueError(f"Pieces: categories and genders must have {n} entries")
        if self.vectors is not None and (self.vectors.ndim != 2 or self.vectors.shape[0] != n):
            raise ValueError(f"Pieces: vectors must be (n, d) for n={n}, got {self.vectors.shape}")

    def __len__(self) -> int:
        return len(self.rows)

    @classmethod
    def from_rows(
        cls,
        rows: Sequence[int] | np.ndarray,
        *,
        colours: np.ndarray,
        category_codes: np.ndarray,
        gender_codes: np.ndarray,
        vectors: np.ndarray | None = None,
    ) -> "Pieces":
        """Catalog items by row, from the artifact's columns (``vectors`` None: not gathered)."""
        r = np.asarray(rows, dtype=np.int64)
        return cls(
            colours=np.asarray(colours[r], dtype=np.float32),
            categories=np.asarray(category_codes[r], dtype=np.int64),
            genders=np.asarray(gender_codes[r], dtype=np.int64),
            rows=r,
            vectors=None if vectors is None else np.asarray(vectors[r], dtype=np.float32),
        )

    def take(self, index: Sequence[int] | np.ndarray) -> "Pieces":
        i = np.asarray(index, dtype=np.int64)
        return Pieces(self.colours[i], self.categories[i], self.genders[i], self.rows[i],
                      None if self.vectors is None else self.vectors[i])

    @classmethod
    def concat(cls, parts: Sequence["Pieces"]) -> "Pieces":
        vecs = [p.vectors for p in parts]
        return cls(
            colours=np.concatenate([p.colours for p in parts]),
            categories=np.concatenate([p.categories for p in parts]),
            genders=np.concatenate([p.genders for p in parts]),
            rows=np.concatenate([p.rows for p in parts]),
            vectors=None if any(v is None for v in vecs) else np.concatenate(vecs),  # type: ignore[arg-type]
        )


@dataclass(slots=True)
class PairScores:
    """Scores of every ``b`` piece against every ``a`` piece.

    * ``total`` (na, nb) float64 in [0, 1];
    * ``parts``: part name -> (na, nb), each in [0, 1] (the heuristic's: ``similarity``,
      ``color``, ``category``, ``gender``; a response shows each as ``<name>_score``);
    * ``relation`` (na, nb) int64 codes into :data:`stygig.features.colour.harmony.RELATIONS` (the colour
      relation of the pair, for explanations), or None when the implementation has none.
    """

    total: np.ndarray
    parts: Mapping[str, np.ndarray]
    relation: np.ndarray | None = None


@dataclass(slots=True)
class ContextScores:
    """Each candidate's score with a whole context (``total`` and ``parts`` (nb,): the mean over
    the context's pieces), and the per-piece detail they came from (``pairs``, (n_context, nb))."""

    total: np.ndarray
    parts: Mapping[str, np.ndarray]
    pairs: PairScores


@runtime_checkable
class Compatibility(Protocol):
    """A compatibility model. Implementations are registered by :attr:`kind`
    (:mod:`stygig.recommend.compat.registry`) and named in the artifact's manifest."""

    #: the registry key, written to the manifest (``"compatibility": {"kind": ...}``)
    kind: ClassVar[str]
    #: names of the parts :meth:`pairwise` returns, in the order responses show them
    parts: tuple[str, ...]
    #: whether :meth:`pairwise` reads ``b.vectors`` even when ``similarity`` is given (if not,
    #: the engine does not gather candidate vectors from the memory-mapped matrix)
    needs_vectors: bool

    # optional: ``within(p, need) -> (n, n)`` — a faster :func:`pairs_within` for the model

    @classmethod
    def from_spec(cls, spec: Mapping[str, Any], *, taxonomy: Taxonomy, directory: Path) -> "Compatibility":
        """Rebuild from the manifest entry and the artifact's files under ``directory``."""
        ...

    def pairwise(self, a: Pieces, b: Pieces, *, similarity: np.ndarray | None = None) -> PairScores:
        """Score each piece of ``b`` against each piece of ``a``. ``similarity`` (na, nb) float32,
        when given, is the cosine of the pieces' vectors as the index computed it."""
        ...

    def describe(self) -> dict[str, Any]:
        """The manifest entry: ``{"kind": ..., ...}`` (what :meth:`from_spec` reads back)."""
        ...


def against_context(
    model: Compatibility, context: Pieces, candidates: Pieces, *, similarity: np.ndarray | None = None
) -> ContextScores:
    """Each candidate's compatibility with the context pieces: the mean over them (with one
    context piece, exactly its pairwise scores)."""
    if len(context) == 0:
        raise ValueError("against_context needs at least one context piece")
    pairs = model.pairwise(context, candidates, similarity=similarity)
    if len(context) == 1:
        return ContextScores(pairs.total[0], {k: v[0] for k, v in pairs.parts.items()}, pairs)
    return ContextScores(pairs.total.mean(axis=0), {k: v.mean(axis=0) for k, v in pairs.parts.items()}, pairs)


def pairs_within(model: Compatibility, p: Pieces, need: np.ndarray) -> np.ndarray:
    """(n, n) totals of every piece of ``p`` against every other, as ``model.pairwise(p, p)``
    gives them, where ``need[i, j]`` (bool, (n, n)) asks for it (the diagonal never: a piece is
    not scored against itself; entries not asked for are 0). ``p`` carries vectors. The
    composer scores its short list with this. A model may offer a faster path as a method
    ``within(p, need)`` (the heuristic scores each unordered pair's colours once, the learned
    kind skips the heuristic's parts); else it is ``pairwise(p, p)``, masked."""
    need = np.asarray(need, dtype=bool) & ~np.eye(len(p), dtype=bool)
    own = getattr(model, "within", None)
    total = own(p, need) if own is not None else model.pairwise(p, p).total
    return np.where(need, total, 0.0)


def coherence(model: Compatibility, outfit: Pieces) -> float:
    """An outfit's coherence: the mean score over its ordered pairs of distinct pieces (both
    directions, so a directional model is averaged). Needs vectors and at least two pieces."""
    n = len(outfit)
    if n < 2:
        raise ValueError("coherence needs at least two pieces")
    if outfit.vectors is None:
        raise ValueError("coherence needs the pieces' vectors")
    return mean_off_diagonal(model.pairwise(outfit, outfit).total)


def mean_off_diagonal(total: np.ndarray) -> float:
    """The mean of a square pairwise matrix over its ordered pairs of distinct pieces: the
    coherence of the pieces it scores (:func:`coherence`), from a matrix already computed."""
    n = total.shape[0]
    if n < 2 or total.shape != (n, n):
        raise ValueError("coherence needs a square matrix of at least two pieces")
    return float(total[~np.eye(n, dtype=bool)].mean())
