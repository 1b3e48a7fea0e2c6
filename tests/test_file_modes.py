"""What StyGig writes gets the modes the user's umask says, like any file they write (issue 18.7).

Atomic writes go through a temporary file or folder and a rename; tempfile.mkstemp / mkdtemp
would make those private (0600 / 0700) and the rename would keep it.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from stygig import atomic


def _mode(p: Path) -> int:
    return p.stat().st_mode & 0o777


def _stygig(*args, umask: int):
    return subprocess.run(
        [sys.executable, "-m", "stygig.cli", *map(str, args)],
        capture_output=True, text=True, timeout=300, preexec_fn=lambda: os.umask(umask),
    )


@pytest.fixture
def umask():
    old = os.umask(0o022)

    def set_(mask: int) -> int:
        os.umask(mask)
        return mask

    yield set_
    os.umask(old)


def test_cli_outputs_follow_umask_022(sample_catalog, tmp_path):
    # the issue's own commands: build --tar, recommend --save-visual
    art = tmp_path / "art"
    r = _stygig("build", sample_catalog, "-o", art, "--tar", "--quiet", umask=0o022)
    assert r.returncode == 0, r.stderr
    assert _mode(tmp_path / "model.tar.gz") == 0o644
    assert _mode(art) == 0o755 and _mode(art / "manifest.json") == 0o644
    photo = next((sample_catalog / "train").rglob("*.jpg"))
    r = _stygig("recommend", art, photo, "--save-visual", tmp_path / "vis", umask=0o022)
    assert r.returncode == 0, r.stderr
    assert _mode(tmp_path / "vis" / "outfit.png") == 0o644
    assert _mode(tmp_path / "vis" / "outfit.json") == 0o644


def test_every_atomic_writer_follows_the_umask(umask, lite_artifact, sample_catalog, tmp_path):
    from stygig.artifact import pack_artifact
    from stygig.build import build_artifact, merge_artifacts
    from stygig.report import artifact_loader, save_visual

    umask(0o027)  # not the usual 022: the modes follow the mask, they are not fixed at 0644
    png, js = save_visual({"query_item": {}, "recommendations": [], "metadata": {}}, tmp_path / "vis",
                          artifact_loader(lite_artifact))
    assert _mode(png) == _mode(js) == 0o640
    assert _mode(pack_artifact(lite_artifact, tmp_path / "m.tar.gz")) == 0o640
    shards = [build_artifact(sample_catalog, tmp_path / f"s{i}", shard=(i, 2)).out for i in range(2)]
    merged = merge_artifacts(shards, tmp_path / "merged").out
    assert _mode(merged) == 0o750
    assert _mode(merged / "manifest.json") == 0o640 and _mode(merged / "vectors.npy") == 0o640


def test_atomic_write_leaves_the_old_file_on_failure(tmp_path):
    target = tmp_path / "f.json"
    target.write_bytes(b"old")
    with pytest.raises(RuntimeError):
        with atomic.open_atomic(target) as fh:
            fh.write(b"half")
            raise RuntimeError("interrupted")
    assert target.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f.json"]


def test_current_umask_reads_without_changing(umask):
    umask(0o037)
    assert atomic.current_umask() == 0o037
    assert os.umask(0o037) == 0o037  # unchanged by the read
