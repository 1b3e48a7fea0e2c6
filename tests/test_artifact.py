import json
import os
import shutil
import signal
import subprocess
import sys
import tarfile
import time
from pathlib import Path

import numpy as np
import pytest

from stygig.artifact import FORMAT_VERSION, pack_artifact, verify_artifact
from stygig.build import build_artifact, merge_artifacts
from stygig.errors import ArtifactError, StygigError
from stygig.features.encoders.lite import LiteEncoder
from stygig.recommend.engine import Recommender
from stygig.recommend.query import Query
from stygig.schema import Options


def _copy(src: Path, tmp_path: Path) -> Path:
    dst = tmp_path / "copy"
    shutil.copytree(src, dst)
    return dst


def test_round_trip(lite_artifact):
    manifest = verify_artifact(lite_artifact)
    assert manifest["format_version"] == FORMAT_VERSION
    assert manifest["encoder"]["kind"] == "lite"
    files = set(manifest["files"])
    assert {"vectors.npy", "items/meta.jsonl", "items/ids.npy", "colors.npy", "taxonomy.json", "index/cat-shirt.faiss"} <= files
    rec = Recommender.load(lite_artifact)
    assert rec.n_items == manifest["counts"]["items"]
    ids = [it["id"] for it in rec.items]
    assert ids == sorted(ids)
    norms = np.linalg.norm(np.asarray(rec.vectors), axis=1)
    assert np.allclose(norms, 1.0, atol=1e-5)
    for it in rec.items:
        assert rec.thumbnail_path(it["id"]).is_file()
    # nothing in the artifact is a pickle: every .npy loads with allow_pickle=False
    for p in lite_artifact.rglob("*.npy"):
        np.load(p, allow_pickle=False)


def test_same_catalog_same_artifact(sample_catalog, lite_artifact, tmp_path):
    again = build_artifact(sample_catalog, tmp_path / "again", encoder="lite").out
    a = json.loads((lite_artifact / "manifest.json").read_text())
    b = json.loads((again / "manifest.json").read_text())
    assert a["model_version"] == b["model_version"]
    assert {k: v for k, v in a["files"].items() if k != "build_report.json"} == {
        k: v for k, v in b["files"].items() if k != "build_report.json"
    }


def test_tamper_detection(lite_artifact, tmp_path):
    art = _copy(lite_artifact, tmp_path)
    data = bytearray((art / "vectors.npy").read_bytes())
    data[-3] ^= 0xFF
    (art / "vectors.npy").write_bytes(bytes(data))
    with pytest.raises(ArtifactError, match="vectors.npy does not match its checksum"):
        Recommender.load(art)


def test_missing_file(lite_artifact, tmp_path):
    art = _copy(lite_artifact, tmp_path)
    (art / "index" / "cat-hat.faiss").unlink()
    with pytest.raises(ArtifactError, match="missing index/cat-hat.faiss"):
        verify_artifact(art)


def test_wrong_format_version(lite_artifact, tmp_path):
    art = _copy(lite_artifact, tmp_path)
    m = json.loads((art / "manifest.json").read_text())
    m["format_version"] = 99
    (art / "manifest.json").write_text(json.dumps(m))
    with pytest.raises(ArtifactError, match="format version 99 is not supported"):
        Recommender.load(art)


def test_manifest_path_escape(lite_artifact, tmp_path):
    art = _copy(lite_artifact, tmp_path)
    m = json.loads((art / "manifest.json").read_text())
    m["files"]["../../etc/passwd"] = "0" * 64
    (art / "manifest.json").write_text(json.dumps(m))
    with pytest.raises(ArtifactError, match="outside the artifact"):
        verify_artifact(art)


def test_not_an_artifact(tmp_path):
    with pytest.raises(ArtifactError, match="no manifest.json"):
        Recommender.load(tmp_path)


class _Exploding(LiteEncoder):
    """The real lite encoder, interrupted after ``after`` batches (like Ctrl-C mid-build)."""

    batch_size = 8

    def __init__(self, after=1):
        self.calls = 0
        self.after = after

    def encode_images(self, images):
        self.calls += 1
        if self.calls > self.after:
            raise KeyboardInterrupt
        return super().encode_images(images)


def test_interrupted_build_leaves_previous_artifact_untouched(sample_catalog, lite_artifact, tmp_path):
    art = _copy(lite_artifact, tmp_path)
    before = (art / "manifest.json").read_bytes()
    with pytest.raises(KeyboardInterrupt):
        build_artifact(sample_catalog, art, encoder=_Exploding(), force=True)
    assert (art / "manifest.json").read_bytes() == before
    verify_artifact(art)


class _Counting(LiteEncoder):
    batch_size = 8

    def __init__(self):
        self.images = 0

    def encode_images(self, images):
        self.images += len(images)
        return super().encode_images(images)


def test_interrupted_build_resumes_from_the_last_finished_chunk(sample_catalog, lite_artifact, tmp_path):
    out = tmp_path / "resumed"
    with pytest.raises(KeyboardInterrupt):
        # chunks of 16 items, batches of 8: two batches finish chunk 0, the fifth batch dies
        build_artifact(sample_catalog, out, encoder=_Exploding(after=4), chunk_size=16)
    assert not out.exists()
    work = tmp_path / ".resumed.build"
    assert sorted(p.name for p in (work / "chunks").glob("*.done")) == ["000000.done", "000001.done"]
    counting = _Counting()
    summary = build_artifact(sample_catalog, out, encoder=counting, chunk_size=16)
    assert summary.resumed_chunks == 2
    total = json.loads((lite_artifact / "manifest.json").read_text())["counts"]["items"]
    assert counting.images == total - 32, "finished chunks are not redone"
    assert not work.exists()
    # same content as an uninterrupted build
    a = json.loads((lite_artifact / "manifest.json").read_text())
    b = json.loads((out / "manifest.json").read_text())
    assert a["model_version"] == b["model_version"]


