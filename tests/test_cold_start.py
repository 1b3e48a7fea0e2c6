"""Start-up near the floor (issue 17.5): what a first answer and a server's first /ping 200 do.

* ``serve`` with single-threaded workers loads the model once, in the arbiter, before forking (both
  ONNX sessions, the first warm-up pass); every worker -- a replacement of a killed one too --
  starts with it. Workers with thread pools of their own load their own, after the fork.
* ``stygig recommend`` imports only the module of its own command (not serving, batch or AWS),
  and opens the encoder's session while the engine imports
  (:func:`stygig.features.encoders.registry.open_in_background`).
* Opening the encoder beside verification never lets the encoder's error hide a checksum error.

Speed itself is ``benchmarks/cold_start.py``'s to measure; these check the behaviour.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time

import httpx
import pytest

from stygig.cli import COMMAND_MODULES, command_of
from stygig.errors import ArtifactError
from stygig.serving.child import stop
from test_clip_torch_free import clip_artifact, clip_export  # noqa: F401 - the tiny CLIP fixtures
from test_serving_process import children
from test_serving_server import start_server, wait_for, wait_workers_ready


def _loaded_in(srv) -> dict[int, str]:
    return {l["pid"]: l.get("loaded_in") for l in srv.log_lines() if l.get("event") == "model_ready"}


def test_single_threaded_workers_start_with_the_model_the_arbiter_loaded(clip_artifact, tmp_path):  # noqa: F811
    srv = start_server(clip_artifact, tmp_path, workers=2, env={"OMP_NUM_THREADS": "1"})
    try:
        wait_for(srv, timeout=120)
        wait_workers_ready(srv, 2, timeout=120)
        assert set(_loaded_in(srv).values()) == {"arbiter"}, _loaded_in(srv)
        # the inherited sessions answer in every worker: pictures, texts, items
        for body in ({"text": "a red summer dress", "top_k": 3}, {"item_id": "shirt-0000", "top_k": 3}):
            for _ in range(4):
                r = httpx.post(srv.url + "/invocations", json=body, timeout=60)
                assert r.status_code == 200, r.text[:300]
                assert r.json()["recommendations"]
        picture = (clip_artifact / "thumbs").iterdir().__next__().read_bytes()
        r = httpx.post(srv.url + "/invocations", content=picture, headers={"Content-Type": "image/jpeg"}, timeout=60)
        assert r.status_code == 200 and r.json()["recommendations"], r.text[:300]
        # a replacement of a killed worker forks with it too
        before = children(srv.proc.pid)
        os.kill(sorted(before)[0], signal.SIGKILL)
        t0 = time.monotonic()
        while len(_loaded_in(srv)) < 3 and time.monotonic() - t0 < 60:
            time.sleep(0.05)
        assert len(_loaded_in(srv)) == 3 and set(_loaded_in(srv).values()) == {"arbiter"}, _loaded_in(srv)
    finally:
        assert stop(srv.proc) == 0


def test_workers_with_thread_pools_load_their_own(lite_artifact, tmp_path):
    srv = start_server(lite_artifact, tmp_path, workers=2, env={"OMP_NUM_THREADS": "2"})
    try:
        wait_for(srv, timeout=120)
        wait_workers_ready(srv, 2, timeout=120)
        assert set(_loaded_in(srv).values()) == {"worker"}, _loaded_in(srv)
    finally:
        assert stop(srv.proc) == 0


def test_a_corrupted_artifact_still_stops_serve_before_it_listens(lite_artifact, tmp_path):
    """The preload beside the check does not let a model of mismatching files serve."""
    broken = tmp_path / "broken"
    shutil.copytree(lite_artifact, broken)
    vectors = broken / "vectors.npy"
    data = bytearray(vectors.read_bytes())
    data[-1] ^= 0xFF
    vectors.write_bytes(bytes(data))
    srv = start_server(broken, tmp_path, workers=2, env={"OMP_NUM_THREADS": "1"})
    assert srv.proc.wait(60) == 2
    assert "vectors.npy does not match its checksum" in srv.log.read_text()


# ---- the CLI ------------------------------------------------------------------------------------
def test_recommend_imports_neither_serving_nor_batch_nor_aws(lite_artifact):
    code = ("import sys; from stygig.cli import main; "
            f"rc = main(['recommend', {str(lite_artifact)!r}, '--item', 'shirt-0000']); "
            "print(sorted(m for m in sys.modules if m.startswith(('stygig.serving', 'stygig.aws', 'stygig.batch', "
            "'stygig.cli.serve', 'stygig.cli.aws', 'stygig.cli.batch', 'stygig.cli.demo', 'stygig.cli.export', "
            "'fastapi', 'gunicorn', 'boto3')))); sys.exit(rc)")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr[-2000:]
    assert r.stdout.strip().splitlines()[-1] == "[]"


def test_the_command_table_is_what_each_module_registers():
    for module, commands in COMMAND_MODULES.items():
        parser = argparse.ArgumentParser()
        sub = parser.add_subparsers()
        importlib.import_module(module).register(sub)
        assert tuple(sub.choices) == commands, module


def test_command_of_reads_the_first_word_that_is_not_an_option():
    assert command_of(["-v", "recommend", "ART"]) == "recommend"
    assert command_of(["--help"]) is None and command_of([]) is None and command_of(["--version", "x"]) is None


# ---- the encoder opening beside verification ------------------------------------------------------
def _recommend(artifact, opening=None) -> dict:
    from stygig.recommend.engine import Recommender
    from stygig.recommend.query import Query

    rec = Recommender.load(artifact, encoder=opening)
    return rec.recommend(Query(text="a white cotton shirt"))


def test_an_encoder_opened_in_the_background_answers_as_the_load_s_own(clip_artifact):  # noqa: F811
    from stygig.features.encoders.registry import open_in_background

    a, b = _recommend(clip_artifact), _recommend(clip_artifact, open_in_background(clip_artifact))
    for r in (a, b):
        r["metadata"].pop("processing_time_ms", None)
    assert json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)


@pytest.mark.parametrize("background", [False, True])
def test_a_corrupted_tower_is_reported_as_a_checksum_error(clip_artifact, tmp_path, background):  # noqa: F811
    """The towers' files open beside the hashing: the checksum error wins over what ONNX Runtime
    says of the corrupted file."""
    from stygig.features.encoders.registry import open_in_background

    broken = tmp_path / "broken"
    shutil.copytree(clip_artifact, broken)
    tower = broken / "encoder" / "image_int8.onnx"
    tower.write_bytes(b"\x00" * tower.stat().st_size)  # same size: only the hash can tell
    manifest = json.loads((broken / "manifest.json").read_text())
    assert manifest["files"]["encoder/image_int8.onnx"] != hashlib.sha256(tower.read_bytes()).hexdigest()
    with pytest.raises(ArtifactError, match="encoder/image_int8.onnx does not match its checksum"):
        _recommend(broken, open_in_background(broken) if background else None)


def test_recommend_as_a_program_ends_without_the_interpreter_teardown(lite_artifact, tmp_path):
    """Its output is whole (flushed, also into a file) and its status kept; atexit work is skipped."""
    code = ("import atexit, sys; atexit.register(lambda: print('teardown ran', file=sys.stderr)); "
            "from stygig.cli import main; sys.exit(main())")
    out = tmp_path / "out.json"
    args = [sys.executable, "-c", code, "recommend", str(lite_artifact), "--item", "shirt-0000", "--json"]
    with open(out, "w") as fh:
        r = subprocess.run(args, stdout=fh, stderr=subprocess.PIPE, text=True, timeout=120)
    assert r.returncode == 0 and "teardown ran" not in r.stderr, r.stderr[-2000:]
    assert json.loads(out.read_text())["recommendations"]
    bad = subprocess.run(args[:4] + [str(tmp_path / "nothing"), "--item", "x"], capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and "artifact not found" in bad.stderr and "teardown ran" not in bad.stderr
    # called with arguments (a test, a script), main returns, and the interpreter ends as usual
    inproc = subprocess.run([sys.executable, "-c", code.replace("main()", f"main(['recommend', {str(lite_artifact)!r}, '--item', 'shirt-0000'])")],
                            capture_output=True, text=True, timeout=120)
    assert inproc.returncode == 0 and "teardown ran" in inproc.stderr
