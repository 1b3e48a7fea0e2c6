"""``stygig import-polyvore DIR -o CATALOG``: the Polyvore Outfits dataset in its own layout, as
StyGig files, so that ``build``, ``learn`` and ``eval`` reproduce the papers' protocol.

The dataset (Vasileva et al., ECCV 2018; **licensed for research use only**) is read as its
authors' loader (mvasil/fashion-compatibility, ``polyvore_outfits.py``) reads it::

    DIR/polyvore_item_metadata.json        item_id -> {"semantic_category", "title", "url_name", ...}
    DIR/images/<item_id>.jpg
    DIR/{nondisjoint,disjoint}/{train,valid,test}.json
                                           [{"set_id", "items": [{"item_id", "index"}, ...]}, ...]
    DIR/{...}/fill_in_blank_{valid,test}.json
                                           [{"question": ["<set_id>_<index>", ...], "answers": [...]}, ...]
    DIR/{...}/compatibility_{valid,test}.txt
                                           "<label> <set_id>_<index> <set_id>_<index> ..." a line

A question or outfit names a piece as ``<set_id>_<index>``: the item at that ``index`` of that
outfit in the split's outfit files; a FITB question's right answer is the candidate from the
question's own outfit. Written into CATALOG::

    manifest.jsonl                 every item the split's outfits name: id, image, category (the
                                   semantic_category mapped onto the taxonomy by
                                   polyvore_categories.json or --mapping), name, attributes
                                   (semantic_category, category_id)
    images/<item_id>.jpg           hard links to the dataset's pictures (copies across file systems)
    looks.jsonl                    the training outfits (what ``learn`` reads); looks_{valid,test}.jsonl
    fitb_{valid,test}.jsonl        {"question", "answers", "answer"} (``eval --fitb``)
    compat_{valid,test}.jsonl      {"items", "label"} (``eval --compat``)
    polyvore.json                  what was imported, and the licence

then ``stygig build CATALOG -o ART``, ``stygig learn ART --looks CATALOG/looks.jsonl -o ART2``,
``stygig eval ART2 --fitb CATALOG/fitb_test.jsonl --compat CATALOG/compat_test.jsonl``.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from stygig import jsonlines
from stygig.atomic import make_temp_dir
from stygig.errors import StygigError
from stygig.taxonomy import Taxonomy
from stygig.wording import plural

SPLITS = ("train", "valid", "test")
LICENCE = ("Polyvore Outfits (Vasileva et al., ECCV 2018) is licensed for research use only; "
           "the imported files are derived from it and carry the same terms.")
MARKER = "polyvore.json"


class PolyvoreError(StygigError):
    code = "polyvore_error"


@dataclass
class ImportSummary:
    out: Path
    version: str
    items: int
    looks: dict[str, int] = field(default_factory=dict)
    fitb: dict[str, int] = field(default_factory=dict)
    compat: dict[str, int] = field(default_factory=dict)
    skipped: dict[str, int] = field(default_factory=dict)

    def lines(self) -> list[str]:
        out = [f"imported Polyvore Outfits ({self.version}) into {self.out}: {plural(self.items, 'item')}, "
               + ", ".join(f"{plural(n, 'look')} ({s})" for s, n in self.looks.items())]
        for s in self.fitb:
            out.append(f"  {s}: {plural(self.fitb[s], 'FITB question')}, {plural(self.compat.get(s, 0), 'compatibility outfit')}")
        if any(self.skipped.values()):
            out.append("  skipped: " + ", ".join(f"{n} {k}" for k, n in self.skipped.items() if n))
        out.append(f"  {LICENCE}")
        return out


def default_mapping() -> dict[str, str]:
    data = json.loads(resources.files("stygig.evaluate").joinpath("polyvore_categories.json").read_text(encoding="utf-8"))
    return dict(data["mapping"])


def _load_json(path: Path) -> Any:
    if not path.is_file():
        raise PolyvoreError(f"{path} is missing: is {path.parent} the Polyvore Outfits folder?")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as e:
        raise PolyvoreError(f"{path} is not valid JSON: {e}") from None


def _mapping(path: str | Path | None, taxonomy: Taxonomy) -> dict[str, str]:
    if path is None:
        mapping = default_mapping()
    else:
        raw = _load_json(Path(path))
        mapping = raw.get("mapping", raw) if isinstance(raw, dict) else None
        if not isinstance(mapping, dict) or not all(isinstance(v, str) for v in mapping.values()):
            raise PolyvoreError(f"--mapping {path} must map semantic categories to taxonomy categories (a JSON object)")
    bad = sorted(v for v in mapping.values() if v not in taxonomy.categories)
    if bad:
        raise PolyvoreError(f"category mapping names categories the taxonomy does not have: {', '.join(bad)}")
    return mapping


def import_polyvore(
    dataset: str | Path, out: str | Path, *, split: str = "nondisjoint", mapping: str | Path | None = None,
    force: bool = False,
) -> ImportSummary:
    root, out = Path(dataset), Path(out)
    if split not in ("nondisjoint", "disjoint"):
        raise PolyvoreError("--split must be nondisjoint or disjoint")
    if not root.is_dir():
        raise PolyvoreError(f"{root} is not a folder")
    taxonomy = Taxonomy.default()
    cat_map = _mapping(mapping, taxonomy)
    meta = _load_json(root / "polyvore_item_metadata.json")
    if not isinstance(meta, dict):
        raise PolyvoreError(f"{root / 'polyvore_item_metadata.json'} must map item ids to their metadata")
    version = root / split
    if not version.is_dir():
        raise PolyvoreError(f"{version} is missing: the dataset's {split} split")
    if out.exists():
        if not out.is_dir() or (any(out.iterdir()) and not (out / MARKER).is_file()):
            raise PolyvoreError(f"{out} is not empty and is not an earlier import; choose a new folder")
        if (out / MARKER).is_file() and not force:
            raise PolyvoreError(f"{out} holds an earlier import; pass --force to replace it")

    skipped = {"items without a picture": 0, "items of an unmapped category": 0, "looks left with fewer than two pieces": 0,
               "questions naming a dropped item": 0, "outfits naming a dropped item": 0}
    outfits: dict[str, list[dict[str, Any]]] = {}
    piece: dict[str, str] = {}  # "<set_id>_<index>" -> item id
    for s in SPLITS:
        data = _load_json(version / f"{s}.json")
        if not isinstance(data, list):
            raise PolyvoreError(f"{version / f'{s}.json'} must be a list of outfits")
        outfits[s] = data
        for o in data:
            try:
                set_id = str(o["set_id"])
                for it in o["items"]:
                    piece[f"{set_id}_{int(it['index'])}"] = str(it["item_id"])
            except (KeyError, TypeError, ValueError):
                raise PolyvoreError(f"{version / f'{s}.json'}: an outfit lacks set_id or items with item_id and index") from None

    kept: dict[str, dict[str, Any]] = {}
    used = sorted({it for o in (o for s in SPLITS for o in outfits[s]) for it in (str(x["item_id"]) for x in o["items"])})
    for item_id in used:
        m = meta.get(item_id)
        if not isinstance(m, dict):
            raise PolyvoreError(f"item {item_id!r} of the outfits is not in polyvore_item_metadata.json")
        sem = m.get("semantic_category")
        if sem not in cat_map:
            skipped["items of an unmapped category"] += 1
            continue
        if not (root / "images" / f"{item_id}.jpg").is_file():
            skipped["items without a picture"] += 1
            continue
        kept[item_id] = {
            "id": item_id,
            "image": f"images/{item_id}.jpg",
            "category": cat_map[sem],
            "name": (m.get("title") or m.get("url_name") or "").strip() or item_id,
            "attributes": {"semantic_category": sem, "category_id": m.get("category_id"), "source": "polyvore-outfits"},
        }

    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = make_temp_dir(out.parent, f".{out.name}.polyvore-")
    try:
        (tmp / "images").mkdir()
        for item_id in kept:
            src, dest = root / "images" / f"{item_id}.jpg", tmp / "images" / f"{item_id}.jpg"
            try:
                os.link(src, dest)
            except OSError:
                shutil.copyfile(src, dest)
        jsonlines.write(tmp / "manifest.jsonl", [kept[i] for i in sorted(kept)])
        summary = ImportSummary(out, split, len(kept))
        for s in SPLITS:
            looks = []
            for o in outfits[s]:
                items = list(dict.fromkeys(str(x["item_id"]) for x in o["items"] if str(x["item_id"]) in kept))
                if len(items) < 2:
                    skipped["looks left with fewer than two pieces"] += 1
                    continue
                looks.append({"look_id": str(o["set_id"]), "items": items})
            jsonlines.write(tmp / ("looks.jsonl" if s == "train" else f"looks_{s}.jsonl"), looks)
            summary.looks[s] = len(looks)
        for s in SPLITS[1:]:
            fitb_path, compat_path = version / f"fill_in_blank_{s}.json", version / f"compatibility_{s}.txt"
            if fitb_path.is_file():
                rows = _fitb(_load_json(fitb_path), piece, kept, skipped, fitb_path)
                jsonlines.write(tmp / f"fitb_{s}.jsonl", rows)
                summary.fitb[s] = len(rows)
            if compat_path.is_file():
                rows = _compat(compat_path, piece, kept, skipped)
                jsonlines.write(tmp / f"compat_{s}.jsonl", rows)
                summary.compat[s] = len(rows)
        summary.skipped = skipped
        (tmp / MARKER).write_text(json.dumps({
            "dataset": "Polyvore Outfits", "split": split, "source": str(root), "licence": LICENCE,
            "items": len(kept), "looks": summary.looks, "fitb": summary.fitb, "compat": summary.compat,
            "skipped": skipped, "mapping": cat_map,
        }, indent=2), encoding="utf-8")
        from stygig.atomic import replace_dir

        replace_dir(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return summary


def _fitb(data: Any, piece: dict[str, str], kept: dict[str, Any], skipped: dict[str, int], path: Path) -> list[dict]:
    if not isinstance(data, list):
        raise PolyvoreError(f"{path} must be a list of questions")
    rows = []
    for q in data:
        try:
            question, answers = list(q["question"]), list(q["answers"])
        except (KeyError, TypeError):
            raise PolyvoreError(f"{path}: a question lacks 'question' or 'answers'") from None
        set_id = str(question[0]).split("_")[0] if question else None
        right = [a for a in answers if str(a).split("_")[0] == set_id]
        ids_q = [piece.get(str(x)) for x in question]
        ids_a = [piece.get(str(x)) for x in answers]
        if len(right) != 1 or None in ids_q or None in ids_a or not all(i in kept for i in (*ids_q, *ids_a)):
            skipped["questions naming a dropped item"] += 1
            continue
        rows.append({"question": ids_q, "answers": ids_a, "answer": piece[str(right[0])]})
    return rows


def _compat(path: Path, piece: dict[str, str], kept: dict[str, Any], skipped: dict[str, int]) -> list[dict]:
    rows = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        parts = line.split()
        if not parts:
            continue
        if parts[0] not in ("0", "1"):
            raise PolyvoreError(f"{path} line {n}: expected '<label> <set_id>_<index> ...' with label 0 or 1")
        ids = [piece.get(x) for x in parts[1:]]
        if None in ids or not all(i in kept for i in ids) or len(ids) < 2:
            skipped["outfits naming a dropped item"] += 1
            continue
        rows.append({"items": list(dict.fromkeys(ids)), "label": int(parts[0])})
    return rows
