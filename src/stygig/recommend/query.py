"""The query: what the user wears or wants to wear, and how it becomes vectors and colours.

A :class:`Query` holds pieces (:class:`Piece`: an image, a text or a catalog item id). Today the
engine answers one-piece queries (``Query(image=...)``, ``Query(text=...)``,
``Query(item_id=...)``); the structure holds up to :data:`MAX_PIECES` for the outfit composer.
:func:`resolve` turns a piece into what the later stages read: its vector, its dominant colours
(as the response shows them and as the (k, 4) Lab + weight rows the scorers take) and its row
when it is a catalog item.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from PIL import Image

from stygig.errors import InvalidInput, UnknownItem, UnsupportedQuery
from stygig.features import photo
from stygig.features.colour.names import named_colours_in_text
from stygig.features.encoders.base import Encoder
from stygig.schema import check_text

#: most pieces a query may hold
MAX_PIECES = 8


@dataclass(frozen=True)
class Piece:
    """Exactly one of an image, a text or the id of a catalog item."""

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

    @property
    def kind(self) -> str:
        return "image" if self.image is not None else "text" if self.text is not None else "item_id"


class Query:
    """The query's pieces: ``Query(image=...)`` (or ``text=``, ``item_id=``) for one piece, or
    ``Query(pieces=[...])``."""

    __slots__ = ("pieces",)

    def __init__(
        self,
        image: Image.Image | None = None,
        text: str | None = None,
        item_id: str | None = None,
        *,
        pieces: tuple[Piece, ...] | list[Piece] = (),
    ):
        if pieces:
            if image is not None or text is not None or item_id is not None:
                raise InvalidInput("a query is either pieces or one image, text or item_id, not both")
            if len(pieces) > MAX_PIECES:
                raise InvalidInput(f"a query has at most {MAX_PIECES} pieces (got {len(pieces)})")
            self.pieces = tuple(pieces)
        else:
            self.pieces = (Piece(image, text, item_id),)

    def __repr__(self) -> str:
        return f"Query(pieces={self.pieces!r})"

    # the one piece of a one-piece query (what the engine answers today)
    def single(self) -> Piece:
        if len(self.pieces) != 1:
            raise InvalidInput(f"this engine answers one-piece queries (got {len(self.pieces)} pieces)")
        return self.pieces[0]

    @property
    def image(self) -> Image.Image | None:
        return self.single().image

    @property
    def text(self) -> str | None:
        return self.single().text

    @property
    def item_id(self) -> str | None:
        return self.single().item_id


@dataclass(slots=True)
class ResolvedPiece:
    piece: Piece
    #: (d,) float32, L2-normalised
    vector: np.ndarray
    #: the dominant colours as responses show them (hex, rgb, lab, weight, name)
    colours: list[dict[str, Any]]
    #: (k, 4) float32: Lab + weight, zero-padded to the artifact's k
    colour_rows: np.ndarray
    #: the catalog row of an item piece, else None
    row: int | None


def resolve(piece: Piece, *, encoder: Encoder, items, vectors: np.ndarray, colours: np.ndarray) -> ResolvedPiece:
    """Embed a piece with the artifact's encoder (an item's stored vector) and read its colours."""
    k = colours.shape[1]
    if piece.item_id is not None:
        row = items.row_of(piece.item_id)
        if row is None:
            raise UnknownItem(f"unknown item_id {piece.item_id[:100]!r}")
        return ResolvedPiece(piece, np.asarray(vectors[row], dtype=np.float32), items[row]["colors"],
                             np.asarray(colours[row]), row)
    if piece.image is not None:
        vec, dominant = photo.photo_features(encoder, piece.image, k)  # the tower and the colours side by side
        found = [c.to_dict() for c in dominant]
        return ResolvedPiece(piece, vec, found, colour_rows(found, k), None)
    if not encoder.supports_text:
        raise UnsupportedQuery(
            f"text queries need a CLIP artifact; this one was built with the {encoder.kind} encoder "
            "(stygig build --encoder DIR)"
        )
    vec = encoder.encode_texts([piece.text])[0]
    # colour words in the text ("navy linen blazer") are its colours
    found = named_colours_in_text(piece.text)  # type: ignore[arg-type]
    return ResolvedPiece(piece, vec, found, colour_rows(found, k), None)


def colour_rows(found: list[dict[str, Any]], k: int) -> np.ndarray:
    """Colour dicts -> (k, 4) float32 Lab + weight rows, zero-padded."""
    arr = np.zeros((k, 4), dtype=np.float32)
    for j, c in enumerate(found[:k]):
        arr[j, :3] = c["lab"]
        arr[j, 3] = c["weight"]
    return arr
