"""Shared set-up for the CLIP benchmarks: a ViT-B-32 with random weights, its export, artifacts.

No CLIP weights can be downloaded on these machines, so the benchmarks build the *full* ViT-B-32
architecture (open_clip's own configuration: 88 M image-tower and 63 M text-tower parameters)
with seeded random weights. Timings, sizes and memory are those of the real model; retrieval
quality figures are not (random weights do not know what a shirt is).

Everything is cached under a work directory (``--workdir``, default ``$TMPDIR/stygig-bench``) and
rebuilt only when missing:

    vitb32_random.pt     the random state dict (what the naive path passes as pretrained=)
    export/              stygig export-clip of exactly those weights (fp32 + int8)
    catalog/             a 420-item sample catalog (21 per category)
    artifact-int8/, artifact-fp32/   stygig build --encoder export/ --precision ...
    query.jpg            a 1000x1000 JPEG query (a catalog picture scaled up)
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RANDOM_NOTE = (
    "NOTE: full ViT-B-32 architecture with RANDOM weights (no weights can be downloaded here): "
    "timings, sizes and memory are the real model's; quality figures are not."
)
SEED = 0


def default_workdir() -> Path:
    return Path(os.environ.get("STYGIG_BENCH_DIR") or Path(tempfile.gettempdir()) / "stygig-bench")


@contextlib.contextmanager
def work_folder(given: Path | None, prefix: str):
    """The benchmark's work folder: ``given`` (made if missing, kept), else a temporary one removed
    at the end, even when the benchmark fails."""
    work = given or Path(tempfile.mkdtemp(prefix=prefix))
    work.mkdir(parents=True, exist_ok=True)
    try:
        yield work
    finally:
        if given is None:
            shutil.rmtree(work, ignore_errors=True)


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def random_weights(work: Path) -> Path:
    """Save a seeded random ViT-B-32 state dict (torch.save of tensors only; loaded weights_only)."""
    path = work / "vitb32_random.pt"
    if path.is_file():
        return path
    log("creating a random-weights ViT-B-32 state dict")
    import open_clip
    import torch

    torch.manual_seed(SEED)
    model = open_clip.create_model("ViT-B-32", pretrained=None)
    tmp = path.with_suffix(".tmp")
    torch.save(model.state_dict(), tmp)
    os.replace(tmp, path)
    return path


def clip_export(work: Path) -> Path:
    out = work / "export"
    if (out / "export.json").is_file():
        return out
    weights = random_weights(work)
    log("exporting ViT-B-32 (random weights) with stygig export-clip ...")
    r = subprocess.run(
        [sys.executable, "-m", "stygig.cli", "export-clip", "--model", "ViT-B-32", "--pretrained", str(weights),
         "--precision", "fp32,int8", "-o", str(out), "--force"],
        stdout=subprocess.PIPE, text=True,
    )
    if r.returncode != 0:
        raise SystemExit("export-clip failed")
    return out


def sample_catalog(work: Path, n: int = 420) -> Path:
    out = work / f"catalog-{n}"
    if (out / "manifest.jsonl").is_file():
        return out
    log(f"generating the sample catalog ({n} items)")
    from stygig.catalog.sample import generate_sample_catalog

    generate_sample_catalog(out, n=n, seed=SEED)
    return out


def artifact(work: Path, precision: str, catalog: Path | None = None) -> Path:
    out = work / f"artifact-{precision}"
    if (out / "manifest.json").is_file():
        return out
    export = clip_export(work)
    catalog = catalog or sample_catalog(work)
    log(f"building the {precision} artifact")
    from stygig.build import build_artifact

    build_artifact(catalog, out, encoder=str(export), precision=precision)
    return out


def query_jpeg(work: Path, catalog: Path | None = None) -> Path:
    """A 1000x1000 JPEG: a catalog picture scaled up (a realistic photo-sized upload)."""
    path = work / "query.jpg"
    if path.is_file():
        return path
    from PIL import Image

    catalog = catalog or sample_catalog(work)
    rows = [json.loads(l) for l in (catalog / "manifest.jsonl").read_text().splitlines() if l]
    shirt = next(r for r in rows if r.get("category") == "shirt")
    src = catalog / shirt["image"]
    with Image.open(src) as img:
        big = img.convert("RGB").resize((1000, 1000), Image.Resampling.BICUBIC)
    big.save(path, "JPEG", quality=90)
    return path


def median(xs):
    return statistics.median(xs)


def percentile(xs, q: float) -> float:
    xs = sorted(xs)
    if not xs:
        return float("nan")
    k = (len(xs) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (k - lo)


def machine() -> str:
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover
        cpus = os.cpu_count()
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    return (
        f"{cpus} CPUs, OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}, load average {load}, "
        f"cores available to this process now ~{available_cores(cpus):.1f}"
    )


def available_cores(n_threads: int = 2) -> float:
    """How many cores this process actually gets right now (other processes share the machine):
    the speed-up of ``n_threads`` threads hashing (hashlib releases the GIL) over one."""
    import hashlib
    import threading

    data = b"\x5a" * (48 << 20)

    def work():
        hashlib.sha256(data).digest()

    t = time.perf_counter()
    work()
    one = time.perf_counter() - t
    threads = [threading.Thread(target=work) for _ in range(n_threads)]
    t = time.perf_counter()
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    return n_threads * one / (time.perf_counter() - t)


def now() -> float:
    return time.time()


# ---- a server's processes (arbiter + workers), from /proc ----------------------------------------
def process_tree(pid: int) -> list[int]:
    """The process and its direct children (gunicorn's arbiter and its workers)."""
    pids = [pid]
    try:
        for task in Path(f"/proc/{pid}/task").iterdir():
            pids += [int(p) for p in (task / "children").read_text().split()]
    except OSError:
        pass
    return pids


def rss_kib(pid: int) -> int:
    """Resident memory of the process and its children, in KiB."""
    total = 0
    for p in process_tree(pid):
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total


def open_fds(pid: int) -> dict[int, int]:
    """Open file descriptors of the process and each child."""
    out = {}
    for p in process_tree(pid):
        try:
            out[p] = len(os.listdir(f"/proc/{p}/fd"))
        except OSError:
            pass
    return out
