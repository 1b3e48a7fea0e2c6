"""``model.tar.gz``: the artifact's files at the archive root, as SageMaker unpacks them."""

from __future__ import annotations

import gzip
import io
import tarfile
from pathlib import Path

from stygig.artifact.verify import verify_artifact
from stygig.atomic import open_atomic
from stygig.errors import StygigError


def check_archive_path(archive: Path) -> None:
    if archive.is_dir():
        raise StygigError(f"{archive} is a folder; name the archive file to write (e.g. {archive / 'model.tar.gz'})")


def tar_path(out: Path, tar: bool | str | Path) -> Path | None:
    """Where ``--tar`` writes: beside the artifact, or the path given."""
    if not tar:
        return None
    return out.parent / "model.tar.gz" if tar is True else Path(tar)


def pack_artifact(root: str | Path, out_tar: str | Path, *, extra: dict[str, bytes] | None = None) -> Path:
    """Write ``model.tar.gz`` with the artifact's files at the archive root (as SageMaker wants).

    ``extra`` adds files (archive path -> bytes), e.g. ``code/inference.py`` for the DLC.
    Written to a temporary file and renamed: never a half archive. Byte-identical for the same
    artifact (fixed owners, mtimes and gzip header).
    """
    root = Path(root)
    verify_artifact(root, checksums=False)
    out_tar = Path(out_tar)
    check_archive_path(out_tar)
    out_tar.parent.mkdir(parents=True, exist_ok=True)
    with open_atomic(out_tar) as raw:
        with gzip.GzipFile(filename="", fileobj=raw, mode="wb", mtime=0) as gz, tarfile.open(fileobj=gz, mode="w") as tf:
            for p in sorted(root.rglob("*")):
                if p.is_file():
                    info = tf.gettarinfo(str(p), arcname=p.relative_to(root).as_posix())
                    info.uid = info.gid = 0
                    info.uname = info.gname = ""
                    info.mtime = 0
                    with open(p, "rb") as fh:
                        tf.addfile(info, fh)
            for name, data in sorted((extra or {}).items()):
                info = tarfile.TarInfo(name)
                info.size = len(data)
                info.mode = 0o644
                tf.addfile(info, io.BytesIO(data))
    return out_tar
