"""The StyGig server image, checked without docker (which cannot run here).

What the image runs is read from the Dockerfile; the commands it runs are checked in this
environment: `serve` is the package's console script and starts from /opt/ml/model on port 8080,
and `train` reaches the training entry point.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
import tomllib
from importlib import metadata
from pathlib import Path

from stygig.aws.requests import TRAIN_ENTRYPOINT

REPO = Path(__file__).resolve().parents[1]


def _instructions() -> list[tuple[str, str]]:
    text = (REPO / "Dockerfile").read_text(encoding="utf-8")
    text = re.sub(r"\\\n", " ", text)  # line continuations
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            op, _, rest = line.partition(" ")
            out.append((op.upper(), rest.strip()))
    return out


def test_image_runs_serve_as_a_non_root_user():
    ins = _instructions()
    assert [op for op, _ in ins].count("FROM") == 1
    assert ins[0][1].startswith("python:3.11")
    cmd = [json.loads(rest) for op, rest in ins if op == "CMD"]
    assert cmd == [["serve"]]  # exec form: SageMaker's `serve` argument replaces it, nothing wraps it
    assert not [rest for op, rest in ins if op == "ENTRYPOINT"]  # so `docker run IMAGE train` runs train
    args = dict(rest.split("=", 1) for op, rest in ins if op == "ARG" and "=" in rest)
    users = [re.sub(r"\$\{(\w+)\}", lambda m: args[m.group(1)], rest) for op, rest in ins if op == "USER"]
    assert users == ["stygig"]  # by default; RUN_AS is a documented build-time choice
    # the user is created, and the last USER comes after every RUN (nothing later runs as root)
    last_user = max(i for i, (op, _) in enumerate(ins) if op == "USER")
    assert all(i < last_user for i, (op, _) in enumerate(ins) if op == "RUN")
    assert any("useradd" in rest and users[-1] in rest for op, rest in ins if op == "RUN")
    assert ("EXPOSE", "8080") in ins


def test_image_installs_only_the_serving_dependencies():
    ins = _instructions()
    runs = " ".join(rest for op, rest in ins if op == "RUN")
    assert "torch" not in runs and "open_clip" not in runs and "open-clip" not in runs
    installs = [a for a in shlex.split(runs) if a.startswith("/tmp/stygig")]
    assert "/tmp/stygig" in installs and not any("[" in a for a in installs)  # no extras
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    deps = " ".join(project["dependencies"]).lower()
    assert "torch" not in deps and "open-clip" not in deps
    # what the image copies is exactly what .dockerignore lets through
    copied = [rest for op, rest in ins if op == "COPY"]
    assert copied == ["pyproject.toml README.md /tmp/stygig/", "src /tmp/stygig/src"]
    ignore = [l.strip() for l in (REPO / ".dockerignore").read_text().splitlines() if l.strip() and not l.startswith("#")]
    assert ignore[0] == "*" and {"!pyproject.toml", "!README.md", "!src/"} <= set(ignore)


def test_serve_console_script_starts_from_opt_ml_model(monkeypatch):
    (ep,) = [e for e in metadata.entry_points(group="console_scripts") if e.name == "serve"]
    assert ep.value == "stygig.serving.entrypoint:main"
    from stygig.serving.entrypoint import build_parser, config_from_args

    for var in ("STYGIG_ARTIFACT", "SAGEMAKER_BIND_TO_PORT", "STYGIG_HOST"):
        monkeypatch.delenv(var, raising=False)
    config = config_from_args(build_parser().parse_args([]))  # exactly what `serve` gets from SageMaker
    assert Path(config.artifact_dir) == Path("/opt/ml/model")
    assert config.port == 8080 and config.host == "0.0.0.0"
    monkeypatch.setenv("SAGEMAKER_BIND_TO_PORT", "9090")
    assert config_from_args(build_parser().parse_args([])).port == 9090
    # the script pip installs for `serve` runs
    serve = Path(sys.executable).parent / "serve"
    out = subprocess.run([str(serve), "--help"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and "/opt/ml/model" in out.stdout


def test_train_command_reaches_the_training_entry_point():
    runs = " ".join(rest for op, rest in _instructions() if op == "RUN")
    assert "exec python -m stygig.aws.train_entry" in runs and "/usr/local/bin/train" in runs
    assert TRAIN_ENTRYPOINT == ["python", "-m", "stygig.aws.train_entry"]
    out = subprocess.run([sys.executable, "-m", "stygig.aws.train_entry", "--help"], capture_output=True, text=True,
                         timeout=60, env={**os.environ, "PYTHONPATH": str(REPO / "src")})
    assert out.returncode == 0 and "training job's entry point" in out.stdout
