"""The package's layout keeps its one-way dependencies: serving never imports the CLI, the CLI's
core commands do not import serving, and the DLC packager, the client and the demo are not in
serving/ (issue 15.5)."""

from __future__ import annotations

import pkgutil
import subprocess
import sys
from pathlib import Path

import stygig

SRC = Path(stygig.__file__).resolve().parent


def _imported_by(module: str) -> set[str]:
    code = f"import sys, {module}; print('\\n'.join(m for m in sys.modules if m.startswith('stygig')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True).stdout
    return set(out.split())


def test_serving_never_imports_the_cli():
    import stygig.serving

    for info in pkgutil.iter_modules(stygig.serving.__path__, "stygig.serving."):
        loaded = _imported_by(info.name)
        assert not {m for m in loaded if m == "stygig.cli" or m.startswith("stygig.cli.")}, info.name
    for path in (SRC / "serving").rglob("*.py"):
        assert "stygig.cli" not in path.read_text(encoding="utf-8"), path


def test_the_core_commands_do_not_import_serving():
    assert not {m for m in _imported_by("stygig.cli.core") if m.startswith("stygig.serving")}


def test_what_is_not_serving_lives_elsewhere():
    assert {p.name for p in (SRC / "serving").glob("*.py")}.isdisjoint({"commands.py", "client.py", "demo.py", "package.py"})
    assert (SRC / "aws" / "package.py").is_file() and (SRC / "client" / "runtime.py").is_file()
    assert (SRC / "cli" / "demo.py").is_file() and not (SRC / "commands.py").exists()
    assert not (SRC / "aws" / "sagemaker.py").exists() and (SRC / "aws" / "config").is_dir()


def test_answering_a_query_imports_no_pydantic(lite_artifact):
    """The engine's path (recommend, batch workers, a worker's model load) reads the request's
    declarations in stygig.schema; the response's pydantic models (stygig.response) are the serving
    app's: importing pydantic and building its models cost about 0.2 s of every cold start."""
    code = ("import sys; from stygig.recommend.engine import Recommender; from stygig.recommend.query import Query; "
            f"Recommender.load({str(lite_artifact)!r}).recommend(Query(item_id='shirt-0000')); "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('pydantic', 'pydantic_core', 'fastapi')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True).stdout
    assert out.strip() == "[]"
