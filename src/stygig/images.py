"""Decoding untrusted image bytes into RGB pictures.

One function used by catalog ingestion, the engine and the server, so that every path agrees on
what an acceptable image is: only the common formats' decoders are tried (:data:`FORMATS`), the
pixel limit is checked from the header *before* any pixels are decoded (decompression bombs), the
first frame of an animation (or page of a TIFF) is used, EXIF orientation is honoured, and every
mode (CMYK, 16-bit, palette with transparency, LA, ...) becomes 8-bit RGB with transparency
composited onto white.
"""

from __future__ import annotations

import io
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

# the decoders of FORMATS, registered with Pillow now (Pillow would otherwise import all of its
# plugins on the first picture that is not a JPEG, PNG, GIF or BMP)
from PIL import AvifImagePlugin, BmpImagePlugin, GifImagePlugin, JpegImagePlugin  # noqa: F401
from PIL import PngImagePlugin, TiffImagePlugin, WebPImagePlugin  # noqa: F401

from stygig.errors import ImageError

#: The picture formats read: Pillow's name, the name users read, the media types a client may
#: send it as, and a file's suffixes. Only these decoders are tried (Pillow can open dozens more,
#: some rarely exercised, one handing the bytes to an outside program); Pillow's JPEG decoder
#: also reads cameras' multi-picture JPEGs (MPO).
_FORMATS: tuple[tuple[str, str, tuple[str, ...], tuple[str, ...]], ...] = (
    ("JPEG", "JPEG", ("image/jpeg",), (".jpg", ".jpeg")),
    ("PNG", "PNG", ("image/png", "image/apng"), (".png",)),
    ("WEBP", "WebP", ("image/webp",), (".webp",)),
    ("GIF", "GIF", ("image/gif",), (".gif",)),
    ("BMP", "BMP", ("image/bmp", "image/x-ms-bmp"), (".bmp",)),
    ("TIFF", "TIFF", ("image/tiff",), (".tif", ".tiff")),
    ("AVIF", "AVIF", ("image/avif",), (".avif",)),
)
#: Pillow's names of the formats read
FORMATS: tuple[str, ...] = tuple(f[0] for f in _FORMATS)
#: every media type a picture may be sent as, in order
MEDIA_TYPES: tuple[str, ...] = tuple(t for f in _FORMATS for t in f[2])
#: the file suffixes of pictures (lower case), for catalog folders
SUFFIXES: frozenset[str] = frozenset(x for f in _FORMATS for x in f[3])
#: the formats as a user reads them: "JPEG, PNG, WebP, GIF, BMP, TIFF or AVIF"
FORMAT_NAMES = ", ".join(f[1] for f in _FORMATS[:-1]) + " or " + _FORMATS[-1][1]

MAX_PIXELS = 64_000_000
MIN_SIDE = 32
#: JPEGs larger than any model needs are decoded at a reduced scale (libjpeg's DCT scaling, 1/2,
#: 1/4 or 1/8) as long as the shorter side stays at least this long: CLIP's 224 px input (every
#: shipped encoder takes at most 224 px; the colours and thumbnails at most 192). The DCT scaling
#: averages each 8x8 block down, a proper anti-aliasing reduction, so the model's own bicubic
#: resize starts from a picture just larger than its input: a 1000 px photo decodes to 250 px
#: (not 500), which costs less to decode and a fifth as much to resize. Catalog builds and
#: queries share this path, so both sides of a comparison see the same picture.
DRAFT_MIN_SIDE = 224

# We check the pixel count ourselves before decoding; Pillow's own guard would raise a warning at
# half our limit and an error at twice Pillow's default, neither of which is what we want.
Image.MAX_IMAGE_PIXELS = None


def decode_image(
    data: bytes | str | Path,
    *,
    max_pixels: int = MAX_PIXELS,
    min_side: int = MIN_SIDE,
    draft_min_side: int | None = DRAFT_MIN_SIDE,
) -> Image.Image:
    """Decode bytes (or a file path) into an RGB :class:`PIL.Image.Image`.

    Raises :class:`ImageError` with a one-line reason for anything unusable; given a path, the
    reason names it. Large JPEGs are decoded at a reduced scale (see :data:`DRAFT_MIN_SIDE`;
    ``draft_min_side=None`` turns it off).
    """
    if isinstance(data, (str, Path)):
        path = data
        if Path(path).is_dir():
            raise ImageError(f"{path} is a folder, not a picture")
        try:
            data = Path(path).read_bytes()
        except OSError as e:
            raise ImageError(f"cannot read {path}: {e.strerror or e}") from None
        try:
            return decode_image(data, max_pixels=max_pixels, min_side=min_side, draft_min_side=draft_min_side)
        except ImageError as e:
            raise ImageError(f"{path}: {e.message}") from None
    if not data:
        raise ImageError("empty file")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            img = Image.open(io.BytesIO(data), formats=FORMATS)
            width, height = img.size
            if width * height > max_pixels:
                raise ImageError(
                    f"image is {width}x{height} = {width * height / 1e6:.1f} megapixels, "
                    f"over the limit of {max_pixels / 1e6:.0f}"
                )
            if min(width, height) < min_side:
                raise ImageError(f"image is {width}x{height}, under the minimum side of {min_side} px")
            if getattr(img, "is_animated", False):
                img.seek(0)
            if img.format in ("JPEG", "MPO") and draft_min_side and min(width, height) >= 2 * draft_min_side:
                scale = min(width, height) / draft_min_side  # >= 2
                img.draft(img.mode, (int(width / scale) + 1, int(height / scale) + 1))
            img.load()
            img = ImageOps.exif_transpose(img) or img
            return to_rgb(img)
    except ImageError:
        raise
    except UnidentifiedImageError:
        raise ImageError(_unread_format(data)) from None
    except Image.DecompressionBombError as e:  # pragma: no cover - guarded above
        raise ImageError(f"image too large: {e}") from None
    except (OSError, SyntaxError, ValueError, EOFError) as e:
        raise ImageError(f"corrupt or truncated image: {e}") from None


def _unread_format(data: bytes) -> str:
    """Why bytes none of :data:`FORMATS` reads are refused: a picture of another format, named
    (its header only is parsed, nothing decoded), or not a picture at all."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with Image.open(io.BytesIO(data)) as other:
                name = other.format
    except Exception:  # noqa: BLE001 - any failure here means: not a picture we know
        return "not an image (unrecognised format)"
    return f"{name} pictures are not read; send {FORMAT_NAMES}"


def to_rgb(img: Image.Image) -> Image.Image:
    """Any Pillow mode -> 8-bit RGB; transparency is composited onto white."""
    if img.mode == "RGB":
        return img
    if img.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I"):
        arr = np.asarray(img, dtype=np.float64)
        hi = arr.max() if arr.size else 1.0
        scale = 255.0 / (65535.0 if hi > 255 else 255.0)
        arr8 = np.clip(arr * scale, 0, 255).astype(np.uint8)
        return Image.fromarray(arr8, "L").convert("RGB")
    if img.mode == "F":
        arr = np.asarray(img, dtype=np.float64)
        arr8 = np.clip(arr * (255.0 if arr.max() <= 1.0 else 1.0), 0, 255).astype(np.uint8)
        return Image.fromarray(arr8, "L").convert("RGB")
    if img.mode == "P" or img.mode == "PA":
        img = img.convert("RGBA")
    if img.mode in ("RGBA", "LA", "La", "RGBa"):
        img = img.convert("RGBA")
        background = Image.new("RGBA", img.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, img).convert("RGB")
    return img.convert("RGB")
