"""Encoders are found by kind name: built-ins lazily, others registered without editing the base."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from stygig.errors import ArtifactError, StygigError
from stygig.features.encoders import registry
from stygig.features.encoders.base import Encoder, l2_normalise


class _ConstantEncoder(Encoder):
    """A stand-in for a runtime that some other package would provide."""

    kind = "test-constant"
    dim = 4

    def encode_images(self, images):
        return l2_normalise(np.ones((len(images), self.dim), np.float32))

    def save(self, directory):
        return {"kind": self.kind, "dim": self.dim}

    @classmethod
    def load(cls, directory, config):
        return cls()

    @classmethod
    def from_export(cls, directory, precision=None):
        return cls()


def test_builtin_kinds_listed_without_importing_them():
    code = (
        "import sys; from stygig.features.encoders import registry; "
        "print(registry.kinds()); "
        "print([m for m in sys.modules if m.startswith('stygig.features.encoders.') and m.split('.')[-1] not in ('base', 'registry')])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.splitlines()
    assert out[0] == "['clip-onnx', 'lite', 'precomputed']"
    assert out[1] == "[]"  # the base and the registry import no implementation


def test_base_imports_no_implementation():
    code = "import sys, stygig.features.encoders.base; print(sorted(m for m in sys.modules if m.startswith('stygig.features')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "registry" not in out and "lite" not in out and "clip_onnx" not in out


def test_load_by_kind(tmp_path):
    enc = registry.load_encoder(tmp_path, {"kind": "precomputed", "dim": 8, "source": "x"})
    assert enc.kind == "precomputed" and enc.dim == 8
    assert registry.resolve_encoder(None).kind == "lite"


def test_unknown_kind_names_the_known_ones(tmp_path):
    with pytest.raises(ArtifactError, match=r"unknown encoder kind 'nope' \(known: clip-onnx, lite, precomputed"):
        registry.load_encoder(tmp_path, {"kind": "nope"})


def test_a_new_kind_registers_without_editing_the_base(tmp_path, monkeypatch):
    monkeypatch.setattr(registry, "_registered", {})
    registry.register("test-constant", f"{__name__}:_ConstantEncoder")
    assert "test-constant" in registry.kinds()
    enc = registry.load_encoder(tmp_path, {"kind": "test-constant"})
    assert isinstance(enc, _ConstantEncoder)
    assert enc.encode_images([None]).shape == (1, 4)
    # and a build can ask for it to run an export directory
    assert isinstance(registry.resolve_encoder(str(tmp_path), kind="test-constant"), _ConstantEncoder)


def test_registration_checks_what_it_gets(monkeypatch):
    monkeypatch.setattr(registry, "_registered", {})
    with pytest.raises(TypeError):
        registry.register("x", object)  # type: ignore[arg-type]
    registry.register("bad", "stygig.errors:StygigError")
    with pytest.raises(StygigError, match="not an Encoder class"):
        registry.get("bad")
