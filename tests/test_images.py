import io

import numpy as np
import pytest
from PIL import Image

from stygig.errors import ImageError
from stygig import images as stygig_images
from stygig.images import decode_image


def _bytes(img: Image.Image, fmt: str, **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt, **kw)
    return buf.getvalue()


def test_rgb_jpeg():
    img = decode_image(_bytes(Image.new("RGB", (64, 48), (200, 10, 10)), "JPEG"))
    assert img.mode == "RGB" and img.size == (64, 48)


def test_cmyk_jpeg_becomes_rgb():
    img = decode_image(_bytes(Image.new("CMYK", (40, 40), (0, 255, 255, 0)), "JPEG"))
    r, g, b = img.getpixel((20, 20))
    assert img.mode == "RGB" and r > 200 and g < 60 and b < 60


def test_palette_png_with_transparency_is_composited_on_white():
    p = Image.new("P", (40, 40), 0)
    p.putpalette([255, 0, 0, 0, 0, 255] + [0] * 762)
    p.info["transparency"] = 0
    img = decode_image(_bytes(p, "PNG"))
    assert img.getpixel((5, 5)) == (255, 255, 255)


def test_sixteen_bit_png():
    arr = np.full((40, 40), 40000, dtype=np.uint16)
    img = decode_image(_bytes(Image.fromarray(arr), "PNG"))
    v = img.getpixel((1, 1))
    assert img.mode == "RGB" and 140 < v[0] < 170


def test_animated_gif_uses_first_frame():
    frames = [Image.new("RGB", (40, 40), c) for c in ((255, 0, 0), (0, 0, 255))]
    data = _bytes(frames[0], "GIF", save_all=True, append_images=frames[1:])
    r, g, b = decode_image(data).getpixel((10, 10))
    assert r > 200 and b < 60


def test_exif_orientation_is_honoured():
    img = Image.new("RGB", (80, 40), (0, 200, 0))
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90
    out = decode_image(_bytes(img, "JPEG", exif=exif))
    assert out.size == (40, 80)


@pytest.mark.parametrize(
    "data, reason",
    [
        (b"", "empty"),
        (b"definitely not an image", "not an image"),
        (_bytes(Image.new("RGB", (64, 64)), "PNG")[:60], "corrupt or truncated"),
        (_bytes(Image.new("RGB", (20, 64)), "PNG"), "under the minimum"),
    ],
)
def test_bad_bytes(data, reason):
    with pytest.raises(ImageError, match=reason):
        decode_image(data)


def test_decompression_bomb_refused_from_header():
    # 20000 x 20000 one-bit PNG: a few KB on disk, 400 megapixels decoded
    data = _bytes(Image.new("1", (20000, 20000)), "PNG")
    assert len(data) < 200_000
    with pytest.raises(ImageError, match="megapixels"):
        decode_image(data)


def test_errors_for_a_path_name_it(tmp_path):
    # issue 18.6: "unreadable file: No such file or directory" did not say which file
    with pytest.raises(ImageError) as e:
        decode_image(tmp_path / "nope.jpg")
    assert e.value.message == f"cannot read {tmp_path / 'nope.jpg'}: No such file or directory"
    (tmp_path / "notes.jpg").write_text("a text file renamed .jpg")
    with pytest.raises(ImageError) as e:
        decode_image(str(tmp_path / "notes.jpg"))
    assert e.value.message == f"{tmp_path / 'notes.jpg'}: not an image (unrecognised format)"
    with pytest.raises(ImageError) as e:
        decode_image(tmp_path)
    assert e.value.message == f"{tmp_path} is a folder, not a picture"
    with pytest.raises(ImageError) as e:  # bytes have no name: the reason alone, as the server says it
        decode_image(b"a text file")
    assert e.value.message == "not an image (unrecognised format)"


# ---- issue 16.3: the common formats are read, others are named ---------------------------------
RED_AND_BLUE = [Image.new("RGB", (48, 48), c) for c in ((230, 10, 10), (10, 10, 230))]


@pytest.mark.parametrize(
    "fmt, kw",
    [
        ("GIF", {"save_all": True, "append_images": RED_AND_BLUE[1:], "duration": 100, "loop": 0}),
        ("BMP", {}),
        ("TIFF", {"save_all": True, "append_images": RED_AND_BLUE[1:], "compression": "tiff_lzw"}),
        ("AVIF", {"quality": 90}),
        ("WEBP", {"save_all": True, "append_images": RED_AND_BLUE[1:], "lossless": True}),
    ],
)
def test_common_formats_are_read_first_frame_first(fmt, kw):
    assert fmt in stygig_images.FORMATS
    r, g, b = decode_image(_bytes(RED_AND_BLUE[0], fmt, **kw)).getpixel((20, 20))
    assert r > 200 and b < 60, (fmt, r, g, b)


def test_a_format_outside_the_list_is_named_and_non_images_stay_unrecognised():
    with pytest.raises(ImageError) as e:
        decode_image(_bytes(RED_AND_BLUE[0], "PPM"))
    assert e.value.message == "PPM pictures are not read; send JPEG, PNG, WebP, GIF, BMP, TIFF or AVIF"
    with pytest.raises(ImageError) as e:
        decode_image(b"<svg xmlns='http://www.w3.org/2000/svg'/>")
    assert e.value.message == "not an image (unrecognised format)"


def test_a_tiff_bomb_is_refused_from_its_header():
    data = _bytes(Image.new("1", (20000, 20000)), "TIFF", compression="group4")
    assert len(data) < 2_000_000
    with pytest.raises(ImageError, match="megapixels"):
        decode_image(data)


def test_the_web_page_and_the_catalog_name_the_formats_the_decoder_reads():
    import re
    from pathlib import Path

    from stygig.catalog import ingest

    static = Path(stygig_images.__file__).parent / "serving" / "static"
    hint = re.search(r'id="photo-hint">([^<]*)', (static / "index.html").read_text(encoding="utf-8")).group(1)
    assert hint.startswith(stygig_images.FORMAT_NAMES + ", up to")
    types = re.search(r"var IMAGE_TYPES = \[([^\]]*)\]", (static / "app.js").read_text(encoding="utf-8")).group(1)
    assert tuple(t.strip().strip('"') for t in types.split(",")) == stygig_images.MEDIA_TYPES
    assert ingest.IMAGE_EXTENSIONS == stygig_images.SUFFIXES
