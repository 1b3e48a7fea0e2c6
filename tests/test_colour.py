"""Colour conversions, CIEDE2000, colour names, dominant colours and harmony."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image, ImageDraw

from stygig.features.colour.dominant import DominantColour, dominant_colours, pack_colours
from stygig.features.colour.harmony import RELATIONS, harmony, harmony_batch, pair_harmony, wheel_hue
from stygig.features.colour.names import PALETTE, colour_name
from stygig.features.colour.space import delta_e, delta_e76, lab_to_lch, lab_to_srgb, srgb_to_lab, srgb_to_lab_planes


def lab_of(rgb) -> np.ndarray:
    return srgb_to_lab(np.array(rgb, dtype=np.uint8))


# ------------------------------------------------------------------------------- conversions


@pytest.mark.parametrize(
    "rgb, expected",
    [
        ((255, 255, 255), (100.0, 0.0, 0.0)),
        ((0, 0, 0), (0.0, 0.0, 0.0)),
        ((255, 0, 0), (53.24, 80.09, 67.20)),
        ((0, 255, 0), (87.73, -86.18, 83.18)),
        ((0, 0, 255), (32.30, 79.19, -107.86)),
        ((119, 119, 119), (50.03, 0.0, 0.0)),
    ],
)
def test_srgb_to_lab_matches_published_values(rgb, expected):
    lab = lab_of(rgb)
    assert lab.dtype == np.float64
    assert lab == pytest.approx(expected, abs=0.01)
    # float input in 0..255 gives the same answer as uint8
    assert srgb_to_lab(np.array(rgb, dtype=np.float64)) == pytest.approx(lab, abs=1e-9)


def test_white_is_exact_and_greys_are_achromatic():
    assert lab_of((255, 255, 255)).tolist() == pytest.approx([100.0, 0.0, 0.0], abs=1e-9)
    greys = srgb_to_lab(np.repeat(np.arange(256, dtype=np.uint8)[:, None], 3, axis=1))
    assert np.abs(greys[:, 1:]).max() < 1e-6
    assert np.all(np.diff(greys[:, 0]) > 0)  # lightness increases monotonically


def test_lab_round_trip_is_exact_for_every_8_bit_colour_on_a_grid():
    levels = np.array([0, 1, 7, 31, 64, 100, 127, 128, 180, 200, 254, 255], dtype=np.uint8)
    rgb = np.stack(np.meshgrid(levels, levels, levels, indexing="ij"), axis=-1).reshape(-1, 3)
    back = lab_to_srgb(srgb_to_lab(rgb))
    assert back.dtype == np.uint8
    assert np.array_equal(back, rgb)
    # and random colours, shaped like a picture
    pic = np.random.default_rng(0).integers(0, 256, (17, 23, 3), dtype=np.uint8)
    assert np.array_equal(lab_to_srgb(srgb_to_lab(pic)), pic)


def test_out_of_gamut_lab_is_clipped_not_wrapped():
    assert lab_to_srgb(np.array([120.0, 0.0, 0.0])).tolist() == [255, 255, 255]
    assert lab_to_srgb(np.array([-5.0, 0.0, 0.0])).tolist() == [0, 0, 0]
    very_red = lab_to_srgb(np.array([50.0, 120.0, 80.0]))
    assert very_red[0] == 255 and very_red[1] == 0


def test_fast_planes_agree_with_the_reference_conversion():
    pic = np.random.default_rng(1).integers(0, 256, (40, 50, 3), dtype=np.uint8)
    planes = srgb_to_lab_planes(pic)
    assert all(p.dtype == np.float32 and p.shape == (40, 50) for p in planes)
    assert np.abs(np.stack(planes, axis=-1) - srgb_to_lab(pic)).max() < 1e-3


def test_conversion_rejects_wrong_shapes():
    with pytest.raises(ValueError):
        srgb_to_lab(np.zeros((4, 4), dtype=np.uint8))
    with pytest.raises(ValueError):
        lab_to_srgb(np.zeros((2, 4)))


def test_lab_to_lch():
    lch = lab_to_lch(np.array([[50.0, 0.0, 10.0], [60.0, -3.0, -4.0], [70.0, 0.0, 0.0]]))
    assert lch[0] == pytest.approx([50.0, 10.0, 90.0])
    assert lch[1, 1] == pytest.approx(5.0)
    assert 180.0 < lch[1, 2] < 270.0
    assert lch[2, 1] == 0.0
    assert np.all((lch[:, 2] >= 0.0) & (lch[:, 2] < 360.0))


# ------------------------------------------------------------------------------- CIEDE2000

# Sharma, Wu & Dalal (2005), "The CIEDE2000 Color-Difference Formula: Implementation Notes,
# Supplementary Test Data, and Mathematical Observations", Table 1.
SHARMA = [
    (50.0000, 2.6772, -79.7751, 50.0000, 0.0000, -82.7485, 2.0425),
    (50.0000, 3.1571, -77.2803, 50.0000, 0.0000, -82.7485, 2.8615),
    (50.0000, 2.8361, -74.0200, 50.0000, 0.0000, -82.7485, 3.4412),
    (50.0000, -1.3802, -84.2814, 50.0000, 0.0000, -82.7485, 1.0000),
    (50.0000, -1.1848, -84.8006, 50.0000, 0.0000, -82.7485, 1.0000),
    (50.0000, -0.9009, -85.5211, 50.0000, 0.0000, -82.7485, 1.0000),
    (50.0000, 0.0000, 0.0000, 50.0000, -1.0000, 2.0000, 2.3669),
    (50.0000, -1.0000, 2.0000, 50.0000, 0.0000, 0.0000, 2.3669),
    (50.0000, 2.4900, -0.0010, 50.0000, -2.4900, 0.0009, 7.1792),
    (50.0000, 2.4900, -0.0010, 50.0000, -2.4900, 0.0010, 7.1792),
    (50.0000, 2.4900, -0.0010, 50.0000, -2.4900, 0.0011, 7.2195),
    (50.0000, 2.4900, -0.0010, 50.0000, -2.4900, 0.0012, 7.2195),
    (50.0000, -0.0010, 2.4900, 50.0000, 0.0009, -2.4900, 4.8045),
    (50.0000, -0.0010, 2.4900, 50.0000, 0.0010, -2.4900, 4.8045),
    (50.0000, -0.0010, 2.4900, 50.0000, 0.0011, -2.4900, 4.7461),
    (50.0000, 2.5000, 0.0000, 50.0000, 0.0000, -2.5000, 4.3065),
    (50.0000, 2.5000, 0.0000, 73.0000, 25.0000, -18.0000, 27.1492),
    (50.0000, 2.5000, 0.0000, 61.0000, -5.0000, 29.0000, 22.8977),
    (50.0000, 2.5000, 0.0000, 56.0000, -27.0000, -3.0000, 31.9030),
    (50.0000, 2.5000, 0.0000, 58.0000, 24.0000, 15.0000, 19.4535),
    (50.0000, 2.5000, 0.0000, 50.0000, 3.1736, 0.5854, 1.0000),
    (50.0000, 2.5000, 0.0000, 50.0000, 3.2972, 0.0000, 1.0000),
    (50.0000, 2.5000, 0.0000, 50.0000, 1.8634, 0.5757, 1.0000),
    (50.0000, 2.5000, 0.0000, 50.0000, 3.2592, 0.3350, 1.0000),
    (60.2574, -34.0099, 36.2677, 60.4626, -34.1751, 39.4387, 1.2644),
    (63.0109, -31.0961, -5.8663, 62.8187, -29.7946, -4.0864, 1.2630),
    (61.2901, 3.7196, -5.3901, 61.4292, 2.2480, -4.9620, 1.8731),
    (35.0831, -44.1164, 3.7933, 35.0232, -40.0716, 1.5901, 1.8645),
    (22.7233, 20.0904, -46.6940, 23.0331, 14.9730, -42.5619, 2.0373),
    (36.4612, 47.8580, 18.3852, 36.2715, 50.5065, 21.2231, 1.4146),
    (90.8027, -2.0831, 1.4410, 91.1528, -1.6435, 0.0447, 1.4441),
    (90.9257, -0.5406, -0.9208, 88.6381, -0.8985, -0.7239, 1.5381),
    (6.7747, -0.2908, -2.4247, 5.8714, -0.0985, -2.2286, 0.6377),
    (2.0776, 0.0795, -1.1350, 0.9033, -0.0636, -0.5514, 0.9082),
]


def test_ciede2000_matches_the_sharma_reference_set_both_ways():
    data = np.array(SHARMA)
    lab1, lab2, expected = data[:, 0:3], data[:, 3:6], data[:, 6]
    assert delta_e(lab1, lab2) == pytest.approx(expected, abs=1e-4)
    assert delta_e(lab2, lab1) == pytest.approx(expected, abs=1e-4)


def test_delta_e_scalars_and_broadcasting():
    red, blue = lab_of((255, 0, 0)), lab_of((0, 0, 255))
    d = delta_e(red, blue)
    assert isinstance(d, float) and d > 40
    assert delta_e(red, red) == 0.0
    grid = delta_e(np.stack([red, blue])[:, None, :], np.stack([red, blue])[None, :, :])
    assert grid.shape == (2, 2) and grid[0, 1] == pytest.approx(grid[1, 0]) and grid[0, 0] == 0.0
    assert delta_e76(red, blue) == pytest.approx(np.linalg.norm(red - blue))


# ------------------------------------------------------------------------------- names


@pytest.mark.parametrize(
    "rgb, name",
    [
        ((0, 0, 0), "black"),
        ((255, 255, 255), "white"),
        ((119, 119, 119), "grey"),
        ((200, 200, 200), "light grey"),
        ((20, 30, 80), "navy"),
        ((0, 0, 128), "navy"),
        ((255, 0, 0), "red"),
        ((200, 20, 30), "red"),
        ((110, 20, 40), "burgundy"),
        ((225, 205, 170), "beige"),
        ((110, 110, 40), "olive"),
        ((40, 150, 60), "green"),
        ((30, 80, 200), "blue"),
        ((245, 215, 40), "yellow"),
        ((240, 130, 30), "orange"),
        ((245, 170, 190), "pink"),
        ((110, 50, 140), "purple"),
        ((110, 70, 40), "brown"),
    ],
)
def test_colour_names(rgb, name):
    assert colour_name(lab_of(rgb)) == name


def test_every_palette_colour_is_named_after_itself():
    assert len(PALETTE) >= 25
    for name, rgb in PALETTE.items():
        assert colour_name(lab_of(rgb)) == name
    with pytest.raises(TypeError):
        PALETTE["new"] = (1, 2, 3)  # read-only


# ------------------------------------------------------------------------------- dominant colours

RED = (200, 20, 30)
NAVY = (20, 30, 80)


def garment_picture(size: int = 256, background=(255, 255, 255)) -> Image.Image:
    """A red T-shirt shape with a navy stripe on a plain background."""
    img = Image.new("RGB", (size, size), background)
    draw = ImageDraw.Draw(img)
    s = size / 256
    shirt = [(70, 40), (110, 30), (146, 30), (186, 40), (230, 90), (200, 115), (180, 95),
             (180, 225), (76, 225), (76, 95), (56, 115), (26, 90)]  # fmt: skip
    draw.polygon([(x * s, y * s) for x, y in shirt], fill=RED)
    draw.rectangle((76 * s, 120 * s, 180 * s, 150 * s), fill=NAVY)
    return img


def test_dominant_colours_of_a_garment_exclude_the_background():
    colours = dominant_colours(garment_picture(), k=3)
    assert 2 <= len(colours) <= 3
    top = [c.name for c in colours[:2]]
    assert top == ["red", "navy"]
    assert all(c.name != "white" for c in colours)
    assert delta_e(colours[0].lab, lab_of(RED)) < 2.0
    assert delta_e(colours[1].lab, lab_of(NAVY)) < 2.0
    weights = [c.weight for c in colours]
    assert sum(weights) == pytest.approx(1.0, abs=1e-12)
    assert weights == sorted(weights, reverse=True)
    # the stripe is about a fifth of the shirt
    assert 0.1 < colours[1].weight < 0.3
    assert colours[0].hex == "#c8141e" and colours[0].rgb == RED


def test_dominant_colours_are_not_the_mean_colour():
    pic = garment_picture()
    mean = np.asarray(pic).reshape(-1, 3).mean(axis=0)
    colours = dominant_colours(pic)
    assert all(delta_e(c.lab, srgb_to_lab(mean)) > 20 for c in colours)


def test_dominant_colours_are_deterministic_and_accept_arrays():
    pic = garment_picture()
    a = dominant_colours(pic, seed=3)
    b = dominant_colours(pic, seed=3)
    c = dominant_colours(np.asarray(pic), seed=3)
    assert a == b == c
    # another seed still finds the same two colours
    assert [x.name for x in dominant_colours(pic, seed=11)][:2] == ["red", "navy"]


def test_dominant_colours_on_light_grey_background_and_small_k():
    pic = garment_picture(background=(225, 225, 225))
    colours = dominant_colours(pic, k=3)
    assert [c.name for c in colours[:2]] == ["red", "navy"]
    one = dominant_colours(pic, k=1)
    assert len(one) == 1 and one[0].weight == 1.0 and one[0].name in ("red", "burgundy")


def test_dominant_colours_with_a_given_mask_use_only_that_region():
    pic = garment_picture()
    mask = np.zeros((256, 256), dtype=bool)
    mask[125:146, 90:170] = True  # inside the navy stripe
    colours = dominant_colours(pic, mask=mask)
    assert len(colours) == 1 and colours[0].name == "navy" and colours[0].weight == 1.0
    with pytest.raises(ValueError):
        dominant_colours(pic, mask=np.zeros((10, 10), dtype=bool))
    with pytest.raises(ValueError):
        dominant_colours(pic, mask=np.zeros((256, 256), dtype=bool))
    with pytest.raises(ValueError):
        dominant_colours(pic, k=0)


def test_dominant_colours_of_a_plain_picture_and_of_a_tiny_one():
    plain = Image.new("RGB", (64, 48), (90, 120, 30))
    colours = dominant_colours(plain, k=3)
    assert len(colours) == 1 and colours[0].rgb == (90, 120, 30) and colours[0].weight == 1.0
    tiny = np.zeros((3, 2, 3), dtype=np.uint8)
    assert dominant_colours(tiny)[0].name == "black"
    rgba = Image.new("RGBA", (40, 40), (0, 0, 0, 0))  # transparent -> composited onto white
    assert dominant_colours(rgba)[0].name == "white"


def test_dominant_colour_to_dict_is_json_ready():
    colour = dominant_colours(garment_picture())[0]
    d = colour.to_dict()
    assert set(d) == {"hex", "rgb", "lab", "weight", "name"}
    assert json.loads(json.dumps(d)) == d
    assert d["rgb"] == list(RED) and d["hex"] == "#c8141e"
    assert all(v == round(v, 2) for v in d["lab"])
    assert isinstance(colour, DominantColour)
    with pytest.raises(AttributeError):
        colour.weight = 0.5  # frozen


def test_dominant_colours_downscales_big_pictures_quickly():
    import time

    pic = garment_picture(1024)
    dominant_colours(pic)  # warm up
    start = time.process_time()
    for _ in range(5):
        colours = dominant_colours(pic)
    per_call_ms = (time.process_time() - start) / 5 * 1e3
    assert [c.name for c in colours[:2]] == ["red", "navy"]
    assert per_call_ms < 60  # typically a few ms; generous for a shared machine


# ------------------------------------------------------------------------------- harmony

SWATCHES = {
    "white": (250, 250, 250),
    "black": (15, 15, 15),
    "grey": (128, 128, 128),
    "navy fabric": (31, 42, 68),
    "red": (200, 30, 40),
    "dark red": (120, 20, 30),
    "orange": (240, 130, 30),
    "yellow": (245, 210, 40),
    "green": (40, 150, 60),
    "blue": (30, 80, 200),
    "purple": (110, 50, 140),
    "pink": (245, 170, 190),
    "olive": (110, 110, 40),
    "teal": (0, 128, 128),
}
LABS = {name: lab_of(rgb) for name, rgb in SWATCHES.items()}


def test_pair_harmony_is_symmetric_and_bounded():
    rng = np.random.default_rng(5)
    labs = list(LABS.values()) + [
        np.array([rng.uniform(0, 100), rng.uniform(-90, 90), rng.uniform(-90, 90)]) for _ in range(30)
    ]
    for a in labs:
        for b in labs:
            s1, r1 = pair_harmony(a, b)
            s2, r2 = pair_harmony(b, a)
            assert 0.0 <= s1 <= 1.0
            assert s1 == s2 and r1 == r2
            assert r1 in RELATIONS


@pytest.mark.parametrize("neutral", ["white", "black", "grey", "navy fabric"])
def test_neutrals_go_with_everything(neutral):
    for name, lab in LABS.items():
        score, relation = pair_harmony(LABS[neutral], lab)
        assert relation == "neutral", name
        assert score >= 0.8, name


def test_hue_relations_on_the_colour_wheel():
    assert pair_harmony(LABS["red"], LABS["dark red"])[1] == "monochrome"
    assert pair_harmony(LABS["red"], LABS["pink"])[1] == "analogous"
    assert pair_harmony(LABS["yellow"], LABS["olive"])[1] == "analogous"
    assert pair_harmony(LABS["red"], LABS["green"])[1] == "complementary"
    assert pair_harmony(LABS["blue"], LABS["orange"])[1] == "complementary"
    assert pair_harmony(LABS["yellow"], LABS["purple"])[1] == "complementary"
    assert pair_harmony(LABS["red"], LABS["yellow"])[1] == "triadic"
    assert pair_harmony(LABS["yellow"], LABS["blue"])[1] == "triadic"
    assert pair_harmony(LABS["orange"], LABS["pink"])[1] == "clash"
    assert pair_harmony(LABS["olive"], LABS["teal"])[1] == "clash"


def test_harmonious_pairs_beat_clashing_pairs():
    clash = max(
        pair_harmony(LABS["orange"], LABS["pink"])[0],
        pair_harmony(LABS["olive"], LABS["teal"])[0],
        pair_harmony(LABS["orange"], LABS["olive"])[0],
    )
    analogous = pair_harmony(LABS["red"], LABS["pink"])[0]
    complementary = pair_harmony(LABS["red"], LABS["green"])[0]
    triadic = pair_harmony(LABS["red"], LABS["yellow"])[0]
    neutral = pair_harmony(LABS["white"], LABS["orange"])[0]
    assert clash < 0.5
    assert min(analogous, complementary, triadic) > clash + 0.2
    assert neutral > clash + 0.3


def test_lightness_contrast_counts_mildly():
    # the same neutral pairing with more contrast scores a little higher, not a lot
    light = pair_harmony(lab_of((200, 200, 200)), LABS["blue"])[0]
    dark = pair_harmony(lab_of((40, 40, 40)), LABS["blue"])[0]
    white_black = pair_harmony(LABS["white"], LABS["black"])[0]
    grey_grey = pair_harmony(LABS["grey"], lab_of((135, 135, 135)))[0]
    assert white_black > grey_grey
    assert white_black - grey_grey <= 0.16
    assert abs(light - dark) <= 0.16


def test_wheel_hue_maps_anchor_colours_to_the_artists_wheel():
    hues = {n: wheel_hue(lab_to_lch(lab_of(c))[2]) for n, c in
            {"red": (230, 0, 0), "yellow": (255, 235, 0), "blue": (0, 70, 230)}.items()}  # fmt: skip
    assert hues["red"] == pytest.approx(0.0, abs=1e-6) or hues["red"] == pytest.approx(360.0, abs=1e-6)
    assert hues["yellow"] == pytest.approx(120.0, abs=1e-6)
    assert hues["blue"] == pytest.approx(240.0, abs=1e-6)
    h = wheel_hue(np.linspace(0, 359, 360))
    assert np.all((h >= 0) & (h < 360))


def test_harmony_of_colour_sets_weighs_pairs():
    outfit = [(LABS["red"], 0.8), (LABS["white"], 0.2)]
    good = [(LABS["green"], 0.7), (LABS["black"], 0.3)]
    bad = [(LABS["purple"], 0.9), (LABS["olive"], 0.1)]
    s_good, r_good = harmony(outfit, good)
    s_bad, r_bad = harmony(outfit, bad)
    assert 0.0 <= s_bad < s_good <= 1.0
    assert r_good == "complementary"  # red x green is the heaviest pair
    assert r_bad == pair_harmony(LABS["red"], LABS["purple"])[1]
    # symmetric
    assert harmony(good, outfit)[0] == pytest.approx(s_good, abs=1e-12)
    assert harmony(good, outfit)[1] == r_good
    # a single pair is the pair score
    single = harmony([(LABS["red"], 1.0)], [(LABS["green"], 3.0)])
    pair = pair_harmony(LABS["red"], LABS["green"])
    assert single[0] == pytest.approx(pair[0], abs=1e-12) and single[1] == pair[1]
    # dominant colours and their dicts are accepted as they are
    colours = dominant_colours(garment_picture())
    assert harmony(colours, [c.to_dict() for c in colours])[0] == pytest.approx(harmony(colours, colours)[0], abs=1e-3)
    # nothing to compare
    assert harmony([], good) == (0.5, "none")


def test_harmony_ties_give_the_same_relation_both_ways():
    a = [(LABS["red"], 0.5), (LABS["blue"], 0.5)]
    b = [(LABS["green"], 0.5), (LABS["yellow"], 0.5)]
    assert harmony(a, b)[1] == harmony(b, a)[1]
    assert harmony(a, b)[0] == pytest.approx(harmony(b, a)[0], abs=1e-12)


def test_harmony_batch_agrees_with_the_scalar_version_and_ignores_padding():
    rng = np.random.default_rng(9)
    names = list(LABS)
    n, K = 60, 4
    c_lab = np.full((n, K, 3), np.nan)  # padding may hold anything
    c_w = np.zeros((n, K))
    sets = []
    for i in range(n):
        m = int(rng.integers(1, K + 1))
        picks = rng.choice(len(names), size=m, replace=False)
        w = rng.dirichlet(np.ones(m))
        c_lab[i, :m] = [LABS[names[p]] for p in picks]
        c_w[i, :m] = w
        sets.append([(LABS[names[p]], float(wi)) for p, wi in zip(picks, w)])
    query = [(LABS["red"], 0.6), (LABS["navy fabric"], 0.3), (LABS["white"], 0.1)]
    q_lab = np.stack([lab for lab, _ in query])
    q_w = np.array([w for _, w in query])

    scores, codes = harmony_batch(q_lab, q_w, c_lab, c_w)
    assert scores.shape == (n,) and codes.shape == (n,) and codes.dtype.kind == "i"
    assert np.all((scores >= 0) & (scores <= 1))
    for i in range(n):
        s, r = harmony(query, sets[i])
        assert scores[i] == pytest.approx(s, abs=1e-12)
        assert RELATIONS[codes[i]] == r

    # a query padded with a zero-weight colour gives the same answers
    q_lab_p = np.vstack([q_lab, [[50.0, 80.0, 80.0]]])
    q_w_p = np.append(q_w, 0.0)
    scores_p, codes_p = harmony_batch(q_lab_p, q_w_p, c_lab, c_w)
    assert np.allclose(scores_p, scores) and np.array_equal(codes_p, codes)

    # a candidate with no colours at all
    s0, c0 = harmony_batch(q_lab, q_w, np.zeros((1, K, 3)), np.zeros((1, K)))
    assert s0[0] == 0.5 and RELATIONS[c0[0]] == "none"
    empty_s, empty_c = harmony_batch(q_lab, q_w, np.zeros((0, K, 3)), np.zeros((0, K)))
    assert empty_s.shape == (0,) and empty_c.shape == (0,)


def test_harmony_batch_validates_its_input():
    with pytest.raises(ValueError):
        harmony_batch(np.zeros((2, 3)), np.ones(2), np.zeros((3, 2, 3)), np.ones((3, 3)))
    with pytest.raises(ValueError):
        harmony_batch(np.zeros((2, 3)), np.ones(3), np.zeros((3, 2, 3)), np.ones((3, 2)))
    with pytest.raises(ValueError):
        harmony_batch(np.zeros((2, 3)), -np.ones(2), np.zeros((3, 2, 3)), np.ones((3, 2)))
    with pytest.raises(ValueError):
        harmony_batch(np.zeros((2, 3)), np.ones(2), np.full((3, 2, 3), np.nan), np.ones((3, 2)))


def test_pack_colours_builds_padded_arrays_for_the_batch():
    sets = [dominant_colours(garment_picture()), [], [c.to_dict() for c in dominant_colours(garment_picture())][:1]]
    lab, w = pack_colours(sets, 3)
    assert lab.shape == (3, 3, 3) and w.shape == (3, 3) and lab.dtype == np.float32
    assert w[1].sum() == 0 and w[2, 1:].sum() == 0
    assert w[0].sum() == pytest.approx(1.0, abs=1e-6)
    scores, codes = harmony_batch(lab[0], w[0], lab, w)
    assert RELATIONS[codes[1]] == "none"
    assert scores[0] == pytest.approx(harmony(sets[0], sets[0])[0], abs=1e-5)
