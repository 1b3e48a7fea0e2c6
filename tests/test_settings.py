"""Every STYGIG_* / SageMaker environment name is spelled once, in stygig.settings, with its reader."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from stygig import settings
from stygig.errors import StygigError

SRC = Path(__file__).resolve().parents[1] / "src" / "stygig"
NAME = re.compile(r"^(STYGIG|SAGEMAKER|SM)_[A-Z0-9_]+$")


def test_names_live_only_in_settings():
    spelled = []
    for path in sorted(SRC.rglob("*.py")):
        if path == SRC / "settings.py":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        exported = {id(c) for node in ast.walk(tree) if isinstance(node, ast.Assign)
                    and any(isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets)
                    for c in ast.walk(node.value)}  # __all__ names Python constants, not variables
        for node in ast.walk(tree):
            if id(node) not in exported and isinstance(node, ast.Constant) and isinstance(node.value, str) and NAME.match(node.value):
                spelled.append(f"{path.relative_to(SRC)}:{node.lineno} {node.value}")
    assert spelled == [], "environment names spelled outside stygig/settings.py:\n" + "\n".join(spelled)


def test_typed_readers_and_their_errors():
    assert settings.MAX_QUEUE.read({}) == 32
    assert settings.MAX_QUEUE.read({"STYGIG_MAX_QUEUE": " 7 "}) == 7
    assert settings.ALLOWED_S3_BUCKETS.read({"STYGIG_ALLOWED_S3_BUCKETS": "a, b,,"}) == {"a", "b"}
    assert settings.ARTIFACT_VERIFIED.read({"STYGIG_ARTIFACT_VERIFIED": "1"}) is True
    assert settings.server_workers({"MODEL_SERVER_WORKERS": "3"}) == 3
    assert settings.server_workers({"SAGEMAKER_MODEL_SERVER_WORKERS": "2", "MODEL_SERVER_WORKERS": "3"}) == 2
    with pytest.raises(StygigError, match="STYGIG_MAX_QUEUE must be an integer, got 'many'"):
        settings.MAX_QUEUE.read({"STYGIG_MAX_QUEUE": "many"})
    with pytest.raises(StygigError, match="STYGIG_NPROBE must be between 1 and"):
        settings.NPROBE.read({"STYGIG_NPROBE": "0"})
    assert settings.cache_dir({"STYGIG_CACHE_DIR": "/x/c"}) == Path("/x/c")
    assert settings.cache_dir({"XDG_CACHE_HOME": "/x"}) == Path("/x/stygig")
