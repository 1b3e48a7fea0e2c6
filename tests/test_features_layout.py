"""features/ has one job per module and no import cycle, counting function-local imports too
(the old encoders <-> implementations and colour <-> mask cycles were hidden by them)."""

from __future__ import annotations

import ast
from pathlib import Path

import stygig

SRC = Path(stygig.__file__).resolve().parent


def _module_name(path: Path) -> str:
    rel = path.relative_to(SRC.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _imports(path: Path, known: set[str]) -> set[str]:
    """Every stygig module ``path`` imports anywhere in its body (module level or inside functions)."""
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        for name in names:
            if name in known:
                out.add(name)
    return out


def _graph(package: str) -> dict[str, set[str]]:
    files = sorted((SRC.parent / package.replace(".", "/")).rglob("*.py"))
    known = {_module_name(f) for f in files}
    return {_module_name(f): _imports(f, known) - {_module_name(f)} for f in files}


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(n: str) -> list[str] | None:
        state[n] = 1
        stack.append(n)
        for m in sorted(graph.get(n, ())):
            if state.get(m) == 1:
                return stack[stack.index(m):] + [m]
            if m not in state:
                found = visit(m)
                if found:
                    return found
        stack.pop()
        state[n] = 2
        return None

    for n in sorted(graph):
        if n not in state:
            found = visit(n)
            if found:
                return found
    return None


def test_features_has_no_import_cycle():
    graph = _graph("stygig.features")
    assert "stygig.features.colour.mask" in graph and "stygig.features.encoders.registry" in graph
    assert _cycle(graph) is None, " -> ".join(_cycle(graph) or [])


def test_encoder_base_knows_no_implementation():
    graph = _graph("stygig.features")
    assert graph["stygig.features.encoders.base"] <= set(), graph["stygig.features.encoders.base"]
    for impl in ("lite", "precomputed", "clip_onnx"):
        assert f"stygig.features.encoders.{impl}" not in graph["stygig.features.encoders.registry"]
