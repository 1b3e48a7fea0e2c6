"""Files and folders that appear whole: written under a temporary name beside the target, then
renamed into place, so a reader never sees half of one.

The temporary file or folder is created with the mode an ordinary ``open()`` / ``mkdir()`` would
give it (0o666 / 0o777 less the process's umask, applied by the kernel), not the private 0o600 /
0o700 of :func:`tempfile.mkstemp` / :func:`tempfile.mkdtemp`; the rename keeps that mode, so what
appears is what the user's umask says (``-rw-r--r--`` under umask 022), like any file they write.
Every atomic write in StyGig goes through here.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
from pathlib import Path
from typing import BinaryIO, Iterator

_ATTEMPTS = 100


def _beside(target: Path, prefix: str | None) -> Path:
    return target.with_name(f"{prefix or '.' + target.name + '.tmp-'}{secrets.token_hex(6)}")


@contextlib.contextmanager
def open_atomic(path: str | Path, *, prefix: str | None = None) -> Iterator[BinaryIO]:
    """Open a temporary file beside ``path`` for writing; on a clean exit it replaces ``path``.

    On an exception the temporary file is removed and ``path`` is left as it was.
    """
    path = Path(path)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0) | getattr(os, "O_NOFOLLOW", 0)
    for _ in range(_ATTEMPTS):
        tmp = _beside(path, prefix)
        try:
            fd = os.open(tmp, flags, 0o666)  # the umask applies, as for open(path, "wb")
            break
        except FileExistsError:
            continue
    else:  # pragma: no cover - 100 collisions of 48 random bits
        raise FileExistsError(f"no free temporary name beside {path}")
    try:
        with os.fdopen(fd, "wb") as fh:
            yield fh
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_bytes(path: str | Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (see :func:`open_atomic`)."""
    with open_atomic(path) as fh:
        fh.write(data)


def make_temp_dir(parent: str | Path, prefix: str) -> Path:
    """A new, uniquely named folder in ``parent`` with the umask's mode (to be renamed into place)."""
    parent = Path(parent)
    for _ in range(_ATTEMPTS):
        d = parent / f"{prefix}{secrets.token_hex(6)}"
        try:
            os.mkdir(d, 0o777)  # the umask applies, as for mkdir
            return d
        except FileExistsError:
            continue
    raise FileExistsError(f"no free temporary name in {parent}")  # pragma: no cover


def current_umask() -> int:
    """The process's umask, read without changing it (other threads may be creating files)."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)  # no /proc (not Linux, or Linux < 4.7): the classic read-and-restore
    os.umask(mask)
    return mask


def replace_dir(new: Path, target: Path) -> None:
    """Move a finished directory into place; an existing one is swapped out, then removed."""
    if target.exists():
        old = target.with_name(f".{target.name}.old-{os.getpid()}")
        os.replace(target, old)
        os.replace(new, target)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(new, target)


@contextlib.contextmanager
def staged_dir(target: str | Path, label: str) -> Iterator[Path]:
    """A new folder beside ``target`` to fill; on a clean exit it replaces ``target`` (one
    rename), on an exception it is removed and ``target`` is left as it was."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = make_temp_dir(target.parent, f".{target.name}.{label}-")
    try:
        yield tmp
        replace_dir(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
