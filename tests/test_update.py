"""``stygig update`` (issue 14.4): an artifact and the catalog's changes -> what a full build of the
new catalog holds, embedding only the added and changed pictures.

Real parts throughout: the sample catalog's pictures, the lite encoder, FAISS, the CLI."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import faiss
import numpy as np
import pytest
from PIL import Image, ImageOps

from stygig.artifact.reader import ArtifactReader
from stygig.cli import main
from test_faults import kill_after_a_chunk

ADDED_EVERY = 6  # every 6th item of the sample catalog is added by the update
REMOVED = 5
SAME_PICTURE = 3  # changed items whose picture stays (metadata only)
NEW_PICTURE = 2  # changed items given another picture


def _rows(manifest: Path) -> list[dict]:
    return [json.loads(line) for line in manifest.read_text().splitlines() if line.strip()]


def _write(path: Path, rows) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


@pytest.fixture(scope="module")
def case(sample_catalog, tmp_path_factory):
    """A base catalog, the changes to it (add / change / remove / attributes), the catalog they
    make, the base's artifact and a full build of the new catalog."""
    from stygig.build import build_artifact

    d = tmp_path_factory.mktemp("update")
    cat = d / "cat"
    shutil.copytree(sample_catalog, cat)
    rows = sorted(_rows(cat / "manifest.jsonl"), key=lambda r: r["id"])
    added = rows[::ADDED_EVERY]
    base = [r for r in rows if r not in added]
    removed = base[1 : 1 + REMOVED * 7 : 7]
    rest = [r for r in base if r not in removed]
    same, new_pic = rest[2 : 2 + SAME_PICTURE], rest[40 : 40 + NEW_PICTURE]
    changed = []
    for r in same:  # new name, attributes; the first one also changes category within its group
        c = {**r, "name": r["name"] + " (renamed)", "attributes": {**r["attributes"], "price": 9.5}}
        changed.append(c)
    if changed[0]["category"] == "shirt":
        changed[0]["category"] = "tshirt"
    (cat / "changed").mkdir()
    for r in new_pic:
        img = ImageOps.mirror(Image.open(cat / r["image"]).convert("RGB")).rotate(7)
        path = f"changed/{r['id']}.jpg"
        img.save(cat / path, quality=90)
        changed.append({**r, "image": path})
    by_id = {r["id"]: r for r in changed}
    patches = [{"id": rest[60]["id"], "price": 1.25, "in_stock": False}, {"id": rest[61]["id"], "brand": None},
               {"id": added[0]["id"], "price": 2.5}]
    final = []
    for r in sorted([*[r for r in rest], *added], key=lambda r: r["id"]):
        r = json.loads(json.dumps(by_id.get(r["id"], r)))
        for p in patches:
            if p["id"] == r["id"]:
                for k, v in p.items():
                    if k != "id":
                        if v is None:
                            r["attributes"].pop(k, None)
                        else:
                            r["attributes"][k] = v
        final.append(r)
    files = {
        "base": _write(cat / "base.jsonl", base),
        "add": _write(cat / "add.jsonl", [*added, *changed]),
        "remove": d / "remove.txt",
        "attributes": _write(d / "attributes.jsonl", patches),
        "final": _write(cat / "final.jsonl", final),
    }
    files["remove"].write_text("".join(r["id"] + "\n" for r in removed))
    base_art, full_art = d / "base-art", d / "full-art"
    build_artifact(files["base"], base_art)
    build_artifact(files["final"], full_art)
    return {"dir": d, **files, "base_art": base_art, "full_art": full_art, "n_added": len(added),
            "n_changed": len(changed), "n_removed": len(removed)}


def _update(case, out: Path, *extra: str) -> int:
    return main(["update", str(case["base_art"]), "--add", str(case["add"]), "--remove", str(case["remove"]),
                 "--attributes", str(case["attributes"]), "-o", str(out), "--quiet", *extra])


@pytest.fixture(scope="module")
def updated(case):
    out = case["dir"] / "updated"
    import contextlib
    import io

    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        assert _update(case, out) == 0
    return {"art": out, "stdout": buf.getvalue()}


def test_the_summary_counts_only_the_added_and_changed_pictures_as_embedded(case, updated):
    out = updated["stdout"]
    assert f"added {case['n_added']}, changed {case['n_changed']}, removed {case['n_removed']}" in out
    assert f"embedded {case['n_added'] + NEW_PICTURE} pictures: {case['n_added']} added, {NEW_PICTURE} changed " \
           f"({SAME_PICTURE} changed items kept their picture: not embedded)" in out
    assert "attributes rewritten for 3 items" in out
    assert "categories re-indexed:" in out


