"""The app in-process: a fault of ours is a logged JSON 500 with the request id, and the config
is read from the environment SageMaker sets."""

from __future__ import annotations

import json
import logging

import pytest
from fastapi.testclient import TestClient

from stygig.errors import StygigError
from stygig.serving import logs
from stygig.serving.app import create_app
from stygig.serving.config import ServingConfig


class Captured(logging.Handler):
    def __init__(self):
        super().__init__()
        self.lines: list[dict] = []
        self.setFormatter(logs.JsonFormatter())

    def emit(self, record):
        self.lines.append(json.loads(self.format(record)))


@pytest.fixture
def captured():
    handler = Captured()
    root = logging.getLogger("stygig")
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    yield handler
    root.removeHandler(handler)
    root.setLevel(old_level)


def test_our_faults_are_logged_500s_with_the_request_id(lite_artifact, captured):
    app = create_app(ServingConfig(artifact_dir=lite_artifact))

    @app.get("/fault")
    async def fault():
        raise RuntimeError("boom: a bug of ours")

    with TestClient(app, raise_server_exceptions=False) as client:
        r = client.get("/fault")
        assert r.status_code == 500
        err = r.json()["error"]
        assert err["code"] == "internal_error"
        assert err["request_id"] == r.headers["x-request-id"]
        assert err["request_id"] in err["message"] and "boom" not in err["message"]  # no internals leak
        client.get("/ping")  # and the app carries on
    rid = r.headers["x-request-id"]
    fault_lines = [l for l in captured.lines if l.get("request_id") == rid]
    assert [l["event"] for l in fault_lines] == ["unhandled_error", "request"]
    assert "RuntimeError: boom" in fault_lines[0]["traceback"]
    assert fault_lines[1]["status"] == 500


def test_requests_before_the_model_is_ready_are_503(tmp_path, captured):
    app = create_app(ServingConfig(artifact_dir=tmp_path))  # no artifact: the load fails
    with TestClient(app) as client:
        app.state.stygig.model.wait(30)
        ping = client.get("/ping")
        assert ping.status_code == 503 and ping.json()["status"] == "failed"
        assert "manifest.json" in ping.json()["error"]
        r = client.post("/invocations", json={"item_id": "a"})
        assert r.status_code == 503 and r.json()["error"]["code"] == "model_not_ready"
        assert r.headers["retry-after"]
    assert any(l.get("event") == "model_load_failed" for l in captured.lines)


def test_config_from_the_sagemaker_environment(tmp_path):
    env = {
        "SAGEMAKER_BIND_TO_PORT": "9090",
        "SAGEMAKER_MODEL_SERVER_WORKERS": "3",
        "SAGEMAKER_MODEL_SERVER_TIMEOUT": "300",
        "TS_MAX_REQUEST_SIZE": "1000",
        "STYGIG_ALLOWED_S3_BUCKETS": "a-bucket, b-bucket,",
        "STYGIG_ARTIFACT": str(tmp_path),
    }
    c = ServingConfig.from_env(env)
    assert (c.port, c.workers, c.timeout_s, c.max_request_bytes) == (9090, 3, 300.0, 1000)
    assert c.allowed_s3_buckets == {"a-bucket", "b-bucket"}
    assert c.artifact_dir == tmp_path
    assert ServingConfig.from_env({"MODEL_SERVER_WORKERS": "2"}).workers == 2
    d = ServingConfig.from_env({})
    assert (d.port, d.timeout_s, d.max_request_bytes, d.allowed_s3_buckets) == (8080, 60.0, 6 * 1024 * 1024, frozenset())
    assert str(d.artifact_dir) == "/opt/ml/model"
    assert ServingConfig.from_env(env, port=7000, workers=None).port == 7000  # flags win, None does not
    assert ServingConfig.from_env(ServingConfig.from_env(env).to_env()) == ServingConfig.from_env(env)
    for bad in ({"SAGEMAKER_BIND_TO_PORT": "http"}, {"SAGEMAKER_MODEL_SERVER_WORKERS": "0"}, {"TS_MAX_REQUEST_SIZE": "-1"}):
        with pytest.raises(StygigError) as e:
            ServingConfig.from_env(bad)
        assert next(iter(bad)) in e.value.message
