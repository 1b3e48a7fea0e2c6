"""Foreground masks of synthetic product photos."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFilter

from stygig.features.colour.mask import bbox, dilate, erode, fill_holes, foreground_mask

SHIRT = [(70, 40), (110, 30), (146, 30), (186, 40), (230, 90), (200, 115), (180, 95),
         (180, 225), (76, 225), (76, 95), (56, 115), (26, 90)]  # fmt: skip


def jpeg(img: Image.Image, quality: int = 80) -> Image.Image:
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=quality)
    return Image.open(io.BytesIO(buf.getvalue())).convert("RGB")


def shirt_photo(background, fill, *, shade: float = 0.0, compress: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """(picture, true mask) of a T-shirt on a plain background; ``shade`` darkens the garment
    towards its right side like studio light; JPEG-compressed like a real catalog photo."""
    truth_img = Image.new("L", (256, 256), 0)
    ImageDraw.Draw(truth_img).polygon(SHIRT, fill=255)
    truth = np.asarray(truth_img) > 127
    pic = np.empty((256, 256, 3), dtype=np.float64)
    pic[:] = background
    pic[truth] = fill
    if shade:
        factor = np.linspace(1.0, 1.0 - shade, 256)[None, :, None]
        pic = np.where(truth[..., None], pic * factor, pic)
    img = Image.fromarray(np.clip(np.rint(pic), 0, 255).astype(np.uint8)).filter(ImageFilter.GaussianBlur(0.6))
    if compress:
        img = jpeg(img)
    return np.asarray(img), truth


def iou(a: np.ndarray, b: np.ndarray) -> float:
    return float((a & b).sum() / (a | b).sum())


@pytest.mark.parametrize(
    "background, fill",
    [
        ((255, 255, 255), (200, 30, 40)),  # red on white
        ((255, 255, 255), (20, 20, 20)),  # black on white
        ((236, 236, 234), (30, 40, 90)),  # navy on light grey
        ((250, 250, 250), (235, 225, 200)),  # cream on off-white: low contrast
        ((30, 30, 30), (200, 200, 200)),  # light garment on a dark background
    ],
)
def test_garment_on_plain_background(background, fill):
    pic, truth = shirt_photo(background, fill)
    mask = foreground_mask(pic)
    assert mask.shape == (256, 256) and mask.dtype == bool
    assert iou(mask, truth) > 0.9
    left, upper, right, lower = bbox(mask)
    assert abs(left - 26) <= 3 and abs(right - 231) <= 3 and abs(upper - 30) <= 3 and abs(lower - 226) <= 3


def test_white_garment_on_white_background_gets_a_sane_mask():
    # A white shirt on white, only slightly darker than the background, shaded to one side.
    pic, truth = shirt_photo((255, 255, 255), (243, 243, 241), shade=0.15)
    mask = foreground_mask(pic)
    assert not mask.all()
    assert iou(mask, truth) > 0.8
    # Without any shading at all it still finds it (the border is perfectly clean).
    pic, truth = shirt_photo((255, 255, 255), (246, 246, 246), compress=False)
    assert iou(foreground_mask(pic), truth) > 0.9


def test_white_on_white_with_only_an_outline_is_filled():
    img = Image.new("RGB", (200, 200), (255, 255, 255))
    ImageDraw.Draw(img).rectangle((50, 40, 150, 170), fill=(255, 255, 255), outline=(232, 232, 232), width=2)
    mask = foreground_mask(np.asarray(img))
    truth = np.zeros((200, 200), dtype=bool)
    truth[40:171, 50:151] = True
    assert iou(mask, truth) > 0.9


def test_uniform_picture_is_all_foreground():
    for colour in [(255, 255, 255), (128, 128, 128), (200, 30, 40)]:
        mask = foreground_mask(np.full((120, 90, 3), colour, dtype=np.uint8))
        assert mask.shape == (120, 90) and mask.all()


def test_busy_picture_without_a_plain_background_is_all_foreground():
    noise = np.random.default_rng(0).integers(0, 256, (128, 128, 3), dtype=np.uint8)
    assert foreground_mask(noise).all()


def test_garment_filling_the_frame_is_all_foreground():
    pic = np.full((200, 200, 3), (250, 250, 250), dtype=np.uint8)
    pic[1:199, 1:199] = (200, 30, 40)  # only a one-pixel rim of background
    assert foreground_mask(pic).all()
    pic = np.full((200, 200, 3), (200, 30, 40), dtype=np.uint8)  # a close-up crop of fabric
    pic[:, :40] = (250, 250, 250)
    assert foreground_mask(pic).all()


def test_garment_cut_by_the_frame_is_still_found():
    pic = np.full((160, 160, 3), 255, dtype=np.uint8)
    pic[40:, 50:110] = (30, 40, 90)  # trousers running off the bottom edge
    mask = foreground_mask(pic)
    assert bbox(mask) == (50, 40, 110, 160)
    assert mask[40:, 50:110].all() and mask.sum() == 120 * 60


def test_holes_and_prints_are_filled_and_specks_removed():
    pic = np.full((128, 128, 3), 255, dtype=np.uint8)
    pic[20:110, 30:100] = (30, 40, 90)
    pic[50:70, 55:75] = 255  # a white print on the garment
    pic[5, 5] = pic[120, 10] = pic[64, 120] = (0, 0, 0)  # dust specks on the background
    mask = foreground_mask(pic)
    assert mask[50:70, 55:75].all()
    assert not mask[5, 5] and not mask[120, 10] and not mask[64, 120]
    assert bbox(mask) == (30, 20, 100, 110)


def test_gap_open_to_the_side_is_not_filled():
    # trousers: the gap between the legs opens to the bottom edge and stays background
    pic = np.full((128, 128, 3), 255, dtype=np.uint8)
    pic[10:40, 30:98] = (30, 40, 90)  # waist
    pic[40:120, 30:58] = (30, 40, 90)  # left leg
    pic[40:120, 70:98] = (30, 40, 90)  # right leg
    mask = foreground_mask(pic)
    assert not mask[60:118, 60:68].any()
    assert mask[40:120, 30:58].all() and mask[40:120, 70:98].all()


def test_small_and_float_inputs():
    assert foreground_mask(np.zeros((4, 6, 3), dtype=np.uint8)).all()
    pic = np.full((64, 64, 3), 255.0)
    pic[16:48, 16:48] = (200.0, 30.0, 40.0)
    mask = foreground_mask(pic)
    assert mask[20:44, 20:44].all() and not mask[:10].any()
    with pytest.raises(ValueError):
        foreground_mask(np.zeros((64, 64), dtype=np.uint8))


def test_mask_is_deterministic():
    pic, _ = shirt_photo((255, 255, 255), (200, 30, 40))
    assert np.array_equal(foreground_mask(pic), foreground_mask(pic.copy()))


def test_morphology_helpers():
    m = np.zeros((9, 9), dtype=bool)
    m[2:7, 2:7] = True
    m[0, 8] = True
    e = erode(m)
    assert e.sum() == 9 and e[3:6, 3:6].all()
    d = dilate(m)
    assert d[1:8, 1:8].all() and not d[8, 0]
    assert np.array_equal(dilate(erode(m))[2:7, 2:7], m[2:7, 2:7]) and not dilate(erode(m))[0, 8]
    with pytest.raises(ValueError):
        erode(m, size=2)

    ring = np.zeros((9, 9), dtype=bool)
    ring[2, 2:7] = ring[6, 2:7] = ring[2:7, 2] = ring[2:7, 6] = True
    filled = fill_holes(ring)
    assert filled[2:7, 2:7].all() and filled.sum() == 25
    assert not fill_holes(np.zeros((5, 5), dtype=bool)).any()


def test_bbox():
    assert bbox(np.zeros((4, 4), dtype=bool)) is None
    m = np.zeros((10, 20), dtype=bool)
    m[3:5, 7:12] = True
    assert bbox(m) == (7, 3, 12, 5)
    img = Image.new("RGB", (20, 10))
    assert img.crop(bbox(m)).size == (5, 2)
