"""The server as SageMaker and clients see it: a real `serve` process on 127.0.0.1.

Contract (/ping 503 -> 200, /invocations for every content type), the InvokeEndpoint path with a
real boto3 client, V4 compatibility, every error status, thumbnails, logs and the OpenAPI document.
"""

from __future__ import annotations

import base64
import contextlib
import io
import json
import os
import socket
import struct
import subprocess
import sys
import time
import zlib
from pathlib import Path

import httpx
import pytest
from PIL import Image

from conftest import PER_CATEGORY, sample_items
from stygig.serving.child import free_port, stop

SERVE = str(Path(sys.executable).with_name("serve"))
MAX_BODY = 6 * 1024 * 1024


def catalog_items(artifact: Path) -> list[dict]:
    from stygig.recommend.engine import Recommender

    return list(Recommender.load(artifact, verify=False).items)


class Server:
    def __init__(self, proc: subprocess.Popen, url: str, log: Path):
        self.proc, self.url, self.log = proc, url, log

    def log_lines(self) -> list[dict]:
        out = []
        for line in self.log.read_text(encoding="utf-8", errors="replace").splitlines():
            if line.startswith("{"):
                out.append(json.loads(line))
        return out


def start_server(artifact: Path, tmp: Path, *, workers: int = 1, env: dict | None = None, extra: list[str] | None = None) -> Server:
    port = free_port()
    log = tmp / f"server-{port}.log"
    full_env = {k: v for k, v in os.environ.items() if not k.startswith(("SAGEMAKER_", "TS_", "STYGIG_"))}
    full_env.update(env or {})
    cmd = [SERVE, str(artifact), "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers), *(extra or [])]
    proc = subprocess.Popen(cmd, stdout=open(log, "wb"), stderr=subprocess.STDOUT, env=full_env)
    return Server(proc, f"http://127.0.0.1:{port}", log)


def wait_for(server: Server, status: int = 200, timeout: float = 60.0) -> list[int]:
    """Poll /ping every 10 ms until it answers ``status``; return every status seen."""
    seen: list[int] = []
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        assert server.proc.poll() is None, server.log.read_text()
        try:
            r = httpx.get(server.url + "/ping", timeout=2)
            seen.append(r.status_code)
            if r.status_code == status:
                return seen
        except httpx.TransportError:
            pass
        time.sleep(0.01)
    raise AssertionError(f"/ping never answered {status}: {seen[-5:]}")


@contextlib.contextmanager
def running_server(artifact: Path, tmp: Path, *, workers: int = 1, env: dict | None = None):
    """A started server, /ping answered 200, stopped cleanly (exit 0) at the end."""
    srv = start_server(artifact, tmp, workers=workers, env=env)
    wait_for(srv)
    try:
        yield srv
    finally:
        assert stop(srv.proc) == 0


def wait_workers_ready(server: Server, n: int, timeout: float = 60.0) -> list[dict]:
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        ready = [l for l in server.log_lines() if l.get("event") == "model_ready"]
        if len(ready) >= n:
            return ready
        time.sleep(0.05)
    raise AssertionError(f"fewer than {n} workers became ready")


@pytest.fixture(scope="module")
def server(lite_artifact, tmp_path_factory):
    srv = start_server(lite_artifact, tmp_path_factory.mktemp("srv"), workers=2)
    srv.ping_statuses = wait_for(srv)
    wait_workers_ready(srv, 2)
    yield srv
    assert stop(srv.proc) == 0


@pytest.fixture(scope="module")
def photo(lite_artifact) -> bytes:
    """A catalog photo (JPEG) of a shirt, as a shop's customer would send."""
    items = catalog_items(lite_artifact)
    shirt = next(it for it in items if it["category"] == "shirt")
    with Image.open(shirt["source"]) as im:
        buf = io.BytesIO()
        im.convert("RGB").save(buf, "JPEG", quality=90)
    return buf.getvalue()


@pytest.fixture(scope="module")
def item_ids(lite_artifact) -> list[str]:
    return [it["id"] for it in catalog_items(lite_artifact)]


def reencode(jpeg: bytes, fmt: str) -> bytes:
    with Image.open(io.BytesIO(jpeg)) as im:
        buf = io.BytesIO()
        im.save(buf, fmt)
    return buf.getvalue()


def post(server, body, content_type="application/json", *, path="/invocations", headers=None, params=None) -> httpx.Response:
    h = {"Content-Type": content_type} if content_type else {}
    h.update(headers or {})
    data = json.dumps(body).encode() if isinstance(body, dict) else body
    return httpx.post(server.url + path, content=data, headers=h, params=params, timeout=30)


def assert_outfit(r: httpx.Response, top_k: int | None = None) -> dict:
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/json"
    out = r.json()
    recs = out["recommendations"]
    assert recs, out
    if top_k is not None:
        assert len(recs) <= top_k
    assert [rec["rank"] for rec in recs] == list(range(1, len(recs) + 1))
    assert out["metadata"]["request_id"] == r.headers["x-request-id"]
    return out


def assert_error(r: httpx.Response, status: int, code: str | None = None) -> dict:
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == "application/json"
    err = r.json()["error"]
    assert set(err) == {"code", "message", "request_id"}
    assert err["request_id"] == r.headers["x-request-id"]
    assert err["message"] and "\n" not in err["message"]
    if code:
        assert err["code"] == code, err
    return err


# ---- contract -----------------------------------------------------------------------------------
def test_ping_is_503_while_loading_then_200(server, lite_artifact, tmp_path):
    assert server.ping_statuses[-1] == 200
    r = httpx.get(server.url + "/ping")
    assert r.status_code == 200 and r.json()["status"] == "ready"
    ready = [l for l in server.log_lines() if l.get("event") == "model_ready"]
    assert len(ready) == 2  # one per worker, each after its warm-up
    # A worker with loading left to do after the port opens says 503 meanwhile. (By default
    # single-threaded workers fork with the model `serve` loaded and warmed once, so that window is
    # a few milliseconds; 40 warm-up passes leave 39 for each worker, as a slow load would.)
    slow = start_server(lite_artifact, tmp_path, workers=2, env={"STYGIG_WARMUP_ROUNDS": "40"})
    try:
        statuses = wait_for(slow, timeout=120)
        assert statuses[-1] == 200 and 503 in statuses, statuses
    finally:
        assert stop(slow.proc) == 0


def test_json_image_request(server, photo):
    out = assert_outfit(post(server, {"image": base64.b64encode(photo).decode(), "top_k": 3}), top_k=3)
    assert out["query_item"]["category"] in ("shirt", "tshirt")
    assert all(rec["category"] not in ("shirt", "tshirt") for rec in out["recommendations"])


@pytest.mark.parametrize("content_type, fmt", [("image/jpeg", None), ("image/png", "PNG"), ("image/webp", "WEBP"), ("application/x-image", None)])
def test_raw_image_bodies(server, photo, content_type, fmt):
    body = reencode(photo, fmt) if fmt else photo
    out = assert_outfit(post(server, body, content_type, params={"top_k": "2", "items_per_category": "1"}), top_k=2)
    cats = [rec["category"] for rec in out["recommendations"]]
    assert len(cats) == len(set(cats))  # items_per_category=1


def test_same_picture_same_answer_whatever_the_encoding(server, photo):
    a = post(server, {"image": base64.b64encode(photo).decode()}).json()
    b = post(server, photo, "image/jpeg").json()
    assert [r["item_id"] for r in a["recommendations"]] == [r["item_id"] for r in b["recommendations"]]
    assert [r["score"] for r in a["recommendations"]] == [r["score"] for r in b["recommendations"]]


def test_item_query_and_options(server, item_ids):
    shirt = next(i for i in item_ids if i.startswith("shirt"))
    base = assert_outfit(post(server, {"item_id": shirt, "top_k": 4}))
    assert base["query_item"]["item_id"] == shirt
    first = base["recommendations"][0]["item_id"]
    again = assert_outfit(post(server, {"item_id": shirt, "top_k": 4, "exclude_ids": [first], "gender": "female"}))
    assert first not in [r["item_id"] for r in again["recommendations"]]
    assert all(r["gender"] in ("female", "unisex") for r in again["recommendations"])
    alias = assert_outfit(post(server, {"item_id": shirt, "n_recommendations": 2}), top_k=2)
    assert len(alias["recommendations"]) == 2


def test_options_in_custom_attributes(server, photo):
    r = post(server, photo, "image/jpeg", headers={"X-Amzn-SageMaker-Custom-Attributes": "trace-9&top_k=1"})
    assert len(assert_outfit(r)["recommendations"]) == 1
    assert r.headers["x-amzn-sagemaker-custom-attributes"] == f"request_id={r.headers['x-request-id']}"


def test_v4_client_compatibility(server, photo):
    """StyGig V4 clients send image+top_k+min_score and read these fields."""
    r = post(server, {"image": base64.b64encode(photo).decode(), "top_k": 5, "min_score": 0.5})
    out = assert_outfit(r, top_k=5)
    for rec in out["recommendations"]:
        assert isinstance(rec["item_id"], str)
        assert isinstance(rec["category"], str)
        assert rec["gender"] in ("male", "female", "unisex")
        for key in ("score", "color_score", "category_score", "gender_score"):
            assert isinstance(rec[key], float) and 0.0 <= rec[key] <= 1.0, (key, rec[key])
        assert rec["score"] >= 0.5
        assert rec["colors"] and all(c["hex"].startswith("#") for c in rec["colors"])
    meta = out["metadata"]
    assert isinstance(meta["processing_time_ms"], float) and meta["processing_time_ms"] > 0
    assert meta["total_items"] == sample_items()
    assert isinstance(meta["model_version"], str) and meta["model_version"]


def test_thumbnails_inline_on_request(server, item_ids):
    out = assert_outfit(post(server, {"item_id": item_ids[0], "include_thumbnails": True, "top_k": 2}))
    for rec in out["recommendations"]:
        head, data = rec["thumbnail_data"].split(",", 1)
        assert head == "data:image/jpeg;base64"
        with Image.open(io.BytesIO(base64.b64decode(data))) as im:
            assert im.size[0] > 0
    assert out["query_item"]["thumbnail_data"].startswith("data:image/jpeg;base64,")


# ---- errors -------------------------------------------------------------------------------------
def bomb_png(side: int = 20_000) -> bytes:
    """A tiny PNG whose header claims side x side pixels (a decompression bomb's signature)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\x00" * 1000)) + chunk(b"IEND", b"")


@pytest.mark.parametrize(
    "body, content_type, status, code",
    [
        (b"{oops", "application/json", 400, "bad_request"),
        (b'{"image": "***"}', "application/json", 400, "bad_request"),
        (b"hello", "text/plain", 415, "unsupported_media_type"),
        (b"not an image at all", "image/jpeg", 422, "invalid_image"),
        (b"", "image/png", 422, "invalid_image"),
        (bomb_png(), "image/png", 422, "invalid_image"),
        (b'{"item_id": "no-such-item"}', "application/json", 422, "unknown_item"),
        (b'{"item_id": "x", "top_k": 0}', "application/json", 422, "invalid_input"),
        (b'{"item_id": "x", "top_k": 51}', "application/json", 422, "invalid_input"),
        (b'{"item_id": "x", "min_score": 1.5}', "application/json", 422, "invalid_input"),
        (b'{"item_id": "x", "gender": "robot"}', "application/json", 422, "invalid_input"),
        (b'{"item_id": "x", "category": "spaceship"}', "application/json", 422, "invalid_input"),
        (b'{"item_id": "x", "wat": 1}', "application/json", 422, "invalid_input"),
        (b'{"text": "a red dress"}', "application/json", 422, "unsupported_query"),  # lite artifact
        (b'{"image_s3_uri": "s3://some-bucket/a.jpg"}', "application/json", 422, "s3_bucket_not_allowed"),
        (b'{"image_s3_uri": "http://example.com/a.jpg"}', "application/json", 422, "invalid_s3_uri"),
    ],
)
def test_error_statuses(server, body, content_type, status, code):
    if b'"x"' in body:  # options are checked against a real item
        body = body.replace(b'"x"', b'"shirt-0000"')
    err = assert_error(post(server, body, content_type), status, code)
    if status == 422 and code == "invalid_image" and body.startswith(b"\x89PNG"):
        assert "megapixels" in err["message"]


def test_406_for_unsupported_accept(server):
    assert_error(post(server, {"item_id": "shirt-0000"}, headers={"Accept": "text/csv"}), 406, "not_acceptable")


def test_413_from_content_length_and_from_a_stream(server):
    big = b"\xff\xd8\xff" + b"\0" * MAX_BODY
    assert_error(post(server, big, "image/jpeg"), 413, "payload_too_large")

    def chunks():
        for i in range(0, len(big), 256 * 1024):
            yield big[i : i + 256 * 1024]

    r = httpx.post(server.url + "/invocations", content=chunks(), headers={"Content-Type": "image/jpeg"}, timeout=30)
    assert "content-length" not in r.request.headers  # chunked: only counting can catch it
    assert_error(r, 413, "payload_too_large")
    assert httpx.get(server.url + "/ping").status_code == 200


@pytest.mark.parametrize("mb", [7, 12, 40])
def test_clients_that_send_the_whole_body_first_read_the_413(server, runtime, mb):
    """Issue 16.2: urllib (Connection: close) got ConnectionResetError instead of the 413: the
    server answered before reading and closed with the body unread. The rest is drained (bounded)."""
    import urllib.error
    import urllib.request

    import requests

    body = b"\xff\xd8\xff" + bytes(mb * 2**20)
    req = urllib.request.Request(server.url + "/invocations", data=body, headers={"Content-Type": "image/jpeg"})
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(req, timeout=30)
    assert e.value.code == 413
    assert json.loads(e.value.read())["error"]["code"] == "payload_too_large"
    # refused before reading for another reason: the same
    req = urllib.request.Request(server.url + "/invocations", data=body, headers={"Content-Type": "text/plain"})
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(req, timeout=30)
    assert e.value.code == 415 and json.loads(e.value.read())["error"]["code"] == "unsupported_media_type"
    for headers in ({}, {"Connection": "close"}):
        r = requests.post(server.url + "/invocations", data=body, headers={"Content-Type": "image/jpeg", **headers}, timeout=30)
        assert r.status_code == 413 and r.json()["error"]["code"] == "payload_too_large"
    with pytest.raises(runtime.exceptions.ModelError) as e:
        runtime.invoke_endpoint(EndpointName="e1", Body=body, ContentType="image/jpeg")
    assert e.value.response["OriginalStatusCode"] == 413
    assert httpx.get(server.url + "/ping").status_code == 200


def test_a_trickled_over_limit_body_is_answered_within_the_drain_bound(server):
    """A client that declares 7 MB, sends 1 MB and stalls gets its 413 once the drain's time bound
    passes (the connection is closed after it), and the worker serves /ping meanwhile."""
    from stygig.serving.drain import DRAIN_MAX_SECONDS

    port = int(server.url.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=DRAIN_MAX_SECONDS + 20) as s:
        s.sendall(b"POST /invocations HTTP/1.1\r\nHost: x\r\nContent-Type: image/jpeg\r\n"
                  b"Content-Length: %d\r\n\r\n" % (7 * 2**20))
        s.sendall(bytes(2**20))
        t0 = time.monotonic()
        pings = [httpx.get(server.url + "/ping", timeout=5).status_code for _ in range(10)]
        data = b""
        while chunk := s.recv(65536):
            data += chunk
        waited = time.monotonic() - t0
    head, _, rest = data.partition(b"\r\n\r\n")
    assert head.split()[1] == b"413", head
    assert b"connection: close" in head.lower()
    assert json.loads(rest)["error"]["code"] == "payload_too_large"
    assert waited < DRAIN_MAX_SECONDS + 10, waited
    assert pings == [200] * 10


def test_a_body_at_the_limit_is_read(server):
    r = post(server, b"\0" * MAX_BODY, "image/jpeg")
    assert_error(r, 422, "invalid_image")  # read whole, then refused as an image, not as a size


def test_unknown_routes_and_methods_answer_json(server):
    assert_error(httpx.get(server.url + "/nope"), 404, "not_found")
    assert_error(httpx.get(server.url + "/invocations"), 405, "method_not_allowed")


def test_never_200_with_an_error_in_it(server):
    r = post(server, {"item_id": "shirt-0000", "top_k": 99})
    assert r.status_code == 422 and "recommendations" not in r.json()


# ---- the InvokeEndpoint path, with boto3 -------------------------------------------------------
@pytest.fixture(scope="module")
def runtime(server):
    import boto3

    return boto3.client(
        "sagemaker-runtime",
        endpoint_url=server.url,
        region_name="eu-west-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )


def test_boto3_invoke_endpoint_with_a_picture(runtime, photo):
    resp = runtime.invoke_endpoint(
        EndpointName="stygig-prod", Body=photo, ContentType="image/jpeg", Accept="application/json", CustomAttributes="top_k=2"
    )
    assert resp["ContentType"] == "application/json"
    assert resp["InvokedProductionVariant"] == "AllTraffic"
    assert resp["CustomAttributes"].startswith("request_id=")
    assert resp["ResponseMetadata"]["RequestId"] == resp["CustomAttributes"].split("=", 1)[1]
    out = json.loads(resp["Body"].read())
    assert 1 <= len(out["recommendations"]) <= 2


def test_boto3_invoke_endpoint_json_matches_invocations(runtime, server, item_ids):
    body = {"item_id": item_ids[5], "top_k": 3}
    resp = runtime.invoke_endpoint(EndpointName="e1", Body=json.dumps(body), ContentType="application/json")
    via_boto = json.loads(resp["Body"].read())
    direct = post(server, body).json()
    assert [r["item_id"] for r in via_boto["recommendations"]] == [r["item_id"] for r in direct["recommendations"]]


def test_boto3_errors_are_model_errors_with_our_json_inside(runtime):
    with pytest.raises(runtime.exceptions.ModelError) as e:
        runtime.invoke_endpoint(EndpointName="e1", Body=b"nope", ContentType="image/jpeg")
    assert e.value.response["OriginalStatusCode"] == 422
    inner = json.loads(e.value.response["OriginalMessage"])["error"]
    assert inner["code"] == "invalid_image"
    assert "Received client error (422)" in e.value.response["Error"]["Message"]


def test_bad_endpoint_name_is_a_validation_error(runtime, server):
    r = httpx.post(server.url + "/endpoints/-bad-/invocations", content=b"{}", headers={"Content-Type": "application/json"})
    assert r.status_code == 400 and r.headers["x-amzn-errortype"] == "ValidationError"


# ---- read-only catalog routes ------------------------------------------------------------------
def test_thumbnail_route(server, item_ids):
    r = httpx.get(f"{server.url}/items/{item_ids[0]}/thumbnail")
    assert r.status_code == 200 and r.headers["content-type"] == "image/jpeg"
    with Image.open(io.BytesIO(r.content)) as im:
        assert min(im.size) > 32
    assert_error(httpx.get(f"{server.url}/items/no-such-item/thumbnail"), 404, "not_found")


@pytest.mark.parametrize(
    "raw_path",
    [
        "/items/..%2Fmanifest.json/thumbnail",
        "/items/%2E%2E/thumbnail",
        "/items/..%2F..%2F..%2Fetc%2Fpasswd/thumbnail",
        "/items/thumbs%2F000001.jpg/thumbnail",
    ],
)
def test_thumbnail_route_never_leaves_the_artifact(server, raw_path):
    with socket.create_connection(("127.0.0.1", int(server.url.rsplit(":", 1)[1])), timeout=5) as s:
        s.sendall(f"GET {raw_path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    assert head.split()[1] == b"404", head
    assert b"stygig-artifact" not in body and b"root:" not in body


def test_thumbnail_route_is_read_only(server, item_ids):
    for method in ("POST", "PUT", "DELETE"):
        r = httpx.request(method, f"{server.url}/items/{item_ids[0]}/thumbnail", content=b"x")
        assert r.status_code == 405


def test_items_and_model_routes(server):
    page = httpx.get(server.url + "/items", params={"category": "shirt", "limit": 3}).json()
    assert page["total"] == PER_CATEGORY and len(page["items"]) == 3
    assert all(it["category"] == "shirt" and it["thumbnail_url"].endswith("/thumbnail") for it in page["items"])
    assert_error(httpx.get(server.url + "/items", params={"category": "spaceship"}), 422, "invalid_input")
    assert_error(httpx.get(server.url + "/items", params={"limit": 0}), 422, "invalid_input")
    info = httpx.get(server.url + "/model").json()
    assert info["total_items"] == sample_items() and info["encoder"]["kind"] == "lite"


def test_items_search_by_name_or_id_and_filter_by_wearer(server, lite_artifact):
    # issue 18.11: the catalog tab had no search and "Dress for" did not filter it
    every = catalog_items(lite_artifact)
    named = next(it for it in every if it["category"] == "pants" and it.get("name"))
    word = named["name"].split()[-1]
    page = httpx.get(server.url + "/items", params={"q": word.upper(), "limit": 1000}).json()
    expected = [it["id"] for it in every if word.casefold() in (it["id"] + "\n" + it["name"]).casefold()]
    assert [it["item_id"] for it in page["items"]] == expected and page["total"] == len(expected)
    assert named["id"] in expected
    by_id = httpx.get(server.url + "/items", params={"q": named["id"].upper()}).json()
    assert [it["item_id"] for it in by_id["items"]] == [named["id"]]
    for gender in ("female", "male"):
        page = httpx.get(server.url + "/items", params={"gender": gender, "category": "pants", "limit": 1000}).json()
        expected = [it["id"] for it in every if it["category"] == "pants" and it["gender"] in (gender, "unisex")]
        assert [it["item_id"] for it in page["items"]] == expected and 0 < len(expected) < PER_CATEGORY
    assert httpx.get(server.url + "/items", params={"gender": "unisex"}).json()["total"] == len(every)
    paged = httpx.get(server.url + "/items", params={"q": "s", "offset": 2, "limit": 3}).json()
    matching = [it["id"] for it in every if "s" in (it["id"] + "\n" + it["name"]).casefold()]
    assert paged["total"] == len(matching) and [it["item_id"] for it in paged["items"]] == matching[2:5]
    for params, field in (({"gender": "robot"}, "gender"), ({"q": ""}, "q"), ({"q": "   "}, "q"), ({"q": "x" * 101}, "q")):
        err = assert_error(httpx.get(server.url + "/items", params=params), 422, "invalid_input")
        assert err["message"].startswith(field + ":"), err


# ---- logs and documentation --------------------------------------------------------------------
def test_one_json_log_line_per_request_without_bodies(server):
    marker = "SECRET-MARKER-a1b2c3"
    r = post(server, {"item_id": "shirt-0000", "category": marker}, headers={"Authorization": "Bearer " + marker})
    rid = r.headers["x-request-id"]
    time.sleep(0.2)
    text = server.log.read_text()
    assert marker not in text
    lines = [l for l in server.log_lines() if l.get("request_id") == rid and l.get("event") == "request"]
    assert len(lines) == 1
    line = lines[0]
    assert line["method"] == "POST" and line["path"] == "/invocations" and line["status"] == 422
    assert isinstance(line["ms"], float) and line["ms"] >= 0


def test_client_request_id_is_kept_when_safe(server):
    r = httpx.get(server.url + "/ping", headers={"X-Request-Id": "abc-123"})
    assert r.headers["x-request-id"] == "abc-123"
    r = httpx.get(server.url + "/ping", headers={"X-Request-Id": "bad id\twith spaces"})
    assert r.headers["x-request-id"] != "bad id\twith spaces" and len(r.headers["x-request-id"]) == 32


def test_openapi_document(server):
    doc = httpx.get(server.url + "/openapi.json").json()
    assert doc["openapi"].startswith("3.")
    for path in ("/ping", "/invocations", "/endpoints/{endpoint_name}/invocations", "/items/{item_id}/thumbnail"):
        assert path in doc["paths"], path
    inv = doc["paths"]["/invocations"]["post"]
    assert set(inv["requestBody"]["content"]) == {"application/json", "image/jpeg", "image/png", "image/webp", "application/x-image",
                                                  "image/apng", "image/gif", "image/bmp", "image/x-ms-bmp", "image/tiff", "image/avif",
                                                  "application/jsonlines", "application/jsonl", "application/x-jsonlines"}
    assert {"400", "413", "415", "422", "504"} <= set(inv["responses"])
    schemas = doc["components"]["schemas"]
    assert "image" in schemas["RecommendRequest"]["properties"]
    assert "recommendations" in schemas["RecommendResponse"]["properties"]
