"""Outfit quality, measured and learned (issue 13): looks files, ``stygig eval``, ``learn``,
``eval --tune`` and the Polyvore import, on the styled sample catalog with planted-style looks
(synthetic: the rules are in stygig.catalog.sample.looks)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from stygig.catalog.sample.looks import generate_looks, look_follows_rules, split_items
from stygig.cli import main
from stygig.evaluate import metrics
from stygig.recommend.engine import Recommender
from stygig.recommend.query import Query


def _rows(catalog: Path) -> list[dict]:
    return [json.loads(l) for l in (catalog / "manifest.jsonl").read_text().splitlines() if l]


def _write(path: Path, rows) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


@pytest.fixture(scope="module")
def looks(full_catalog, tmp_path_factory):
    """Training looks over 70 % of the items, test looks over the other 30 %."""
    d = tmp_path_factory.mktemp("looks")
    train_items, test_items = split_items(_rows(full_catalog), 0.7, seed=0)
    train = generate_looks(train_items, 1500, seed=1, prefix="train")
    test = generate_looks(test_items, 200, seed=2, prefix="test")
    return {"train": _write(d / "train.jsonl", train), "test": _write(d / "test.jsonl", test), "dir": d,
            "train_looks": train, "test_looks": test}


@pytest.fixture(scope="module")
def learned(full_artifact, looks, tmp_path_factory):
    out = tmp_path_factory.mktemp("learned") / "art"
    t = time.perf_counter()
    assert main(["learn", str(full_artifact), "--looks", str(looks["train"]), "-o", str(out), "--quiet"]) == 0
    return {"art": out, "seconds": time.perf_counter() - t}


def _eval_json(capsys, *args) -> dict:
    capsys.readouterr()
    assert main(["eval", *map(str, args), "--json", "--quiet"]) == 0
    return json.loads(capsys.readouterr().out.strip().splitlines()[-1])


# ---- the looks generator ---------------------------------------------------------------------------
def test_planted_looks_keep_their_rules_and_test_looks_share_no_item(full_catalog, looks):
    by_id = {r["id"]: r for r in _rows(full_catalog)}
    for lk in looks["train_looks"][:300] + looks["test_looks"]:
        assert look_follows_rules([by_id[i] for i in lk["items"]])
    train_ids = {i for lk in looks["train_looks"] for i in lk["items"]}
    assert not train_ids & {i for lk in looks["test_looks"] for i in lk["items"]}
    # and the rules are not vacuous: most random outfits of the same slots break them
    rng = np.random.default_rng(0)
    rows = list(by_id.values())
    broken = sum(not look_follows_rules([rows[int(i)] for i in rng.choice(len(rows), 4, replace=False)]) for _ in range(200))
    assert broken > 180


# ---- metrics -----------------------------------------------------------------------------------------
def test_roc_auc_is_the_share_of_correctly_ordered_pairs():
    rng = np.random.default_rng(3)
    scores = np.round(rng.random(60), 1)  # many ties
    labels = rng.random(60) < 0.4
    pos, neg = scores[labels], scores[~labels]
    brute = ((pos[:, None] > neg[None]).sum() + 0.5 * (pos[:, None] == neg[None]).sum()) / (len(pos) * len(neg))
    assert metrics.roc_auc(scores, labels) == pytest.approx(brute)
    assert metrics.roc_auc(np.array([0.1, 0.9]), np.array([0, 1])) == 1.0
    assert metrics.roc_auc(np.array([0.9, 0.1]), np.array([0, 1])) == 0.0


def test_fitb_ties_count_as_a_random_pick_would():
    assert metrics.fitb_accuracy([np.array([0.5, 0.5, 0.5, 0.5])], [2]) == 0.25
    assert metrics.fitb_accuracy([np.array([0.9, 0.5]), np.array([0.1, 0.5, 0.2])], [0, 0]) == 0.5
    assert metrics.coverage([np.array([0, 1]), np.array([1, 3])], 8) == 3 / 8
    assert metrics.diversity(np.eye(3)) == 1.0


def test_violations_are_the_taxonomys_rules():
    from stygig.evaluate.runner import violations_of
    from stygig.taxonomy import Taxonomy

    tax = Taxonomy.default()
    assert violations_of(tax, ["shirt", "pants", "shoes", "bag", "jacket"], ["male", "male", "unisex", "unisex", "male"]) == []
    assert violations_of(tax, ["bag", "skirt", "jumpsuit", "skirt"], ["unisex", "female", "female", "female"]) == [
        "skirt with jumpsuit", "two skirt", "jumpsuit with skirt"]
    assert violations_of(tax, ["shirt", "pants", "shorts"], ["male", "female", "unisex"]) == [
        "pants with shorts", "men's with women's pieces"]


# ---- looks files: one-line errors naming the line -----------------------------------------------------
@pytest.mark.parametrize(
    "lines, message",
    [
        (['{"look_id": "a", "items": ["shirt-0000", "pants-0000"]}', '{"look_id": "b", "items": ["shirt-0001", "nope-1"]}'],
         "line 2: unknown item 'nope-1'"),
        (['{"look_id": "a", "items": ["shirt-0000"]}'], "line 1: look 'a' has 1 piece; a look needs at least two"),
        (['{"look_id": "a", "items": ["shirt-0000", "pants-0000"]}', "", '{"look_id": "a", "items": ["shirt-0001", "pants-0001"]}'],
         "line 3: duplicate look_id 'a' (first on line 1)"),
        (['{"look_id": "a", "items": ["x-1", "x-2"]}', '{"look_id": "b", "items": ["x-3", "shirt-0000"]}'],
         "names items of another catalog: 3 of its 4 item ids are not in artifact"),
        (['{"look_id": "a", "items": "shirt-0000"}'], "line 1: 'items' must be a list of item ids"),
        (['{"look_id": "a", "items": ["shirt-0000", "shirt-0000"]}'], "line 1: 'items' names item 'shirt-0000' twice"),
        (["{not json"], "line 1: not valid JSON"),
        (["[1, 2]"], "line 1: expected a JSON object"),
    ],
)
def test_bad_looks_files_are_one_line_errors_naming_the_line(full_artifact, tmp_path, capsys, lines, message):
    path = tmp_path / "looks.jsonl"
    path.write_text("\n".join(lines) + "\n")
    for cmd in (["eval", str(full_artifact), "--looks", str(path)],
                ["learn", str(full_artifact), "--looks", str(path), "-o", str(tmp_path / "out")]):
        assert main(cmd) == 2
        err = capsys.readouterr().err.strip()
        assert err.startswith("stygig: error: ") and message in err and str(path) in err and "\n" not in err
    assert not (tmp_path / "out").exists()


def test_bad_fitb_and_compat_files(full_artifact, tmp_path, capsys):
    fitb = _write(tmp_path / "fitb.jsonl", [{"question": ["shirt-0000"], "answers": ["pants-0000", "pants-0001"], "answer": "pants-0009"}])
    assert main(["eval", str(full_artifact), "--fitb", str(fitb)]) == 2
    assert "line 1: 'answer' must be one of its 'answers'" in capsys.readouterr().err
    compat = _write(tmp_path / "compat.jsonl", [{"items": ["shirt-0000", "pants-0000"], "label": 1}])
    assert main(["eval", str(full_artifact), "--compat", str(compat)]) == 2
    assert "needs outfits labelled 1 and 0" in capsys.readouterr().err


# ---- eval ---------------------------------------------------------------------------------------------
def test_eval_prints_the_figures_and_the_same_input_gives_the_same_output(full_artifact, looks, capsys):
    a = _eval_json(capsys, full_artifact, "--looks", looks["test"], "--max-queries", "120")
    b = _eval_json(capsys, full_artifact, "--looks", looks["test"], "--max-queries", "120")
    for key in ("fitb_accuracy", "compat_auc", "n_fitb", "n_looks", "coverage"):
        assert key in a
    assert a["n_looks"] == 200 and a["n_fitb"] == 200 and a["n_compat"] == 400 and a["n_queries"] == 120
    assert 0 < a["coverage"] <= 1 and 0.25 <= a["fitb_accuracy"] < 0.6 and a["latency_p50_ms"] > 0
    assert a["violations"] >= len(a["violation_examples"]) and 0 <= a["violation_rate"] <= 1
    a.pop("latency_p50_ms"), b.pop("latency_p50_ms")
    assert a == b
    assert main(["eval", str(full_artifact), "--looks", str(looks["test"]), "--max-queries", "10", "--quiet"]) == 0
    table = capsys.readouterr().out
    assert "FITB accuracy" in table and "compatibility AUC" in table and "catalog coverage" in table


def test_eval_given_questions_scores_them_as_given(full_artifact, tmp_path, capsys):
    """A question whose right answer is the candidate the heuristic scores highest is right, and
    the same question with the answer moved to another candidate is wrong."""
    from stygig.evaluate.runner import Catalog
    from stygig.recommend.compat import against_context

    rec = Recommender.load(full_artifact)
    cat = Catalog.of(rec)
    pants = rec.items.rows_in_category("pants")[:3]
    scores = against_context(rec.compatibility, cat.pieces([rec.items.row_of("shirt-0003")]), cat.pieces(pants)).total
    ids = [rec.items[int(r)]["id"] for r in pants]
    best = ids[int(np.argmax(scores))]
    worst = ids[int(np.argmin(scores))]
    answers = ids
    good = _write(tmp_path / "good.jsonl", [{"question": ["shirt-0003"], "answers": answers, "answer": best}])
    bad = _write(tmp_path / "bad.jsonl", [{"question": ["shirt-0003"], "answers": answers, "answer": worst}])
    assert _eval_json(capsys, full_artifact, "--fitb", good)["fitb_accuracy"] == 1.0
    assert _eval_json(capsys, full_artifact, "--fitb", bad)["fitb_accuracy"] == 0.0


def test_eval_report_shows_pictures_of_the_best_and_worst_answers(full_artifact, looks, tmp_path, capsys):
    out = tmp_path / "report"
    assert main(["eval", str(full_artifact), "--looks", str(looks["test"]), "--max-queries", "5", "--report", str(out), "--quiet"]) == 0
    page = (out / "index.html").read_text()
    assert "Best answers" in page and "Worst answers" in page
    srcs = [s.split('"')[0] for s in page.split('<img src="')[1:]]
    assert len(srcs) >= 20 and all((out / s).is_file() for s in srcs)
    assert page.count('class="answer"') == 12  # six best, six worst, each framing its right piece
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep me")
    assert main(["eval", str(full_artifact), "--looks", str(looks["test"]), "--max-queries", "5", "--report", str(tmp_path / "mine")]) == 2
    assert (tmp_path / "mine" / "notes.txt").read_text() == "keep me"


# ---- learn --------------------------------------------------------------------------------------------
def test_learned_model_beats_the_heuristic_on_looks_of_unseen_items(full_artifact, learned, looks, capsys):
    heur = _eval_json(capsys, full_artifact, "--looks", looks["test"], "--max-queries", "60")
    lrn = _eval_json(capsys, learned["art"], "--looks", looks["test"], "--max-queries", "60")
    assert lrn["compatibility"] == "learned" and heur["compatibility"] == "heuristic"
    assert lrn["fitb_accuracy"] >= heur["fitb_accuracy"] + 0.1
    assert lrn["compat_auc"] > heur["compat_auc"]
    # the choice on the command line
    back = _eval_json(capsys, learned["art"], "--looks", looks["test"], "--max-queries", "60", "--compatibility", "heuristic")
    assert back["compatibility"] == "heuristic" and back["fitb_accuracy"] == heur["fitb_accuracy"]


def test_learned_artifact_reuses_the_source_and_verifies(full_artifact, learned):
    from stygig.artifact import verify_artifact

    src, art = verify_artifact(full_artifact), verify_artifact(learned["art"])
    assert art["compatibility"]["kind"] == "learned" and art["derived_from"] == src["model_version"]
    assert art["model_version"] != src["model_version"]
    compat_files = sorted(f for f in art["files"] if f.startswith("compat/"))
    assert compat_files and all(f.endswith(".npy") for f in compat_files)
    for rel in ("vectors.npy", "index/" + next(f.split("/", 1)[1] for f in src["files"] if f.startswith("index/"))):
        assert art["files"][rel] == src["files"][rel]
        assert (learned["art"] / rel).stat().st_ino == (full_artifact / rel).stat().st_ino  # hard-linked, not copied
    table = np.load(learned["art"] / "compat" / "table.npy", allow_pickle=False)
    assert table.shape[0] == src["counts"]["items"]
    # a modified weight file is caught by its checksum
    import shutil

    copy = learned["art"].parent / "tampered"
    shutil.copytree(learned["art"], copy)
    w = np.load(copy / "compat" / "w1.npy")
    np.save(copy / "compat" / "w1.npy", w * 1.01, allow_pickle=False)
    from stygig.errors import ArtifactError

    with pytest.raises(ArtifactError, match="compat/w1.npy does not match its checksum"):
        Recommender.load(copy)


def test_the_engine_uses_the_learned_model_for_the_ranked_list(full_artifact, learned, monkeypatch):
    rec = Recommender.load(learned["art"])
    resp = rec.recommend(Query(item_id="shirt-0003"))
    assert resp["metadata"]["compatibility"] == "learned"
    recs = resp["recommendations"]
    assert all({"learned_score", "similarity_score", "color_score", "category_score", "gender_score"} <= set(r) for r in recs)
    assert all(r["score"] == r["learned_score"] for r in recs)
    plain = Recommender.load(full_artifact).recommend(Query(item_id="shirt-0003"))
    assert [r["item_id"] for r in recs] != [r["item_id"] for r in plain["recommendations"]]
    # a photo from outside the catalog is embedded on the fly, as its catalog row is
    from stygig.images import decode_image

    photo = rec.recommend(Query(image=decode_image(rec.items[rec.items.row_of("shirt-0003")]["source"])))
    assert photo["metadata"]["compatibility"] == "learned" and photo["recommendations"]
    monkeypatch.setenv("STYGIG_COMPATIBILITY", "heuristic")
    assert Recommender.load(learned["art"]).recommend(Query(item_id="shirt-0003"))["metadata"]["compatibility"] == "heuristic"
    monkeypatch.setenv("STYGIG_COMPATIBILITY", "learned")
    from stygig.errors import StygigError

    with pytest.raises(StygigError, match="carries no learned compatibility model"):
        Recommender.load(full_artifact)
    monkeypatch.setenv("STYGIG_COMPATIBILITY", "magic")
    with pytest.raises(StygigError, match="STYGIG_COMPATIBILITY must be one of heuristic, learned"):
        Recommender.load(full_artifact)


def test_outside_pieces_score_as_their_catalog_rows(learned):
    """The served numpy network reproduces the table learn wrote (from the same features)."""
    from stygig.evaluate.runner import Catalog

    rec = Recommender.load(learned["art"])
    cat = Catalog.of(rec)
    rows = np.arange(0, rec.n_items, 37)
    inside = cat.pieces(rows)
    outside = cat.pieces(rows)
    outside = type(outside)(outside.colours, outside.categories, outside.genders, np.full(len(rows), -1), outside.vectors)
    a = rec.compatibility.pairwise(inside.take([0]), inside).total
    b = rec.compatibility.pairwise(outside.take([0]), outside).total
    np.testing.assert_allclose(a, b, atol=1e-5)


def test_serving_a_learned_artifact_imports_no_torch(learned):
    code = textwrap.dedent(f"""
        import json, sys
        from stygig.recommend.engine import Recommender
        from stygig.recommend.query import Query
        rec = Recommender.load({str(learned['art'])!r})
        r = rec.recommend(Query(item_id="dress-0002"))
        print(json.dumps({{"kind": r["metadata"]["compatibility"], "n": len(r["recommendations"]),
                          "torch": "torch" in sys.modules}}))
    """)
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr[-2000:]
    assert json.loads(r.stdout.strip().splitlines()[-1]) == {"kind": "learned", "n": 5, "torch": False}


def test_the_server_chooses_the_compatibility_from_its_environment(learned):
    from fastapi.testclient import TestClient

    from stygig.serving.app import create_app
    from stygig.serving.config import ServingConfig

    for env, kind in (({}, "learned"), ({"STYGIG_COMPATIBILITY": "heuristic"}, "heuristic")):
        config = ServingConfig.from_env({"STYGIG_ARTIFACT": str(learned["art"]), **env})
        assert ServingConfig.from_env(config.to_env()) == config
        with TestClient(create_app(config)) as client:
            for _ in range(100):
                if client.get("/ping").status_code == 200:
                    break
                time.sleep(0.1)
            r = client.post("/invocations", json={"item_id": "shirt-0003"})
            assert r.status_code == 200, r.text
            assert r.json()["metadata"]["compatibility"] == kind
    from stygig.errors import StygigError

    with pytest.raises(StygigError, match="STYGIG_COMPATIBILITY must be one of"):
        ServingConfig.from_env({"STYGIG_COMPATIBILITY": "neural"})


def test_learn_says_why_it_will_not_learn(full_artifact, looks, tmp_path, capsys):
    few = _write(tmp_path / "few.jsonl", looks["train_looks"][:40])
    assert main(["learn", str(full_artifact), "--looks", str(few), "-o", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "learn needs at least 50 looks to train on" in err and "40 looks, 32 after holding out 0.2" in err and "--tune" in err
    assert main(["learn", str(full_artifact), "--looks", str(looks["train"]), "-o", str(full_artifact), "--force"]) == 2
    assert "is the artifact being read" in capsys.readouterr().err
    # torch missing: one line, before any work
    code = ("import sys; sys.modules['torch'] = None\nfrom stygig.cli import main\n"
            f"sys.exit(main(['learn', {str(full_artifact)!r}, '--looks', {str(looks['train'])!r}, '-o', {str(tmp_path / 'o')!r}]))")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and r.stderr.strip() == ("stygig: error: stygig learn needs torch, which is not installed: "
                                                      "pip install 'stygig[export]'")
    assert not (tmp_path / "o").exists()


def test_the_served_network_is_the_trained_one():
    """numpy's forward pass of the exported weights is torch's (eval mode)."""
    torch = pytest.importorskip("torch")
    from stygig.learn.train import _Net
    from stygig.recommend.compat.heuristic import HeuristicCompatibility
    from stygig.recommend.compat.learned import LearnedCompatibility
    from stygig.taxonomy import Taxonomy

    torch.manual_seed(0)
    tax = Taxonomy.default()
    groups = list(dict.fromkeys(tax.group_of(c) for c in tax.categories))
    net = _Net(torch, 30, 16, 8, len(groups))
    net.eval()
    x = np.random.default_rng(0).normal(size=(5, 30)).astype(np.float32)
    mean, std = x.mean(0), x.std(0) + 1e-3
    w = net.export(torch, mean, std)
    model = LearnedCompatibility(tax, w, np.zeros((1, 8), np.float32), scale=1.0, bias=0.0, groups=groups,
                                 heuristic=HeuristicCompatibility(tax))
    with torch.no_grad():
        want = net.embed(torch.from_numpy((x - mean) / std)).numpy()
    np.testing.assert_allclose(model.embed_features(x), want, atol=1e-5)


# ---- tune ---------------------------------------------------------------------------------------------
def test_tune_writes_weights_that_the_new_artifact_carries(full_artifact, looks, tmp_path, capsys):
    out = tmp_path / "tuned"
    capsys.readouterr()
    assert main(["eval", str(full_artifact), "--looks", str(looks["train"]), "--tune", "-o", str(out), "--quiet"]) == 0
    text = capsys.readouterr().out
    assert "tuned on 1200 looks" in text and "held out 300 looks: FITB" in text
    manifest = json.loads((out / "manifest.json").read_text())
    weights = manifest["compatibility"]["weights"]
    assert manifest["compatibility"]["kind"] == "heuristic" and abs(sum(weights.values()) - 1) < 1e-6
    assert weights != {"similarity": 0.4, "color": 0.3, "category": 0.2, "gender": 0.1}
    assert manifest["model_version"] != json.loads((full_artifact / "manifest.json").read_text())["model_version"]
    rec = Recommender.load(out)
    assert rec.weights == pytest.approx(weights)
    assert rec.recommend(Query(item_id="shirt-0003"))["metadata"]["weights"] == pytest.approx(weights)
    tuned = _eval_json(capsys, out, "--looks", looks["test"], "--max-queries", "5")
    plain = _eval_json(capsys, full_artifact, "--looks", looks["test"], "--max-queries", "5")
    assert tuned["fitb_accuracy"] > plain["fitb_accuracy"]
    assert main(["eval", str(full_artifact), "--looks", str(looks["train"]), "--tune", "-o", str(out)]) == 2
    assert "already holds an artifact" in capsys.readouterr().err
