"""JSON Lines on /invocations (issue 15.2), through a real `serve` process on 127.0.0.1: one query
a line in, one answer a line out, in order; a bad line answers its error on its line; the body
limit is the whole batch's. Also the InvokeEndpoint route, with boto3 (what Batch Transform calls)."""

from __future__ import annotations

import base64
import json

import httpx
import pytest

from stygig.serving.child import stop
from test_serving_server import MAX_BODY, assert_error, catalog_items, post, start_server, wait_for, wait_workers_ready

JSONL = "application/jsonlines"


@pytest.fixture(scope="module")
def server(lite_artifact, tmp_path_factory):
    srv = start_server(lite_artifact, tmp_path_factory.mktemp("srv-jsonl"), workers=1)
    wait_for(srv)
    wait_workers_ready(srv, 1)
    yield srv
    assert stop(srv.proc) == 0


@pytest.fixture(scope="module")
def items(lite_artifact) -> list[dict]:
    return catalog_items(lite_artifact)


def without_clock(answer: dict) -> dict:
    """An answer less what differs between two identical requests: the clock and the request id."""
    meta = dict(answer.get("metadata", {}))
    meta.pop("processing_time_ms", None)
    meta.pop("request_id", None)
    return {**answer, "metadata": meta}


def lines_of(r: httpx.Response) -> list[dict]:
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].split(";")[0] in (JSONL, "application/jsonl", "application/x-jsonlines")
    assert r.content.endswith(b"\n")
    return [json.loads(line) for line in r.content.split(b"\n")[:-1]]


def test_one_answer_per_line_in_order_bad_lines_answered_in_place(server, items):
    shirt = next(it for it in items if it["category"] == "shirt")
    photo = base64.b64encode(open(shirt["source"], "rb").read()).decode()
    queries: list[bytes] = [
        json.dumps({"item_id": items[3]["id"], "top_k": 3}).encode(),
        b"{not json",
        json.dumps({"item_id": "no-such-item"}).encode(),
        json.dumps({"item_id": items[7]["id"], "top_k": 0}).encode(),
        b"",
        json.dumps({"image": photo, "top_k": 2}).encode(),
        json.dumps({"item_id": items[9]["id"], "colour": "red"}).encode(),
        json.dumps({"item_id": items[11]["id"]}).encode(),
    ]
    r = post(server, b"\n".join(queries) + b"\n", JSONL)
    rid = r.headers["x-request-id"]
    got = lines_of(r)
    assert len(got) == len(queries)
    for query, line in zip(queries, got):
        if not query:
            continue  # a blank line has no single-request twin (an empty JSON body is refused whole)
        single = post(server, query, "application/json")
        if single.status_code == 200:
            assert line["metadata"]["request_id"] == rid
            assert without_clock(line) == without_clock(single.json())
        else:
            err = assert_error(single, single.status_code)
            # the same error body as the single path, with the batch's request id
            assert line == {"error": {"code": err["code"], "message": err["message"], "request_id": rid}}
    assert [("error" in line) for line in got] == [False, True, True, True, True, False, True, False]
    assert got[1]["error"]["code"] == "bad_request" and got[2]["error"]["code"] == "unknown_item"
    assert got[4]["error"]["message"] == "line 5 is blank; each line must be one JSON request"


@pytest.mark.parametrize("content_type", ["application/jsonlines", "application/jsonl", "application/x-jsonlines; charset=utf-8"])
def test_jsonl_content_types_and_crlf(server, items, content_type):
    body = "\r\n".join(json.dumps({"item_id": it["id"], "top_k": 2}) for it in items[:3])  # no final newline
    got = lines_of(post(server, body.encode(), content_type))
    assert [line["query_item"]["item_id"] for line in got] == [it["id"] for it in items[:3]]
    assert all(len(line["recommendations"]) <= 2 for line in got)


def test_accept_for_a_batch(server, items):
    body = json.dumps({"item_id": items[0]["id"]}).encode()
    for accept in (JSONL, "application/jsonl", "*/*", "text/html;q=0.5, */*;q=0.1", "application/json"):
        r = post(server, body, JSONL, headers={"Accept": accept})
        assert len(lines_of(r)) == 1
    assert post(server, body, JSONL, headers={"Accept": "application/jsonl"}).headers["content-type"] == "application/jsonl"
    assert_error(post(server, body, JSONL, headers={"Accept": "text/csv"}), 406, "not_acceptable")


def test_the_body_limit_is_the_whole_batch(server, items):
    line = json.dumps({"item_id": items[0]["id"]}).encode()
    small = post(server, b"\n".join([line] * 10), JSONL)
    assert len(lines_of(small)) == 10
    n = MAX_BODY // (len(line) + 1) + 1  # every line small; together over the limit
    assert_error(post(server, b"\n".join([line] * n), JSONL), 413, "payload_too_large")


def test_batch_errors_of_the_whole_request(server, items):
    assert_error(post(server, b"", JSONL), 400, "bad_request")
    line = json.dumps({"item_id": items[0]["id"]}).encode()
    err = assert_error(post(server, line, JSONL, params={"top_k": "3"}), 422, "invalid_input")
    assert "go in each line" in err["message"]


def test_batch_through_invoke_endpoint_with_boto3(server, items):
    import boto3

    runtime = boto3.client("sagemaker-runtime", endpoint_url=server.url, region_name="eu-west-1",
                           aws_access_key_id="test", aws_secret_access_key="test")
    body = "\n".join(json.dumps({"item_id": it["id"], "top_k": 2}) for it in items[:4]) + "\n"
    resp = runtime.invoke_endpoint(EndpointName="batch", Body=body, ContentType=JSONL, Accept=JSONL)
    assert resp["ContentType"] == JSONL
    out = [json.loads(line) for line in resp["Body"].read().decode().splitlines()]
    assert [o["query_item"]["item_id"] for o in out] == [it["id"] for it in items[:4]]


def test_an_artifact_of_precomputed_vectors_is_served(tmp_path):
    """A catalog embedded elsewhere (or a benchmark's synthetic one) answers item queries, also in
    batches; its workers used to fail to load on the picture warm-up."""
    import numpy as np

    from stygig.build import write_artifact_from_arrays
    from stygig.features.encoders.precomputed import PrecomputedEncoder
    from stygig.taxonomy import Taxonomy

    rng = np.random.default_rng(0)
    cats = list(Taxonomy.default().categories)
    n = 3 * len(cats)
    vectors = rng.standard_normal((n, 16)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    colours = np.zeros((n, 3, 4), dtype=np.float32)
    colours[:, :, 0], colours[:, :, 3] = 50.0, 1 / 3
    ids = [f"item-{i:03d}" for i in range(n)]
    art = tmp_path / "precomputed"
    write_artifact_from_arrays(art, ids=ids, categories=[cats[i % len(cats)] for i in range(n)], genders=["unisex"] * n,
                               vectors=vectors, colours=colours, encoder=PrecomputedEncoder(16, "test vectors"))
    srv = start_server(art, tmp_path, workers=1)
    try:
        wait_for(srv)
        got = lines_of(post(srv, "\n".join(json.dumps({"item_id": i, "top_k": 2}) for i in ids[:3]).encode(), JSONL))
        assert [g["query_item"]["item_id"] for g in got] == ids[:3] and all(g["recommendations"] for g in got)
        assert_error(post(srv, {"image": base64.b64encode(b"x" * 100).decode()}), 422)
    finally:
        assert stop(srv.proc) == 0
