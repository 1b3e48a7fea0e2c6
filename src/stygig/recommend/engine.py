"""The Recommender: loads an artifact and runs the stages for a query.

Pipeline for a query of 1..8 pieces::

    query pieces (image | text | item id)                  query.resolve
      -> embedding (the artifact's encoder; an item's stored vector) and dominant colours
      -> each piece's category and gender                   infer
      -> the outfit's open slots and their categories       taxonomy (slots)
      -> per category: nearest candidates within that category's index, filtered
         (gender, exclude_ids, the query items and near-duplicates of them)     retrieve
      -> compatibility of each candidate with the query pieces    compat (the artifact's kind)
      -> the ranked list: best ``items_per_category`` per category, ``min_score``, group-first
      -> the outfit: each open slot's short list scored against each other too, composed
         jointly; the outfit's pieces lead the ranked list, cut to ``top_k``      compose
      -> each piece with its scores and reason              explain

The engine knows nothing of HTTP or AWS. Same input, same output: every sort breaks ties by row.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor, wait
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
from stygig.artifact.attributes import Column, load_columns
from stygig.artifact.items import ItemStore
from stygig.recommend import boost, compose, explain, filters, infer, retrieve
from stygig.recommend.attribute_state import AttributeState
from stygig.recommend.subindex import SubIndexer
from stygig.recommend.compat import Compatibility, ContextScores, Pieces, against_context, load_compatibility, mean_off_diagonal, pairs_within
from stygig.recommend.compat.registry import MANIFEST_KEY
from stygig.recommend.query import Piece, Query, ResolvedPiece, check_wearable, resolve
from stygig.schema import Options
from stygig.taxonomy import GENDERS, SlotPlan, Taxonomy

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
        #: typed attribute columns and their filter cache, swapped whole by a live overlay (one
        #: reference: a request reads it once, see :meth:`swap_attributes`)
        self._attribute_state = AttributeState(load_columns(artifact_dir, manifest, len(items)))
        #: sub-indexes of repeated selective filters' rows, within the worker's memory budget
        self.subindexer = SubIndexer(indexes)
        self.model_version = manifest["model_version"]
        self._in_flight = 0
        self._in_flight_lock = threading.Lock()
        self.n_items = len(items)
        self._cat_names = list(taxonomy.categories)
        self._cat_code = {c: i for i, c in enumerate(self._cat_names)}
        # CLIP's own temperature (recorded at export); 100 is the value CLIP learns
        self._logit_scale = float((manifest.get("encoder", {}).get("export") or {}).get("logit_scale", 100.0))
        self._comp_cache: dict[tuple[str, ...], tuple[list[str], np.ndarray, list[str], np.ndarray, SlotPlan]] = {}
        self._together_cache: dict[tuple[str, ...], np.ndarray] = {}
        self._sizes_cache: dict[tuple[str, ...], list[int]] = {}

    @property
    def attribute_state(self) -> AttributeState:
        """The attributes requests read now (take it once per request: a swap may follow)."""
        return self._attribute_state

    @property
    def attributes(self) -> dict[str, Column]:
        """Typed attribute columns by name (memory-mapped when a filter first reads them), the
        live overlay's where one is applied."""
        return self._attribute_state.columns  # type: ignore[return-value]

    def swap_attributes(self, state: AttributeState) -> AttributeState:
        """Serve ``state`` from the next request on (one reference assignment); returns the old one."""
        old, self._attribute_state = self._attribute_state, state
        return old

    def build_allowed(self, f: "filters.Filter", state: AttributeState) -> retrieve.Allowed:
        """The pass mask of ``f`` over ``state``'s columns, as retrieval searches within it."""
        return retrieve.Allowed(filters.compile_mask(f, state.columns, self.n_items), self.items.category_codes,
                                len(self._cat_names), self.subindexer)

    @property
    def weights(self) -> dict[str, float] | None:
        """The compatibility model's weights, when it has any (the heuristic's)."""
        w = getattr(self.compatibility, "weights", None)
        return dict(w) if w is not None else None

    # ---- loading ---------------------------------------------------------------------------
    @classmethod
    def load(
        cls, artifact_dir: str | Path, *, verify: bool = True, compatibility: Compatibility | str | None = None,
        encoder: "Future[Encoder] | None" = None,
    ) -> "Recommender":
        """Load an artifact: checks format and checksums; memory-maps vectors and indexes. The
        compatibility model is the one the manifest names unless ``compatibility`` is given: a
        model, or a kind to load from the artifact (``"heuristic"``, ``"learned"``; None: the
        ``STYGIG_COMPATIBILITY`` environment variable's, else the manifest's). ``encoder``: this
        artifact's encoder already loading (:func:`~stygig.features.encoders.registry.open_in_background`)."""
        root = Path(artifact_dir)
        manifest = read_manifest(root)
        # The encoder opens beside everything else: ONNX Runtime builds a session without the GIL,
        # as hashlib hashes, so on two cores the session (the largest part of a load) costs next to
        # nothing on top of verification and the Python work below. A checksum error is reported
        # before anything the encoder says: its files may be the corrupted ones.
        with ThreadPoolExecutor(1, thread_name_prefix="stygig-encoder") as pool:
            opening = encoder or pool.submit(load_encoder, root / "encoder", manifest["encoder"])
            try:
                if verify:
                    manifest = verify_artifact(root)
                parts = cls._load_parts(root, manifest, compatibility)
            except BaseException:
                opening.cancel()
                wait([opening])
                raise
            encoder = opening.result()
        vectors = parts["vectors"]
        if vectors.shape[1] != encoder.dim:
            raise ArtifactError(f"artifact vectors have dim {vectors.shape[1]} but its encoder has dim {encoder.dim}")
        return cls(root, manifest, encoder=encoder, **parts)

    @staticmethod
    def _load_parts(root: Path, manifest: dict[str, Any], compatibility: Compatibility | str | None) -> dict[str, Any]:
        """Everything of an artifact but its encoder: taxonomy, items, arrays, indexes, compatibility."""
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
        return dict(taxonomy=taxonomy, vectors=vectors, items=items, colours=colours, indexes=indexes,
                    category_text=category_text, compatibility=compatibility)

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
            "attributes": {name: col.type for name, col in self._attribute_state.columns.items()},
        }

    def allowed(self, f: "filters.Filter | None", state: AttributeState | None = None) -> retrieve.Allowed | None:
        """The rows attribute filter ``f`` lets through in ``state`` (default: the current one), as
        retrieval searches within them (None: no filter). An unknown attribute or a wrongly typed
        value is an InvalidInput naming it."""
        if not f:
            return None
        state = state or self._attribute_state
        filters.check(f, state.columns)  # before the cache: 1 == True, but 1 is no boolean
        return state.cache.get(f, lambda f: self.build_allowed(f, state))

    def boosted(self, b: "boost.Boost | None", rows: np.ndarray, state: AttributeState | None = None) -> boost.Applied | None:
        """Boost ``b`` read for the items at ``rows`` in ``state`` (default: the current one; None: no
        boost). An attribute the artifact lacks, or one that is not a number, is an InvalidInput naming it."""
        if not b:
            return None
        state = state or self._attribute_state
        columns = state.columns
        boost.check(b, columns)
        quantiles = {}
        for name, _ in b.terms:
            hit = state.quantiles.get(name)
            if hit is None:  # computed once per column of a state (a live overlay's state: its own)
                hit = state.quantiles[name] = boost.quantiles(columns[name].values)
            quantiles[name] = hit
        return boost.apply(b, quantiles, rows)

    # ---- the category vote (also measured on the catalog itself) ---------------------------
    def neighbour_vote(self, qvec: np.ndarray, exclude_row: int | None = None):
        """See :func:`stygig.recommend.infer.neighbour_vote`."""
        return infer.neighbour_vote(self.indexes, self.items.category_codes, self._cat_names, qvec, exclude_row)

    def leave_one_out_accuracy(self) -> tuple[float, dict[str, int]]:
        """See :func:`stygig.recommend.infer.leave_one_out_accuracy`."""
        return infer.leave_one_out_accuracy(self.vectors, self.items, self.indexes, self._cat_names)

    # ---- recommend -------------------------------------------------------------------------
    def recommend(self, query: Query, options: Options | None = None, *, outfit: bool = True) -> dict[str, Any]:
        """The answer to ``query``: its pieces as ``query_item`` (one piece) and/or
        ``query_items`` (a list), the composed ``outfit`` and the ranked ``recommendations``
        (the outfit's pieces first). ``outfit=False`` skips composing (the ranked list alone, in
        its own order, and ``"outfit": None``): what benchmarks compare with."""
        with self._in_flight_lock:
            self._in_flight += 1
        try:
            return self._recommend(query, options, outfit=outfit)
        finally:
            with self._in_flight_lock:
                self._in_flight -= 1

    @property
    def in_flight(self) -> int:
        """How many :meth:`recommend` calls are running now (background work, such as a live
        overlay being applied, steps further aside while any is)."""
        return self._in_flight

    def _recommend(self, query: Query, options: Options | None, *, outfit: bool) -> dict[str, Any]:
        t0 = time.perf_counter()
        opts = options or Options()
        if opts.category is not None and opts.category not in self.taxonomy.categories:
            raise InvalidInput(f"category must be one of {', '.join(self.taxonomy.categories)}")
        if opts.category is not None and len(query.pieces) > 1:
            raise InvalidInput("category overrides a one-piece query's category; each piece of several is "
                               "recognised on its own")
        pieces = [self._describe_piece(p, opts) for p in query.pieces]
        check_wearable(query.pieces, [d["category"] for _, d in pieces], self.taxonomy)
        recs, composed = self._complete(pieces, opts, compose_outfit=outfit)
        elapsed = (time.perf_counter() - t0) * 1000
        described = [d for _, d in pieces]
        head: dict[str, Any] = {"query_item": described[0]} if len(described) == 1 else {}
        if query.is_list:
            head["query_items"] = described
        return {
            **head,
            "recommendations": recs,
            "outfit": composed,
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

    def _complementary(self, categories: tuple[str, ...]) -> tuple[list[str], np.ndarray, list[str], np.ndarray, SlotPlan]:
        """The categories to search for query pieces of ``categories`` (those with an index):
        complementary to every piece and in a slot the pieces leave open, so that a slot a piece
        fills is not filled again; best mean category compatibility first, ties in taxonomy
        order. Also their taxonomy codes, their groups, the index of each one's slot among the
        open slots, and the pieces' slot plan."""
        hit = self._comp_cache.get(categories)
        if hit is None:
            if len(categories) == 1:
                ranked = self.taxonomy.complementary(categories[0])
            else:
                score = {c: [self.taxonomy.compatibility(q, c) for q in categories] for c in self._cat_names}
                ranked = sorted((c for c in self._cat_names if min(score[c]) > 0),
                                key=lambda c: (-sum(score[c]) / len(categories), self._cat_code[c]))
            plan = self.taxonomy.outfit.plan(categories)
            slot_of = self.taxonomy.outfit.slot_of
            cats = [c for c in ranked if c in self.indexes.per_category and slot_of[c] in plan.open]
            hit = (cats, np.array([self._cat_code[c] for c in cats], dtype=np.int64),
                   [self.taxonomy.group_of(c) for c in cats],
                   np.array([plan.open.index(slot_of[c]) for c in cats], dtype=np.int64), plan)
            self._comp_cache[categories] = hit
        return hit

    def _complete(self, described: list[tuple[ResolvedPiece, dict[str, Any]]], opts: Options, *,
                  compose_outfit: bool = True):
        """The ranked list and the composed outfit (None when not composed)."""
        pieces = [p for p, _ in described]
        categories = tuple(d["category"] for _, d in described)
        cats, cat_codes, groups, cat_slot, plan = self._complementary(categories)
        query_rows = tuple(p.row for p in pieces if p.row is not None)
        state = self._attribute_state  # once: this request reads these attributes throughout
        passes = retrieve.Filters(gender=opts.gender, exclude_ids=opts.exclude_ids, exclude_rows=query_rows,
                                  allowed=self.allowed(opts.filters, state))
        pool = max(MIN_POOL, POOL_PER_ITEM * opts.items_per_category)
        cand = retrieve.candidates_for_all(self.indexes, self.items, self.vectors, [p.vector for p in pieces], cats, pool, passes)
        empty = {"pieces": [], "score": None, "coherence": None} if compose_outfit else None
        if not len(cand):
            return [], empty
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
        lift = self.boosted(opts.boost, cand.rows, state)
        if lift is not None:  # the boost is a part of the score, and shapes the outfit as the list
            scores = ContextScores(lift.blend(scores.total), {**scores.parts, "boost": lift.part}, scores.pairs)
        ranked = compose.group_first(
            scores.total, cand.rows, cand.slot, groups,
            items_per_category=opts.items_per_category, min_score=opts.min_score, top_k=opts.top_k,
        )
        ctx = _Context(self, cand, scores, categories, pieces, state, lift)
        if not compose_outfit:
            return [ctx.piece(i, rank) for rank, i in enumerate(ranked, start=1)], None
        composition, short, full = self._compose(plan, context, candidates, cat_slot[cand.slot], scores, opts, lift)
        chosen = [int(short[i]) for i in composition.chosen]
        order = compose.outfit_first(chosen, ranked, cand.slot, items_per_category=opts.items_per_category,
                                     top_k=opts.top_k)
        # the outfit's pieces lead the ranked list: a piece's rank is its place in the outfit, and
        # its reason speaks of the outfit, in both places
        in_outfit = {i: ctx.outfit_piece(i, pos + 1, composition.slots[pos], chosen, composition.slots, plan)
                     for pos, i in enumerate(chosen)}
        recs = [in_outfit[i] if i in in_outfit else ctx.piece(i, rank) for rank, i in enumerate(order, start=1)]
        out_pieces = []
        for pos, j in enumerate(composition.chosen):
            one = {"slot": composition.slots[pos], **in_outfit[chosen[pos]], "fit_score": round(composition.fits[pos], 4)}
            one["alternatives"] = [
                {**ctx.piece(int(short[k]), n), "fit_score": round(fit, 4), "outfit_score": round(total, 4)}
                for n, (k, fit, total) in enumerate(composition.alternatives[pos], start=1)
            ]
            out_pieces.append(one)
        # the whole outfit, query pieces first, read from the matrix the composer scored
        whole = [*range(len(context)), *(len(context) + j for j in composition.chosen)]
        outfit = {
            "pieces": out_pieces,
            "score": round(composition.score, 4) if out_pieces else None,
            "coherence": round(mean_off_diagonal(full[np.ix_(whole, whole)]), 4) if len(whole) >= 2 else None,
        }
        return recs, outfit

    def _gathered(self, p: Pieces) -> Pieces:
        """``p`` with its vectors (read from the artifact when the search left them out)."""
        if p.vectors is not None:
            return p
        return Pieces(p.colours, p.categories, p.genders, p.rows, np.asarray(self.vectors[p.rows], dtype=np.float32))

    def _compose(self, plan: SlotPlan, context: Pieces, candidates: Pieces, cand_slot: np.ndarray, scores, opts: Options,
                 lift: boost.Applied | None = None):
        """The joint outfit over each open slot's short list (:mod:`stygig.recommend.compose`),
        the short list (candidate indexes) its indexes point into, and the pairwise totals of
        the query pieces and the short list, query pieces first (one call scores them all; the
        compatibility alone: a boost, ``lift``, is blended into what the composer reads, as a
        part of each candidate's every score)."""
        short = compose.shortlist(scores.total, candidates.rows, cand_slot, opts.min_score,
                                  self._shortlist_sizes(plan.open),
                                  usable=compose.wearable_with(candidates.genders, context.genders))
        sub = self._gathered(candidates.take(short))
        every = Pieces.concat([context, sub])
        q = len(context)
        # what the composer reads: short-listed pieces of slots that can be worn together, and
        # every pair with a query piece
        need = np.ones((len(every), len(every)), dtype=bool)
        ss = cand_slot[short]
        need[q:, q:] = self._together(plan.open)[ss][:, ss] if len(plan.open) else False
        np.fill_diagonal(need, False)
        full = pairs_within(self.compatibility, every, need)
        with_context, pair = full[:q, q:], full[q:, q:]
        if lift is not None:
            part = lift.part[short][None, :]
            w = lift.boost.total
            with_context = (1.0 - w) * with_context + w * part
            pair = np.where(need[q:, q:], (1.0 - w) * pair + w * part, 0.0)
        problem = compose.Problem(
            rules=self.taxonomy.outfit, slots=plan.open, cand_slot=ss,
            context=with_context, pair=pair,
            genders=np.asarray(sub.genders), context_genders=np.asarray(context.genders),
            held=frozenset(plan.filled), rows=np.asarray(sub.rows),
        )
        return compose.search(problem), short, full

    def _shortlist_sizes(self, slots: tuple[str, ...]) -> list[int]:
        hit = self._sizes_cache.get(slots)
        if hit is None:
            hit = self._sizes_cache[slots] = compose.shortlist_sizes(self.taxonomy.outfit, slots)
        return hit

    def _together(self, slots: tuple[str, ...]) -> np.ndarray:
        """(s, s) bool: whether two of these slots can be in one outfit (cached per slot list)."""
        hit = self._together_cache.get(slots)
        if hit is None:
            rules = self.taxonomy.outfit
            hit = np.array([[not rules.conflicts(a, b) for b in slots] for a in slots], dtype=bool).reshape(len(slots), len(slots))
            self._together_cache[slots] = hit
        return hit


class _Context:
    """How one request's candidates read in a response (a ranked item, an outfit piece): each
    with its scores against the query pieces, explained against the piece it goes with best."""

    def __init__(self, rec: Recommender, cand, scores, categories: tuple[str, ...], pieces: list[ResolvedPiece],
                 state: AttributeState, lift: boost.Applied | None = None):
        self.rec, self.cand, self.scores, self.categories, self.pieces = rec, cand, scores, categories, pieces
        self.state, self.lift = state, lift
        self.best_piece = np.argmax(scores.pairs.total, axis=0)
        self.relation = scores.pairs.relation
        self.part_keys = [(f"{name}_score", values) for name, values in scores.parts.items()]
        self.sim, self.cat = scores.pairs.parts.get("similarity"), scores.pairs.parts.get("category")

    def outfit_piece(self, i: int, rank: int, slot: str, chosen: list[int], slots: tuple[str, ...], plan: SlotPlan) -> dict[str, Any]:
        """:meth:`piece`, its reason told by the outfit (the query's pieces and the other chosen ones)."""
        out = self.piece(i, rank)
        items = self.rec.items
        others = [{"category": c, "colors": p.colours, "slot": s, "query": True}
                  for c, p, s in zip(self.categories, self.pieces, plan.piece_slots)]
        others += [{"category": (it := items[int(self.cand.rows[j])])["category"], "colors": it["colors"], "slot": s,
                    "query": False} for j, s in zip(chosen, slots) if j != i]
        q = int(self.best_piece[i])
        rel = None if self.relation is None else int(self.relation[q, i])
        out["reason"] = explain.outfit_reason(
            self.rec.taxonomy, items[int(self.cand.rows[i])], slot=slot, others=others,
            relation=RELATIONS[rel] if rel is not None and 0 <= rel < len(RELATIONS) else None,
            similarity=0.0 if self.sim is None else float(self.sim[q, i]),
            category_score=0.0 if self.cat is None else float(self.cat[q, i]),
            query_category=self.categories[q], query_colours=self.pieces[q].colours, query_categories=self.categories,
            boosted=self.lift.phrases(i) if self.lift is not None else (),
        )
        return out

    def piece(self, i: int, rank: int) -> dict[str, Any]:
        rec, scores = self.rec, self.scores
        row = int(self.cand.rows[i])
        it = rec.items[row]
        q = int(self.best_piece[i])
        rel = None if self.relation is None else int(self.relation[q, i])
        out = {
            "rank": rank,
            "item_id": it["id"],
            "name": it["name"],
            "category": it["category"],
            "group": it["group"],
            "gender": it["gender"],
            "score": round(float(scores.total[i]), 4),
        }
        for key, values in self.part_keys:
            out[key] = round(float(values[i]), 4)
        out["colors"] = it["colors"]
        out["path"] = it.get("path", "")
        out["thumbnail"] = it["thumbnail"]
        out["attributes"] = self.state.attributes_of(row, it.get("attributes"))
        out["reason"] = explain.reason(
            rec.taxonomy, it,
            relation=RELATIONS[rel] if rel is not None and 0 <= rel < len(RELATIONS) else None,
            similarity=0.0 if self.sim is None else float(self.sim[q, i]),
            category_score=0.0 if self.cat is None else float(self.cat[q, i]),
            query_category=self.categories[q], query_colours=self.pieces[q].colours,
            boosted=self.lift.phrases(i) if self.lift is not None else (),
        )
        return out
