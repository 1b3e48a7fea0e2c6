"""Typed item attributes (issue 14.1): inferred from JSONL objects and CSV columns, recorded in
the manifest, stored as memory-mapped columns, carried by responses."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from stygig.artifact.attributes import load_columns
from stygig.build import build_artifact, write_artifact_from_arrays
from stygig.catalog.ingest import read_catalog
from stygig.errors import ArtifactError, CatalogError
from stygig.features.encoders.precomputed import PrecomputedEncoder
from stygig.recommend.engine import Recommender
from stygig.recommend.query import Query


def _rows(artifact: Path) -> list[dict]:
    return [json.loads(line) for line in (artifact / "items" / "meta.jsonl").read_text(encoding="utf-8").splitlines()]


def test_sample_catalog_attributes_are_typed_and_columnar(lite_artifact):
    manifest = json.loads((lite_artifact / "manifest.json").read_text())
    types = {name: entry["type"] for name, entry in manifest["attributes"].items()}
    assert {k: types[k] for k in ("price", "in_stock", "brand", "sizes")} == {
        "price": "number", "in_stock": "boolean", "brand": "string", "sizes": "strings"}
    rows = _rows(lite_artifact)
    cols = load_columns(lite_artifact, manifest, len(rows))
    # the files are the manifest's own (checksummed)
    for entry in manifest["attributes"].values():
        for key in ("column", "offsets", "vocabulary"):
            if key in entry:
                assert entry[key] in manifest["files"]
    # memory-mapped, and every row's value read back from its column
    assert isinstance(cols["price"].values, np.memmap)
    brand, sizes = cols["brand"], cols["sizes"]
    for r, row in enumerate(rows):
        a = row["attributes"]
        assert cols["price"].values[r] == pytest.approx(a["price"])
        assert cols["in_stock"].values[r] == int(a["in_stock"])
        assert brand.vocabulary[brand.values[r]].decode() == a["brand"]
        lo, hi = sizes.offsets[r], sizes.offsets[r + 1]
        assert [sizes.vocabulary[c].decode() for c in sizes.values[lo:hi]] == a["sizes"]
    # a list filter's building block: rows whose sizes hold "XXL"
    want = np.array(["XXL" in row["attributes"]["sizes"] for row in rows])
    assert 0 < want.sum() < len(rows)
    assert (sizes.rows_with_codes([sizes.code_of("XXL")], len(rows)) == want).all()
    assert brand.code_of("no such brand") is None


def test_responses_carry_attributes(lite_artifact):
    rec = Recommender.load(lite_artifact)
    first = rec.items[0]
    response = rec.recommend(Query(item_id=first["id"]))
    assert response["recommendations"]
    for r in response["recommendations"]:
        assert r["attributes"] == rec.item(r["item_id"])["attributes"]
        assert isinstance(r["attributes"]["price"], float) and isinstance(r["attributes"]["in_stock"], bool)
    assert rec.describe()["attributes"]["sizes"] == "strings"


def _picture(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (64, 64), (120, 30, 60)).save(path)


def test_csv_columns_are_typed(tmp_path):
    for i in range(3):
        _picture(tmp_path / f"p{i}.jpg")
    (tmp_path / "manifest.csv").write_text(
        "id,image,category,price,in_stock,sizes,sku,brand\n"
        "a,p0.jpg,shirt,19.5,TRUE,S|M,0123,arlo\n"
        "b,p1.jpg,pants,7,false,L,0456,\n"
        "c,p2.jpg,shoes,,true,M|L,0789,corin\n", encoding="utf-8")
    items = {it.id: it.attributes for it in read_catalog(tmp_path / "manifest.csv").items}
    assert items["a"] == {"price": 19.5, "in_stock": True, "sizes": ["S", "M"], "sku": "0123", "brand": "arlo"}
    assert items["b"] == {"price": 7, "in_stock": False, "sizes": ["L"], "sku": "0456"}  # an empty cell is missing
    assert "price" not in items["c"]
    out = tmp_path / "art"
    build_artifact(tmp_path / "manifest.csv", out)
    attrs = json.loads((out / "manifest.json").read_text())["attributes"]
    assert {k: (v["type"], v["items"]) for k, v in attrs.items()} == {
        "brand": ("string", 2), "in_stock": ("boolean", 3), "price": ("number", 2), "sizes": ("strings", 3),
        "sku": ("string", 3)}
    price = load_columns(out, {"attributes": attrs}, 3)["price"].values
    assert price[0] == 19.5 and price[1] == 7 and np.isnan(price[2])


def test_an_attribute_of_two_types_is_refused_naming_both_items(tmp_path):
    for i in range(2):
        _picture(tmp_path / f"p{i}.jpg")
    rows = [{"id": "a", "image": "p0.jpg", "category": "shirt", "attributes": {"price": 10}},
            {"id": "b", "image": "p1.jpg", "category": "shoes", "attributes": {"price": "ten"}}]
    (tmp_path / "m.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    with pytest.raises(CatalogError, match=r"attribute 'price' is a number in item 'a' but a string in item 'b'"):
        read_catalog(tmp_path / "m.jsonl")
    cli = subprocess.run([sys.executable, "-m", "stygig.cli", "build", str(tmp_path / "m.jsonl"), "-o", str(tmp_path / "out")],
                         capture_output=True, text=True, timeout=300)
    assert cli.returncode != 0
    assert cli.stderr.strip().splitlines() == [
        "stygig: error: manifest m.jsonl: attribute 'price' is a number in item 'a' but a string in item 'b': "
        "give it one type in every item (or leave it out)"]
    assert not (tmp_path / "out").exists()


def test_attributes_given_with_vectors(tmp_path):
    n = 40
    rng = np.random.default_rng(0)
    vec = rng.standard_normal((n, 8)).astype(np.float32)
    vec /= np.linalg.norm(vec, axis=1, keepdims=True)
    price = rng.uniform(5, 100, n)
    price[3] = np.nan  # missing
    ids = [f"i{(7 * i) % n:03d}" for i in range(n)]  # not in id order: rows are sorted by id
    write_artifact_from_arrays(
        tmp_path / "a", ids=ids, categories=["shirt", "pants"] * (n // 2), genders=["unisex"] * n, vectors=vec,
        colours=np.zeros((n, 3, 4), np.float32), encoder=PrecomputedEncoder(8, "test"),
        attributes={"price": price, "in_stock": np.arange(n) % 3 == 0, "brand": [f"b{i % 4}" for i in range(n)]})
    manifest = json.loads((tmp_path / "a" / "manifest.json").read_text())
    cols = load_columns(tmp_path / "a", manifest, n)
    assert {k: c.type for k, c in cols.items()} == {"brand": "string", "in_stock": "boolean", "price": "number"}
    order = np.argsort(ids)
    assert np.allclose(cols["price"].values, price[order], equal_nan=True)
    assert manifest["attributes"]["price"]["items"] == n - 1


def test_an_artifact_of_format_2_asks_for_a_rebuild(lite_artifact, tmp_path):
    art = tmp_path / "old"
    shutil.copytree(lite_artifact, art)
    m = json.loads((art / "manifest.json").read_text())
    m["format_version"] = 2
    (art / "manifest.json").write_text(json.dumps(m))
    with pytest.raises(ArtifactError, match="format version 2 is not supported .*typed attributes.*rebuild it"):
        Recommender.load(art)
