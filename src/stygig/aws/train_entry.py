"""The SageMaker training job's entry point: ``stygig build`` on one or many instances.

SageMaker starts it in the StyGig image (``python -m stygig.aws.train_entry``, see
:data:`stygig.aws.requests.TRAIN_ENTRYPOINT`). It reads the job's layout from the ``SM_*``
environment when present (``SM_CURRENT_HOST``, ``SM_HOSTS``, ``SM_CHANNEL_CATALOG``,
``SM_CHANNEL_ENCODER``, ``SM_MODEL_DIR``, ``SM_OUTPUT_DATA_DIR``, ``SM_HPS``) and otherwise from
the files SageMaker writes under ``/opt/ml/input/config`` (``resourceconfig.json``,
``hyperparameters.json``).

* One host: build the catalog straight into the model directory.
* N hosts: host *i* builds its shard - for a manifest catalog the items with
  ``shard_of(id, N) == i`` (read from S3 directly), for a folder catalog the files SageMaker gave it
  (``ShardedByS3Key``) - and uploads it (one tar) under ``shard_exchange``, then a ``.done`` marker.
  The first host (sorted ``SM_HOSTS``) waits for every marker (bounded), downloads the shards and
  merges them (:func:`stygig.build.merge_artifacts`) into the model directory. Only that host
  writes the model directory, which SageMaker archives as the job's ``model.tar.gz``.

The model directory holds the artifact laid out as ``stygig package`` lays it out (the artifact and
``code/`` for the DLC handler), so ``deploy --model-uri`` takes the job's output as it is.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping

from stygig import settings
from stygig.errors import StygigError

log = logging.getLogger("stygig.train")

CONFIG_DIR = Path("/opt/ml/input/config")


@dataclass
class JobEnv:
    current_host: str
    hosts: list[str]
    model_dir: Path
    output_dir: Path
    catalog_channel: Path | None
    encoder_channel: Path | None
    hyperparameters: dict[str, str]

    @property
    def index(self) -> int:
        return self.hosts.index(self.current_host)

    @property
    def n(self) -> int:
        return len(self.hosts)

    @property
    def leader(self) -> bool:
        return self.index == 0


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None


def job_env(environ: Mapping[str, str] | None = None, config_dir: Path = CONFIG_DIR) -> JobEnv:
    e = os.environ if environ is None else environ
    resource = _read_json(config_dir / "resourceconfig.json") or {}
    hosts_raw = settings.SM_HOSTS.raw(e)
    hosts = json.loads(hosts_raw) if hosts_raw else resource.get("hosts") or ["algo-1"]
    current = settings.SM_CURRENT_HOST.raw(e) or resource.get("current_host") or hosts[0]
    hosts = sorted(hosts)
    if current not in hosts:
        raise StygigError(f"SM_CURRENT_HOST {current!r} is not in SM_HOSTS {hosts}")
    if settings.SM_HPS.is_set(e):
        hp = json.loads(settings.SM_HPS.raw(e))
    else:
        hp = _read_json(config_dir / "hyperparameters.json") or {}
    hp = {str(k): str(v) for k, v in hp.items()}
    data = Path("/opt/ml/input/data")

    def channel(name: str) -> Path | None:
        v = settings.sm_channel(name).read(e)
        if v is not None:
            return v
        p = data / name
        return p if p.is_dir() else None

    return JobEnv(
        current_host=current,
        hosts=hosts,
        model_dir=settings.SM_MODEL_DIR.read(e),
        output_dir=settings.SM_OUTPUT_DATA_DIR.read(e),
        catalog_channel=channel("catalog"),
        encoder_channel=channel("encoder"),
        hyperparameters=hp,
    )


def _catalog(env: JobEnv) -> str:
    kind = env.hyperparameters.get("catalog_kind", "manifest" if "catalog" in env.hyperparameters else "folders")
    if kind == "manifest":
        uri = env.hyperparameters.get("catalog")
        if not uri:
            raise StygigError("hyperparameter 'catalog' (the manifest's s3:// URI) is missing")
        return uri
    if env.catalog_channel is None:
        raise StygigError("no 'catalog' input channel (SM_CHANNEL_CATALOG)")
    return str(env.catalog_channel)


def _encoder(env: JobEnv) -> str:
    enc = env.hyperparameters.get("encoder", "lite")
    if enc == "channel":
        if env.encoder_channel is None:
            raise StygigError("hyperparameter encoder=channel but no 'encoder' input channel (SM_CHANNEL_ENCODER)")
        return str(env.encoder_channel)
    return enc


def build_shard(env: JobEnv, out: Path) -> int:
    """Build this host's part of the catalog into ``out``; returns its item count (0: empty shard)."""
    from stygig.build import build_artifact

    catalog = _catalog(env)
    kind = env.hyperparameters.get("catalog_kind", "manifest" if "catalog" in env.hyperparameters else "folders")
    # folder catalogs arrive already sharded by S3 key; manifests are sharded by item id here
    shard = (env.index, env.n) if env.n > 1 and kind == "manifest" else None
    if shard is None and env.n > 1 and not any(p.is_file() for p in Path(catalog).rglob("*")):
        return 0
    try:
        summary = build_artifact(
            catalog,
            out,
            encoder=_encoder(env),
            precision=env.hyperparameters.get("precision") or None,
            shard=shard,
            progress=False,
        )
    except StygigError as e:
        if env.n > 1 and "has no items" in e.message:
            return 0
        raise
    return int(summary.n_items)


