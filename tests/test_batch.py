"""`stygig batch` (issue 15.1): an outfit for every item, byte for byte a single request's answer,
the same file for any --workers, resumable after a kill, never half-written."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from stygig.serving.child import stop
from stygig.serving.codec import encode_json
from test_serving_server import catalog_items, start_server, wait_for, wait_workers_ready

STYGIG = str(Path(sys.executable).with_name("stygig"))


def batch(*args, timeout=300) -> subprocess.CompletedProcess:
    return subprocess.run([STYGIG, "batch", *map(str, args), "--quiet"], capture_output=True, text=True, timeout=timeout)


def split_line(line: bytes) -> tuple[str, bytes]:
    """(item id, the answer's bytes as embedded) of one batch line."""
    item_id = json.loads(line)["item_id"]
    prefix = b'{"item_id":' + json.dumps(item_id, ensure_ascii=False).encode() + b',"response":'
    assert line.startswith(prefix) and line.endswith(b"}\n"), line[:200]
    return item_id, line[len(prefix):-2]


@pytest.fixture(scope="module")
def whole(lite_artifact, tmp_path_factory) -> bytes:
    out = tmp_path_factory.mktemp("batch") / "whole-1.jsonl"
    r = batch(lite_artifact, "-o", out, "--workers", "1", "--chunk", "7")
    assert r.returncode == 0, r.stderr
    assert "wrote 120 outfits" in r.stdout
    return out.read_bytes()


def test_every_item_once_in_artifact_order(whole, lite_artifact):
    lines = whole.splitlines(keepends=True)
    assert [json.loads(l)["item_id"] for l in lines] == [it["id"] for it in catalog_items(lite_artifact)]
    assert all("response" in json.loads(l) for l in lines)


def test_byte_for_byte_the_answer_of_a_single_request(lite_artifact, tmp_path):
    items = catalog_items(lite_artifact)
    ids = [it["id"] for it in items[::9]]
    (tmp_path / "ids.txt").write_text("\n".join(ids) + "\n\n")
    options = {"top_k": 3, "gender": "female", "items_per_category": 1, "exclude_ids": [items[1]["id"]]}
    out = tmp_path / "some.jsonl"
    r = batch(lite_artifact, "--ids", tmp_path / "ids.txt", "--options", json.dumps(options), "-o", out, "--workers", "2", "--chunk", "4")
    assert r.returncode == 0, r.stderr
    lines = out.read_bytes().splitlines(keepends=True)
    assert len(lines) == len(ids)
    srv = start_server(lite_artifact, tmp_path, workers=1)
    try:
        wait_for(srv)
        wait_workers_ready(srv, 1)
        for want_id, line in zip(ids, lines):
            item_id, answer = split_line(line)
            assert item_id == want_id
            single = httpx.post(srv.url + "/invocations", json={"item_id": item_id, **options}, timeout=30)
            assert single.status_code == 200, single.text
            expected = single.json()
            del expected["metadata"]["processing_time_ms"], expected["metadata"]["request_id"]
            assert "processing_time_ms" not in json.loads(answer)["metadata"]
            assert answer == encode_json(expected)  # re-encoded as the server encodes: same bytes
            assert len(json.loads(answer)["recommendations"]) <= 3
    finally:
        assert stop(srv.proc) == 0


def test_two_workers_write_the_same_file(whole, lite_artifact, tmp_path):
    out = tmp_path / "whole-2.jsonl"
    r = batch(lite_artifact, "-o", out, "--workers", "2", "--chunk", "7")
    assert r.returncode == 0, r.stderr
    assert "2 workers" in r.stdout
    assert out.read_bytes() == whole
    assert not (tmp_path / "whole-2.jsonl.parts").exists()


def test_a_killed_run_resumes_where_it_stopped(whole, lite_artifact, tmp_path):
    out = tmp_path / "killed.jsonl"
    parts = tmp_path / "killed.jsonl.parts"
    proc = subprocess.Popen([STYGIG, "batch", str(lite_artifact), "-o", str(out), "--workers", "2", "--chunk", "7", "--quiet"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    t0 = time.monotonic()
    try:
        while time.monotonic() - t0 < 120 and len(list(parts.glob("part-*.jsonl"))) < 3:
            assert proc.poll() is None, proc.communicate()
            time.sleep(0.005)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # our own child and its worker processes
        proc.wait(timeout=30)
    done = sorted(parts.glob("part-*.jsonl"))
    assert 3 <= len(done) < 18, "the run was not stopped part-way"
    assert not out.exists()  # never half-written
    for p in done:  # each part whole
        assert all(json.loads(l)["item_id"] for l in p.read_bytes().splitlines())
    r = batch(lite_artifact, "-o", out, "--workers", "2", "--chunk", "7")
    assert r.returncode == 0, r.stderr
    resumed = int(r.stdout.split("(")[1].split()[0])
    assert resumed >= 7 * len(done) - 7 and "resumed from an earlier run" in r.stdout
    assert out.read_bytes() == whole
    assert not parts.exists()


def test_bad_input_is_one_line_naming_it(lite_artifact, tmp_path):
    items = catalog_items(lite_artifact)
    out = tmp_path / "o.jsonl"
    (tmp_path / "ids.txt").write_text(f"{items[0]['id']}\nno-such-item\n")
    r = batch(lite_artifact, "--ids", tmp_path / "ids.txt", "-o", out)
    assert r.returncode == 2 and r.stderr.strip() == f"stygig: error: {tmp_path / 'ids.txt'} line 2: unknown item_id 'no-such-item' (not in the artifact)"
    (tmp_path / "dup.txt").write_text(f"{items[0]['id']}\n{items[0]['id']}\n")
    r = batch(lite_artifact, "--ids", tmp_path / "dup.txt", "-o", out)
    assert r.returncode == 2 and "dup.txt line 2" in r.stderr and "listed twice (first on line 1)" in r.stderr
    for options, says in (("{top_k: 3}", "--options is not valid JSON"), ("[3]", "--options must be a JSON object"),
                          ('{"top_k": 99}', "--options: top_k"), ('{"colour": "red"}', "--options: unknown field 'colour'"),
                          ('{"item_id": "x"}', "--options holds options only")):
        r = batch(lite_artifact, "--options", options, "-o", out)
        assert r.returncode == 2, (options, r.stderr)
        assert len(r.stderr.strip().splitlines()) == 1 and says in r.stderr, (options, r.stderr)
    assert not out.exists()
    # parts of another job are never mixed into this one
    (tmp_path / "ids1.txt").write_text(f"{items[0]['id']}\n")
    parts = tmp_path / "o.jsonl.parts"
    parts.mkdir()
    (parts / "job.json").write_text('{"options": {"top_k": 1}}')
    r = batch(lite_artifact, "--ids", tmp_path / "ids1.txt", "-o", out)
    assert r.returncode == 2 and "holds the parts of a different batch" in r.stderr
