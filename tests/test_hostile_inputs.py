"""Hostile and odd inputs against a real `serve` process on 127.0.0.1 (the lite artifact).

Every input is generated here (no stored binaries). Each one gets a documented 4xx with a JSON
error, or a 200 where the input is odd but valid; after each, the server still answers (``/ping``
200 and a real recommendation). The worker's resident memory stays bounded over the corpus.

The table of input -> status lives in docs/errors.md; a test below keeps the two in step.
"""

from __future__ import annotations

import base64
import io
import json
import re
import struct
import time
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import numpy as np
import pytest
from PIL import Image, ImageDraw

from stygig.serving.child import stop
from test_serving_server import assert_error, catalog_items, start_server, wait_for, wait_workers_ready

REPO = Path(__file__).resolve().parents[1]
ALLOWED_BUCKET = "shop-uploads"


# ---- generated pictures -------------------------------------------------------------------------
def encode(img: Image.Image, fmt: str, **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt, **kw)
    return buf.getvalue()


def garment(colour: tuple[int, int, int], size: tuple[int, int] = (256, 256)) -> Image.Image:
    """A flat-coloured garment on a white background."""
    img = Image.new("RGB", size, (255, 255, 255))
    ImageDraw.Draw(img).rectangle([size[0] // 4, size[1] // 6, 3 * size[0] // 4, 6 * size[1] // 7], fill=colour)
    return img


RED, BLUE, GREEN = (220, 20, 20), (20, 20, 220), (0, 255, 0)


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_bomb(side: int = 20_000) -> bytes:
    """A valid 1-bit PNG of side x side black pixels: ~50 KB that decodes to 400 megapixels."""
    row = b"\x00" + b"\x00" * ((side + 7) // 8)
    comp = zlib.compressobj(9)
    idat = b"".join(comp.compress(row) for _ in range(side)) + comp.flush()
    ihdr = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + png_chunk(b"IDAT", idat) + png_chunk(b"IEND", b"")


def gif_bomb() -> bytes:
    """A GIF whose screen and frame claim 65535 x 65535 pixels (4.3 gigapixels)."""
    lsd = struct.pack("<HHBBB", 65535, 65535, 0x80, 0, 0) + b"\x00\x00\x00\xff\xff\xff"
    desc = b"\x2c" + struct.pack("<HHHHB", 0, 0, 65535, 65535, 0)
    return b"GIF89a" + lsd + desc + b"\x02\x02\x44\x01\x00\x3b"


def jpeg_with_claimed_size(jpeg: bytes, width: int, height: int) -> bytes:
    """A real JPEG whose frame header (SOF0) is patched to claim width x height."""
    i = jpeg.index(b"\xff\xc0")
    return jpeg[: i + 5] + struct.pack(">HH", height, width) + jpeg[i + 9 :]


def png16_rgba(colour: tuple[int, int, int], size: int = 256) -> bytes:
    """A 16-bit RGBA PNG: the garment opaque, the background fully transparent *green*."""
    arr = np.zeros((size, size, 4), dtype=">u2")
    arr[..., 1] = 65535  # green under alpha 0: must not show through
    g = np.asarray(garment(colour, (size, size)))
    inside = (g != 255).any(axis=2)
    for c in range(3):
        arr[..., c][inside] = g[..., c][inside].astype(np.uint32) * 257
    arr[..., 3][inside] = 65535
    raw = b"".join(b"\x00" + arr[y].tobytes() for y in range(size))
    ihdr = struct.pack(">IIBBBBB", size, size, 16, 6, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + png_chunk(b"IDAT", zlib.compress(raw)) + png_chunk(b"IEND", b"")


def palette_png_with_transparency(colour: tuple[int, int, int], size: int = 256) -> bytes:
    """A palette PNG: index 0 is transparent (its colour green), index 1 the garment."""
    g = np.asarray(garment(colour, (size, size)))
    idx = (g != 255).any(axis=2).astype(np.uint8)
    p = Image.fromarray(idx, "P")
    p.putpalette(list(GREEN) + list(colour) + [0] * (256 * 3 - 6))
    return encode(p, "PNG", transparency=0)


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def js(obj) -> bytes:
    return json.dumps(obj).encode()


# ---- the corpus ---------------------------------------------------------------------------------
@dataclass
class Case:
    name: str
    body: bytes
    content_type: str | None = "application/json"
    status: int = 422
    code: str | None = None
    params: dict | None = None
    headers: dict = field(default_factory=dict)
    #: a fragment the error message must contain
    says: str | None = None


def corpus(photo: bytes) -> list[Case]:
    rng = np.random.default_rng(7)
    png_photo = encode(Image.open(io.BytesIO(photo)), "PNG")
    noise_5mb = b64(rng.integers(0, 256, 5 * 1024 * 1024 * 3 // 4 - 16, dtype=np.uint8).tobytes())
    assert 5_000_000 < len(noise_5mb) < 6 * 1024 * 1024 - 100
    tiny = encode(Image.new("RGB", (1, 1), RED), "PNG")
    ok = {"item_id": "shirt-0000"}
    cases = [
        # pictures
        Case("truncated JPEG", photo[: len(photo) // 2], "image/jpeg", 422, "invalid_image", says="truncated"),
        Case("truncated PNG", png_photo[: len(png_photo) // 2], "image/png", 422, "invalid_image"),
        Case("JPEG cut after its header", photo[:600], "image/jpeg", 422, "invalid_image"),
        Case("zero bytes as image/jpeg", b"", "image/jpeg", 422, "invalid_image", says="empty"),
        Case("zero bytes as JSON", b"", "application/json", 400, "bad_request"),
        Case("random bytes as image/jpeg", rng.integers(0, 256, 100_000, dtype=np.uint8).tobytes(), "image/jpeg", 422, "invalid_image"),
        Case("random bytes after a JPEG marker", b"\xff\xd8\xff\xe0" + rng.integers(0, 256, 50_000, dtype=np.uint8).tobytes(), "image/jpeg", 422, "invalid_image"),
        Case("PNG bomb 20000x20000", png_bomb(), "image/png", 422, "invalid_image", says="megapixels"),
        Case("PNG bomb in JSON base64", js({"image": b64(png_bomb())}), status=422, code="invalid_image", says="megapixels"),
        Case("GIF claiming 65535x65535", gif_bomb(), "image/jpeg", 422, "invalid_image", says="megapixels"),
        Case("JPEG claiming 60000x60000", jpeg_with_claimed_size(photo, 60000, 60000), "image/jpeg", 422, "invalid_image", says="megapixels"),
        Case("1x1 px PNG", tiny, "image/png", 422, "invalid_image", says="minimum side"),
        Case("1x1 px PNG in JSON base64", js({"image": b64(tiny)}), status=422, code="invalid_image"),
        Case("JSON sent as image/png", js(ok), "image/png", 422, "invalid_image"),
        Case("picture sent as text/plain", photo, "text/plain", 415, "unsupported_media_type"),
        Case("multipart upload", b"--x\r\n\r\n--x--", "multipart/form-data; boundary=x", 415, "unsupported_media_type"),
        Case("image/svg+xml content type", b'<svg xmlns="http://www.w3.org/2000/svg"/>', "image/svg+xml", 415, "unsupported_media_type"),
        Case("PPM picture (a format not read)", encode(garment(RED), "PPM"), "image/jpeg", 422, "invalid_image", says="PPM pictures are not read"),
        Case("text sent as image/gif", b"GIF? no, a note", "image/gif", 422, "invalid_image", says="not an image"),
        Case("Accept: text/csv", js(ok), headers={"Accept": "text/csv"}, status=406, code="not_acceptable"),
        # base64
        Case("5 MB base64 that is not an image", js({"image": noise_5mb}), status=422, code="invalid_image"),
        Case("invalid base64 characters", js({"image": "@@@@not*base64@@@@"}), status=400, code="bad_request", says="base64"),
        Case("base64 of impossible length", js({"image": "abcde"}), status=400, code="bad_request", says="base64"),
        Case("non-ASCII base64", js({"image": "ÿØÿà"}), status=400, code="bad_request", says="base64"),
        Case("empty base64", js({"image": ""}), status=422, code="invalid_image", says="empty"),
        Case("data: URL with nothing in it", js({"image": "data:image/png;base64,"}), status=422, code="invalid_image"),
        # JSON structure
        Case("deeply nested JSON (100000 levels)", b'{"item_id":"shirt-0000","exclude_ids":' + b"[" * 100_000 + b"]" * 100_000 + b"}", status=400, code="bad_request", says="recursion"),
        Case("deeply nested objects", b'{"a":' * 50_000 + b"1" + b"}" * 50_000, status=400, code="bad_request"),
        Case("not JSON", b"{oops", status=400, code="bad_request", says="not valid JSON"),
        Case("JSON with a BOM", b"\xef\xbb\xbf" + js(ok), status=400, code="bad_request"),
        Case("invalid UTF-8 in JSON", b'{"item_id": "\xff\xfe"}', status=400, code="bad_request"),
        Case("lone surrogate escape", b'{"item_id": "\\ud800"}', status=400, code="bad_request"),
        Case("JSON array body", b"[1, 2]", status=422, code="invalid_input", says="must be an object"),
        Case("JSON null body", b"null", status=422, code="invalid_input", says="must be an object"),
        Case("no query at all", b"{}", status=422, code="invalid_input", says="exactly one of"),
        Case("two queries at once", js({"item_id": "shirt-0000", "text": "a shirt"}), status=422, code="invalid_input", says="exactly one of"),
        # numbers
        Case("top_k with 100 digits", b'{"item_id":"shirt-0000","top_k":' + b"9" * 100 + b"}", status=422, code="invalid_input", says="top_k"),
        Case("top_k with 5000 digits", b'{"item_id":"shirt-0000","top_k":' + b"9" * 5000 + b"}", status=400, code="bad_request", says="number out of range"),
        Case("min_score 1e999", b'{"item_id":"shirt-0000","min_score":1e999}', status=422, code="invalid_input", says="min_score"),
        Case("min_score NaN", b'{"item_id":"shirt-0000","min_score":NaN}', status=422, code="invalid_input", says="min_score"),
        Case("top_k -1e400", b'{"item_id":"shirt-0000","top_k":-1e400}', status=422, code="invalid_input", says="top_k"),
        Case("negative top_k", js({**ok, "top_k": -3}), status=422, code="invalid_input", says="top_k"),
        Case("zero top_k", js({**ok, "top_k": 0}), status=422, code="invalid_input", says="top_k"),
        Case("huge top_k", js({**ok, "top_k": 10**9}), status=422, code="invalid_input", says="top_k"),
        Case("negative top_k in the query string", photo, "image/jpeg", 422, "invalid_input", params={"top_k": "-5"}, says="top_k"),
        Case("huge top_k in the query string", photo, "image/jpeg", 422, "invalid_input", params={"top_k": "9" * 5000}, says="top_k"),
        Case("min_score nan in the query string", photo, "image/jpeg", 422, "invalid_input", params={"min_score": "nan"}, says="min_score"),
        Case("items_per_category 0", js({**ok, "items_per_category": 0}), status=422, code="invalid_input", says="items_per_category"),
        # fields and types
        Case("unknown field", js({**ok, "colour": "red"}), status=422, code="invalid_input", says="unknown field 'colour'"),
        Case("unknown field with a 100 KB name", js({**ok, "x" * 100_000: 1}), status=422, code="invalid_input", says="unknown field"),
        Case("unknown query-string option", photo, "image/jpeg", 422, "invalid_input", params={"colour": "red"}, says="unknown option"),
        Case("top_k as a string", js({**ok, "top_k": "5"}), status=422, code="invalid_input", says="top_k"),
        Case("top_k as a float", js({**ok, "top_k": 2.5}), status=422, code="invalid_input", says="top_k"),
        Case("top_k as a boolean", js({**ok, "top_k": True}), status=422, code="invalid_input", says="top_k"),
        Case("item_id as a number", js({"item_id": 12}), status=422, code="invalid_input", says="item_id"),
        Case("image as an object", js({"image": {"data": "x"}}), status=422, code="invalid_input", says="image"),
        Case("exclude_ids as a string", js({**ok, "exclude_ids": "a,b"}), status=422, code="invalid_input", says="exclude_ids"),
        Case("exclude_ids of numbers", js({**ok, "exclude_ids": [1, 2]}), status=422, code="invalid_input", says="exclude_ids"),
        Case("1001 exclude_ids", js({**ok, "exclude_ids": [f"x{i}" for i in range(1001)]}), status=422, code="invalid_input", says="exclude_ids"),
        Case("include_thumbnails as a string", js({**ok, "include_thumbnails": "yes"}), status=422, code="invalid_input", says="include_thumbnails"),
        Case("unknown gender", js({**ok, "gender": "robot"}), status=422, code="invalid_input", says="gender"),
        Case("unknown category", js({**ok, "category": "../../etc"}), status=422, code="invalid_input", says="category"),
        # text
        Case("unicode text", js({"text": "👗 röd klänning \u202eesrever\u0000 ½ ﷽"}), status=422, code="unsupported_query", says="CLIP"),
        Case("100 KB text", js({"text": "a red dress " * 8534}), status=422, code="invalid_input", says="the limit is 1000"),
        Case("empty text", js({"text": ""}), status=422, code="invalid_input", says="non-empty"),
        # item ids
        Case("item_id ../../etc/passwd", js({"item_id": "../../etc/passwd"}), status=422, code="unknown_item"),
        Case("item_id /etc/passwd", js({"item_id": "/etc/passwd"}), status=422, code="unknown_item"),
        Case("item_id escaping through a real id", js({"item_id": "shirt-0000/../../manifest.json"}), status=422, code="unknown_item"),
        Case("item_id with backslashes", js({"item_id": "..\\..\\windows\\win.ini"}), status=422, code="unknown_item"),
        Case("item_id percent-encoded", js({"item_id": "%2e%2e%2fmanifest.json"}), status=422, code="unknown_item"),
        Case("item_id with a NUL", js({"item_id": "shirt-0000\u0000"}), status=422, code="unknown_item"),
        Case("item_id unicode", js({"item_id": "👗\u202e"}), status=422, code="unknown_item"),
        Case("item_id of 100 KB", js({"item_id": "a" * 100_000}), status=422, code="invalid_input", says="item_id"),
        Case("empty item_id", js({"item_id": ""}), status=422, code="unknown_item"),
        # S3
        Case("S3 URI to another bucket", js({"image_s3_uri": "s3://someone-else/q/shirt.jpg"}), status=422, code="s3_bucket_not_allowed"),
        Case("S3 bucket that only starts like the allowed one", js({"image_s3_uri": f"s3://{ALLOWED_BUCKET}.evil.example/x.jpg"}), status=422, code="s3_bucket_not_allowed"),
        Case("S3 URI with user info", js({"image_s3_uri": f"s3://user@{ALLOWED_BUCKET}/x.jpg"}), status=422, code="invalid_s3_uri"),
        Case("S3 URI with an IP as bucket", js({"image_s3_uri": "s3://127.0.0.1/x.jpg"}), status=422, code="invalid_s3_uri"),
        Case("S3 URI without a bucket", js({"image_s3_uri": "s3:///x.jpg"}), status=422, code="invalid_s3_uri"),
        Case("S3 URI without a key", js({"image_s3_uri": f"s3://{ALLOWED_BUCKET}/"}), status=422, code="invalid_s3_uri"),
        Case("S3 URI to a bucket only", js({"image_s3_uri": f"s3://{ALLOWED_BUCKET}"}), status=422, code="invalid_s3_uri"),
        Case("S3 URI with control characters", js({"image_s3_uri": f"s3://{ALLOWED_BUCKET}/a\u0000b"}), status=422, code="invalid_s3_uri"),
        Case("S3 URI in upper case", js({"image_s3_uri": f"S3://{ALLOWED_BUCKET}/x.jpg"}), status=422, code="invalid_s3_uri"),
        Case("https URL instead of S3", js({"image_s3_uri": f"https://{ALLOWED_BUCKET}.s3.amazonaws.com/x.jpg"}), status=422, code="invalid_s3_uri"),
        Case("file URL instead of S3", js({"image_s3_uri": "file:///etc/passwd"}), status=422, code="invalid_s3_uri"),
        Case("S3 URI of 5000 characters", js({"image_s3_uri": f"s3://{ALLOWED_BUCKET}/" + "k" * 5000}), status=422, code="invalid_input", says="image_s3_uri"),
        # odd but valid
        # several pieces (items): each error names the piece by its index
        Case("items with 9 pieces", js({"items": [ok] * 9}), status=422, code="invalid_input", says="items[8] is one too many"),
        Case("items with 999 pieces", js({"items": [ok] * 999}), status=422, code="invalid_input", says="items has 999 pieces"),
        Case("items with 100000 pieces", js({"items": [ok] * 100_000}), status=422, code="invalid_input",
             says="more than 1000 objects"),
        Case("items of 2 million empty pieces (6 MB)", b'{"items":[' + b",".join([b"{}"] * 2_000_000) + b"]}", status=422,
             code="invalid_input", says="more than 1000 objects"),
        Case("empty items", js({"items": []}), status=422, code="invalid_input", says="items is empty"),
        Case("items as an object", js({"items": {"item_id": "shirt-0000"}}), status=422, code="invalid_input", says="items"),
        Case("items of strings", js({"items": ["shirt-0000"]}), status=422, code="invalid_input", says="items[0] must be an object"),
        Case("a piece with two kinds of query", js({"items": [ok, {"item_id": "pants-0000", "text": "navy"}]}), status=422,
             code="invalid_input", says="items[1]: a piece needs exactly one of"),
        Case("a piece with no query", js({"items": [ok, {}]}), status=422, code="invalid_input", says="items[1]: a piece needs exactly one of"),
        Case("a piece with an unknown field", js({"items": [{**ok, "x" * 100_000: 1}]}), status=422, code="invalid_input",
             says="items[0]: unknown field"),
        Case("items beside a top-level image", js({"items": [ok], "image": b64(photo)}), status=422, code="invalid_input",
             says="not both (got items and image)"),
        Case("items beside a top-level item_id", js({"items": [ok], "item_id": "shirt-0000"}), status=422, code="invalid_input",
             says="not both (got items and item_id)"),
        Case("unknown id in items", js({"items": [ok, {"item_id": "no-such-item"}]}), status=404, code="unknown_item",
             says="items[1]: unknown item_id"),
        Case("items id ../../etc/passwd", js({"items": [{"item_id": "../../etc/passwd"}]}), status=404, code="unknown_item",
             says="items[0]"),
        Case("items id of 100 KB", js({"items": [{"item_id": "a" * 100_000}]}), status=422, code="invalid_input", says="items[0].item_id"),
        Case("two bottoms in items", js({"items": [{"item_id": "pants-0000"}, {"item_id": "skirt-0000"}]}), status=422,
             code="incompatible_pieces", says="items[0] (pants) and items[1] (skirt) both fill the bottom slot"),
        Case("a dress and a skirt in items", js({"items": [{"item_id": "dress-0000"}, {"item_id": "skirt-0000"}]}), status=422,
             code="incompatible_pieces", says="items[0] (dress) and items[1] (skirt) cannot be worn together"),
        Case("the same item twice in items", js({"items": [ok, ok]}), status=422, code="incompatible_pieces", says="the same item"),
        Case("PNG bomb in items", js({"items": [ok, {"image": b64(png_bomb())}]}), status=422, code="invalid_image",
             says="items[1]: image is 20000x20000"),
        Case("1x1 px PNG in items", js({"items": [{"image": b64(tiny)}]}), status=422, code="invalid_image", says="items[0]: image is 1x1"),
        Case("invalid base64 in items", js({"items": [ok, {"image": "@@@@"}]}), status=400, code="bad_request",
             says="items[1].image is not valid base64"),
        Case("100 KB text in items", js({"items": [ok, {"text": "a red dress " * 8534}]}), status=422, code="invalid_input",
             says="items[1].text is"),
        Case("text in items on a lite artifact", js({"items": [ok, {"text": "white sneakers"}]}), status=422,
             code="unsupported_query", says="items[1]: text queries need a CLIP artifact"),
        Case("S3 URI to another bucket in items", js({"items": [ok, {"image_s3_uri": "s3://someone-else/q.jpg"}]}), status=422,
             code="s3_bucket_not_allowed", says="items[1]"),
        Case("category with several pieces", js({"items": [ok, {"item_id": "pants-0000"}], "category": "dress"}), status=422,
             code="invalid_input", says="category overrides a one-piece query"),
        Case("eight pieces (the most accepted)", js({"items": [{"item_id": f"{c}-0000"} for c in (
             "shirt", "pants", "jacket", "sneakers", "bag", "hat", "belt", "necklace")]}), status=200),
        Case("a photo and an item in items", js({"items": [{"image": b64(photo)}, {"item_id": "pants-0000"}]}), status=200),
        Case("duplicate JSON keys (the last wins)", b'{"item_id": "no-such-item", "item_id": "shirt-0000", "top_k": 1}', status=200),
        Case("exclude_ids holding a 100 KB id", js({**ok, "exclude_ids": ["z" * 100_000]}), status=200),
        Case("gender in capitals", js({**ok, "gender": "FEMALE"}), status=200),
        Case("data: URL picture", js({"image": "data:image/jpeg;base64," + b64(photo)}), status=200),
        Case("base64 wrapped at 76 columns", js({"image": "\n".join(re.findall(".{1,76}", b64(photo)))}), status=200),
        Case("base64 without padding", js({"image": b64(photo).rstrip("=")}), status=200),
        Case("grayscale JPEG", encode(Image.open(io.BytesIO(photo)).convert("L"), "JPEG"), "image/jpeg", 200),
        Case("CMYK JPEG", encode(Image.open(io.BytesIO(photo)).convert("CMYK"), "JPEG"), "image/jpeg", 200),
        Case("16-bit RGBA PNG with transparency", png16_rgba(RED), "image/png", 200),
        Case("16-bit grayscale PNG", encode(Image.fromarray((np.asarray(Image.open(io.BytesIO(photo)).convert("L"), dtype=np.uint16) * 257)), "PNG"), "image/png", 200),
        Case("palette PNG with transparency", palette_png_with_transparency(RED), "image/png", 200),
        Case("animated GIF", encode(garment(RED), "GIF", save_all=True, append_images=[garment(BLUE)], duration=100, loop=0), "image/gif", 200),
        Case("BMP as image/bmp", encode(garment(RED), "BMP"), "image/bmp", 200),
        Case("multi-page TIFF as image/tiff", encode(garment(RED), "TIFF", save_all=True, append_images=[garment(BLUE)], compression="tiff_lzw"), "image/tiff", 200),
        Case("AVIF as image/avif", encode(garment(RED), "AVIF", quality=90), "image/avif", 200),
        Case("JPEG sent as image/gif", photo, "image/gif", 200),
        Case("animated WebP", encode(garment(RED), "WEBP", save_all=True, append_images=[garment(BLUE)], duration=100, loop=0, lossless=True), "image/webp", 200),
        Case("WebP sent as image/jpeg", encode(garment(RED), "WEBP"), "image/jpeg", 200),
        Case("32x32 px (the smallest accepted)", encode(garment(RED, (32, 32)), "PNG"), "image/png", 200),
        Case("picture with a 1:50 aspect ratio", encode(garment(RED, (40, 2000)), "PNG"), "image/png", 200),
    ]
    names = [c.name for c in cases]
    assert len(names) == len(set(names))
    return cases


# ---- the server ---------------------------------------------------------------------------------
def worker_pids(pid: int) -> list[int]:
    out: set[int] = set()
    for task in Path(f"/proc/{pid}/task").iterdir():
        out.update(int(t) for t in (task / "children").read_text().split())
    return sorted(out)


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError(f"no VmRSS for {pid}")


@pytest.fixture(scope="module")
def photo(lite_artifact) -> bytes:
    shirt = next(it for it in catalog_items(lite_artifact) if it["category"] == "shirt")
    with Image.open(shirt["source"]) as im:
        return encode(im.convert("RGB"), "JPEG", quality=90)


@pytest.fixture(scope="module")
def cases(photo) -> list[Case]:
    return corpus(photo)


@pytest.fixture(scope="module")
def server(lite_artifact, tmp_path_factory):
    env = {
        "STYGIG_ALLOWED_S3_BUCKETS": ALLOWED_BUCKET,
        # nothing here may reach a real S3: a closed local port
        "AWS_ENDPOINT_URL_S3": "http://127.0.0.1:9",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    srv = start_server(lite_artifact, tmp_path_factory.mktemp("hostile"), workers=1, env=env)
    wait_for(srv)
    wait_workers_ready(srv, 1)
    (srv.worker,) = worker_pids(srv.proc.pid)
    srv.client = httpx.Client(base_url=srv.url, timeout=60)
    for _ in range(20):  # warm: allocator arenas, first-request caches
        assert srv.client.post("/invocations", json={"item_id": "shirt-0000", "top_k": 3}).status_code == 200
    srv.rss_start = rss_bytes(srv.worker)
    yield srv
    srv.client.close()
    assert stop(srv.proc) == 0


def send(server, case: Case) -> httpx.Response:
    headers = dict(case.headers)
    if case.content_type is not None:
        headers["Content-Type"] = case.content_type
    return server.client.post("/invocations", content=case.body, params=case.params, headers=headers)


def assert_healthy(server) -> None:
    assert server.proc.poll() is None, "the server died"
    assert server.client.get("/ping").status_code == 200
    r = server.client.post("/invocations", json={"item_id": "shirt-0000", "top_k": 2})
    assert r.status_code == 200 and r.json()["recommendations"], r.text
    assert worker_pids(server.proc.pid) == [server.worker], "the worker was replaced (it crashed)"


def test_every_input_gets_its_documented_answer_and_the_server_carries_on(server, cases):
    failures = []
    for case in cases:
        r = send(server, case)
        try:
            if case.status == 200:
                assert r.status_code == 200, r.text[:300]
                out = r.json()
                assert out["recommendations"] and "error" not in out
            else:
                err = assert_error(r, case.status, case.code)
                assert len(err["message"]) <= 600, f"error message of {len(err['message'])} characters"
                if case.says:
                    assert case.says in err["message"], err["message"]
        except AssertionError as e:
            failures.append(f"{case.name}: {e}".splitlines()[0])
        assert_healthy(server)
    assert not failures, "\n".join(failures)


def settled_rss(pid: int) -> int:
    """RSS once the last request's memory is given back: the least of a few samples."""
    samples = []
    for _ in range(5):
        time.sleep(0.1)
        samples.append(rss_bytes(pid))
    return min(samples)


def test_rss_stays_bounded_over_the_corpus(server, cases):
    """Six more passes over the whole corpus: memory reaches a plateau and stays there."""
    samples = [server.rss_start]
    for _ in range(6):
        for case in cases:
            send(server, case)
        samples.append(settled_rss(server.worker))
    assert_healthy(server)
    mb = [round(s / 2**20, 1) for s in samples]
    print("worker RSS MB (start, after each pass):", mb)
    # the first passes may grow the allocator's arenas (5 MB bodies): bounded...
    assert max(samples) - samples[0] < 64 * 2**20, mb
    # ...and further passes over the same inputs add nothing that stays: no leak per request.
    # The plateau can take two passes to reach (a clean-clone CI run measured 87.4, 94.0, 103.8,
    # 103.9 MB: +9.8 MB in pass two, +0.1 MB in pass three), and the allocator holds or gives back
    # 10-20 MB from one pass to the next, even two passes running (another CI run: 81.1, 100.8,
    # 100.9, 111.7, 121.5; twelve passes on one machine: 94.0, 96.9, 88.4, 97.7, 87.3 ... 88.8,
    # 109.1). So the least of passes four to six is compared with the most of passes one and two:
    # a leak grows every pass alike, so even the least of the late passes stands above the early
    # plateau (and the bound above caps six passes' growth at 64 MB).
    assert min(samples[4:]) - max(samples[1:3]) < max(8 * 2**20, 0.05 * max(samples[1:3])), mb


# ---- odd but valid: the picture the engine sees is the right one ------------------------------
def outfit(server, body: bytes, content_type: str) -> dict:
    r = server.client.post("/invocations", content=body, headers={"Content-Type": content_type})
    assert r.status_code == 200, r.text
    return r.json()


def by_name(cases: list[Case], name: str) -> Case:
    return next(c for c in cases if c.name == name)


def test_animations_use_their_first_frame(server, cases):
    red = outfit(server, encode(garment(RED), "PNG"), "image/png")
    blue = outfit(server, encode(garment(BLUE), "PNG"), "image/png")
    assert red["query_item"]["colors"] != blue["query_item"]["colors"]
    for name in ("animated GIF", "animated WebP", "multi-page TIFF as image/tiff", "BMP as image/bmp"):
        case = by_name(cases, name)
        got = outfit(server, case.body, case.content_type)
        assert got["query_item"]["colors"] == red["query_item"]["colors"], name
        assert [r["item_id"] for r in got["recommendations"]] == [r["item_id"] for r in red["recommendations"]], name


def test_transparency_is_composited_on_white(server, cases):
    on_white = outfit(server, encode(garment(RED), "PNG"), "image/png")
    for name in ("16-bit RGBA PNG with transparency", "palette PNG with transparency"):
        case = by_name(cases, name)
        got = outfit(server, case.body, case.content_type)
        assert got["query_item"]["colors"] == on_white["query_item"]["colors"], name  # no green shows through
        assert all(c["name"] != "green" for c in got["query_item"]["colors"]), name


def test_exif_orientation_is_honoured(server, lite_artifact):
    """A photo stored sideways with an EXIF tag saying so is answered like the upright photo."""
    pants = next(it for it in catalog_items(lite_artifact) if it["category"] == "pants")
    with Image.open(pants["source"]) as im:
        upright = im.convert("RGB")
    assert upright.size[0] != upright.size[1]
    sideways = upright.transpose(Image.Transpose.ROTATE_90)
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 degrees clockwise to display"
    a = outfit(server, encode(upright, "JPEG", quality=95), "image/jpeg")
    b = outfit(server, encode(sideways, "JPEG", quality=95, exif=exif), "image/jpeg")
    c = outfit(server, encode(sideways, "JPEG", quality=95), "image/jpeg")  # the same pixels, no tag
    ids = lambda o: [r["item_id"] for r in o["recommendations"]]  # noqa: E731
    assert b["query_item"]["category"] == a["query_item"]["category"]
    assert ids(b) == ids(a)
    assert np.allclose([r["score"] for r in b["recommendations"]], [r["score"] for r in a["recommendations"]], atol=0.01)
    assert ids(c) != ids(a), "without the tag the sideways photo should be seen sideways"


def test_cmyk_and_grayscale_pictures(server, photo, cases):
    rgb = outfit(server, photo, "image/jpeg")
    cmyk = outfit(server, by_name(cases, "CMYK JPEG").body, "image/jpeg")
    assert cmyk["query_item"]["category"] == rgb["query_item"]["category"]
    lab_rgb, lab_cmyk = rgb["query_item"]["colors"][0]["lab"], cmyk["query_item"]["colors"][0]["lab"]
    assert np.linalg.norm(np.subtract(lab_rgb, lab_cmyk)) < 6, (lab_rgb, lab_cmyk)
    gray = outfit(server, by_name(cases, "grayscale JPEG").body, "image/jpeg")
    for c in gray["query_item"]["colors"]:
        assert abs(c["lab"][1]) < 3 and abs(c["lab"][2]) < 3, c  # no colour where there is none


def test_a_declared_body_over_the_limit_is_refused_before_it_is_sent(server):
    """Content-Length: 10 GB, no body at all: the answer is an immediate 413."""
    import socket

    port = int(server.url.rsplit(":", 1)[1])
    t0 = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(
            b"POST /invocations HTTP/1.1\r\nHost: x\r\nContent-Type: image/jpeg\r\n"
            b"Content-Length: 10737418240\r\nConnection: close\r\n\r\n"
        )
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    assert time.monotonic() - t0 < 5
    head, _, body = data.partition(b"\r\n\r\n")
    assert head.split()[1] == b"413", head
    assert json.loads(body)["error"]["code"] == "payload_too_large"
    assert_healthy(server)


# ---- the documentation ----------------------------------------------------------------------------
def test_docs_list_every_input_with_its_status(cases):
    """docs/errors.md has one table row per corpus input: | input | status | code |."""
    text = (REPO / "docs" / "errors.md").read_text(encoding="utf-8")
    rows = {}
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("|") and len(cells) >= 3 and cells[1].isdigit():
            rows[cells[0]] = (int(cells[1]), cells[2].strip("`") or None)
    missing = [c.name for c in cases if c.name not in rows]
    assert not missing, f"docs/errors.md lacks rows for: {missing}"
    wrong = [
        (c.name, rows[c.name], (c.status, c.code))
        for c in cases
        if rows[c.name][0] != c.status or (c.status != 200 and rows[c.name][1] != c.code)
    ]
    assert not wrong, wrong


@pytest.mark.parametrize("name", ["-bad-", "a" * 64, "end_point", "%C3%A9t%C3%A9", "%2E%2E", "a%20b"])
def test_bad_endpoint_names_are_invoke_endpoints_validation_errors(server, name):
    r = server.client.post(f"/endpoints/{name}/invocations", json={"item_id": "shirt-0000"})
    assert r.status_code == 400 and r.headers["x-amzn-errortype"] == "ValidationError", r.text
    assert "endpointName" in r.json()["Message"] and len(r.json()["Message"]) < 300
