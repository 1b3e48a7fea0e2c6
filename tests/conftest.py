"""Shared fixtures: a small generated sample catalog and artifacts built from it.

Everything is generated (no stored binaries, no network) and session-scoped so that the suite
builds each thing once.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

os.environ.setdefault("OMP_NUM_THREADS", "1")
# checksum-verification memo (see stygig.artifact.verify_artifact) kept out of ~/.cache
os.environ.setdefault("STYGIG_CACHE_DIR", tempfile.mkdtemp(prefix="stygig-test-cache-"))

#: items per category in the shared sample catalog
PER_CATEGORY = 6


def sample_items() -> int:
    """How many items the shared sample catalog holds: PER_CATEGORY of each default category."""
    from stygig.taxonomy import Taxonomy

    return len(Taxonomy.default().categories) * PER_CATEGORY


@pytest.fixture(scope="session")
def sample_catalog(tmp_path_factory) -> Path:
    from stygig.catalog.sample import generate_sample_catalog

    out = tmp_path_factory.mktemp("catalog") / "sample"
    generate_sample_catalog(out, n=sample_items(), seed=7)
    return out


@pytest.fixture(scope="session")
def lite_artifact(sample_catalog, tmp_path_factory) -> Path:
    from stygig.build import build_artifact

    out = tmp_path_factory.mktemp("artifacts") / "lite"
    build_artifact(sample_catalog, out, encoder="lite")
    return out


@pytest.fixture(scope="session")
def full_catalog(tmp_path_factory) -> Path:
    """The default sample catalog (30 items per category), for accuracy and end-to-end rule checks."""
    from stygig.catalog.sample import generate_sample_catalog

    out = tmp_path_factory.mktemp("catalog-full") / "sample"
    generate_sample_catalog(out)
    return out


@pytest.fixture(scope="session")
def full_artifact(full_catalog, tmp_path_factory) -> Path:
    from stygig.build import build_artifact

    out = tmp_path_factory.mktemp("artifacts-full") / "lite"
    build_artifact(full_catalog, out, encoder="lite")
    return out
