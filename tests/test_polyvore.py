"""``stygig import-polyvore`` on a small folder made in the dataset's own layout (the layout its
authors' loader reads: mvasil/fashion-compatibility, polyvore_outfits.py), then build and eval on
the imported files — the papers' protocol end to end."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image

from stygig.cli import main

SEMANTIC = ["tops", "bottoms", "shoes", "bags", "jewellery", "all-body", "outerwear", "hats"]


def make_dataset(root: Path, n_sets: int = 12) -> dict:
    """``n_sets`` outfits of four items each (a top, a bottom, shoes, a bag — or a dress, shoes,
    a bag and a hat), split train/valid/test, with FITB questions and compatibility lines."""
    (root / "images").mkdir(parents=True)
    meta, outfits = {}, []
    colours = [(200, 40, 40), (40, 40, 200), (40, 160, 60), (230, 200, 40), (30, 30, 30), (240, 240, 240)]
    k = 0
    for s in range(n_sets):
        set_id = str(100000 + s)
        cats = ["tops", "bottoms", "shoes", "bags"] if s % 3 else ["all-body", "shoes", "bags", "hats"]
        items = []
        for index, sem in enumerate(cats, start=1):
            item_id = str(5000 + k)
            k += 1
            meta[item_id] = {"semantic_category": sem, "title": f"{sem} {item_id}", "url_name": "", "category_id": "11"}
            img = Image.new("RGB", (96, 96), (255, 255, 255))
            img.paste(colours[(s + index) % len(colours)], (20, 12 + index, 76, 84))
            img.save(root / "images" / f"{item_id}.jpg", quality=90)
            items.append({"item_id": item_id, "index": index})
        outfits.append({"set_id": set_id, "items": items})
    # an item of a category the mapping does not know, and an item without its picture
    meta["9998"] = {"semantic_category": "unknown-kind", "title": "", "url_name": "x"}
    meta["9999"] = {"semantic_category": "tops", "title": "lost", "url_name": ""}
    outfits[0]["items"].append({"item_id": "9998", "index": 5})
    outfits[1]["items"].append({"item_id": "9999", "index": 5})
    (root / "polyvore_item_metadata.json").write_text(json.dumps(meta))
    split = {"train": outfits[:6], "valid": outfits[6:9], "test": outfits[9:]}
    v = root / "nondisjoint"
    v.mkdir()
    for name, data in split.items():
        (v / f"{name}.json").write_text(json.dumps(data))
    for name in ("valid", "test"):
        data = split[name]
        fitb, compat = [], []
        for i, o in enumerate(data):
            other = data[(i + 1) % len(data)]
            q = [f"{o['set_id']}_{it['index']}" for it in o["items"][1:]]
            blank = f"{o['set_id']}_{o['items'][0]['index']}"
            wrong = [f"{other['set_id']}_{it['index']}" for it in other["items"][:3]]
            fitb.append({"question": q, "answers": [wrong[0], blank, wrong[1], wrong[2]], "blank_position": 1})
            compat.append("1 " + " ".join(f"{o['set_id']}_{it['index']}" for it in o["items"]))
            mixed = [f"{o['set_id']}_{o['items'][0]['index']}", *(f"{other['set_id']}_{it['index']}" for it in other["items"][1:])]
            compat.append("0 " + " ".join(mixed))
        (v / f"fill_in_blank_{name}.json").write_text(json.dumps(fitb))
        (v / f"compatibility_{name}.txt").write_text("\n".join(compat) + "\n")
    return {"meta": meta, "split": split}


@pytest.fixture(scope="module")
def imported(tmp_path_factory):
    d = tmp_path_factory.mktemp("polyvore")
    info = make_dataset(d / "polyvore_outfits")
    out = d / "catalog"
    assert main(["import-polyvore", str(d / "polyvore_outfits"), "-o", str(out)]) == 0
    return {"out": out, "root": d, **info}


def _jsonl(path: Path) -> list[dict]:
    return [json.loads(l) for l in path.read_text().splitlines() if l]


def test_import_maps_items_looks_and_questions(imported):
    out, meta, split = imported["out"], imported["meta"], imported["split"]
    manifest = {r["id"]: r for r in _jsonl(out / "manifest.jsonl")}
    assert "9998" not in manifest and "9999" not in manifest  # unmapped category, no picture
    assert len(manifest) == 48
    assert {r["category"] for r in manifest.values()} == {"shirt", "pants", "shoes", "bag", "dress", "hat"}
    assert manifest["5000"]["attributes"]["semantic_category"] == meta["5000"]["semantic_category"]
    assert all((out / r["image"]).is_file() for r in manifest.values())
    looks = _jsonl(out / "looks.jsonl")
    assert [lk["look_id"] for lk in looks] == [o["set_id"] for o in split["train"]]
    assert looks[0]["items"] == [it["item_id"] for it in split["train"][0]["items"][:4]]
    fitb = _jsonl(out / "fitb_test.jsonl")
    first = split["test"][0]
    assert fitb[0]["answer"] == first["items"][0]["item_id"] and fitb[0]["answers"][1] == fitb[0]["answer"]
    assert fitb[0]["question"] == [it["item_id"] for it in first["items"][1:]]
    compat = _jsonl(out / "compat_test.jsonl")
    assert [c["label"] for c in compat] == [1, 0] * 3
    assert compat[0]["items"] == [it["item_id"] for it in first["items"]]
    info = json.loads((out / "polyvore.json").read_text())
    assert "research use only" in info["licence"] and info["skipped"]["items without a picture"] == 1


def test_build_and_eval_reproduce_the_protocol_on_the_import(imported, tmp_path, capsys):
    out = imported["out"]
    art = tmp_path / "art"
    assert main(["build", str(out), "-o", str(art), "--quiet"]) == 0
    capsys.readouterr()
    assert main(["eval", str(art), "--looks", str(out / "looks.jsonl"), "--fitb", str(out / "fitb_test.jsonl"),
                 "--compat", str(out / "compat_test.jsonl"), "--json", "--quiet"]) == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert result["n_fitb"] == 3 and result["n_compat"] == 6 and result["n_looks"] == 6
    assert 0 <= result["fitb_accuracy"] <= 1 and 0 <= result["compat_auc"] <= 1


def test_import_errors_name_what_is_wrong(imported, tmp_path, capsys):
    assert main(["import-polyvore", str(tmp_path), "-o", str(tmp_path / "o")]) == 2
    assert "polyvore_item_metadata.json is missing" in capsys.readouterr().err
    assert main(["import-polyvore", str(imported["root"] / "polyvore_outfits"), "-o", str(imported["out"])]) == 2
    assert "holds an earlier import; pass --force" in capsys.readouterr().err
    bad = tmp_path / "map.json"
    bad.write_text(json.dumps({"tops": "tunic"}))
    assert main(["import-polyvore", str(imported["root"] / "polyvore_outfits"), "-o", str(tmp_path / "o2"), "--mapping", str(bad)]) == 2
    assert "names categories the taxonomy does not have: tunic" in capsys.readouterr().err