def test_an_update_holds_what_a_full_build_of_the_new_catalog_holds(case, updated):
    up, full = ArtifactReader.open(updated["art"]), ArtifactReader.open(case["full_art"])
    assert np.array_equal(np.asarray(up.items.ids), np.asarray(full.items.ids))
    assert np.array_equal(np.asarray(up.items.category_codes), np.asarray(full.items.category_codes))
    for r in range(len(full.items)):
        a, b = dict(up.items[r]), dict(full.items[r])
        assert a == b or _same_but_colours(a, b), (a, b)
        if b["thumbnail"]:
            assert (up.root / a["thumbnail"]).read_bytes() == (full.root / b["thumbnail"]).read_bytes(), b["id"]
    # the same code on the same pictures: the vectors agree to float tolerance (carried rows bitwise)
    np.testing.assert_allclose(np.asarray(up.vectors), np.asarray(full.vectors), atol=1e-5)
    given = {r["id"] for r in _rows(case["add"])}
    carried = [r for r in range(len(full.items)) if full.items[r]["id"] not in given]
    assert np.array_equal(np.asarray(up.vectors)[carried], np.asarray(full.vectors)[carried])
    np.testing.assert_allclose(np.asarray(up.colours), np.asarray(full.colours), atol=1e-4)
    assert up.manifest["attributes"].keys() == full.manifest["attributes"].keys()
    for name, entry in full.manifest["attributes"].items():
        mine = up.manifest["attributes"][name]
        assert {k: v for k, v in mine.items()} == entry, name
        for key in ("column", "offsets", "vocabulary"):
            if key in entry:
                a, b = np.load(up.root / mine[key]), np.load(full.root / entry[key])
                assert np.array_equal(a, b, equal_nan=a.dtype.kind == "f"), (name, key)
    assert up.manifest["counts"] == full.manifest["counts"]
    assert up.manifest["updated_from"] == ArtifactReader.open(case["base_art"]).manifest["model_version"]


def _same_but_colours(a: dict, b: dict) -> bool:
    ca, cb = a.pop("colors"), b.pop("colors")
    if a != b or len(ca) != len(cb):
        return False
    return all(x["name"] == y["name"] and np.allclose(x["lab"], y["lab"], atol=1e-3) for x, y in zip(ca, cb))


def test_exact_search_categories_answer_as_a_full_builds_do(case, updated):
    up, full = ArtifactReader.open(updated["art"]), ArtifactReader.open(case["full_art"])
    per = full.manifest["index"]["per_category"]
    assert set(up.manifest["index"]["per_category"]) == set(per)
    queries = np.ascontiguousarray(np.asarray(full.vectors)[::7])
    for cat, info in per.items():
        assert info["kind"] == "flat"
        a = faiss.read_index(str(up.root / "index" / up.manifest["index"]["per_category"][cat]["file"]))
        b = faiss.read_index(str(full.root / "index" / info["file"]))
        assert a.ntotal == b.ntotal == info["n"]
        sa, ia = a.search(queries, b.ntotal)
        sb, ib = b.search(queries, b.ntotal)
        assert np.array_equal(np.sort(ia, axis=1), np.sort(ib, axis=1)), cat
        np.testing.assert_allclose(np.sort(sa, axis=1), np.sort(sb, axis=1), atol=1e-5)


