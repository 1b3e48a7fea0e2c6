"""`stygig invoke` / `package` / `serve` as a user runs them."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
from PIL import Image

from stygig.serving.child import free_port, stop
from test_serving_server import catalog_items, start_server, wait_for

STYGIG = str(Path(sys.executable).with_name("stygig"))


def stygig(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    full_env.update(env or {})
    return subprocess.run([STYGIG, *args], capture_output=True, text=True, timeout=120, env=full_env)


@pytest.fixture(scope="module")
def server(lite_artifact, tmp_path_factory):
    srv = start_server(lite_artifact, tmp_path_factory.mktemp("clisrv"), workers=1)
    wait_for(srv)
    yield srv
    assert stop(srv.proc) == 0


@pytest.fixture(scope="module")
def photo(lite_artifact) -> str:
    items = catalog_items(lite_artifact)
    return next(it for it in items if it["category"] == "pants")["source"]


def test_invoke_a_picture_prints_the_outfit(server, photo):
    r = stygig("invoke", "--url", server.url, photo, "--top-k", "6")
    assert r.returncode == 0, r.stderr
    answer = json.loads(stygig("invoke", "--url", server.url, photo, "--top-k", "6", "--json").stdout)
    lines = r.stdout.splitlines()
    assert lines[0].startswith("Query: pants")
    pieces = answer["outfit"]["pieces"]
    assert pieces and lines[1].startswith(f"Outfit: {len(pieces)} piece")
    # the outfit slot by slot, each piece by name and id, in the answer's order
    slot_lines = [re.match(r"  (\S+) .*\((\S+)\) — score", line) for line in lines if "fits the outfit" in line]
    assert [m.groups() for m in slot_lines] == [(p["slot"], p["item_id"]) for p in pieces]
    # then the ranked list's other picks by their rank
    others = [rec for rec in answer["recommendations"] if rec["item_id"] not in {p["item_id"] for p in pieces}]
    ranked = [line.split(".")[0].strip() for line in lines if line.startswith("  ") and line.strip().split(".")[0].isdigit()]
    assert ranked == [str(rec["rank"]) for rec in others]


def test_invoke_an_item_as_json(server):
    r = stygig("invoke", "--url", server.url, "--item", "shirt-0002", "--top-k", "2", "--gender", "male", "--json")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["query_item"]["item_id"] == "shirt-0002"
    assert len(out["recommendations"]) <= 2
    assert all(rec["gender"] in ("male", "unisex") for rec in out["recommendations"])


def test_invoke_save_visual_uses_the_thumbnail_route(server, photo, tmp_path):
    out_dir = tmp_path / "visual"
    r = stygig("invoke", "--url", server.url, photo, "--save-visual", str(out_dir))
    assert r.returncode == 0, r.stderr
    with Image.open(out_dir / "outfit.png") as im:
        assert im.width > 500 and im.height > 300
        # item pictures were drawn, not "no picture" placeholders: the card area has colour
        assert len(im.convert("RGB").resize((64, 32)).getcolors(64 * 32)) > 50
    saved = json.loads((out_dir / "outfit.json").read_text())
    assert saved["recommendations"] and "thumbnail_data" not in saved["recommendations"][0]
    thumb_requests = [l for l in server.log_lines() if l.get("path", "").endswith("/thumbnail") and l.get("status") == 200]
    assert len(thumb_requests) >= len(saved["recommendations"])


def test_invoke_by_endpoint_name_through_the_environment(server, tmp_path):
    """--endpoint-name with AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME: the SageMaker path, pictures inline."""
    out_dir = tmp_path / "visual"
    env = {"AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME": server.url, "AWS_REGION": "eu-west-1"}
    r = stygig("invoke", "--endpoint-name", "stygig-prod", "--item", "dress-0001", "--save-visual", str(out_dir), env=env)
    assert r.returncode == 0, r.stderr
    assert (out_dir / "outfit.png").stat().st_size > 10_000
    saved = json.loads((out_dir / "outfit.json").read_text())
    assert saved["query_item"]["item_id"] == "dress-0001"
    assert "thumbnail_data" not in saved["query_item"]


def test_invoke_errors_are_one_line(server, tmp_path):
    bad = tmp_path / "notes.jpg"
    bad.write_text("not a picture")
    r = stygig("invoke", "--url", server.url, str(bad))
    assert r.returncode == 2
    assert r.stderr.count("\n") == 1 and "(HTTP 422, invalid_image)" in r.stderr
    assert r.stderr.startswith(f"stygig: error: {bad}: not an image"), "names the file, as decoding it here does"
    r = stygig("invoke", "--url", f"http://127.0.0.1:{free_port()}", "--item", "x")
    assert r.returncode == 2 and "cannot reach" in r.stderr
    r = stygig("invoke", "--url", server.url, "--item", "x", "--text", "y")
    assert r.returncode == 2 and "exactly one" in r.stderr
    r = stygig("invoke", "--url", "ftp://nope", "--item", "x")
    assert r.returncode == 2 and "--url must be an http(s) URL" in r.stderr


def test_package_command(lite_artifact, tmp_path):
    r = stygig("package", str(lite_artifact), "-o", str(tmp_path / "model.tar.gz"))
    assert r.returncode == 0, r.stderr
    with tarfile.open(tmp_path / "model.tar.gz") as tf:
        names = tf.getnames()
    assert "manifest.json" in names and "code/inference.py" in names and "code/requirements.txt" in names
    assert not any(n.startswith(("/", "..")) for n in names)
    r = stygig("package", str(tmp_path), "-o", str(tmp_path / "x.tar.gz"))
    assert r.returncode == 2 and "manifest.json" in r.stderr
    (tmp_path / "folder").mkdir()
    r = stygig("package", str(lite_artifact), "-o", str(tmp_path / "folder"))
    assert r.returncode == 2 and r.stderr.splitlines() == [
        f"stygig: error: {tmp_path / 'folder'} is a folder; name the archive file to write (e.g. {tmp_path / 'folder' / 'model.tar.gz'})"
    ]


def test_serve_help_documents_the_environment():
    r = stygig("serve", "--help")
    assert r.returncode == 0
    for word in ("--workers", "--port", "SAGEMAKER_BIND_TO_PORT", "SAGEMAKER_MODEL_SERVER_WORKERS", "/opt/ml/model"):
        assert word in r.stdout


def test_one_codec_for_local_servers_and_sagemaker_endpoints(photo):
    """A picture's options go in CustomAttributes to StyGig's own server, and in a JSON body to a
    SageMaker endpoint (whose DLC toolkit drops CustomAttributes); an s3:// picture goes by URI."""
    import base64

    from stygig.errors import StygigError
    from stygig.client.runtime import build_invocation

    raw = build_invocation(image=photo, options={"top_k": 3})
    assert raw["Body"] == Path(photo).read_bytes() and raw["ContentType"] == "image/jpeg"
    assert raw["CustomAttributes"] == "top_k=3"
    sm = build_invocation(image=photo, options={"top_k": 3}, picture_as_json=True)
    assert sm["ContentType"] == "application/json" and "CustomAttributes" not in sm
    assert json.loads(sm["Body"]) == {"image": base64.b64encode(Path(photo).read_bytes()).decode(), "top_k": 3}
    bare = build_invocation(image=photo, picture_as_json=True)
    assert bare["Body"] == Path(photo).read_bytes() and bare["ContentType"] == "image/jpeg"
    s3 = build_invocation(image="s3://shop-uploads/a.jpg", include_thumbnails=True, picture_as_json=True)
    assert json.loads(s3["Body"]) == {"image_s3_uri": "s3://shop-uploads/a.jpg", "include_thumbnails": True}
    item = build_invocation(item="shirt-0001", options={"top_k": 2}, picture_as_json=True)
    assert json.loads(item["Body"]) == {"item_id": "shirt-0001", "top_k": 2}
    with pytest.raises(StygigError, match="exactly one"):
        build_invocation(image=photo, text="navy blazer", options={"top_k": 3}, picture_as_json=True)


