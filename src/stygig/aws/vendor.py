"""The serving dependencies the PyTorch DLC lacks, as files for the model archive's ``code/``.

``/opt/ml/model/code`` is on the DLC's ``PYTHONPATH``, so packages unpacked there import without
pip: the endpoint starts with no internet (``EnableNetworkIsolation``, a VPC without a NAT) and
without minutes of ``pip install`` before ``/ping``. The wheels are chosen for the DLC's Python
(py311 for DLC 2.3-2.5.1, py312 for 2.6.0) and platform (manylinux, x86_64), not this machine's:
``pip download --only-binary=:all: --python-version ... --platform ...`` into a wheel cache
(``$STYGIG_WHEEL_CACHE`` or ``~/.cache/stygig/wheels``; tried offline first, so a filled cache
packages with no network), then unpacked with :mod:`installer` (PyPA's wheel installer) as
``pip install --target`` would lay them out. Distributions the DLC already ships
(:data:`DLC_SHIPS`: numpy, Pillow, boto3 and theirs, the SageMaker toolkit) are left to it.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

from stygig.errors import StygigError

#: what the AWS PyTorch inference DLC ships (and the inference toolkit with its dependencies)
DLC_SHIPS = frozenset({
    "numpy", "pillow", "boto3", "botocore", "s3transfer", "jmespath", "urllib3", "python-dateutil", "six",
    "sagemaker-inference", "psutil", "retrying", "scipy",
})
#: the DLCs run on x86_64 glibc Linux (Ubuntu 20.04 / 22.04): manylinux wheels up to glibc 2.28
PLATFORMS = ("manylinux_2_28_x86_64", "manylinux_2_27_x86_64", "manylinux_2_17_x86_64", "manylinux2014_x86_64")
PLATFORM_NAME = "manylinux x86_64"
#: one pip call may take this long (a cold cache downloads ~60 MB)
PIP_TIMEOUT_S = 600


@dataclass
class Vendored:
    """Files for ``code/`` (archive path -> bytes), what they hold, and what could not be had."""

    python: str  # "3.12"
    files: dict[str, bytes] = field(default_factory=dict)
    #: "name==version" of every distribution unpacked
    distributions: list[str] = field(default_factory=list)
    #: requirements no wheel was found for (they stay in code/requirements.txt), and why
    missing: list[str] = field(default_factory=list)
    reason: str = ""

    @property
    def tag(self) -> str:
        return "cp" + self.python.replace(".", "")

    @property
    def unpacked_bytes(self) -> int:
        return sum(len(b) for b in self.files.values())


def python_of(tag: str) -> str:
    """``"py312"`` -> ``"3.12"``."""
    m = re.fullmatch(r"py(\d)(\d+)", tag)
    if not m:
        raise ValueError(f"not a Python tag: {tag!r}")
    return f"{m.group(1)}.{m.group(2)}"


def wheel_cache() -> Path:
    from stygig import settings

    return settings.wheel_cache()


def normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def vendor(requirements: Sequence[str], python: str, *, cache: Path | None = None) -> Vendored:
    """Download (or take from the cache) wheels of ``requirements`` and their dependencies for
    CPython ``python`` on manylinux x86_64, and unpack them as ``code/`` files."""
    result = Vendored(python=python)
    if not requirements:
        return result
    cache = (cache or wheel_cache()) / f"cp{python.replace('.', '')}-manylinux_x86_64"
    cache.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="stygig-wheels-") as tmp:
        wheels_dir = Path(tmp) / "wheels"
        ok, why = _download(list(requirements), python, cache, wheels_dir)
        if not ok:  # find the ones that cannot be had; vendor the rest
            shutil.rmtree(wheels_dir, ignore_errors=True)
            good = []
            for req in requirements:
                one_ok, one_why = _download([req], python, cache, Path(tmp) / "probe")
                shutil.rmtree(Path(tmp) / "probe", ignore_errors=True)
                if one_ok:
                    good.append(req)
                else:
                    result.missing.append(req)
                    result.reason = one_why
            if good:
                ok, why = _download(good, python, cache, wheels_dir)
                if not ok:  # pragma: no cover - each alone resolved, together they conflict
                    result.missing, result.reason = list(requirements), why
                    return result
        wheels = sorted(wheels_dir.glob("*.whl")) if wheels_dir.is_dir() else []
        staging = Path(tmp) / "code"
        for whl in wheels:
            if not (cache / whl.name).exists():  # kept for the next time (and offline packaging)
                _copy(whl, cache / whl.name)
            name, version = whl.name.split("-")[:2]
            if normalise(name) in DLC_SHIPS:
                continue
            _unpack(whl, staging, Path(tmp) / "unused")
            result.distributions.append(f"{normalise(name)}=={version}")
        if staging.is_dir():
            for p in sorted(staging.rglob("*")):
                if p.is_file() and "__pycache__" not in p.parts:
                    result.files["code/" + p.relative_to(staging).as_posix()] = p.read_bytes()
    return result


def _download(requirements: list[str], python: str, cache: Path, dest: Path) -> tuple[bool, str]:
    """``pip download`` for the target: from the cache alone first, then from the index."""
    base = [sys.executable, "-m", "pip", "download", "--disable-pip-version-check", "--quiet", "--only-binary=:all:",
            "--implementation", "cp", "--python-version", python, *(a for p in PLATFORMS for a in ("--platform", p)),
            "--dest", str(dest), "--find-links", str(cache)]
    why = ""
    for extra in (["--no-index"], []):
        try:
            r = subprocess.run([*base, *extra, *requirements], capture_output=True, text=True, timeout=PIP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            return False, f"pip download took over {PIP_TIMEOUT_S} s"
        if r.returncode == 0:
            return True, ""
        errors = [l.strip() for l in r.stderr.splitlines() if l.strip().startswith("ERROR")]
        why = errors[0] if errors else (r.stderr.strip().splitlines() or ["pip download failed"])[-1]
    return False, why


def _unpack(wheel: Path, target: Path, elsewhere: Path) -> None:
    """Lay a wheel out in ``target`` as ``pip install --target`` does (scripts and data elsewhere)."""
    try:
        from installer import install
        from installer.destinations import SchemeDictionaryDestination
        from installer.sources import WheelFile
    except ImportError:
        raise StygigError(
            "vendoring the DLC's dependencies needs the 'installer' package (pip install 'installer>=1.0,<2'); "
            "or package with --no-vendor"
        ) from None

    scheme = {"purelib": str(target), "platlib": str(target), "headers": str(elsewhere / "include"),
              "scripts": str(elsewhere / "bin"), "data": str(elsewhere / "data")}
    dest = SchemeDictionaryDestination(scheme, interpreter="/usr/bin/python3", script_kind="posix")
    with WheelFile.open(wheel) as source:
        install(source, dest, {"INSTALLER": b"stygig\n"})


def _copy(src: Path, dst: Path) -> None:
    from stygig.atomic import write_bytes

    write_bytes(dst, src.read_bytes())

