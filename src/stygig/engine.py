"""The Recommender: one garment in, a ranked outfit out.

Pipeline for one query::

    query (image | text | item id)
      -> embedding (the artifact's encoder; an item's stored vector)
      -> neighbour vote (each category's top hits merged) -> query category
         (an explicit ``category`` wins; an item query knows its own; a text query blends
          zero-shot prompts of the taxonomy's display names with the vote)
      -> complementary categories (taxonomy rules)
      -> per category: nearest candidates within that category's index
      -> filters: gender (hard), exclude_ids, the query item and near-duplicates of it
      -> score = w_sim * similarity + w_color * colour harmony
                 + w_cat * category compatibility + w_gender * gender compatibility
      -> best ``items_per_category`` per category, ``min_score``
      -> outfit: the best piece of each group first (a bottom, shoes, a bag), then the other
         categories' best, then second picks; cut to ``top_k``

The engine knows nothing of HTTP or AWS. Same input, same output: every sort breaks ties by row.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping

import numpy as np
from PIL import Image

from stygig import __version__
from stygig.artifact import read_manifest, verify_artifact
from stygig.errors import ArtifactError, InvalidInput, UnknownItem, UnsupportedQuery
from stygig.features.encoders import Encoder, load_encoder
from stygig.index import Indexes
from stygig.schema import Options, check_text
from stygig.taxonomy import GENDERS, Taxonomy, gender_score

if TYPE_CHECKING:
    from stygig.items import ItemStore

#: default score weights; they sum to 1 so that ``score`` is in [0, 1]
DEFAULT_WEIGHTS = {"similarity": 0.40, "color": 0.30, "category": 0.20, "gender": 0.10}
VOTE_K = 15
NEAR_DUPLICATE = 0.985


@dataclass
class Query:
    image: Image.Image | None = None
    text: str | None = None
    item_id: str | None = None

    def __post_init__(self) -> None:
        given = [n for n, v in (("image", self.image), ("text", self.text), ("item_id", self.item_id)) if v is not None]
        if len(given) != 1:
            raise InvalidInput(
                "a query needs exactly one of image, text or item_id"
                + (f" (got {', '.join(given)})" if given else "")
            )
        if self.text is not None:
            check_text(self.text)


class Recommender:
    def __init__(
        self,
        artifact_dir: Path,
        manifest: dict[str, Any],
        taxonomy: Taxonomy,
        encoder: Encoder,
        vectors: np.ndarray,
        items: "ItemStore",
        colours: np.ndarray,
        indexes: Indexes,
        category_text: np.ndarray | None,
        weights: Mapping[str, float] | None = None,
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
        self.weights = dict(DEFAULT_WEIGHTS if weights is None else weights)
        self.model_version = manifest["model_version"]
        self.n_items = len(items)
        self._cat_names = list(taxonomy.categories)
        self._comp_cache: dict[str, tuple[list[str], np.ndarray]] = {}

    # ---- loading ---------------------------------------------------------------------------
    @classmethod
    def load(
        cls, artifact_dir: str | Path, *, verify: bool = True, weights: Mapping[str, float] | None = None
    ) -> "Recommender":
        """Load an artifact: checks format and checksums; memory-maps vectors and indexes."""
        from stygig.items import ItemStore

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
        w = dict(weights) if weights else _weights_from_env()
        return cls(root, manifest, taxonomy, encoder, vectors, items, colours, indexes, category_text, w)

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
            "weights": self.weights,
        }

    # ---- recommend -------------------------------------------------------------------------
    def recommend(self, query: Query, options: Options | None = None) -> dict[str, Any]:
        t0 = time.perf_counter()
        opts = options or Options()
        if opts.category is not None and opts.category not in self.taxonomy.categories:
            raise InvalidInput(f"category must be one of {', '.join(self.taxonomy.categories)}")
        query_row: int | None = None
        if query.item_id is not None:
            query_row = self.items.row_of(query.item_id)
            if query_row is None:
                raise UnknownItem(f"unknown item_id {query.item_id[:100]!r}")
            qvec = np.asarray(self.vectors[query_row], dtype=np.float32)
            qcol = np.asarray(self.colours[query_row])
            qcolours = self.items[query_row]["colors"]
        elif query.image is not None:
            from stygig.features.colour import dominant_colours

            qvec = self.encoder.encode_images([query.image])[0]
            dom = dominant_colours(query.image, k=self.colours.shape[1])
            qcolours = [c.to_dict() for c in dom]
            qcol = _colour_rows(qcolours, self.colours.shape[1])
        else:
            if not self.encoder.supports_text:
                raise UnsupportedQuery(
                    f"text queries need a CLIP artifact; this one was built with the {self.encoder.kind} encoder "
                    "(stygig build --encoder DIR)"
                )
            qvec = self.encoder.encode_texts([query.text])[0]
            qcolours = _colours_from_text(query.text)
            qcol = _colour_rows(qcolours, self.colours.shape[1])

        category, source, confidence, neighbours = self._query_category(qvec, query, query_row, opts)
        q_gender, q_gender_source = self._query_gender(query_row, neighbours, opts)
        reference_gender = opts.gender if opts.gender not in (None, "unisex") else q_gender

        recs = self._complete(qvec, qcol, qcolours, category, query_row, reference_gender, opts)
        elapsed = (time.perf_counter() - t0) * 1000
        return {
            "query_item": {
                "item_id": query.item_id,
                "name": self.items[query_row]["name"] if query_row is not None else None,
                "category": category,
                "group": self.taxonomy.group_of(category),
                "category_source": source,
                "category_confidence": round(confidence, 4),
                "gender": q_gender,
                "gender_source": q_gender_source,
                "colors": qcolours,
            },
            "recommendations": recs,
            "metadata": {
                "processing_time_ms": round(elapsed, 2),
                "total_items": self.n_items,
                "model_version": self.model_version,
                "encoder": self.encoder.describe(),
                "stygig_version": __version__,
                "weights": self.weights,
            },
        }

    def _search_all(self, qvec, k: int, categories) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        return {c: Indexes.search(self.indexes.per_category[c], qvec, k) for c in categories if c in self.indexes.per_category}

    def _neighbours(self, hits: dict[str, tuple[np.ndarray, np.ndarray]], k: int, exclude_row) -> tuple[np.ndarray, np.ndarray]:
        """The global top-``k`` from each category's top hits (exact for exact indexes)."""
        if not hits:
            return np.zeros(0, np.float32), np.zeros(0, np.int64)
        scores = np.concatenate([h[0] for h in hits.values()])
        rows = np.concatenate([h[1] for h in hits.values()])
        keep = rows != (-1 if exclude_row is None else exclude_row)
        scores, rows = scores[keep], rows[keep]
        order = np.lexsort((rows, -np.round(scores, 6)))[:k]
        return scores[order], rows[order]

    def neighbour_vote(self, qvec: np.ndarray, exclude_row: int | None = None):
        """The category vote of the ``VOTE_K`` nearest items: a distribution over the taxonomy's
        categories (each neighbour weighs its similarity), and the neighbours (scores, rows)."""
        hits = self._search_all(qvec, VOTE_K + 1, self._cat_names)
        scores, rows = self._neighbours(hits, VOTE_K, exclude_row)
        vote = np.zeros(len(self._cat_names), dtype=np.float64)
        codes = np.asarray(self.items.category_codes)
        for s, r in zip(scores, rows):
            vote[int(codes[r])] += max(float(s), 0.0) + 1e-6
        if vote.sum() > 0:
            vote /= vote.sum()
        return vote, (scores, rows)

    def leave_one_out_accuracy(self) -> tuple[float, dict[str, int]]:
        """How often the neighbour vote names an item's own category when the item itself is left
        out; and the confusions (``"true->voted"`` counts)."""
        correct, confusions = 0, {}
        for row in range(self.n_items):
            vote, _ = self.neighbour_vote(np.asarray(self.vectors[row], dtype=np.float32), exclude_row=row)
            voted, truth = self._cat_names[int(np.argmax(vote))], self.items.category_of(row)
            if voted == truth:
                correct += 1
            else:
                key = f"{truth}->{voted}"
                confusions[key] = confusions.get(key, 0) + 1
        return correct / max(1, self.n_items), confusions

    def _query_category(self, qvec, query: Query, query_row, opts: Options):
        if opts.category is not None:
            return opts.category, "hint", 1.0, None
        if query_row is not None:
            return self.items.category_of(query_row), "item", 1.0, None
        vote, (scores, rows) = self.neighbour_vote(qvec)
        source = "vote"
        if query.text is not None and self.category_text is not None:
            # CLIP's own temperature (recorded at export); 100 is the value CLIP learns
            scale = float((self.manifest.get("encoder", {}).get("export") or {}).get("logit_scale", 100.0))
            logits = scale * (self.category_text @ qvec)
            zs = np.exp(logits - logits.max())
            zs /= zs.sum()
            vote = 0.5 * zs + 0.5 * vote
            source = "zero-shot+vote"
        best = int(np.argmax(vote))  # argmax takes the first maximum: deterministic
        return self._cat_names[best], source, float(vote[best]), (scores, rows)

    def _query_gender(self, query_row, neighbours, opts: Options):
        if query_row is not None:
            return self.items.gender_of(query_row), "item"
        if neighbours is None:
            return None, "unknown"
        scores, rows = neighbours
        if len(rows) == 0:
            return None, "unknown"
        counts = {g: 0.0 for g in GENDERS}
        for s, r in zip(scores, rows):
            counts[self.items.gender_of(int(r))] += max(float(s), 0.0)
        total = sum(counts.values())
        g = max(GENDERS, key=lambda k: (counts[k], -GENDERS.index(k)))
        if total > 0 and counts[g] / total >= 0.6 and g != "unisex":
            return g, "vote"
        return None, "unknown"

    def _complementary(self, category: str) -> tuple[list[str], np.ndarray]:
        hit = self._comp_cache.get(category)
        if hit is None:
            cats = [c for c in self.taxonomy.complementary(category) if c in self.indexes.per_category]
            hit = (cats, np.array([self.taxonomy.compatibility(category, c) for c in cats], dtype=np.float64))
            self._comp_cache[category] = hit
        return hit

    def _complete(self, qvec, qcol, qcolours, category, query_row, reference_gender, opts: Options):
        """Candidates of every complementary category, filtered and scored in one vectorised pass."""
        from stygig.features.colour import RELATIONS, harmony_batch

        w = self.weights
        cats, cat_scores = self._complementary(category)
        n_exclude = len(opts.exclude_ids)
        q = np.ascontiguousarray(qvec, dtype=np.float32)
        pool = max(48, 12 * opts.items_per_category) + n_exclude
        sims_l, rows_l, cat_l = [], [], []
        for ci, cat in enumerate(cats):
            sims, rows = Indexes.candidates(self.indexes.per_category[cat], q, pool)
            sims_l.append(sims)
            rows_l.append(rows)
            cat_l.append(np.full(len(rows), ci, dtype=np.int64))
        if not sims_l:
            return []
        sims, rows, cidx = np.concatenate(sims_l), np.concatenate(rows_l), np.concatenate(cat_l)
        # filters: near-duplicates and the query item itself, the user's gender, exclusions
        keep = sims < NEAR_DUPLICATE
        if query_row is not None:
            keep &= rows != query_row
        gcodes = np.asarray(self.items.gender_codes)[rows]
        if opts.gender in ("male", "female"):
            keep &= (gcodes == GENDERS.index(opts.gender)) | (gcodes == GENDERS.index("unisex"))
        if n_exclude:
            excluded = np.array([e.encode("utf-8") for e in opts.exclude_ids], dtype=self.items.ids.dtype)
            keep &= ~np.isin(np.asarray(self.items.ids)[rows], excluded)
        sims, rows, cidx, gcodes = sims[keep], rows[keep], cidx[keep], gcodes[keep]
        if not len(rows):
            return []
        col = np.asarray(self.colours[rows])
        cscore, crel = harmony_batch(qcol[:, :3], qcol[:, 3], col[:, :, :3], col[:, :, 3])
        gtable = np.array([gender_score(reference_gender, g) for g in GENDERS])
        sim01 = np.clip(sims, 0.0, 1.0)
        gscore = gtable[gcodes]
        cscores = cat_scores[cidx]
        total = w["similarity"] * sim01 + w["color"] * cscore + w["category"] * cscores + w["gender"] * gscore
        # best first within each category (ties by row: deterministic); the first
        # items_per_category of each category that reach min_score
        order = np.lexsort((rows, -np.round(total, 9), cidx))
        order = order[total[order] >= opts.min_score]
        if not len(order):
            return []
        ocat = cidx[order]
        starts = np.flatnonzero(np.r_[True, ocat[1:] != ocat[:-1]]).tolist()
        ends = starts[1:] + [len(order)]
        per_category = [order[s : min(e, s + opts.items_per_category)].tolist() for s, e in zip(starts, ends)]
        # the outfit reads like one: the best piece of each group first (a bottom, shoes, a bag),
        # then the best of the other categories, then second picks; best scores first in each layer
        per_category.sort(key=lambda lst: (-round(float(total[lst[0]]), 9), int(rows[lst[0]])))
        groups_seen: set[str] = set()
        lead, rest = [], []
        for lst in per_category:
            group = self.taxonomy.group_of(cats[int(cidx[lst[0]])])
            (rest if group in groups_seen else lead).append(lst)
            groups_seen.add(group)
        chosen = [lst[0] for lst in lead] + [lst[0] for lst in rest]
        for depth in range(1, opts.items_per_category):
            chosen += [lst[depth] for lst in per_category if len(lst) > depth]
        outfit = []
        for rank, i in enumerate(chosen[: opts.top_k], start=1):
            rel = int(crel[i])
            rel_name = RELATIONS[rel] if 0 <= rel < len(RELATIONS) else None
            rec = self._rec(int(rows[i]), float(total[i]), float(sim01[i]), float(cscore[i]), float(cscores[i]),
                            float(gscore[i]), rel_name, category, qcolours)
            rec["rank"] = rank
            outfit.append(rec)
        return outfit

    def _rec(self, row, total, sim, colour, cat_score, g, relation, query_category, qcolours) -> dict[str, Any]:
        it = self.items[row]
        return {
            "rank": 0,
            "item_id": it["id"],
            "name": it["name"],
            "category": it["category"],
            "group": it["group"],
            "gender": it["gender"],
            "score": round(total, 4),
            "similarity_score": round(sim, 4),
            "color_score": round(colour, 4),
            "category_score": round(cat_score, 4),
            "gender_score": round(g, 4),
            "colors": it["colors"],
            "path": it.get("path", ""),
            "thumbnail": it["thumbnail"],
            "reason": self._reason(it, relation, sim, cat_score, query_category, qcolours),
        }

    def _reason(self, it, relation, sim, cat_score, query_category, qcolours) -> str:
        tax = self.taxonomy
        q_disp = tax.categories[query_category].display
        c_disp = tax.categories[it["category"]].display
        head = f"{c_disp[:1].upper()}{c_disp[1:]} for your {q_disp}"
        parts = []
        qname = qcolours[0]["name"] if qcolours else None
        cname = it["colors"][0]["name"] if it["colors"] else None
        if relation and relation != "none" and qname and cname:
            phrase = {
                "neutral": "a neutral that goes with anything",
                "monochrome": "a tonal pairing",
                "analogous": "neighbouring hues that blend",
                "complementary": "complementary hues that lift each other",
                "triadic": "a balanced triadic contrast",
                "clash": "a bold contrast",
            }.get(relation, relation)
            parts.append(f"{cname} with {qname}, {phrase}")
        if sim >= 0.8:
            parts.append("a very close style match")
        elif sim >= 0.6:
            parts.append("a close style match")
        if cat_score >= 1.0:
            parts.append("the classic partner")
        return head + (": " + "; ".join(parts) if parts else "") + "."


