"""`image_s3_uri` requests against moto's S3 server on 127.0.0.1, with the bucket allow-list."""

from __future__ import annotations

import boto3
import httpx
import pytest

from aws_conftest import moto_server, s3_url  # noqa: F401 - fixtures
from stygig.serving.child import stop
from test_serving_server import catalog_items, assert_error, assert_outfit, start_server, wait_for

CREDS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"}


@pytest.fixture(scope="module")
def buckets(s3_url, lite_artifact):
    s3 = boto3.client(
        "s3", endpoint_url=s3_url, region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key="testing"
    )
    items = catalog_items(lite_artifact)
    shirt = next(it for it in items if it["category"] == "shirt")
    data = open(shirt["source"], "rb").read()
    for bucket in ("shop-uploads", "someone-else"):
        s3.create_bucket(Bucket=bucket)
        s3.put_object(Bucket=bucket, Key="q/shirt.jpg", Body=data)
    s3.put_object(Bucket="shop-uploads", Key="q/not-an-image.jpg", Body=b"plain text")
    s3.put_object(Bucket="shop-uploads", Key="q/huge.jpg", Body=b"\xff\xd8\xff" + b"\0" * (21 * 1024 * 1024))
    return data


@pytest.fixture(scope="module")
def server(lite_artifact, tmp_path_factory, s3_url, buckets):
    env = dict(CREDS, AWS_ENDPOINT_URL_S3=s3_url, STYGIG_ALLOWED_S3_BUCKETS="shop-uploads")
    srv = start_server(lite_artifact, tmp_path_factory.mktemp("s3srv"), workers=1, env=env)
    wait_for(srv)
    yield srv
    assert stop(srv.proc) == 0


def ask(server, uri: str) -> httpx.Response:
    return httpx.post(server.url + "/invocations", json={"image_s3_uri": uri, "top_k": 3}, timeout=30)


def test_allowed_bucket_is_read(server, buckets):
    out = assert_outfit(ask(server, "s3://shop-uploads/q/shirt.jpg"), top_k=3)
    direct = httpx.post(server.url + "/invocations", content=buckets, headers={"Content-Type": "image/jpeg"}, params={"top_k": 3}).json()
    assert [r["item_id"] for r in out["recommendations"]] == [r["item_id"] for r in direct["recommendations"]]


def test_other_buckets_are_refused_before_any_s3_call(server):
    err = assert_error(ask(server, "s3://someone-else/q/shirt.jpg"), 422, "s3_bucket_not_allowed")
    assert "someone-else" in err["message"]


@pytest.mark.parametrize(
    "uri, code",
    [
        ("s3://shop-uploads/q/missing.jpg", "s3_error"),
        ("s3://shop-uploads/q/not-an-image.jpg", "invalid_image"),
        ("s3://shop-uploads/q/huge.jpg", "s3_object_too_large"),
        ("s3://shop-uploads/", "invalid_s3_uri"),
        ("s3:///key.jpg", "invalid_s3_uri"),
        ("s3://UPPER_case/key.jpg", "invalid_s3_uri"),
        ("file:///etc/passwd", "invalid_s3_uri"),
    ],
)
def test_bad_s3_inputs(server, uri, code):
    assert_error(ask(server, uri), 422, code)


def test_default_allow_list_is_empty(lite_artifact, tmp_path, s3_url, buckets):
    srv = start_server(lite_artifact, tmp_path, workers=1, env=dict(CREDS, AWS_ENDPOINT_URL_S3=s3_url))
    try:
        wait_for(srv)
        err = assert_error(ask(srv, "s3://shop-uploads/q/shirt.jpg"), 422, "s3_bucket_not_allowed")
        assert "STYGIG_ALLOWED_S3_BUCKETS" in err["message"]
    finally:
        assert stop(srv.proc) == 0
