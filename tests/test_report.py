"""What people read: the terminal outfit, outfit.png's chips, the build summary (issue 18.8)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from stygig.build import BuildSummary
from stygig.recommend.engine import Recommender
from stygig.recommend.query import Query
from stygig.report import CARD, PAD, colour_chips, format_outfit, render_outfit
from stygig.schema import Options


def _names(colours):
    return [c["name"] for c in colours]


@pytest.fixture(scope="module")
def rec(lite_artifact) -> Recommender:
    return Recommender.load(lite_artifact)


def _item_with_repeated_colour_names(rec: Recommender) -> dict:
    repeated = [it for it in rec.items if len(set(_names(it["colors"]))) < len(it["colors"])]
    assert repeated, "the sample catalog has items whose dominant colours share a name (two greys)"
    return repeated[0]


def test_colour_chips_one_per_name():
    colours = [{"name": "grey", "hex": "#808080"}, {"name": "grey", "hex": "#787878"}, {"name": "charcoal", "hex": "#363636"}]
    assert colour_chips(colours) == [colours[0], colours[2]]  # the heavier grey's colour
    assert colour_chips(colours, limit=1) == [colours[0]]
    assert colour_chips([]) == []


def test_terminal_outfit_names_items_with_their_ids(rec):
    item = _item_with_repeated_colour_names(rec)
    response = rec.recommend(Query(item_id=item["id"]), Options(top_k=4))
    text = format_outfit(response)
    head, *rest = text.splitlines()
    # the query: its name with its id, each colour name once
    assert head.endswith(f"— item {item['name']} ({item['id']})"), head
    unique = list(dict.fromkeys(_names(item["colors"])))
    assert head.split(" · ")[1].split(" — ")[0] == ", ".join(unique[:3])
    # the outfit slot by slot, then the ranked list's other picks by rank
    outfit = response["outfit"]["pieces"]
    assert rest[0].startswith(f"Outfit: {len(outfit)} pieces · score ")
    width = max(len(p["slot"]) for p in outfit)
    for p in outfit:
        assert any(line.startswith(f"  {p['slot']:<{width}}  {p['name']} ({p['item_id']}) — score {p['score']:.3f}")
                   for line in rest), p["slot"]
    in_outfit = {p["item_id"] for p in outfit}
    for r in response["recommendations"]:
        if r["item_id"] not in in_outfit:
            assert f"  {r['rank']}. {r['name']} ({r['item_id']}) — score {r['score']:.3f}" in rest
        detail = next(line for line in rest if line.strip().startswith(f"{r['category']} · "))
        shown = detail.split(" · ")[1].split(", ")
        assert len(shown) == len(set(shown))


def test_counts_have_the_right_number(rec):
    response = rec.recommend(Query(item_id=rec.items[0]["id"]), Options(top_k=1))
    response["metadata"]["total_items"] = 1
    assert "ms over 1 item, model" in format_outfit(response)
    summary = BuildSummary(Path("art"), 1, [{"id": "x", "reason": "empty file"}], 0.5, {"kind": "lite"}, resumed_chunks=1)
    lines = summary.lines()
    assert lines[0].startswith("built art — 1 item, encoder lite, 0.5 s (resumed 1 finished chunk)")
    assert "skipped 1 bad file:" in lines


def test_outfit_picture_draws_one_chip_per_colour_name(rec):
    greys = [
        {"name": "grey", "rgb": [128, 128, 128], "hex": "#808080"},
        {"name": "grey", "rgb": [120, 120, 120], "hex": "#787878"},
        {"name": "charcoal", "rgb": [54, 54, 54], "hex": "#363636"},
    ]
    response = {"query_item": {"category": "shirt", "category_source": "vote", "colors": greys},
                "recommendations": [], "metadata": {"total_items": 1, "model_version": "x"}}
    img = render_outfit(response, None, lambda r: None)
    y = 90 + CARD + 58 + 8  # the query card's swatch row (see render_outfit), mid-height
    centres = [img.getpixel((PAD + j * 22 + 8, y)) for j in range(3)]
    assert centres[0] == (128, 128, 128) and centres[1] == (54, 54, 54)
    assert centres[2] == (236, 242, 250), "no third chip: the two greys are one"


def test_cli_recommend_prints_names(lite_artifact, tmp_path):
    import subprocess
    import sys

    meta = [json.loads(line) for line in (lite_artifact / "items" / "meta.jsonl").read_text().splitlines()]
    item = meta[0]
    r = subprocess.run([sys.executable, "-m", "stygig.cli", "recommend", lite_artifact, "--item", item["id"], "--top-k", "3"],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    by_id = {m["id"]: m["name"] for m in meta}
    import re

    # every item line, an outfit slot's ("  footwear   white mesh sneakers (sneakers-0001) — score") or a rank's
    shown = [re.match(r"\s+(?:\d+\.|[a-z-]+)\s+(.+) \(([^()]+)\) — score", line)
             for line in r.stdout.splitlines() if " — score " in line]
    assert len(shown) >= 3 and all(shown), r.stdout
    for m in shown:
        assert by_id[m.group(2)] == m.group(1), m.group(0)