# ---- issue 18.5: a busy port is one line at once; success says where the page is -------------
def test_serve_on_a_busy_port_is_one_line_at_once(lite_artifact):
    import socket
    import time

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        for cmd in ([STYGIG, "serve"], [str(Path(sys.executable).with_name("serve")), "--host", "127.0.0.1"]):
            t0 = time.monotonic()
            r = subprocess.run([*cmd, str(lite_artifact), "--port", str(port)], capture_output=True, text=True, timeout=60)
            elapsed = time.monotonic() - t0
            assert r.returncode == 2, r.stderr
            assert r.stderr.strip().splitlines() == [f"{Path(cmd[0]).name}: error: port {port} is in use (choose another with --port)"]
            # before gunicorn starts (it would retry for five seconds, ten lines): the one line above
            # shows it; the bound is loose because a loaded CI machine imports slowly
            assert elapsed < 30.0, elapsed


def test_serve_says_where_the_page_is(lite_artifact, tmp_path):
    port = free_port()
    log = tmp_path / "serve.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen([STYGIG, "serve", str(lite_artifact), "--port", str(port), "--workers", "1"],
                                stdout=out, stderr=subprocess.STDOUT)
    try:
        from test_serving_server import Server

        wait_for(Server(proc, f"http://127.0.0.1:{port}", log))
        assert f"http://127.0.0.1:{port}/" in log.read_text()
    finally:
        assert stop(proc) == 0


def test_serve_help_names_the_routes():
    for cmd in ([STYGIG, "serve", "--help"], [str(Path(sys.executable).with_name("serve")), "--help"]):
        out = " ".join(subprocess.run(cmd, capture_output=True, text=True, timeout=60).stdout.split())
        for route in ("GET / (the web page)", "GET /items (", "GET /model (", "GET /ping (", "POST /invocations ("):
            assert route in out, (cmd, route)
