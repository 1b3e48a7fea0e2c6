"""Item pictures for ``--save-visual`` from an answer: a local server's thumbnail route, or the
pictures a SageMaker endpoint embedded in its response (it has no thumbnail route)."""

from __future__ import annotations

import base64
import io
from typing import Any, Callable
from urllib.parse import quote

from stygig.client.runtime import check_url


def http_thumbnail_loader(base_url: str, *, timeout_s: float = 10.0) -> Callable[[dict[str, Any]], Any]:
    """Item pictures from a server's read-only ``GET /items/{id}/thumbnail``."""
    import urllib.error
    import urllib.request

    from PIL import Image

    base = check_url(base_url)

    def load(rec: dict[str, Any]):
        item_id = rec.get("item_id")
        if not item_id:
            return None
        try:
            with urllib.request.urlopen(f"{base}/items/{quote(item_id, safe='')}/thumbnail", timeout=timeout_s) as r:  # noqa: S310 - http(s) checked
                data = r.read(5 * 1024 * 1024)
        except (urllib.error.URLError, OSError):
            return None
        with Image.open(io.BytesIO(data)) as im:
            return im.convert("RGB")

    return load


def embedded_pictures(response: dict[str, Any]) -> Callable[[dict[str, Any]], Any]:
    """Item pictures carried in the response (``include_thumbnails``), for SageMaker endpoints,
    which have no thumbnail route. The loader looks items up by id."""
    from PIL import Image

    pictures: dict[str, Any] = {}
    for rec in [response.get("query_item") or {}, *response.get("recommendations", [])]:
        data_url = rec.get("thumbnail_data")
        if rec.get("item_id") and data_url and "," in data_url:
            with Image.open(io.BytesIO(base64.b64decode(data_url.split(",", 1)[1]))) as im:
                pictures[rec["item_id"]] = im.convert("RGB")

    def load(rec: dict[str, Any]):
        return pictures.get(rec.get("item_id"))

    return load
