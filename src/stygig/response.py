"""The response's models (pydantic): what the engine answers, as the serving app documents it
(``response_model`` and the OpenAPI document) and tests validate it.

Kept apart from :mod:`stygig.schema` (the request's fields and options, declared once) so that
answering a query — ``recommend``, ``batch``, a worker's model load — does not import pydantic;
only the serving app and the tests that read these models do.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

class Colour(BaseModel):
    model_config = ConfigDict(extra="allow")
    hex: str
    rgb: list[int]
    lab: list[float] | None = None
    weight: float | None = None
    name: str | None = None


class Recommendation(BaseModel):
    model_config = ConfigDict(extra="allow")
    rank: int
    item_id: str
    name: str | None = None
    category: str
    group: str | None = None
    gender: str
    score: float
    similarity_score: float
    color_score: float
    category_score: float
    gender_score: float
    boost_score: float | None = Field(None, description=(
        "With a boost: the boosted attributes' weighted rank in the catalog (0..1), blended into score."))
    colors: list[Colour]
    thumbnail: str | None = Field(None, description="The item's picture: GET /items/{item_id}/thumbnail.")
    attributes: dict[str, Any] = Field(default_factory=dict, description=(
        "The item's catalog attributes (price, in_stock, brand, sizes...), typed as GET /model's "
        "'attributes' lists them."))
    reason: str | None = None


class QueryItem(BaseModel):
    model_config = ConfigDict(extra="allow")
    item_id: str | None = None
    name: str | None = Field(None, description="The catalog item's name, for an item_id query.")
    category: str
    category_source: str
    category_confidence: float | None = None
    gender: str | None = None
    colors: list[Colour]


class Metadata(BaseModel):
    model_config = ConfigDict(extra="allow")
    processing_time_ms: float
    total_items: int
    model_version: str
    request_id: str | None = None


class OutfitAlternative(Recommendation):
    """Another candidate for an outfit's slot, with the scores it would have there."""

    fit_score: float = Field(description="Its mean compatibility with the outfit's other pieces (the query's and "
                                         "the chosen ones), were it in the slot.")
    outfit_score: float = Field(description="The outfit's score with it in the slot instead.")


class OutfitPiece(Recommendation):
    """One piece of the composed outfit: every field of a recommendation (its scores are against
    the query pieces), its slot, how it fits the rest of the outfit, and up to 3 alternatives."""

    slot: str = Field(description="The taxonomy's outfit slot it fills: top, bottom, one-piece, outerwear, "
                                  "footwear, bag, hat, jewellery, eyewear, belt, scarf.")
    fit_score: float = Field(description="Its mean compatibility with the outfit's other pieces (the query's and "
                                         "the chosen ones).")
    alternatives: list[OutfitAlternative] = Field(description="Up to 3 other candidates for the slot, the best "
                                                              "outfit score first.")


class Outfit(BaseModel):
    """The outfit composed around the query: one piece per slot the query leaves open (a base,
    footwear, perhaps outerwear and accessories), chosen jointly."""

    model_config = ConfigDict(extra="allow")
    pieces: list[OutfitPiece]
    score: float | None = Field(description="The mean, over the chosen pieces, of each one's compatibility with "
                                            "every other piece of the outfit (None: no piece).")
    coherence: float | None = Field(description="The mean compatibility over every ordered pair of the outfit's "
                                                "pieces, the query's included (None: fewer than two).")


class RecommendResponse(BaseModel):
    model_config = ConfigDict(extra="allow")
    query_item: QueryItem | None = Field(None, description="The query piece, when the query has one.")
    query_items: list[QueryItem] | None = Field(
        None, description="Each piece of an ``items`` query, in its order, as ``query_item`` describes one.")
    recommendations: list[Recommendation] = Field(
        description="The ranked list (StyGig V4's shape): the outfit's pieces first, then other picks.")
    outfit: Outfit | None = Field(None, description="The composed outfit.")
    metadata: Metadata
