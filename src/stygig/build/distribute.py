"""How a build's work is spread, by name (as clip-retrieval names its distribution strategies):

* ``threads`` — one process; pictures are read and featurized by a pool of worker threads ahead
  of the encoder (:func:`featurize_stream`), at a lower priority than the encoder's own threads;
* ``shards`` — N independent builds (``stygig build --shard I/N``), each of the items whose
  stable id hash falls in its shard (:func:`shard_of`), combined by ``stygig merge``
  (:func:`stygig.build.merge.merge_artifacts`) into what one build would have written;
* ``sagemaker`` — ``shards`` on the instances of a SageMaker training job: host *i* of N builds
  shard *i*, the first host merges (:mod:`stygig.aws.train_entry`).

A partition (a shard) is the unit of work; every strategy ends in the same artifact.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, Iterator, Sequence, TypeVar

from stygig.errors import StygigError

T = TypeVar("T")

#: the strategies, by name, and what each does
DISTRIBUTIONS = {
    "threads": "one process, featurize threads ahead of the encoder",
    "shards": "build --shard I/N in separate processes or machines, then merge",
    "sagemaker": "shards on a SageMaker training job's instances; the first host merges",
}


def default_workers() -> int:
    """Featurize threads when not told: the cores, at most 4."""
    return max(1, min(4, os.cpu_count() or 1))


# ---- shards ------------------------------------------------------------------------------------
def shard_of(item_id: str, n_shards: int) -> int:
    """Stable shard assignment by item id (independent of catalog order and Python's hash seed)."""
    return int.from_bytes(hashlib.sha1(item_id.encode("utf-8")).digest()[:8], "big") % n_shards


def select_shard(items: list, shard: tuple[int, int] | None) -> list:
    """The items (with an ``id``) of shard ``I/N``; all of them when ``shard`` is None."""
    if shard is None:
        return items
    i, n = shard
    if not (n >= 1 and 0 <= i < n):
        raise StygigError(f"--shard must be I/N with 0 <= I < N, got {i}/{n}")
    return [it for it in items if shard_of(it.id, n) == i]


# ---- threads -----------------------------------------------------------------------------------
def _lower_thread_priority() -> None:
    """Decode threads yield the CPU to the encoder's threads (Linux applies nice per thread).

    The encoder splits each batch across every core; a decode thread that takes one of them
    stalls the whole batch until it is descheduled. At a lower priority the decoders fill the
    encoder's idle moments instead; the prefetch window keeps enough decoded ahead.
    """
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 10)
    except (AttributeError, OSError):  # not Linux, or not allowed: only slower
        pass


def featurize_pool(workers: int) -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=workers, initializer=_lower_thread_priority)


def prefetch(pool: ThreadPoolExecutor, fn: Callable[..., T], items: Sequence, window: int) -> Iterator[T]:
    """``map`` with at most ``window`` results in flight: workers run ahead of the consumer."""
    pending: deque = deque()
    it = iter(items)
    for x in it:
        pending.append(pool.submit(fn, x))
        if len(pending) >= window:
            break
    while pending:
        fut = pending.popleft()
        nxt = next(it, None)
        if nxt is not None:
            pending.append(pool.submit(fn, nxt))
        yield fut.result()