def test_the_updated_artifact_recommends_as_the_full_build_does(case, updated):
    from stygig.recommend.engine import Recommender
    from stygig.recommend.query import Query

    up, full = Recommender.load(updated["art"]), Recommender.load(case["full_art"])
    for item in ("shirt-0003", up.items[len(up.items) // 2]["id"]):
        a = [r["item_id"] for r in up.recommend(Query(item_id=item))["recommendations"]]
        b = [r["item_id"] for r in full.recommend(Query(item_id=item))["recommendations"]]
        assert a == b


def test_only_categories_that_changed_are_reindexed(case, tmp_path, capsys):
    """Removing one item re-indexes its category alone; every other category's index is the
    old one, renumbered or hard-linked as it was."""
    base = ArtifactReader.open(case["base_art"])
    last = base.items[len(base.items) - 1]
    ids = tmp_path / "ids.txt"
    ids.write_text(last["id"] + "\n")
    out = tmp_path / "out"
    assert main(["update", str(case["base_art"]), "--remove", str(ids), "-o", str(out), "--quiet"]) == 0
    text = capsys.readouterr().out
    n = len(base.manifest["index"]["per_category"])
    assert f"categories re-indexed: 1 of {n} (rebuilt {last['category']}; kept {n - 1})" in text, text
    new = ArtifactReader.open(out)
    for cat, info in base.manifest["index"]["per_category"].items():
        if cat != last["category"]:  # the last row: no other category's rows moved
            assert (new.root / "index" / info["file"]).stat().st_ino == (base.root / "index" / info["file"]).stat().st_ino


def test_a_learned_compatibility_model_is_carried_over(case, tmp_path, capsys):
    from stygig.catalog.sample.looks import generate_looks
    from stygig.recommend.compat.learned import features
    from stygig.recommend.engine import Recommender

    looks = _write(tmp_path / "looks.jsonl", generate_looks(_rows(case["base"]), 120, seed=1))
    learned = tmp_path / "learned"
    assert main(["learn", str(case["base_art"]), "--looks", str(looks), "-o", str(learned), "--epochs", "2",
                 "--quiet", "--holdout", "0"]) == 0
    out = tmp_path / "updated"
    assert main(["update", str(learned), "--add", str(case["add"]), "--remove", str(case["remove"]),
                 "-o", str(out), "--quiet"]) == 0
    old, new = Recommender.load(learned), Recommender.load(out)
    assert new.compatibility.kind == "learned"
    assert new.manifest["compatibility"] == old.manifest["compatibility"]
    for key, rel in old.manifest["compatibility"]["files"].items():
        if key != "table":
            assert new.manifest["files"][rel] == old.manifest["files"][rel]
    table_old, table_new = np.asarray(old.compatibility.table), np.asarray(new.compatibility.table)
    assert len(table_new) == new.n_items
    expect = new.compatibility.embed_features(features(
        np.asarray(new.vectors), np.asarray(new.colours), np.asarray(new.items.category_codes),
        np.asarray(new.items.gender_codes), len(new.taxonomy.categories)))
    np.testing.assert_allclose(table_new, expect, atol=1e-5)
    for r in range(0, new.n_items, 5):  # carried rows are the old table's own
        o = old.items.row_of(new.items[r]["id"])
        if o is not None and new.items[r].get("image_sha256") == old.items[o].get("image_sha256") \
                and new.items[r]["category"] == old.items[o]["category"]:
            assert np.array_equal(table_new[r], table_old[o])
    assert new.manifest["model_version"] != old.manifest["model_version"]


def _listing(d: Path) -> list[str]:
    return sorted(p.name for p in d.iterdir())


@pytest.mark.parametrize("what,content,message", [
    ("remove", "{id}\nno-such-item\n", "remove.txt line 2: no item 'no-such-item' in the artifact"),
    ("attributes", '{"id": "no-such-item", "price": 3}\n', "attributes.jsonl line 1: no item 'no-such-item'"),
    ("attributes", '{"id": "{id}", "price": 3}\n{oops\n', "attributes.jsonl line 2: not valid JSON"),
    ("attributes", '{"price": 3}\n', "attributes.jsonl line 1: no \"id\""),
    ("attributes", '{"id": "{id}", "category": "tshirt"}\n', "line 1: 'category' is not an attribute"),
    ("attributes", '{"id": "{id}", "price": "cheap"}\n', "attribute 'price' is a number in item"),
    ("add", '{"id": "x-1", "image": "nope.jpg", "category": "robe"}\n', "unknown categories: 'robe'"),
    ("add", '{"id": "x-1", "image": "../x.jpg", "category": "shirt"}\n', "escape the catalog root"),
])
def test_bad_inputs_are_one_line_exit_2_and_nothing_written(case, tmp_path, capsys, what, content, message):
    bad = tmp_path / {"remove": "remove.txt", "attributes": "attributes.jsonl", "add": "add.jsonl"}[what]
    bad.write_text(content.replace("{id}", _rows(case["base"])[0]["id"]))
    out = tmp_path / "out"
    before = _listing(tmp_path)
    capsys.readouterr()
    assert main(["update", str(case["base_art"]), f"--{what}", str(bad), "-o", str(out), "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("stygig: error: ") and "\n" not in err and message in err, err
    assert _listing(tmp_path) == before


def test_an_id_both_added_and_removed_is_refused(case, tmp_path, capsys):
    rm = tmp_path / "rm.txt"
    rm.write_text(_rows(case["add"])[0]["id"] + "\n")
    assert main(["update", str(case["base_art"]), "--add", str(case["add"]), "--remove", str(rm),
                 "-o", str(tmp_path / "out"), "--quiet"]) == 2
    assert "rm.txt line 1:" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_an_existing_out_is_refused_without_force(case, updated, tmp_path, capsys):
    out = tmp_path / "out"
    shutil.copytree(updated["art"], out)
    before = (out / "manifest.json").read_bytes()
    assert _update(case, out) == 2
    assert "already holds an artifact" in capsys.readouterr().err
    assert (out / "manifest.json").read_bytes() == before
    assert _update(case, out, "--force") == 0
    assert ArtifactReader.open(out).manifest["counts"] == ArtifactReader.open(updated["art"]).manifest["counts"]
    assert main(["update", str(case["base_art"]), "--remove", str(case["remove"]), "-o", str(case["base_art"])]) == 2
    assert "is the artifact being updated" in capsys.readouterr().err


def test_ivf_categories_keep_their_centroids_while_recall_holds(tmp_path):
    """IVF: the update refills the trained centroids and measures recall@50 as the build does;
    vectors unlike anything the centroids were trained on bring it below the target: retrained."""
    from stygig.artifact.index import TARGET_RECALL
    from stygig.build import update_from_arrays, write_artifact_from_arrays
    from stygig.features.encoders.precomputed import PrecomputedEncoder

    rng = np.random.default_rng(0)
    dim, n = 32, 3000
    centres = rng.standard_normal((40, dim)).astype(np.float32)

    def vectors(k, uniform=False):
        x = centres[rng.integers(0, len(centres), k)] + 0.3 * rng.standard_normal((k, dim)).astype(np.float32)
        if uniform:  # nothing like what the centroids were trained on
            x = rng.standard_normal((k, dim)).astype(np.float32)
        return x / np.linalg.norm(x, axis=1, keepdims=True)

    enc = PrecomputedEncoder(dim, "test vectors")
    ids = [f"shoe-{i:05d}" for i in range(n)]
    base = tmp_path / "base"
    write_artifact_from_arrays(base, ids=ids, categories=["sneakers"] * n, genders=["unisex"] * n,
                               vectors=vectors(n), colours=np.zeros((n, 3, 4), np.float32), encoder=enc, index_kind="ivf")
    old = ArtifactReader.open(base)
    old_index = faiss.read_index(str(base / "index" / "cat-sneakers.faiss"))
    centroids = faiss.extract_index_ivf(old_index).quantizer.reconstruct_n(0, old_index.nlist)

    def update(out, k, **kw):
        new_ids = [f"shoe-new-{i:05d}" for i in range(k)]
        return update_from_arrays(base, out, ids=new_ids, categories=["sneakers"] * k, genders=["unisex"] * k,
                                  vectors=vectors(k, **kw), colours=np.zeros((k, 3, 4), np.float32),
                                  remove=ids[:10])

    small = update(tmp_path / "small", 30)
    assert small.indexes == {"sneakers": "updated"}
    index = faiss.read_index(str(tmp_path / "small" / "index" / "cat-sneakers.faiss"))
    assert np.array_equal(faiss.extract_index_ivf(index).quantizer.reconstruct_n(0, index.nlist), centroids)
    assert index.ntotal == n + 20
    info = ArtifactReader.open(tmp_path / "small").manifest["index"]["per_category"]["sneakers"]
    assert info["nprobe"] == old.manifest["index"]["per_category"]["sneakers"]["nprobe"]
    assert info["tuned_recall_at_50"] >= TARGET_RECALL
    big = update(tmp_path / "big", 4000, uniform=True)
    assert big.indexes == {"sneakers": "retrained"}
    info = ArtifactReader.open(tmp_path / "big").manifest["index"]["per_category"]["sneakers"]
    assert info["n"] == n - 10 + 4000 and info["tuned_recall_at_50"] >= TARGET_RECALL


def _exact_top(x: np.ndarray, rows: np.ndarray, queries: np.ndarray, k: int) -> list[list[int]]:
    """The exact top ``k`` rows among ``rows`` (vectors ``x[rows]``) for each query, best first."""
    scores = queries @ x[rows].T
    order = np.lexsort((np.broadcast_to(rows, scores.shape), -scores))[:, :k]
    return rows[order].tolist()


def test_an_ivf_categorys_tuning_is_kept_and_updated_to_what_an_exact_search_finds(tmp_path):
    """An IVF category keeps its tuning queries and their exact neighbours in the artifact; an
    update brings them up to date from the rows it removes and adds (no exact search of the whole
    category): the neighbours it lists are an exact search's over the new catalog, the queries'
    items are still there, and the queries are drawn from what the update added too."""
    from stygig.artifact.index import CROSS, OWN, RECALL_K, TUNE_QUERIES, Tuning
    from stygig.build import update_from_arrays, write_artifact_from_arrays
    from stygig.features.encoders.precomputed import PrecomputedEncoder

    rng = np.random.default_rng(7)
    dim = 16
    centres = rng.standard_normal((30, dim)).astype(np.float32)

    def vectors(k):
        x = centres[rng.integers(0, len(centres), k)] + 0.4 * rng.standard_normal((k, dim)).astype(np.float32)
        return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)

    n = 2400
    cats = ["sneakers"] * (n // 2) + ["heels"] * (n // 2)
    ids = [f"item-{i:05d}" for i in range(0, 2 * n, 2)]
    bags = [f"bag-{i:05d}" for i in range(1200)]  # rows 0-1199 before and after: its index is kept
    enc = PrecomputedEncoder(dim, "test vectors")
    base = tmp_path / "base"
    x0 = vectors(n + len(bags))
    write_artifact_from_arrays(base, ids=bags + ids, categories=["bag"] * len(bags) + cats,
                               genders=["unisex"] * (n + len(bags)), vectors=x0,
                               colours=np.zeros((n + len(bags), 3, 4), np.float32), encoder=enc, index_kind="ivf")
    old = ArtifactReader.open(base)
    for cat, info in old.manifest["index"]["per_category"].items():
        assert info["tuning"] == f"cat-{cat}.tuning.npy" and f"index/{info['tuning']}" in old.manifest["files"]
        t = Tuning.load(base / "index" / info["tuning"])
        assert len(t) == TUNE_QUERIES and (t.groups == OWN).sum() == TUNE_QUERIES // 2
        np.testing.assert_array_equal(t.queries, x0[t.sources])  # the queries are items' vectors
        own = np.flatnonzero(np.asarray(old.items.category_codes) == list(old.taxonomy.categories).index(cat))
        assert np.isin(t.sources[t.groups == OWN], own).all() and not np.isin(t.sources[t.groups == CROSS], own).any()
        assert t.complete_to(RECALL_K).all()
        found = [r[r >= 0].tolist() for r in t.rows]
        truth = _exact_top(x0, own, t.queries, 64)
        assert np.mean([len(set(a) & set(b)) / 64 for a, b in zip(found, truth)]) > 0.999

    # the update: 160 removed (among them queries' own items), 300 added between the old ids
    gone = [ids[i] for i in rng.choice(n, size=160, replace=False)]
    added = [f"item-{i:05d}" for i in range(1, 600, 2)]
    new_x = vectors(len(added))
    new_cats = [["sneakers", "heels"][i % 2] for i in range(len(added))]
    summary = update_from_arrays(base, tmp_path / "up", ids=added, categories=new_cats,
                                 genders=["unisex"] * len(added), vectors=new_x,
                                 colours=np.zeros((len(added), 3, 4), np.float32), remove=gone)
    assert summary.indexes == {"sneakers": "updated", "heels": "updated", "bag": "kept"}
    up = ArtifactReader.open(tmp_path / "up")
    x1 = np.asarray(up.vectors)
    codes = np.asarray(up.items.category_codes)
    # the kept index's queries still name their items as they now are: moved, or gone (-1)
    t = Tuning.load(up.root / "index" / up.manifest["index"]["per_category"]["bag"]["tuning"])
    alive = t.sources >= 0
    assert 0 < (~alive).sum() < 20 and (t.groups[~alive] == CROSS).all()
    np.testing.assert_array_equal(t.queries[alive], x1[t.sources[alive]])
    for cat, info in up.manifest["index"]["per_category"].items():
        if cat == "bag":
            continue
        t = Tuning.load(up.root / "index" / info["tuning"])
        own = np.flatnonzero(codes == list(up.taxonomy.categories).index(cat))
        assert len(t) == TUNE_QUERIES and (t.groups == OWN).sum() == TUNE_QUERIES // 2
        assert (t.sources >= 0).all() and len(set(t.sources.tolist())) == len(t)
        np.testing.assert_array_equal(t.queries, x1[t.sources])  # every query's item is still there
        assert np.isin(t.sources[t.groups == OWN], own).all() and not np.isin(t.sources[t.groups == CROSS], own).any()
        new_rows = {up.items.row_of(i) for i in added}
        assert new_rows & set(t.sources.tolist())  # a sample of the catalog as it now is
        assert t.complete_to(RECALL_K).all()
        for q in range(len(t)):  # what is listed is an exact search's top, in its order
            listed = t.rows[q][t.rows[q] >= 0]
            truth = _exact_top(x1, own, t.queries[q : q + 1], len(listed))[0]
            assert listed.tolist() == truth, (cat, q)

    # an artifact from before tunings were kept: the update measures recall as it did, and keeps one
    older = tmp_path / "older"
    shutil.copytree(base, older)
    manifest = json.loads((older / "manifest.json").read_text())
    for info in manifest["index"]["per_category"].values():
        del info["tuning"]
    (older / "manifest.json").write_text(json.dumps(manifest))
    summary = update_from_arrays(older, tmp_path / "up2", ids=added, categories=new_cats,
                                 genders=["unisex"] * len(added), vectors=new_x,
                                 colours=np.zeros((len(added), 3, 4), np.float32), remove=gone)
    assert summary.indexes == {"sneakers": "updated", "heels": "updated", "bag": "kept"}
    for cat, info in ArtifactReader.open(tmp_path / "up2").manifest["index"]["per_category"].items():
        if cat == "bag":  # kept as it was: without one
            assert "tuning" not in info
            continue
        t = Tuning.load(tmp_path / "up2" / "index" / info["tuning"])
        assert len(t) == TUNE_QUERIES and t.complete_to(RECALL_K).all()


def test_recall_without_searching_is_the_recall_a_search_measures():
    """update measures an IVF-Flat index's recall from its lists (an exact neighbour is found iff
    its list is probed): the same figure FAISS's own search gives."""
    from stygig.artifact.index import _ivf_recall, _recall

    rng = np.random.default_rng(3)
    x = rng.standard_normal((4000, 16)).astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    index = faiss.IndexIVFFlat(faiss.IndexFlatIP(16), 16, 64, faiss.METRIC_INNER_PRODUCT)
    index.train(x)
    index.add_with_ids(x, np.arange(len(x), dtype=np.int64) * 3)
    q = np.ascontiguousarray(x[:150] + 0.1 * rng.standard_normal((150, 16)).astype(np.float32))
    for nprobe in (1, 4, 16):
        mine, error = _ivf_recall(index, q, 50, nprobe)
        assert mine == pytest.approx(_recall(index, q, 50, nprobe), abs=2e-3) and 0 < error < 0.05


def test_an_update_with_vectors_given_is_byte_for_byte_a_full_build(tmp_path):
    """Vectors given (no encoder in the loop): the updated artifact's files are a full build's,
    byte for byte — the same model_version — whatever moved."""
    from stygig.build import update_from_arrays, write_artifact_from_arrays
    from stygig.features.encoders.precomputed import PrecomputedEncoder
    from stygig.taxonomy import Taxonomy

    rng = np.random.default_rng(1)
    cats = list(Taxonomy.default().categories)[:6]
    n, dim = 300, 16
    enc = PrecomputedEncoder(dim, "test vectors")

    def catalog(ids):
        k = len(ids)
        v = rng.standard_normal((k, dim)).astype(np.float32)
        return {"ids": ids, "categories": [cats[int(c)] for c in rng.integers(0, len(cats), k)],
                "genders": ["unisex"] * k, "vectors": v / np.linalg.norm(v, axis=1, keepdims=True),
                "colours": rng.uniform(0, 50, (k, 3, 4)).astype(np.float32),
                "attributes": {"price": rng.uniform(1, 99, k).round(2).tolist(),
                               "brand": [None if i % 7 == 0 else f"b{i % 5}" for i in range(k)],
                               "sizes": [["S", "M"] if i % 3 else None for i in range(k)],
                               "in_stock": [bool(i % 2) for i in range(k)]}}

    old = catalog([f"item-{i:04d}" for i in range(0, 2 * n, 2)])
    base = tmp_path / "base"
    write_artifact_from_arrays(base, **old, encoder=enc)
    up = catalog([f"item-{i:04d}" for i in (*range(1, 120, 4), 10, 20, 400, 402)])  # 30 added, 4 changed
    gone = ["item-0000", "item-0100", "item-0598"]
    update_from_arrays(base, tmp_path / "updated", **up, remove=gone)
    rows = {}
    for src in (old, up):
        for k, i in enumerate(src["ids"]):
            rows[i] = (src, k)
    final = {"ids": sorted(i for i in rows if i not in gone)}
    for key in ("categories", "genders"):
        final[key] = [rows[i][0][key][rows[i][1]] for i in final["ids"]]
    for key in ("vectors", "colours"):
        final[key] = np.stack([rows[i][0][key][rows[i][1]] for i in final["ids"]])
    final["attributes"] = {a: [rows[i][0]["attributes"][a][rows[i][1]] for i in final["ids"]] for a in old["attributes"]}
    write_artifact_from_arrays(tmp_path / "full", **final, encoder=enc)
    a, b = ArtifactReader.open(tmp_path / "updated").manifest, ArtifactReader.open(tmp_path / "full").manifest
    volatile = "build_report.json"  # times and the like
    assert {k: v for k, v in a["files"].items() if k != volatile} == {k: v for k, v in b["files"].items() if k != volatile}
    assert a["model_version"] == b["model_version"]


def test_an_update_needs_a_change_and_leaves_an_item(case, tmp_path, capsys):
    assert main(["update", str(case["base_art"]), "-o", str(tmp_path / "out")]) == 2
    assert "update needs at least one of --add, --remove or --attributes" in capsys.readouterr().err
    every = tmp_path / "every.txt"
    every.write_text("".join(r["id"] + "\n" for r in _rows(case["base"])))
    assert main(["update", str(case["base_art"]), "--remove", str(every), "-o", str(tmp_path / "out")]) == 2
    assert "the update removes every item" in capsys.readouterr().err
    assert _listing(tmp_path) == ["every.txt"]


def test_an_artifact_without_picture_hashes_re_embeds_every_changed_item(case, tmp_path, capsys):
    """Built before builds hashed pictures: no row has image_sha256, so a changed item cannot be
    known unchanged — it is re-embedded, and the new artifact records the hashes."""
    from stygig.artifact.manifest import file_digests, write_manifest

    old = tmp_path / "old"
    shutil.copytree(case["base_art"], old)
    lines = [json.loads(x) for x in (old / "items" / "meta.jsonl").read_text(encoding="utf-8").splitlines()]
    data = [(json.dumps({k: v for k, v in row.items() if k != "image_sha256"}, ensure_ascii=False, sort_keys=True)
             + "\n").encode() for row in lines]
    (old / "items" / "meta.jsonl").write_bytes(b"".join(data))
    np.save(old / "items" / "meta.offsets.npy", np.concatenate([[0], np.cumsum([len(x) for x in data])]).astype(np.int64))
    manifest = json.loads((old / "manifest.json").read_text())
    write_manifest(old, {**manifest, "files": file_digests(old)})
    out = tmp_path / "out"
    assert main(["update", str(old), "--add", str(case["add"]), "-o", str(out), "--quiet"]) == 0
    text = capsys.readouterr().out
    assert f"{case['n_changed']} changed\n" in text and "kept their picture" not in text, text
    new = ArtifactReader.open(out)
    assert all(len(new.items[r].get("image_sha256", "")) == 64 for r in range(len(new.items)) if new.items[r]["id"]
               in {row["id"] for row in _rows(case["add"])})


# ---- resumable like build ------------------------------------------------------------------------
UPDATE = """
import json, sys
from stygig.build import update_artifact
base, out, add, remove, attributes = sys.argv[1:6]
s = update_artifact(base, out, add=add, remove=remove, attributes=attributes, chunk_size=4, workers=1)
print("\\n".join(s.lines()))
print(json.dumps({"resumed_chunks": s.resumed_chunks, "embedded": s.embedded}))
"""


@pytest.fixture(scope="module")
def many(sample_catalog, tmp_path_factory):
    """A small base artifact and an update that embeds most of the sample catalog (19 chunks of 4
    pictures: time to kill it part-way): added items, a changed picture, a removal, attributes."""
    from stygig.build import build_artifact

    d = tmp_path_factory.mktemp("update-resume")
    cat = d / "cat"
    shutil.copytree(sample_catalog, cat)
    rows = sorted(_rows(cat / "manifest.jsonl"), key=lambda r: r["id"])
    base, added = rows[:12], rows[12:]
    (cat / "changed").mkdir()
    img = ImageOps.flip(Image.open(cat / base[3]["image"]).convert("RGB"))
    img.save(cat / "changed" / "pic.jpg", quality=90)
    files = {"base": _write(cat / "base.jsonl", base),
             "add": _write(cat / "add.jsonl", [*added, {**base[3], "image": "changed/pic.jpg"}]),
             "remove": d / "remove.txt", "attributes": _write(d / "attributes.jsonl", [{"id": added[5]["id"], "price": 3.5}])}
    files["remove"].write_text(base[7]["id"] + "\n")
    build_artifact(files["base"], d / "base-art")
    return {"dir": d, "base_art": d / "base-art", **files, "n_chunks": -(-(len(added) + 1) // 4)}


def test_a_killed_update_resumes_from_its_finished_chunks_and_writes_what_an_uninterrupted_one_does(many, tmp_path):
    import subprocess
    import sys

    from stygig.build import update_artifact

    out = tmp_path / "out"
    work = tmp_path / ".out.update"
    args = [str(many["base_art"]), str(out), str(many["add"]), str(many["remove"]), str(many["attributes"])]
    cmd = [sys.executable, "-c", UPDATE, *args]
    finished = kill_after_a_chunk(cmd, work / "chunks", "update")
    assert not out.exists(), "never a half artifact"
    assert 1 <= len(finished) < many["n_chunks"], sorted(finished)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".out.update-")], "no staged artifact left"

    r = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.strip().splitlines()
    assert json.loads(lines[-1]) == {"resumed_chunks": len(finished), "embedded": len(_rows(many["add"]))}
    assert lines[0].endswith(f"(resumed {len(finished)} finished chunk{'s' if len(finished) > 1 else ''})"), lines[0]
    assert json.loads((out / "build_report.json").read_text())["resumed_chunks"] == len(finished)
    assert not work.exists()

    # the same files as an update that was never interrupted (and embedded in other chunks)
    whole = update_artifact(many["base_art"], tmp_path / "whole", add=many["add"], remove=many["remove"],
                            attributes=many["attributes"])
    assert whole.resumed_chunks == 0
    a = json.loads((out / "manifest.json").read_text())
    b = json.loads((tmp_path / "whole" / "manifest.json").read_text())
    volatile = "build_report.json"
    assert {k: v for k, v in a["files"].items() if k != volatile} == {k: v for k, v in b["files"].items() if k != volatile}
    assert a["model_version"] == b["model_version"]


def test_an_interrupted_update_re_run_with_other_inputs_starts_over(many, tmp_path):
    import subprocess
    import sys

    out = tmp_path / "out"
    work = tmp_path / ".out.update"
    args = [str(many["base_art"]), str(out), str(many["add"]), str(many["remove"]), str(many["attributes"])]
    finished = kill_after_a_chunk([sys.executable, "-c", UPDATE, *args], work / "chunks", "update")
    assert finished
    other = _write(tmp_path / "other.jsonl", [{"id": _rows(many["add"])[5]["id"], "price": 4.5}])
    r = subprocess.run([sys.executable, "-c", UPDATE, *args[:4], str(other)], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout.strip().splitlines()[-1])["resumed_chunks"] == 0
    assert "resumed" not in r.stdout.splitlines()[0]
    assert not work.exists()
    new = ArtifactReader.open(out)
    assert new.items[new.items.row_of(_rows(many["add"])[5]["id"])]["attributes"]["price"] == 4.5


def test_an_interrupted_update_re_run_without_resume_starts_over(many, tmp_path):
    """``resume=False`` (the CLI's ``--no-resume``) with the very inputs of the killed run: nothing
    resumed, everything embedded, the work folder gone."""
    import sys

    from stygig.build import update_artifact

    out = tmp_path / "out"
    work = tmp_path / ".out.update"
    args = [str(many["base_art"]), str(out), str(many["add"]), str(many["remove"]), str(many["attributes"])]
    assert kill_after_a_chunk([sys.executable, "-c", UPDATE, *args], work / "chunks", "update")
    s = update_artifact(many["base_art"], out, add=many["add"], remove=many["remove"], attributes=many["attributes"],
                        chunk_size=4, workers=1, resume=False)
    assert s.resumed_chunks == 0 and s.embedded == len(_rows(many["add"]))
    assert json.loads((out / "build_report.json").read_text())["resumed_chunks"] == 0
    assert not work.exists()


# ---- the CLIP path -------------------------------------------------------------------------------
TINY_CLIP = {  # the tiny open_clip configuration of tests/test_photo_query.py, random weights
    "embed_dim": 32,
    "vision_cfg": {"image_size": 64, "layers": 1, "width": 64, "patch_size": 16, "head_width": 32},
    "text_cfg": {"context_length": 77, "vocab_size": 49408, "width": 64, "heads": 2, "layers": 1},
}


def test_an_update_of_a_clip_artifact_embeds_added_and_changed_pictures_as_a_full_build_does(sample_catalog, tmp_path):
    """A tiny random-weights open_clip model exported through the real export code, ONNX Runtime
    in the loop: the added items and the item given a new picture (same id, other content) get the
    vectors a full build of the new catalog gives them; every other item's vector is carried over
    bit for bit."""
    from stygig.build import build_artifact, update_artifact
    from stygig.export.clip import export_clip

    export = tmp_path / "clip"
    export_clip("stygig-tiny-update", "random", export, precisions=["fp32"], model_config=TINY_CLIP, seed=5)
    cat = tmp_path / "cat"
    shutil.copytree(sample_catalog, cat)
    rows = sorted(_rows(cat / "manifest.jsonl"), key=lambda r: r["id"])[:24]
    added = rows[1::5]
    base = [r for r in rows if r not in added]
    repainted, renamed = base[4], base[9]
    (cat / "changed").mkdir()
    ImageOps.mirror(Image.open(cat / repainted["image"]).convert("RGB")).rotate(11).save(cat / "changed" / "new.jpg")
    changes = [*added, {**repainted, "image": "changed/new.jpg"}, {**renamed, "name": renamed["name"] + " (renamed)"}]
    by_id = {r["id"]: r for r in changes}
    final = [by_id.get(r["id"], r) for r in rows]
    old_art, up_art, full_art = tmp_path / "old", tmp_path / "updated", tmp_path / "full"
    build_artifact(_write(cat / "base.jsonl", base), old_art, encoder=str(export))
    summary = update_artifact(old_art, up_art, add=_write(cat / "add.jsonl", changes))
    build_artifact(_write(cat / "final.jsonl", final), full_art, encoder=str(export))

    old, up, full = (ArtifactReader.open(p) for p in (old_art, up_art, full_art))
    assert old.manifest["encoder"]["kind"] == up.manifest["encoder"]["kind"] == full.manifest["encoder"]["kind"] == "clip-onnx"
    assert np.array_equal(np.asarray(up.items.ids), np.asarray(full.items.ids))
    uv, fv, ov = np.asarray(up.vectors), np.asarray(full.vectors), np.asarray(old.vectors)
    embedded = {r["id"] for r in added} | {repainted["id"]}
    for j in range(len(up.items)):
        item_id = up.items[j]["id"]
        if item_id in embedded:
            np.testing.assert_allclose(uv[j], fv[j], atol=1e-5, err_msg=item_id)
        else:
            assert np.array_equal(uv[j], ov[old.items.row_of(item_id)]), f"{item_id} carried over as it was"
            np.testing.assert_allclose(uv[j], fv[j], atol=1e-5, err_msg=item_id)
    # the repainted item's picture is noticed by its hash and re-embedded: its vector moved
    j, o = up.items.row_of(repainted["id"]), old.items.row_of(repainted["id"])
    assert up.items[j]["image_sha256"] == full.items[j]["image_sha256"] != old.items[o]["image_sha256"]
    assert not np.allclose(uv[j], ov[o], atol=1e-3), "the changed picture was not re-embedded"
    assert (up.root / up.items[j]["thumbnail"]).read_bytes() == (full.root / full.items[j]["thumbnail"]).read_bytes()
    np.testing.assert_allclose(np.asarray(up.colours), np.asarray(full.colours), atol=1e-4)
    np.testing.assert_allclose(up.category_text(), full.category_text(), atol=1e-6)
    assert (summary.added, summary.changed, summary.embedded, summary.re_embedded) == (len(added), 2, len(added) + 1, 1)