def _colour_rows(colours: list[dict[str, Any]], k: int) -> np.ndarray:
    arr = np.zeros((k, 4), dtype=np.float32)
    for j, c in enumerate(colours[:k]):
        arr[j, :3] = c["lab"]
        arr[j, 3] = c["weight"]
    return arr


def _colours_from_text(text: str) -> list[dict[str, Any]]:
    """Colour words in a text query ("navy linen blazer") become its colours."""
    from stygig.features.textcolour import named_colours_in_text

    return named_colours_in_text(text)


def _weights_from_env() -> dict[str, float]:
    """``STYGIG_WEIGHTS="similarity=0.4,color=0.3,category=0.2,gender=0.1"`` overrides defaults."""
    spec = os.environ.get("STYGIG_WEIGHTS")
    w = dict(DEFAULT_WEIGHTS)
    if not spec:
        return w
    for part in spec.split(","):
        k, _, v = part.partition("=")
        k = k.strip()
        if k not in w:
            raise ArtifactError(f"STYGIG_WEIGHTS: unknown weight {k!r} (known: {', '.join(w)})")
        try:
            w[k] = float(v)
        except ValueError:
            raise ArtifactError(f"STYGIG_WEIGHTS: {k} must be a number") from None
    total = sum(w.values())
    if total <= 0:
        raise ArtifactError("STYGIG_WEIGHTS must not all be zero")
    return {k: v / total for k, v in w.items()}
