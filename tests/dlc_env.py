"""A stand-in for the PyTorch DLC's Python: a fresh venv of this machine's Python holding only what
the DLC ships (:data:`stygig.aws.vendor.DLC_SHIPS`: numpy, Pillow, boto3 and theirs, the SageMaker
inference toolkit), linked from this environment, so nothing else of it (faiss, pydantic, StyGig)
can be imported by accident. Used by tests/test_handler.py and benchmarks/batch.py.

``cut_network()`` is the prefix that runs a command with no network at all: a new network
namespace (``unshare -n``: only a downed loopback) when this machine allows it, else nothing (and
``PIP_INDEX_URL`` pointing at a closed port does the cutting for pip)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from importlib import metadata
from pathlib import Path

from stygig.aws.vendor import DLC_SHIPS

#: where pip would look if it looked: a port nothing listens on
DEAD_INDEX = "http://127.0.0.1:9/simple"


def make_dlc_venv(dest: Path, *, with_pip: bool = False) -> Path:
    """A venv at ``dest`` holding only the DLC's distributions; returns its python."""
    if dest.exists():
        shutil.rmtree(dest)
    args = [sys.executable, "-m", "venv", str(dest)]
    if not with_pip:
        args.append("--without-pip")
    subprocess.run(args, check=True, timeout=300)
    python = dest / "bin" / "python"
    purelib = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                             capture_output=True, text=True, check=True).stdout.strip()
    here = Path(sysconfig.get_paths()["purelib"])
    for name in sorted(DLC_SHIPS):
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            continue  # the DLC has it; this machine does not, and nothing here needs it
        for top in sorted({f.parts[0] for f in (dist.files or []) if f.parts[0] not in ("..", "__pycache__")}):
            src = here / top
            if src.exists():
                os.symlink(src, Path(purelib) / top)
    return python


def cut_network() -> list[str]:
    """A command prefix that runs its command without network, where the machine allows it."""
    unshare = shutil.which("unshare")
    if unshare and subprocess.run([unshare, "-n", "true"], capture_output=True).returncode == 0:
        return [unshare, "-n"]
    return []


def offline_env(**extra: str) -> dict[str, str]:
    """The environment of a container start with no network: pip cannot reach an index."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "PYTHON", "VIRTUAL_ENV"))}
    env.update(PIP_INDEX_URL=DEAD_INDEX, PIP_DISABLE_PIP_VERSION_CHECK="1", PIP_CONFIG_FILE=os.devnull, **extra)
    return env
