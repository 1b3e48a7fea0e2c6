import io
import json
from pathlib import Path

import pytest
from PIL import Image

from stygig.build import build_artifact
from stygig.catalog.ingest import read_catalog
from stygig.errors import CatalogError


def _jpeg(path: Path, colour=(30, 60, 160), size=(80, 100)) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    img = Image.new("RGB", size, (250, 250, 250))
    img.paste(Image.new("RGB", (size[0] // 2, size[1] // 2), colour), (size[0] // 4, size[1] // 4))
    img.save(path, "JPEG")
    return path


def test_grouped_and_train_layouts(tmp_path):
    _jpeg(tmp_path / "a" / "train" / "upperwear" / "shirt" / "s1.jpg")
    _jpeg(tmp_path / "a" / "train" / "footwear" / "shoes" / "f1.png")
    cat = read_catalog(tmp_path / "a")
    assert [(i.id, i.category) for i in sorted(cat.items, key=lambda i: i.id)] == [("f1", "shoes"), ("s1", "shirt")]
    _jpeg(tmp_path / "b" / "bottomwear" / "pants" / "p1.jpg")
    assert read_catalog(tmp_path / "b").items[0].category == "pants"


def test_flat_layout_and_default_gender(tmp_path):
    _jpeg(tmp_path / "skirt" / "k1.jpg")
    _jpeg(tmp_path / "hat" / "h1.jpg")
    items = {i.id: i for i in read_catalog(tmp_path).items}
    assert items["k1"].gender == "female" and items["h1"].gender == "unisex"


def test_unknown_category_folder_is_named(tmp_path):
    _jpeg(tmp_path / "capes" / "c1.jpg")
    with pytest.raises(CatalogError, match="capes"):
        read_catalog(tmp_path)


def test_duplicate_ids_are_named_with_both_files(tmp_path):
    _jpeg(tmp_path / "shirt" / "same.jpg")
    _jpeg(tmp_path / "pants" / "same.png")
    with pytest.raises(CatalogError) as e:
        read_catalog(tmp_path)
    assert str(e.value) == f"duplicate item ids in {tmp_path}: 'same' (pants/same.png and shirt/same.jpg)"
    rows = [{"id": "a", "image": "x.jpg", "category": "hat"}, {"id": "b", "image": "y.jpg", "category": "hat"},
            {"id": "a", "image": "z.jpg", "category": "bag"}]
    (tmp_path / "m.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    with pytest.raises(CatalogError) as e:
        read_catalog(tmp_path / "m.jsonl")
    assert str(e.value) == "manifest m.jsonl: duplicate item ids: 'a' (line 1: x.jpg and line 3: z.jpg)"


def test_category_folders_in_another_case_get_a_did_you_mean(tmp_path):
    _jpeg(tmp_path / "Shirt" / "s1.jpg")
    _jpeg(tmp_path / "Bottomwear" / "pants" / "p1.jpg")
    _jpeg(tmp_path / "footwear" / "Sneakers" / "k1.jpg")
    _jpeg(tmp_path / "trousers" / "t1.jpg")  # the display name of 'pants'
    _jpeg(tmp_path / "capes" / "c1.jpg")  # nothing like it
    with pytest.raises(CatalogError) as e:
        read_catalog(tmp_path)
    assert str(e.value).startswith(
        f"unknown categories in {tmp_path}: 'Bottomwear' (did you mean 'bottomwear'?), 'Shirt' (did you mean 'shirt'?), "
        "'capes', 'footwear/Sneakers' (did you mean 'footwear/sneakers'?), 'trousers' (did you mean 'pants'?) (known: shirt, "
    )
    (tmp_path / "manifest.csv").write_text("id,image,category\ns1,Shirt/s1.jpg,Shirt\n")
    with pytest.raises(CatalogError, match=r"unknown categories: 'Shirt' \(did you mean 'shirt'\?\) \(items 's1'\)"):
        read_catalog(tmp_path)


def test_jsonl_manifest_with_attributes(tmp_path):
    _jpeg(tmp_path / "img" / "x.jpg")
    (tmp_path / "m.jsonl").write_text(
        json.dumps({"id": "x", "image": "img/x.jpg", "category": "bag", "gender": "Male", "name": "tote", "brand": "B"}) + "\n"
    )
    (item,) = read_catalog(tmp_path / "m.jsonl").items
    assert (item.gender, item.name, item.attributes) == ("male", "tote", {"brand": "B"})


def test_csv_manifest(tmp_path):
    _jpeg(tmp_path / "x.jpg")
    (tmp_path / "manifest.csv").write_text("id,image,category,color\nx,x.jpg,shoes,red\n")
    (item,) = read_catalog(tmp_path).items
    assert item.category == "shoes" and item.attributes == {"color": "red"}


@pytest.mark.parametrize(
    "rows, named",
    [
        ([{"id": "a", "image": "a.jpg", "category": "cape"}], "cape"),
        ([{"id": "a", "image": "a.jpg", "category": "hat"}, {"id": "a", "image": "a.jpg", "category": "hat"}], "'a'"),
        ([{"id": "evil", "image": "../../etc/passwd", "category": "hat"}], "escape the catalog root: 'evil"),
        ([{"id": "abs", "image": "/etc/passwd", "category": "hat"}], "escape the catalog root: 'abs"),
        ([{"id": "g", "image": "a.jpg", "category": "hat", "gender": "robot"}], "robot"),
        ([{"id": "n", "category": "hat"}], "line 1"),
    ],
)
def test_manifest_errors_name_the_offenders(tmp_path, rows, named):
    _jpeg(tmp_path / "a.jpg")
    (tmp_path / "manifest.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    with pytest.raises(CatalogError, match=named):
        read_catalog(tmp_path)


def test_bad_files_are_skipped_with_reasons(tmp_path):
    good = [_jpeg(tmp_path / "shirt" / f"good{i}.jpg", colour=(40 * i, 80, 120)) for i in range(3)]
    _jpeg(tmp_path / "pants" / "p1.jpg")
    full = (tmp_path / "shirt" / "good0.jpg").read_bytes()
    (tmp_path / "shirt" / "truncated.jpg").write_bytes(full[: len(full) // 3])
    (tmp_path / "shirt" / "empty.jpg").write_bytes(b"")
    (tmp_path / "shirt" / "text.jpg").write_bytes(b"hello, I am not a picture")
    _jpeg(tmp_path / "shirt" / "tiny.jpg", size=(20, 20))
    buf = io.BytesIO()
    Image.new("1", (8001, 8001)).save(buf, "PNG")  # 64.016 megapixels
    (tmp_path / "shirt" / "huge.png").write_bytes(buf.getvalue())
    (tmp_path / "shirt" / "dangling.jpg").symlink_to(tmp_path / "shirt" / "elsewhere.jpg")
    summary = build_artifact(tmp_path, tmp_path.parent / (tmp_path.name + "-art"), encoder="lite")
    reasons = {s["id"]: s["reason"] for s in summary.skipped}
    assert summary.n_items == len(good) + 1
    assert set(reasons) == {"truncated", "empty", "text", "tiny", "huge"}
    assert "truncated" in reasons["truncated"] and "empty" in reasons["empty"]
    assert "not an image" in reasons["text"] and "minimum" in reasons["tiny"] and "megapixels" in reasons["huge"]
    report = json.loads((summary.out / "build_report.json").read_text())
    assert {s["id"] for s in report["skipped"]} == set(reasons)


def test_missing_catalog():
    with pytest.raises(CatalogError, match="not found"):
        read_catalog("/nonexistent/catalog")


def _manifest_folder(root: Path, ids: list[str]) -> Path:
    rows = []
    for i in ids:
        _jpeg(root / "train" / "upperwear" / "shirt" / f"{i}.jpg")
        rows.append({"id": i, "image": f"train/upperwear/shirt/{i}.jpg", "category": "shirt", "name": f"shirt {i}"})
    (root / "manifest.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return root


def test_manifest_folder_names_pictures_it_leaves_out(tmp_path):
    # issue 18.2: a picture copied into a folder that holds manifest.jsonl was silently left out
    root = _manifest_folder(tmp_path / "cat", ["s1", "s2"])
    for k in range(7):
        _jpeg(root / "train" / "bottomwear" / "pants" / f"new{k}.png")
    _jpeg(root / "train" / "upperwear" / "shirt" / ".hidden.jpg")  # not a catalog picture
    (root / "train" / "upperwear" / "shirt" / "notes.txt").write_text("not a picture")
    cat = read_catalog(root)
    assert (cat.kind, cat.source) == ("manifest", str(root / "manifest.jsonl"))
    assert cat.unlisted == [f"train/bottomwear/pants/new{k}.png" for k in range(7)]

    out = tmp_path / "cat" / "art"  # an artifact inside the catalog folder is not catalog pictures
    summary = build_artifact(root, out, encoder="lite")
    text = "\n".join(summary.lines())
    assert f"catalog: manifest {root / 'manifest.jsonl'} (2 rows)" in text
    warning = next(line for line in summary.lines() if line.startswith("warning:"))
    assert "7 pictures" in warning and "manifest.jsonl" in warning
    assert "train/bottomwear/pants/new0.png" in warning and "and 2 more" in warning
    report = json.loads((out / "build_report.json").read_text())
    assert report["catalog"]["kind"] == "manifest" and report["catalog"]["unlisted_pictures"] == 7
    assert report["catalog"]["unlisted_examples"][0] == "train/bottomwear/pants/new0.png"
    assert read_catalog(root).unlisted == cat.unlisted  # the artifact's thumbnails are not counted


def test_folder_catalog_says_it_read_the_folders(tmp_path):
    _jpeg(tmp_path / "cat" / "shirt" / "s1.jpg")
    summary = build_artifact(tmp_path / "cat", tmp_path / "art", encoder="lite")
    assert summary.lines()[1] == f"catalog: folders in {tmp_path / 'cat'} (1 picture)"
    assert not any(line.startswith("warning:") for line in summary.lines())
    assert json.loads((tmp_path / "art" / "build_report.json").read_text())["catalog"]["kind"] == "folders"


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param("\ufeffid,image,category,colour\nx,x.jpg,shoes,\"red, dark\"\n".encode(), id="excel-utf8-bom"),
        pytest.param(b"ID,Image,Category,colour\nx,x.jpg,shoes,\"red, dark\"\n", id="capitalised-header"),
        pytest.param(b" Id ; IMAGE ; category ; colour\r\nx;x.jpg;shoes;red, dark\r\n\r\n", id="semicolons-crlf"),
        pytest.param(b"id\timage\tcategory\tcolour\nx\tx.jpg\tshoes\tred, dark\n", id="tabs"),
        pytest.param("\ufeffID;Image;Category;colour\nx;x.jpg;shoes;red, dark\n".encode(), id="excel-semicolon-bom"),
    ],
)
def test_csv_manifests_from_real_tools(tmp_path, raw):
    # issue 18.3: each of these failed with "rows without id, image or category: 'line 2'"
    _jpeg(tmp_path / "x.jpg")
    (tmp_path / "manifest.csv").write_bytes(raw)
    (item,) = read_catalog(tmp_path).items
    assert (item.id, item.category, item.attributes) == ("x", "shoes", {"colour": "red, dark"})


def test_csv_missing_column_is_named_with_the_header_found(tmp_path):
    (tmp_path / "manifest.csv").write_text("id;image;gender\nx;x.jpg;male\n")
    with pytest.raises(CatalogError) as e:
        read_catalog(tmp_path)
    assert str(e.value) == "manifest manifest.csv: no 'category' column; the header (semicolon-separated) is: id, image, gender"
    (tmp_path / "manifest.csv").write_text("name,picture\ntote,x.jpg\n")
    with pytest.raises(CatalogError, match="no 'id', 'image' or 'category' column; the header .* is: name, picture$"):
        read_catalog(tmp_path)
    (tmp_path / "manifest.csv").write_text("id,ID,image,category\n")
    with pytest.raises(CatalogError, match="column 'id' appears twice"):
        read_catalog(tmp_path)


def test_manifest_rows_name_the_empty_field(tmp_path):
    (tmp_path / "manifest.csv").write_text("id,image,category\nx,x.jpg,\n\ny,,hat\n")
    with pytest.raises(CatalogError, match=r"rows without id, image or category: line 2 \(category\), line 4 \(image\)$"):
        read_catalog(tmp_path)


def test_manifest_encoding(tmp_path):
    _jpeg(tmp_path / "x.jpg")
    (tmp_path / "manifest.jsonl").write_bytes("\ufeff".encode() + json.dumps({"id": "x", "image": "x.jpg", "category": "hat"}).encode())
    assert [i.id for i in read_catalog(tmp_path).items] == ["x"]
    (tmp_path / "manifest.jsonl").unlink()
    (tmp_path / "manifest.csv").write_bytes("id,image,category,name\nx,x.jpg,hat,béret\n".encode("cp1252"))
    with pytest.raises(CatalogError, match="not UTF-8 .*save it as UTF-8"):
        read_catalog(tmp_path)


def test_unreadable_csv_is_one_line(tmp_path):
    (tmp_path / "manifest.csv").write_text('id,image,category\nx,"' + "x" * 200_000 + '",hat\n')
    with pytest.raises(CatalogError, match="manifest manifest.csv: not readable as CSV"):
        read_catalog(tmp_path)
