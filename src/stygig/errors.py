"""User-facing errors.

Every error a user can cause is a :class:`StygigError`: its message is one readable line, and it
carries the HTTP status and a short machine-readable code so that the CLI and the server report it
the same way (the CLI prints ``stygig: error: <message>`` and exits non-zero; the server answers
``{"error": {"code", "message"}}`` with ``status``).
"""

from __future__ import annotations


class StygigError(Exception):
    status: int = 400
    code: str = "bad_request"

    def __init__(self, message: str, *, code: str | None = None, status: int | None = None):
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        if status is not None:
            self.status = status

    def __str__(self) -> str:
        return self.message


class InvalidInput(StygigError):
    """A well-formed request the engine cannot answer (HTTP 422)."""

    status = 422
    code = "invalid_input"


class ImageError(InvalidInput):
    """Bytes that are not a usable image: not decodable, too large, too small."""

    code = "invalid_image"


class UnknownItem(InvalidInput):
    code = "unknown_item"


class IncompatiblePieces(InvalidInput):
    """Query pieces that cannot be worn together (two bottoms; a dress and a skirt)."""

    code = "incompatible_pieces"


class UnsupportedQuery(InvalidInput):
    """E.g. a text query against an artifact whose encoder has no text tower."""

    code = "unsupported_query"


class CatalogError(StygigError):
    """A catalog that cannot be built as given (duplicate ids, unknown categories, escaping paths)."""

    code = "catalog_error"


class ArtifactError(StygigError):
    """A model artifact that cannot be loaded: missing file, bad checksum, wrong format version."""

    status = 500
    code = "artifact_error"


class TaxonomyError(ArtifactError):
    code = "taxonomy_error"
