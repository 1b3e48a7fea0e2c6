"""The embedded sample catalog generator (stygig.catalog.sample)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from stygig.catalog.sample import CATEGORIES, DEFAULT_N, contact_sheet, generate_sample_catalog, render_item
from stygig.catalog.sample.colours import FAMILIES
from stygig.catalog.sample.fabric import FABRIC_WORD
from stygig.catalog.sample.shop import BRANDS, size_chart
from stygig.catalog.sample.styles import FABRICS, STYLE_TABLE, STYLES
from stygig.errors import CatalogError, InvalidInput
from stygig.images import decode_image
from stygig.taxonomy import GENDERS, Taxonomy

N = 4 * len(CATEGORIES)  # 4 items per category


@pytest.fixture(scope="module")
def catalog(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict, list[dict]]:
    out = tmp_path_factory.mktemp("sample") / "catalog"
    summary = generate_sample_catalog(out, n=N, seed=0)
    rows = [json.loads(line) for line in (out / "manifest.jsonl").read_text(encoding="utf-8").splitlines()]
    return out, summary, rows


def _files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_same_n_and_seed_give_byte_identical_files(tmp_path: Path) -> None:
    a = generate_sample_catalog(tmp_path / "a", n=28, seed=7)
    b = generate_sample_catalog(tmp_path / "b", n=28, seed=7)
    fa, fb = _files(Path(a["root"])), _files(Path(b["root"]))
    assert len([k for k in fa if k.endswith(".jpg")]) == 28
    assert fa == fb
    c = generate_sample_catalog(tmp_path / "c", n=28, seed=8)
    assert _files(Path(c["root"]))["manifest.jsonl"] != fa["manifest.jsonl"]


def test_drawing_threads_do_not_change_the_output(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STYGIG_SAMPLE_WORKERS", "1")
    one = generate_sample_catalog(tmp_path / "one", n=16, seed=3)
    monkeypatch.setenv("STYGIG_SAMPLE_WORKERS", "2")
    two = generate_sample_catalog(tmp_path / "two", n=16, seed=3)
    assert _files(Path(one["root"])) == _files(Path(two["root"]))


def test_an_item_does_not_depend_on_n(tmp_path: Path, catalog: tuple[Path, dict, list[dict]]) -> None:
    root, _, _ = catalog
    small = generate_sample_catalog(tmp_path / "small", n=len(CATEGORIES), seed=0)
    for rel, data in _files(Path(small["root"])).items():
        if rel.endswith(".jpg"):
            assert (root / rel).read_bytes() == data, rel


def test_every_category_present_and_dealt_evenly(catalog: tuple[Path, dict, list[dict]]) -> None:
    root, summary, rows = catalog
    assert summary["n_items"] == N == len(rows)
    assert Path(summary["root"]) == root
    assert Path(summary["manifest"]) == root / "manifest.jsonl"
    assert summary["per_category"] == {c: N // len(CATEGORIES) for c in CATEGORIES}
    assert tuple(Taxonomy.default().categories) == CATEGORIES
    assert set(CATEGORIES) == {r["category"] for r in rows}
    # round robin: the first rows are one of each category
    assert [r["category"] for r in rows[: len(CATEGORIES)]] == list(CATEGORIES)


def test_the_default_catalog_holds_30_of_each_category() -> None:
    assert DEFAULT_N == 30 * len(Taxonomy.default().categories) == 600


def test_uneven_n_deals_round_robin(tmp_path: Path) -> None:
    n = len(CATEGORIES) + 2
    summary = generate_sample_catalog(tmp_path / "c", n=n, seed=0)
    assert summary["per_category"][CATEGORIES[0]] == 2 and summary["per_category"][CATEGORIES[1]] == 2
    assert summary["per_category"][CATEGORIES[2]] == 1 and sum(summary["per_category"].values()) == n


def test_manifest_rows_are_valid(catalog: tuple[Path, dict, list[dict]]) -> None:
    root, _, rows = catalog
    tax = Taxonomy.default()
    assert len({r["id"] for r in rows}) == len(rows)
    for r in rows:
        assert set(r) == {"id", "image", "category", "gender", "name", "attributes"}
        cat = tax.check_category(r["category"])
        assert r["gender"] in GENDERS
        assert r["id"].startswith(f"{r['category']}-") and r["id"][-4:].isdigit()
        assert r["image"] == f"train/{cat.group}/{r['category']}/{r['id']}.jpg"
        attrs = r["attributes"]
        assert attrs["pattern"] in {"solid", "stripes", "checks", "dots"}
        assert r["name"].startswith(attrs["color"]) and r["name"].endswith(cat.display)
        assert FABRIC_WORD[attrs["fabric"]] in r["name"].split(), r["name"]  # "navy striped wool blazer"
        img = decode_image(root / r["image"])
        assert min(img.size) >= 32


def test_colours_and_patterns_vary(catalog: tuple[Path, dict, list[dict]]) -> None:
    _, _, rows = catalog
    colours = {r["attributes"]["color"] for r in rows}
    patterns = {r["attributes"]["pattern"] for r in rows}
    assert len(colours) >= 12
    assert {"solid", "stripes", "checks"} <= patterns


def test_attributes_show_the_style_and_carry_synthetic_shop_data(catalog: tuple[Path, dict, list[dict]]) -> None:
    root, _, rows = catalog
    for r in rows:
        a = r["attributes"]
        assert set(a) == {"color", "pattern", "cut", "style", "fabric", "palette", "price", "in_stock", "brand", "sizes", "popularity",
                          "synthetic"}
        assert a["style"] in STYLES and a["style"] in STYLE_TABLE[r["category"]], r["id"]
        assert a["cut"] in STYLE_TABLE[r["category"]][a["style"]].cuts, r["id"]
        assert a["fabric"] in STYLE_TABLE[r["category"]][a["style"]].cuts[a["cut"]] and a["fabric"] in FABRICS
        assert a["palette"] in FAMILIES and a["color"] in FAMILIES[a["palette"]], r["id"]
        assert isinstance(a["price"], float) and 5 <= a["price"] < 1000 and round(a["price"] * 100) % 100 == 99
        assert isinstance(a["in_stock"], bool)
        assert a["brand"] in BRANDS
        assert isinstance(a["popularity"], int) and a["popularity"] >= 0
        assert isinstance(a["sizes"], list) and all(isinstance(s, str) for s in a["sizes"])
        chart = size_chart(r["category"], Taxonomy.default().group_of(r["category"]), r["gender"])
        assert a["sizes"] == [s for s in chart if s in a["sizes"]] and len(a["sizes"]) >= min(3, len(chart)), r["id"]
        assert a["synthetic"] is True
    meta = json.loads((root / "sample.json").read_text())
    assert "synthetic" in meta["data"] and "price" in meta["data"]
    # every style and stock state occurs, and each style spans the outfit's groups
    assert {r["attributes"]["style"] for r in rows} == set(STYLES)
    assert {r["attributes"]["in_stock"] for r in rows} == {True, False}
    groups_of = {s: {Taxonomy.default().group_of(r["category"]) for r in rows if r["attributes"]["style"] == s} for s in STYLES}
    assert groups_of["formal"] >= {"upperwear", "bottomwear", "outerwear", "footwear", "accessories", "one-piece"}
    assert groups_of["casual"] >= {"upperwear", "bottomwear", "outerwear", "footwear", "accessories", "one-piece"}
    assert groups_of["sport"] >= {"upperwear", "bottomwear", "outerwear", "footwear", "accessories"}


def test_formal_pieces_cost_more_and_are_darker_than_casual_ones(tmp_path: Path) -> None:
    """The style is in the picture: formal garments are darker and less colourful than casual
    ones, on the pixels themselves (and cost more, by the synthetic price rule)."""
    from stygig.features.colour.space import srgb_to_lab

    stats: dict[str, list[tuple[float, float, float]]] = {"formal": [], "casual": []}
    for cat in ("shirt", "blazer", "pants", "shoes", "dress", "bag"):
        for k in range(12):
            img, item = render_item(cat, k, seed=3)
            if item.look.style not in stats:
                continue
            a = np.asarray(img, np.float32)
            border = np.median(np.concatenate([a[0], a[-1], a[:, 0], a[:, -1]]), axis=0)
            fg = a[np.abs(a - border).max(axis=2) > 25]
            lab = np.asarray(srgb_to_lab(fg.astype(np.uint8)), np.float64)
            stats[item.look.style].append((float(lab[:, 0].mean()), float(np.hypot(lab[:, 1], lab[:, 2]).mean()), item.shop["price"]))
    formal, casual = np.array(stats["formal"]), np.array(stats["casual"])
    assert len(formal) >= 15 and len(casual) >= 15
    assert formal[:, 0].mean() < casual[:, 0].mean() - 8  # lightness
    assert formal[:, 1].mean() < casual[:, 1].mean() - 2  # chroma
    assert np.median(formal[:, 2]) > np.median(casual[:, 2])


def test_backgrounds_are_light(catalog: tuple[Path, dict, list[dict]]) -> None:
    root, _, rows = catalog
    for r in rows:
        a = np.asarray(decode_image(root / r["image"]), np.float32)
        border = np.concatenate([a[:4].reshape(-1, 3), a[-4:].reshape(-1, 3), a[:, :4].reshape(-1, 3), a[:, -4:].reshape(-1, 3)])
        assert border.mean() > 210, (r["id"], border.mean())
        # the garment itself is not background: the picture has real contrast somewhere
        assert a.min() < border.mean() - 40, r["id"]


def test_sizes_and_aspect_ratios_vary(catalog: tuple[Path, dict, list[dict]]) -> None:
    root, _, rows = catalog
    sizes = [decode_image(root / r["image"], draft_min_side=None).size for r in rows]  # as stored, not as drafted
    assert all(256 <= w <= 640 and 256 <= h <= 640 for w, h in sizes)
    assert len(set(sizes)) >= 20
    ratios = [w / h for w, h in sizes]
    assert any(x < 0.95 for x in ratios), "no portrait picture"
    assert any(x > 1.05 for x in ratios), "no landscape picture"
    assert any(abs(x - 1.0) < 0.01 for x in ratios), "no square picture"


def test_female_only_categories_are_female_and_the_rest_mixed(catalog: tuple[Path, dict, list[dict]]) -> None:
    _, _, rows = catalog
    tax = Taxonomy.default()
    female_only = {c for c, info in tax.categories.items() if info.default_gender == "female"}
    assert female_only == {"skirt", "heels", "flats", "dress", "jumpsuit"}
    for r in rows:
        if r["category"] in female_only:
            assert r["gender"] == "female", r["id"]
    others = {r["gender"] for r in rows if r["category"] not in female_only}
    assert others == set(GENDERS)


def _silhouette(img) -> np.ndarray:
    """Foreground (differs from the border colour), cropped, padded square, 24x24, plus aspect."""
    from PIL import Image

    a = np.asarray(img, np.float32)
    border = np.concatenate([a[0], a[-1], a[:, 0], a[:, -1]])
    fg = np.abs(a - np.median(border, axis=0)).max(axis=2) > 18
    ys, xs = np.nonzero(fg)
    m = fg[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1]
    h, w = m.shape
    s = max(h, w)
    sq = np.zeros((s, s), np.uint8)
    sq[(s - h) // 2 : (s - h) // 2 + h, (s - w) // 2 : (s - w) // 2 + w] = m * 255
    v = np.asarray(Image.fromarray(sq).resize((24, 24), Image.Resampling.BILINEAR), np.float32).ravel()
    v /= np.linalg.norm(v) + 1e-9
    return np.concatenate([v, [0.5 * np.log(w / h)]])


def test_categories_have_distinct_silhouettes(catalog: tuple[Path, dict, list[dict]]) -> None:
    """Leave-one-out nearest neighbour on the bare silhouette recovers the category."""
    root, _, rows = catalog
    x = np.stack([_silhouette(decode_image(root / r["image"])) for r in rows])
    y = np.array([r["category"] for r in rows])
    d = ((x[:, None, :] - x[None, :, :]) ** 2).sum(-1)
    np.fill_diagonal(d, np.inf)
    accuracy = float((y[d.argmin(1)] == y).mean())
    assert accuracy >= 0.85, accuracy


def test_render_item_is_deterministic_and_checks_its_category() -> None:
    a, item = render_item("heels", 3, seed=5)
    b, _ = render_item("heels", 3, seed=5)
    assert item.id == "heels-0003" and item.gender == "female"
    assert np.array_equal(np.asarray(a), np.asarray(b))
    with pytest.raises(InvalidInput, match="no category 'socks'"):
        render_item("socks", 0)


@pytest.mark.parametrize("n, seed", [(0, 0), (-3, 0), (True, 0), (2.5, 0), (10, -1), (10, "x")])
def test_bad_arguments_are_one_line_errors(tmp_path: Path, n, seed) -> None:
    with pytest.raises(InvalidInput) as e:
        generate_sample_catalog(tmp_path / "c", n=n, seed=seed)
    assert "\n" not in str(e.value) and e.value.status == 422
    assert not (tmp_path / "c").exists()


def test_refuses_a_foreign_non_empty_directory(tmp_path: Path) -> None:
    out = tmp_path / "mine"
    out.mkdir()
    (out / "thesis.txt").write_text("keep me")
    with pytest.raises(CatalogError, match="not empty"):
        generate_sample_catalog(out, n=14)
    assert (out / "thesis.txt").read_text() == "keep me"
    assert [p.name for p in tmp_path.iterdir()] == ["mine"]  # no temporary directory left behind


def test_replaces_an_earlier_sample_catalog_without_stale_files(tmp_path: Path) -> None:
    out = tmp_path / "c"
    generate_sample_catalog(out, n=20, seed=0)
    (tmp_path / "empty").mkdir()
    generate_sample_catalog(tmp_path / "empty", n=14, seed=1)  # an empty directory is fine too
    summary = generate_sample_catalog(out, n=14, seed=1)
    assert summary["n_items"] == 14
    assert len(list(out.rglob("*.jpg"))) == 14
    assert _files(out) == _files(tmp_path / "empty")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c", "empty"]


def test_contact_sheet(tmp_path: Path) -> None:
    from PIL import Image

    path = contact_sheet(tmp_path / "sheet.png", per_category=1, cell=64)
    with Image.open(path) as im:
        assert im.size == (64, 64 * len(CATEGORIES))
        assert np.asarray(im.convert("L")).std() > 10
    path = contact_sheet(tmp_path / "two.png", per_category=2, cell=64, categories=["coat", "belt"], first=5)
    with Image.open(path) as im:
        assert im.size == (128, 128)
    with pytest.raises(InvalidInput, match="socks"):
        contact_sheet(tmp_path / "x.png", categories=["socks"])


def test_progress_goes_to_stderr(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    generate_sample_catalog(tmp_path / "c", n=14, progress=True)
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "14/14" in captured.err


def test_refuses_to_replace_the_current_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    here = tmp_path / "here"
    here.mkdir()
    monkeypatch.chdir(here)
    with pytest.raises(CatalogError, match="new directory"):
        generate_sample_catalog(".", n=14)
    assert here.is_dir() and not any(here.iterdir())