def _shard_archive(exchange: str, i: int) -> str:
    return f"{exchange.rstrip('/')}/shard-{i:03d}.tar"


def _done_marker(exchange: str, i: int) -> str:
    return f"{exchange.rstrip('/')}/shard-{i:03d}.done"


def publish_shard(env: JobEnv, shard_dir: Path, n_items: int) -> None:
    """Upload this host's shard as one tar (empty folders such as a lite ``encoder/`` survive),
    then the ``.done`` marker, last, so the leader never sees half a shard."""
    import tarfile

    from stygig import s3io

    exchange = env.hyperparameters["shard_exchange"]
    if n_items:
        archive = shard_dir.parent / f"{shard_dir.name}.tar"
        with tarfile.open(archive, "w") as tf:
            tf.add(shard_dir, arcname=".")
        s3io.upload_file(archive, _shard_archive(exchange, env.index))
        archive.unlink()
    marker = {"host": env.current_host, "index": env.index, "items": n_items}
    s3io.write_s3_bytes(_done_marker(exchange, env.index), json.dumps(marker).encode(), content_type="application/json")


def collect_shards(
    env: JobEnv,
    workdir: Path,
    *,
    timeout: float,
    interval: float = 10.0,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> list[Path]:
    """Leader: wait (bounded) for every host's marker, then fetch and unpack the non-empty shards."""
    import tarfile

    from stygig import s3io

    exchange = env.hyperparameters["shard_exchange"]
    start = clock()
    markers: dict[int, dict[str, Any]] = {}
    while True:
        for i in range(env.n):
            if i not in markers and s3io.exists(_done_marker(exchange, i)):
                data = s3io.read_s3_bytes(_done_marker(exchange, i), allowed_buckets=None, max_bytes=1 << 16)
                markers[i] = json.loads(data)
                log.info("shard %d/%d ready (%s items)", i, env.n, markers[i].get("items"))
        if len(markers) == env.n:
            break
        waited = clock() - start
        if waited + interval > timeout:
            missing = sorted(set(range(env.n)) - set(markers))
            raise StygigError(f"shards {missing} not ready after {int(waited)} s; check those hosts' logs")
        sleep(interval)
    dirs = []
    for i in range(env.n):
        if markers[i].get("items", 0):
            d = workdir / f"shard-{i:03d}"
            archive = s3io.download_file(_shard_archive(exchange, i), workdir / f"shard-{i:03d}.tar")
            with tarfile.open(archive, "r") as tf:
                tf.extractall(d, filter="data")
            archive.unlink()
            dirs.append(d)
    if not dirs:
        raise StygigError("every shard is empty: the catalog has no usable items")
    return dirs


def install_model(artifact: Path, model_dir: Path) -> None:
    """Lay the artifact out in the model directory exactly as ``stygig package`` would.

    The serving package (artifact + ``code/`` for the DLC handler) is written with the same
    function ``stygig package`` uses and unpacked here; SageMaker tars the directory again as the
    job's ``model.tar.gz``, so the job's output deploys on the DLC or the StyGig image alike.
    """
    import tarfile

    from stygig.aws.package import package_artifact

    model_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="stygig-package-") as tmp:
        archive = package_artifact(artifact, Path(tmp) / "model.tar.gz")
        with tarfile.open(archive, "r:gz") as tf:
            tf.extractall(model_dir, filter="data")


def run(env: JobEnv, *, shard_timeout: float | None = None, sleep: Callable[[float], None] = time.sleep) -> Path | None:
    """Run this host's part of the job. Returns the model directory on the host that wrote it."""
    env.output_dir.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="stygig-train-", dir=env.output_dir))
    try:
        if env.n == 1:
            build_shard(env, work / "artifact")
            install_model(work / "artifact", env.model_dir)
            return env.model_dir
        if "shard_exchange" not in env.hyperparameters:
            raise StygigError("hyperparameter 'shard_exchange' (an s3:// prefix) is needed with more than one host")
        shard_dir = work / "shard"
        n_items = build_shard(env, shard_dir)
        log.info("host %s (%d/%d): %d items", env.current_host, env.index, env.n, n_items)
        publish_shard(env, shard_dir, n_items)
        if not env.leader:
            return None
        timeout = shard_timeout if shard_timeout is not None else float(env.hyperparameters.get("shard_wait_seconds", 7200))
        interval = float(env.hyperparameters.get("shard_poll_seconds", 10))
        dirs = collect_shards(env, work / "shards", timeout=timeout, interval=interval, sleep=sleep)
        from stygig.build import merge_artifacts

        merge_artifacts(dirs, work / "merged")
        install_model(work / "merged", env.model_dir)
        return env.model_dir
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m stygig.aws.train_entry", description=__doc__.split("\n")[0])
    parser.add_argument("args", nargs="*", help="ignored (SageMaker passes 'train')")
    parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    env = job_env()
    try:
        out = run(env)
    except StygigError as e:
        # SageMaker shows /opt/ml/output/failure as the job's FailureReason
        _write_failure(f"stygig: {e.message}")
        print(f"stygig: error: {e.message}", file=sys.stderr)
        return 2
    except Exception as e:  # noqa: BLE001 - recorded for FailureReason, then re-raised
        _write_failure(f"{type(e).__name__}: {e}")
        raise
    log.info("done: %s", out if out else "shard published")
    return 0


def _write_failure(message: str) -> None:
    try:
        path = settings.SM_OUTPUT_DIR.read() / "failure"
        if path.parent.is_dir():
            path.write_text(message[:1000] + "\n", encoding="utf-8")
    except OSError:
        pass


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
