"""Fixtures for the AWS tests: one moto server on 127.0.0.1 (random port) for the whole run.

Import the fixtures into a test module with ``from aws_conftest import aws, moto_server  # noqa``.
The server is started once per process (module-level cache) however many modules import it.
Each test that uses ``aws`` gets a reset moto (no state leaks between tests), dummy credentials,
``AWS_ENDPOINT_URL`` pointing at the server, and a bucket.
"""

from __future__ import annotations

import json
import logging
import urllib.request
from dataclasses import dataclass
from typing import Any

import pytest

BUCKET = "stygig-test"
ROLE = "arn:aws:iam::123456789012:role/StygigSageMaker"
REGION = "us-east-1"

_server: dict[str, Any] = {}


def _start() -> str:
    if "url" not in _server:
        from moto.server import ThreadedMotoServer

        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        srv = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        srv.start()
        host, port = srv.get_host_and_port()
        _server.update(server=srv, url=f"http://{host}:{port}")
    return _server["url"]


@pytest.fixture(scope="session")
def moto_server():
    url = _start()
    yield url
    # the server thread is a daemon; stopping it here would break other modules still using it


@pytest.fixture(scope="module")
def s3_url(moto_server):
    """The shared server, reset, for a module that makes its own buckets (without ``aws``)."""
    moto_post(moto_server, "/moto-api/reset")
    return moto_server


def moto_post(url: str, path: str, payload: dict[str, Any] | None = None) -> None:
    data = json.dumps(payload or {}).encode()
    req = urllib.request.Request(url + path, data=data, method="POST", headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as resp:
        assert 200 <= resp.status < 300


@dataclass
class Aws:
    url: str
    bucket: str = BUCKET
    role: str = ROLE
    region: str = REGION

    def client(self, service: str):
        import boto3

        return boto3.client(service, region_name=self.region)

    def queue_invoke_result(self, body: str, content_type: str = "application/json") -> None:
        moto_post(
            self.url,
            "/moto-api/static/sagemaker/endpoint-results",
            {"results": [{"Body": body, "ContentType": content_type, "InvokedProductionVariant": "AllTraffic", "CustomAttributes": ""}]},
        )

    def queue_async_result(self, data: str, *, failure: bool = False) -> None:
        moto_post(self.url, "/moto-api/static/sagemaker/async-endpoint-results", {"results": [{"data": data, "is_failure": failure}]})

    def base_args(self) -> list[str]:
        return ["--region", self.region, "--role-arn", self.role, "--bucket", self.bucket]


@pytest.fixture
def aws(moto_server, monkeypatch, tmp_path) -> Aws:
    moto_post(moto_server, "/moto-api/reset")
    monkeypatch.chdir(tmp_path)  # endpoint_info.json and ./stygig.toml lookups stay in the test's folder
    for var in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL_SAGEMAKER", "STYGIG_CONFIG",
                "STYGIG_ROLE_ARN", "STYGIG_S3_BUCKET", "STYGIG_ALLOWED_S3_BUCKETS"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_server)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_REGION", REGION)
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    a = Aws(moto_server)
    a.client("s3").create_bucket(Bucket=BUCKET)
    return a
