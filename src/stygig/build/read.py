"""Stage 1, read: the catalog's items in id order (this shard's, when sharded), and each
picture's bytes (a local path, or an ``s3://`` object read whole)."""

from __future__ import annotations

import hashlib
from pathlib import Path

from stygig.build.distribute import select_shard
from stygig.catalog.ingest import Catalog, CatalogItem, read_catalog
from stygig.errors import StygigError
from stygig.taxonomy import Taxonomy


def read_items(catalog: str | Path, taxonomy: Taxonomy,
               shard: tuple[int, int] | None = None) -> tuple[Catalog, list[CatalogItem]]:
    """The catalog as read, and the items to build (sorted by id); refuses an empty result."""
    cat = read_catalog(catalog, taxonomy)
    items = select_shard(sorted(cat.items, key=lambda it: it.id), shard)
    if not items:
        raise StygigError(f"catalog {catalog} has no items" + (f" in shard {shard[0]}/{shard[1]}" if shard else ""))
    return cat, items


def read_source(source: str) -> bytes | str:
    """What :func:`stygig.images.decode_image` takes: an S3 object's bytes, else the path."""
    if source.startswith("s3://"):
        from stygig import s3io  # boto3 only when a catalog is on S3

        return s3io.read_s3_bytes(source, allowed_buckets=None, max_bytes=256 << 20)
    return source


def picture_sha256(source: str) -> str:
    """sha256 of a picture's bytes (a local path or an ``s3://`` object): how ``stygig update``
    notices a changed picture. Builds record it in every item row (``image_sha256``)."""
    data = read_source(source)
    if isinstance(data, bytes):
        return hashlib.sha256(data).hexdigest()
    with open(data, "rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()
