"""The Recommender: loads an artifact and runs the stages for a query.

Pipeline for one query::

    query (image | text | item id)                         query.resolve
      -> embedding (the artifact's encoder; an item's stored vector) and dominant colours
      -> query category and gender                          infer
      -> complementary categories (taxonomy rules)
      -> per category: nearest candidates within that category's index, filtered
         (gender, exclude_ids, the query item and near-duplicates of it)      retrieve
      -> compatibility of each candidate with the query     compat (the artifact's kind)
      -> best ``items_per_category`` per category, ``min_score``, group-first order, ``top_k``
                                                            compose
      -> each piece with its scores and reason              explain

The engine knows nothing of HTTP or AWS. Same input, same output: every sort breaks ties by row.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np

from stygig import __version__
from stygig.artifact import read_manifest, verify_artifact
from stygig.errors import ArtifactError, InvalidInput, UnknownItem
from stygig.features.colour.harmony import RELATIONS
from stygig.features.encoders.base import Encoder
from stygig.features.encoders.registry import load_encoder
from stygig.artifact.index import Indexes
from stygig.artifact.items import ItemStore
from stygig.recommend import compose, explain, infer, retrieve
from stygig.recommend.compat import Compatibility, Pieces, against_context, load_compatibility
from stygig.recommend.compat.registry import MANIFEST_KEY
from stygig.recommend.query import Piece, Query, ResolvedPiece, check_wearable, resolve
from stygig.schema import Options
from stygig.taxonomy import GENDERS, Taxonomy

#: candidates asked of each category's index: at least this many, or 12 per item shown
MIN_POOL = 48
POOL_PER_ITEM = 12


class Recommender:
    def __init__(
        self,
        artifact_dir: Path,
        manifest: dict[str, Any],
        taxonomy: Taxonomy,
        encoder: Encoder,
        vectors: np.ndarray,
        items: ItemStore,
        colours: np.ndarray,
        indexes: Indexes,
        category_text: np.ndarray | None,
        compatibility: Compatibility,
    ):
        self.artifact_dir = artifact_dir
        self.manifest = manifest
        self.taxonomy = taxonomy
        self.encoder = encoder
        self.vectors = vectors
        self.items = items
        self.colours = colours
        self.indexes = indexes
        self.category_text = category_text
        self.compatibility = compatibility
        self.model_version = manifest["model_version"]
        self.n_items = len(items)
        self._cat_names = list(taxonomy.categories)
        self._cat_code = {c: i for i, c in enumerate(self._cat_names)}
        # CLIP's own temperature (recorded at export); 100 is the value CLIP learns
        self._logit_scale = float((manifest.get("encoder", {}).get("export") or {}).get("logit_scale", 100.0))
        self._comp_cache: dict[tuple[str, ...], tuple[list[str], np.ndarray, list[str]]] = {}

    @property
    def weights(self) -> dict[str, float] | None:
        """The compatibility model's weights, when it has any (the heuristic's)."""
        w = getattr(self.compatibility, "weights", None)
        return dict(w) if w is not None else None

    # ---- loading ---------------------------------------------------------------------------
    @classmethod
    def load(
        cls, artifact_dir: str | Path, *, verify: bool = True, compatibility: Compatibility | str | None = None
    ) -> "Recommender":
        """Load an artifact: checks format and checksums; memory-maps vectors and indexes. The
        compatibility model is the one the manifest names unless ``compatibility`` is given: a
        model, or a kind to load from the artifact (``"heuristic"``, ``"learned"``; None: the
        ``STYGIG_COMPATIBILITY`` environment variable's, else the manifest's)."""
        root = Path(artifact_dir)
        manifest = verify_artifact(root) if verify else read_manifest(root)
        taxonomy = Taxonomy.load(root / manifest["taxonomy"]["file"])
        if list(taxonomy.categories) != list(manifest["taxonomy"].get("categories", [])):
            raise ArtifactError("artifact taxonomy.json does not match the categories its manifest records")
        items = ItemStore(root / "items", list(taxonomy.categories))
        try:
            vectors = np.load(root / "vectors.npy", mmap_mode="r", allow_pickle=False)
            colours = np.load(root / "colors.npy", mmap_mode="r", allow_pickle=False)
        except (OSError, ValueError) as e:
            raise ArtifactError(f"artifact {root} is unreadable: {e}") from None
        if vectors.ndim != 2 or vectors.shape[0] != len(items) or colours.shape[0] != len(items):
            raise ArtifactError(
                f"artifact {root} is inconsistent: {len(items)} items, {vectors.shape[0]} vectors, {colours.shape[0]} colour rows"
            )
        encoder = load_encoder(root / "encoder", manifest["encoder"])
        if vectors.shape[1] != encoder.dim:
            raise ArtifactError(f"artifact vectors have dim {vectors.shape[1]} but its encoder has dim {encoder.dim}")
        unknown = sorted(set(manifest.get("index", {}).get("per_category", {})) - set(taxonomy.categories))
        if unknown:
            raise ArtifactError(f"artifact index has categories its taxonomy does not know: {', '.join(unknown)}")
        try:
            indexes = Indexes.load(root / "index", manifest.get("index", {}))
        except RuntimeError as e:
            raise ArtifactError(f"artifact index is unreadable: {str(e).strip().splitlines()[-1]}") from None
        category_text = None
        if manifest.get("category_text"):
            category_text = np.load(root / manifest["category_text"], allow_pickle=False)
        if compatibility is None or isinstance(compatibility, str):
            compatibility = load_compatibility(manifest.get(MANIFEST_KEY), taxonomy=taxonomy, directory=root,
                                               choice=compatibility)
        return cls(root, manifest, taxonomy, encoder, vectors, items, colours, indexes, category_text, compatibility)

    def warm(self) -> "Recommender":
        """Fault in the memory-mapped indexes and columns now rather than during requests."""
        self.indexes.warm()
        np.asarray(self.items.category_codes).sum()
        np.asarray(self.items.gender_codes).sum()
        return self

    # ---- catalog access --------------------------------------------------------------------
    def item(self, item_id: str) -> dict[str, Any]:
        row = self.items.row_of(item_id)
        if row is None:
            raise UnknownItem(f"unknown item_id {str(item_id)[:100]!r}")
        return self.items[row]

    def thumbnail_path(self, item_id: str) -> Path:
        thumb = self.item(item_id).get("thumbnail")
        if not thumb:
            raise UnknownItem(f"item {item_id[:100]!r} has no thumbnail")
        return self.artifact_dir / thumb

    def items_in_category(self, category: str, offset: int = 0, limit: int | None = None) -> list[dict[str, Any]]:
        rows = self.items.rows_in_category(category) if category in self.taxonomy.categories else []
        end = None if limit is None else offset + limit
        return [self.items[int(r)] for r in rows[offset:end]]

    def describe(self) -> dict[str, Any]:
        counts = np.bincount(np.asarray(self.items.category_codes), minlength=len(self._cat_names))
        return {
            "model_version": self.model_version,
            "total_items": self.n_items,
            "encoder": self.encoder.describe(),
            "categories": {c: int(counts[i]) for i, c in enumerate(self._cat_names)},
            "category_display": {c: self.taxonomy.categories[c].display for c in self._cat_names},
            "compatibility": self.compatibility.kind,
            "weights": self.weights,
        }

    # ---- the category vote (also measured on the catalog itself) ---------------------------
    def neighbour_vote(self, qvec: np.ndarray, exclude_row: int | None = None):
        """See :func:`stygig.recommend.infer.neighbour_vote`."""
        return infer.neighbour_vote(self.indexes, self.items.category_codes, self._cat_names, qvec, exclude_row)

    def leave_one_out_accuracy(self) -> tuple[float, dict[str, int]]:
        """See :func:`stygig.recommend.infer.leave_one_out_accuracy`."""
        return infer.leave_one_out_accuracy(self.vectors, self.items, self.indexes, self._cat_names)

    # ---- recommend -------------------------------------------------------------------------
    def recommend(self, query: Query, options: Options | None = None) -> dict[str, Any]:
        t0 = time.perf_counter()
        opts = options or Options()
        if opts.category is not None and opts.category not in self.taxonomy.categories:
            raise InvalidInput(f"category must be one of {', '.join(self.taxonomy.categories)}")
        if opts.category is not None and len(query.pieces) > 1:
            raise InvalidInput("category overrides a one-piece query's category; each piece of several is "
                               "recognised on its own")
        pieces = [self._describe_piece(p, opts) for p in query.pieces]
        check_wearable(query.pieces, [d["category"] for _, d in pieces], self.taxonomy)
        recs = self._complete(pieces, opts)
        elapsed = (time.perf_counter() - t0) * 1000
        described = [d for _, d in pieces]
        head: dict[str, Any] = {"query_item": described[0]} if len(described) == 1 else {}
        if query.is_list:
            head["query_items"] = described
        return {
            **head,
            "recommendations": recs,
            "metadata": {
                "processing_time_ms": round(elapsed, 2),
                "total_items": self.n_items,
                "model_version": self.model_version,
                "encoder": self.encoder.describe(),
                "stygig_version": __version__,
                "compatibility": self.compatibility.kind,
                "weights": self.weights,
            },
        }

    def _describe_piece(self, p: Piece, opts: Options) -> tuple[ResolvedPiece, dict[str, Any]]:
        """A piece resolved (vector, colours, row), and what the response says of it: its category
        and gender (given, its own, or voted) and colours."""
        piece = resolve(p, encoder=self.encoder, items=self.items, vectors=self.vectors, colours=self.colours)
        category, source, confidence, neighbours = infer.query_category(
            piece.vector, hint=opts.category, row=piece.row, is_text=p.text is not None, items=self.items,
            indexes=self.indexes, categories=self._cat_names, category_text=self.category_text,
            logit_scale=self._logit_scale,
        )
        q_gender, q_gender_source = infer.query_gender(piece.row, neighbours, self.items)
        return piece, {
            "item_id": p.item_id,
            "name": self.items[piece.row]["name"] if piece.row is not None else None,
            "category": category,
            "group": self.taxonomy.group_of(category),
            "category_source": source,
            "category_confidence": round(confidence, 4),
            "gender": q_gender,
            "gender_source": q_gender_source,
            "colors": piece.colours,
        }

    def _complementary(self, categories: tuple[str, ...]) -> tuple[list[str], np.ndarray, list[str]]:
        """The categories to search for query pieces of ``categories`` (those with an index):
        complementary to every piece, so that a slot a piece fills is not filled again; best mean
        category compatibility first, ties in taxonomy order. Also their taxonomy codes and groups."""
        hit = self._comp_cache.get(categories)
        if hit is None:
            if len(categories) == 1:
                ranked = self.taxonomy.complementary(categories[0])
            else:
                score = {c: [self.taxonomy.compatibility(q, c) for q in categories] for c in self._cat_names}
                ranked = sorted((c for c in self._cat_names if min(score[c]) > 0),
                                key=lambda c: (-sum(score[c]) / len(categories), self._cat_code[c]))
            cats = [c for c in ranked if c in self.indexes.per_category]
            hit = (cats, np.array([self._cat_code[c] for c in cats], dtype=np.int64), [self.taxonomy.group_of(c) for c in cats])
            self._comp_cache[categories] = hit
        return hit

    def _complete(self, described: list[tuple[ResolvedPiece, dict[str, Any]]], opts: Options):
        pieces = [p for p, _ in described]
        categories = tuple(d["category"] for _, d in described)
        cats, cat_codes, groups = self._complementary(categories)
        query_rows = tuple(p.row for p in pieces if p.row is not None)
        filters = retrieve.Filters(gender=opts.gender, exclude_ids=opts.exclude_ids, exclude_rows=query_rows)
        pool = max(MIN_POOL, POOL_PER_ITEM * opts.items_per_category)
        cand = retrieve.candidates_for_all(self.indexes, self.items, self.vectors, [p.vector for p in pieces], cats, pool, filters)
        if not len(cand):
            return []
        # the user's gender, when given, is the reference the gender score compares with; else each piece's own
        genders = [opts.gender if opts.gender not in (None, "unisex") else d["gender"] for _, d in described]
        context = Pieces(
            colours=np.stack([p.colour_rows for p in pieces]),
            categories=np.array([self._cat_code[c] for c in categories], dtype=np.int64),
            genders=np.array([-1 if g is None else GENDERS.index(g) for g in genders], dtype=np.int64),
            rows=np.array([-1 if p.row is None else p.row for p in pieces], dtype=np.int64),
            vectors=np.stack([np.asarray(p.vector, dtype=np.float32) for p in pieces]),
        )
        candidates = Pieces(
            colours=np.asarray(self.colours[cand.rows]),
            categories=cat_codes[cand.slot],
            genders=cand.genders,
            rows=cand.rows,
            vectors=np.asarray(self.vectors[cand.rows], dtype=np.float32) if self.compatibility.needs_vectors else None,
        )
        scores = against_context(self.compatibility, context, candidates, similarity=cand.sims)
        chosen = compose.group_first(
            scores.total, cand.rows, cand.slot, groups,
            items_per_category=opts.items_per_category, min_score=opts.min_score, top_k=opts.top_k,
        )
        # each pick is explained against the query piece it goes with best
        best_piece = np.argmax(scores.pairs.total, axis=0)
        relation = scores.pairs.relation
        part_keys = [(f"{name}_score", values) for name, values in scores.parts.items()]
        sim, cat = scores.pairs.parts.get("similarity"), scores.pairs.parts.get("category")
        outfit = []
        for rank, i in enumerate(chosen, start=1):
            it = self.items[int(cand.rows[i])]
            q = int(best_piece[i])
            rel = None if relation is None else int(relation[q, i])
            rec = {
                "rank": rank,
                "item_id": it["id"],
                "name": it["name"],
                "category": it["category"],
                "group": it["group"],
                "gender": it["gender"],
                "score": round(float(scores.total[i]), 4),
            }
            for key, values in part_keys:
                rec[key] = round(float(values[i]), 4)
            rec["colors"] = it["colors"]
            rec["path"] = it.get("path", "")
            rec["thumbnail"] = it["thumbnail"]
            rec["reason"] = explain.reason(
                self.taxonomy, it,
                relation=RELATIONS[rel] if rel is not None and 0 <= rel < len(RELATIONS) else None,
                similarity=0.0 if sim is None else float(sim[q, i]),
                category_score=0.0 if cat is None else float(cat[q, i]),
                query_category=categories[q], query_colours=pieces[q].colours,
            )
            outfit.append(rec)
        return outfit
