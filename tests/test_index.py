"""Per-category indexes at a size where IVF is used, items store lookups, streamed vector files."""

import json

import numpy as np
import pytest

from stygig.build import write_artifact_from_arrays
from stygig.errors import UnsupportedQuery
from stygig.features.encoders.precomputed import PrecomputedEncoder
from stygig.artifact.index import Indexes, VectorFile
from stygig.artifact.items import ItemStore
from stygig.recommend.engine import Recommender
from stygig.recommend.query import Query
from stygig.schema import Options

DIM = 32
CATS = ["shirt", "pants", "shoes", "bag"]


def _synthetic(n_per_cat=2500, seed=0):
    rng = np.random.default_rng(seed)
    styles = rng.standard_normal((64, DIM)).astype(np.float32)
    dirs = rng.standard_normal((len(CATS), DIM)).astype(np.float32)
    n = n_per_cat * len(CATS)
    cat = np.arange(n) % len(CATS)
    x = 0.8 * dirs[cat] + styles[rng.integers(0, 64, n)] + 0.6 * rng.standard_normal((n, DIM)).astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    colours = np.zeros((n, 3, 4), np.float32)
    colours[:, 0] = [50, 10, 10, 1.0]
    ids = [f"it-{i:06d}" for i in range(n)]
    return ids, [CATS[c] for c in cat], x.astype(np.float32), colours


@pytest.fixture(scope="module")
def artifacts(tmp_path_factory):
    ids, cats, x, colours = _synthetic()
    genders = ["unisex"] * len(ids)
    base = tmp_path_factory.mktemp("idx")
    out = {}
    for kind in ("flat", "ivf"):
        out[kind] = write_artifact_from_arrays(base / kind, ids=ids, categories=cats, genders=genders, vectors=x,
                                               colours=colours, encoder=PrecomputedEncoder(DIM, "test"), index_kind=kind).out
    return out, x, cats


def test_ivf_is_recorded_with_a_tuned_nprobe(artifacts):
    arts, _, _ = artifacts
    info = json.loads((arts["ivf"] / "manifest.json").read_text())["index"]["per_category"]
    assert set(info) == set(CATS)
    for d in info.values():
        assert d["kind"] == "ivf" and 1 <= d["nprobe"] <= d["nlist"] and d["tuned_recall_at_50"] >= 0.97
    flat = json.loads((arts["flat"] / "manifest.json").read_text())["index"]["per_category"]
    assert {d["kind"] for d in flat.values()} == {"flat"}


def test_ivf_recall_against_exact_for_cross_category_queries(artifacts):
    arts, x, cats = artifacts
    rec = Recommender.load(arts["ivf"])
    rng = np.random.default_rng(5)
    cats = np.array(cats)
    recalls = []
    for r in rng.integers(0, len(x), 60):
        target = CATS[(CATS.index(cats[r]) + 1) % len(CATS)]
        _, found = Indexes.search(rec.indexes.per_category[target], x[r], 50)
        members = np.flatnonzero(cats == target)
        truth = members[np.argsort(-(x[members] @ x[r]), kind="stable")[:50]]
        recalls.append(len(set(found.tolist()) & set(truth.tolist())) / 50)
    assert np.mean(recalls) >= 0.9


def test_ivf_and_flat_outfits_agree(artifacts):
    arts, _, _ = artifacts
    flat, ivf = Recommender.load(arts["flat"]), Recommender.load(arts["ivf"])
    same = 0
    for i in range(0, 10000, 500):
        item = f"it-{i:06d}"
        a = [r["item_id"] for r in flat.recommend(Query(item_id=item), Options(top_k=6))["recommendations"]]
        b = [r["item_id"] for r in ivf.recommend(Query(item_id=item), Options(top_k=6))["recommendations"]]
        same += len(set(a) & set(b)) / len(a)
    assert same / 20 >= 0.8


def test_precomputed_artifact_refuses_pictures(artifacts):
    from PIL import Image

    rec = Recommender.load(artifacts[0]["flat"])
    with pytest.raises(UnsupportedQuery, match="item_id"):
        rec.recommend(Query(image=Image.new("RGB", (64, 64))))


def test_vector_file_streams_the_same_rows(tmp_path):
    x = np.random.default_rng(0).standard_normal((1000, 8)).astype(np.float32)
    np.save(tmp_path / "v.npy", x)
    vf = VectorFile(tmp_path / "v.npy")
    assert (vf.n, vf.dim) == (1000, 8)
    assert np.array_equal(np.vstack([b for _, b in vf.chunks(size=300)]), x)
    rows = np.array([0, 299, 300, 999])
    assert np.array_equal(vf.rows(rows), x[rows])


def test_item_store_lookups(tmp_path):
    from stygig.artifact.items import ItemWriter

    w = ItemWriter(tmp_path / "items", CATS)
    rows = [{"id": i, "category": "bag", "gender": "unisex", "name": i} for i in sorted(["a", "b/c", "é-ü", "zz"])]
    for r in rows:
        w.add(r)
    w.close()
    st = ItemStore(tmp_path / "items", CATS)
    assert [st.row_of(r["id"]) for r in rows] == [0, 1, 2, 3]
    assert st.row_of("missing") is None and st.row_of("a\0") is None and st.row_of("x" * 500) is None
    assert st[3]["name"] == "é-ü" and st.category_of(3) == "bag" and st.gender_of(0) == "unisex"
    with pytest.raises(ValueError, match="increasing id order"):
        w2 = ItemWriter(tmp_path / "items2", CATS)
        w2.add({"id": "b", "category": "bag", "gender": "male"})
        w2.add({"id": "a", "category": "bag", "gender": "male"})


def test_warm_changes_no_answer(artifacts):
    arts, _, _ = artifacts
    cold = Recommender.load(arts["ivf"])
    warm = Recommender.load(arts["ivf"]).warm()
    for i in range(0, 10000, 1250):
        q = Query(item_id=f"it-{i:06d}")
        a, b = cold.recommend(q), warm.recommend(q)
        assert a["recommendations"] == b["recommendations"]
    # the exhaustive warm-up search did not leave nprobe changed
    info = json.loads((arts["ivf"] / "manifest.json").read_text())["index"]["per_category"]
    import faiss

    for cat, index in warm.indexes.per_category.items():
        assert faiss.extract_index_ivf(index).nprobe == info[cat]["nprobe"]


def test_item_columns_are_as_wide_as_the_longest_id_whatever_blocks_they_came_in(tmp_path):
    """An update hands the item writer blocks of carried ids as wide as the old artifact's
    longest; the written column is as wide as the new catalog's longest, as a full build's."""
    from stygig.artifact.items import ItemWriter

    w = ItemWriter(tmp_path / "items", CATS)
    w.add({"id": "a", "category": "shirt", "gender": "unisex"})
    w.add_serialised(np.array([b"bb", b"cc"], dtype="S9"), [1, 2], [0, 0], b'{"x": 1}\n{"x": 2}\n', np.array([9, 9]))
    w.add_line(b"dd", 3, 0, b'{"x": 3}\n')
    with pytest.raises(ValueError, match="increasing id order"):
        w.add_line(b"cz", 0, 0, b"{}\n")
    assert w.close() == 4
    ids = np.load(tmp_path / "items" / "ids.npy")
    assert ids.dtype == np.dtype("S2") and ids.tolist() == [b"a", b"bb", b"cc", b"dd"]
    store = ItemStore(tmp_path / "items", CATS)
    assert [store.category_of(r) for r in range(4)] == CATS
    assert store[2] == {"x": 2} and store.row_of("dd") == 3