def _small_catalog(sample_catalog: Path, root: Path, n: int = 2) -> Path:
    (root / "shirt").mkdir(parents=True)
    for p in sorted((sample_catalog / "train" / "upperwear" / "shirt").glob("*.jpg"))[:n]:
        shutil.copyfile(p, root / "shirt" / p.name)
    return root


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "stygig.cli", *map(str, args)], capture_output=True, text=True, timeout=300)


def test_build_refuses_to_replace_an_artifact_without_force(sample_catalog, lite_artifact, tmp_path):
    # issue 18.4: a 2-item catalog built over an 84-item artifact replaced it without a word
    art = _copy(lite_artifact, tmp_path)
    before = (art / "manifest.json").read_bytes()
    manifest = json.loads(before)
    small = _small_catalog(sample_catalog, tmp_path / "small")
    r = _cli("build", small, "-o", art, "--quiet")
    assert r.returncode == 2 and r.stdout == ""
    assert r.stderr.splitlines() == [
        f"stygig: error: {art} already holds an artifact ({manifest['counts']['items']} items, model "
        f"{manifest['model_version']}); pass --force to replace it, or choose another -o"
    ]
    assert (art / "manifest.json").read_bytes() == before
    assert not (tmp_path / ".copy.build").exists(), "refused before any work"
    r = _cli("build", small, "-o", art, "--quiet", "--force")
    assert r.returncode == 0, r.stderr
    assert json.loads((art / "manifest.json").read_text())["counts"]["items"] == 2
    # --tar's archive is not replaced silently either (it may be another artifact's)
    (tmp_path / "model.tar.gz").write_bytes(b"someone else's archive")
    r = _cli("build", small, "-o", tmp_path / "new", "--tar", "--quiet")
    assert r.returncode == 2 and f"{tmp_path / 'model.tar.gz'} already exists; pass --force" in r.stderr
    assert not (tmp_path / "new").exists() and (tmp_path / "model.tar.gz").read_bytes() == b"someone else's archive"
    # nor merge's output
    r = _cli("merge", lite_artifact, "-o", art)
    assert r.returncode == 2 and "already holds an artifact" in r.stderr and "--force" in r.stderr
    assert _cli("merge", lite_artifact, "-o", art, "--force").returncode == 0


def test_interrupted_forced_rebuild_resumes(sample_catalog, lite_artifact, tmp_path):
    art = _copy(lite_artifact, tmp_path)
    before = (art / "manifest.json").read_bytes()
    with pytest.raises(KeyboardInterrupt):
        build_artifact(sample_catalog, art, encoder=_Exploding(after=4), chunk_size=16, force=True)
    assert (art / "manifest.json").read_bytes() == before
    with pytest.raises(StygigError, match="--force"):  # the artifact is still there
        build_artifact(sample_catalog, art, encoder=_Counting(), chunk_size=16)
    counting = _Counting()
    summary = build_artifact(sample_catalog, art, encoder=counting, chunk_size=16, force=True)
    assert summary.resumed_chunks == 2, "the refused run kept the finished chunks"
    assert json.loads((art / "manifest.json").read_text())["model_version"] == json.loads(before)["model_version"]


def test_killed_build_leaves_no_artifact(sample_catalog, tmp_path):
    out = tmp_path / "killed"
    proc = subprocess.Popen(
        [sys.executable, "-m", "stygig.cli", "build", str(sample_catalog), "-o", str(out), "--quiet", "--workers", "1"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not any(p.name.startswith(".killed") for p in tmp_path.iterdir()):
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not out.exists()
    # re-run: resumes or restarts, and ends with the same artifact as a clean build
    r = subprocess.run([sys.executable, "-m", "stygig.cli", "build", str(sample_catalog), "-o", str(out), "--quiet"],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    verify_artifact(out)
    assert not (tmp_path / ".killed.build").exists()


def test_pack_artifact(lite_artifact, tmp_path):
    tar = pack_artifact(lite_artifact, tmp_path / "model.tar.gz", extra={"code/inference.py": b"# x\n"})
    with tarfile.open(tar) as tf:
        names = set(tf.getnames())
    assert "manifest.json" in names and "code/inference.py" in names
    assert not any(n.startswith("/") or ".." in n for n in names)


def test_sharded_build_merges_to_the_single_build(sample_catalog, lite_artifact, tmp_path):
    shards = [build_artifact(sample_catalog, tmp_path / f"s{i}", shard=(i, 3)).out for i in range(3)]
    sizes = [json.loads((s / "manifest.json").read_text())["counts"]["items"] for s in shards]
    assert all(n > 0 for n in sizes)
    merged = merge_artifacts(shards, tmp_path / "merged").out
    a = json.loads((lite_artifact / "manifest.json").read_text())
    b = json.loads((merged / "manifest.json").read_text())
    assert a["model_version"] == b["model_version"]
    q = Query(item_id=Recommender.load(lite_artifact).items[0]["id"])
    ra = Recommender.load(lite_artifact).recommend(q, Options(top_k=6))
    rb = Recommender.load(merged).recommend(q, Options(top_k=6))
    assert ra["recommendations"] == rb["recommendations"]
