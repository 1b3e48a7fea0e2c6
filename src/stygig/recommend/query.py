"""The query: what the user wears or wants to wear, and how it becomes vectors and colours.

A :class:`Query` holds 1..:data:`MAX_PIECES` pieces (:class:`Piece`: an image, a text or a
catalog item id), mixed: ``Query(image=...)`` (or ``text=``, ``item_id=``) is the one-piece form,
``Query(pieces=[...])`` the list form (a JSON body's ``items``, the CLI's photos, ``--item`` and
``--text``). Each piece of the list form has a label (``items[2]``, or the CLI's ``--item
shirt-0003``) that errors name it by.

:func:`resolve` turns a piece into what the later stages read: its vector, its dominant colours
(as the response shows them and as the (k, 4) Lab + weight rows the scorers take) and its row
when it is a catalog item. :func:`check_wearable` refuses pieces that cannot be worn together
once their categories are known.
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Iterator, Sequence

import numpy as np
from PIL import Image

from stygig.errors import IncompatiblePieces, InvalidInput, StygigError, UnknownItem, UnsupportedQuery
from stygig.features import photo
from stygig.features.colour.names import named_colours_in_text
from stygig.features.encoders.base import Encoder
from stygig.schema import ITEMS, MAX_PIECES, check_piece_count, check_text
from stygig.taxonomy import Taxonomy

__all__ = ["MAX_PIECES", "Piece", "Query", "ResolvedPiece", "check_wearable", "colour_rows", "naming", "resolve",
           "unknown_item"]


@dataclass(frozen=True)
class Piece:
    """Exactly one of an image, a text or the id of a catalog item; ``label`` names it in errors
    (None for the one-piece form, whose errors name the field alone)."""

    image: Image.Image | None = None
    text: str | None = None
    item_id: str | None = None
    label: str | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        given = [n for n, v in (("image", self.image), ("text", self.text), ("item_id", self.item_id)) if v is not None]
        if len(given) != 1:
            raise InvalidInput(
                (f"{self.label}: a piece" if self.label else "a query") + " needs exactly one of image, text or item_id"
                + (f" (got {', '.join(given)})" if given else "")
            )
        if self.text is not None:
            check_text(self.text, f"{self.label}.text" if self.label else "text")

    @property
    def kind(self) -> str:
        return "image" if self.image is not None else "text" if self.text is not None else "item_id"

    def labelled(self, label: str) -> "Piece":
        return self if self.label is not None else Piece(self.image, self.text, self.item_id, label)


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
        pieces: Sequence[Piece] | None = None,
    ):
        if pieces is not None:
            if image is not None or text is not None or item_id is not None:
                raise InvalidInput("a query is either pieces or one image, text or item_id, not both")
            check_piece_count(len(pieces))
            # unlabelled pieces are named as a JSON body's items would be
            self.pieces = tuple(p.labelled(f"{ITEMS.name}[{i}]") for i, p in enumerate(pieces))
        else:
            self.pieces = (Piece(image, text, item_id),)

    def __repr__(self) -> str:
        return f"Query(pieces={self.pieces!r})"

    @property
    def is_list(self) -> bool:
        """Whether the query was given as a list of pieces (the response then has ``query_items``)."""
        return self.pieces[0].label is not None

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
    """Embed a piece with the artifact's encoder (an item's stored vector) and read its colours;
    errors name a piece of a list by its label."""
    with naming(piece.label):
        return _resolve(piece, encoder=encoder, items=items, vectors=vectors, colours=colours)


def _resolve(piece: Piece, *, encoder: Encoder, items, vectors: np.ndarray, colours: np.ndarray) -> ResolvedPiece:
    k = colours.shape[1]
    if piece.item_id is not None:
        row = items.row_of(piece.item_id)
        if row is None:
            raise unknown_item(piece)
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


@contextmanager
def naming(label: str | None) -> Iterator[None]:
    """User errors raised inside name the piece (``items[2]: ...``), with their own status and
    code; nothing changes for the one-piece form (``label`` None) or a message already named."""
    try:
        yield
    except StygigError as e:
        if label is None or e.message.startswith(label):
            raise
        raise type(e)(f"{label}: {e.message}", code=e.code, status=e.status) from None


def unknown_item(piece: Piece) -> UnknownItem:
    """The error for an item id the catalog does not hold: 422 for the one-piece form (as it has
    always been), 404 naming the piece for a piece of a list."""
    if piece.label is None:
        return UnknownItem(f"unknown item_id {str(piece.item_id)[:100]!r}")
    return UnknownItem(f"{piece.label}: unknown item_id {str(piece.item_id)[:100]!r}", status=404)


def check_wearable(pieces: Sequence[Piece], categories: Sequence[str], taxonomy: Taxonomy) -> None:
    """Refuse pieces that cannot be worn together — two in one slot (two bottoms), slots that
    exclude each other (a dress and a skirt), as the taxonomy's outfit slots say; or the same
    catalog item twice: :class:`~stygig.errors.IncompatiblePieces` naming the first such pair by
    label."""
    for j in range(len(pieces)):
        for i in range(j):
            a, b = pieces[i], pieces[j]
            if a.item_id is not None and a.item_id == b.item_id:
                raise IncompatiblePieces(f"{a.label} and {b.label} are the same item {str(a.item_id)[:100]!r}")
    conflicts = taxonomy.outfit.plan(categories).conflicts
    if conflicts:
        c = conflicts[0]
        raise IncompatiblePieces(c.worded(str(pieces[c.first].label), str(pieces[c.second].label)))


def colour_rows(found: list[dict[str, Any]], k: int) -> np.ndarray:
    """Colour dicts -> (k, 4) float32 Lab + weight rows, zero-padded."""
    arr = np.zeros((k, 4), dtype=np.float32)
    for j, c in enumerate(found[:k]):
        arr[j, :3] = c["lab"]
        arr[j, 3] = c["weight"]
    return arr
