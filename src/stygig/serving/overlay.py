"""The live overlay while serving (issue 14.5): ``STYGIG_OVERLAY`` re-read when it changes.

Each worker process watches on its own: a daemon thread looks every ``STYGIG_OVERLAY_SECONDS``
(default 30) at the overlay's version — a file's modification time, size and inode, an S3
object's ETag — and when it changed reads it, checks it and applies it against the artifact
(:func:`stygig.artifact.overlay.apply_overlay`), builds the filters and boost ranks the old state
had cached ahead, and swaps the whole new :class:`~stygig.recommend.attribute_state.AttributeState` in by
one reference assignment. Requests running meanwhile finish on the state they started with; no
request waits for the swap or fails because of it.

A refused overlay (bad JSON, an unknown id, a wrongly typed value, an unreadable file or object)
is one ``overlay_refused`` log line per version seen, and the last good overlay stays (at start:
the artifact's own attributes). The first look happens while the model loads, before ``/ping``
says 200. An ``s3://`` overlay must be in a bucket of ``STYGIG_ALLOWED_S3_BUCKETS``: a config
error that stops ``serve`` at start (:func:`check_source`).

Write a local overlay to a temporary file and rename it over the old one, so that a look never
reads half a file.
"""

from __future__ import annotations

import gc
import logging
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from stygig import s3io, settings
from stygig.artifact.overlay import MAX_OVERLAY_BYTES, OverlayError, apply_overlay
from stygig.errors import StygigError
from stygig.artifact.attributes import NUMBER
from stygig.recommend import boost
from stygig.recommend.attribute_state import AttributeState
from stygig.serving import logs

if TYPE_CHECKING:  # pragma: no cover
    from stygig.recommend.engine import Recommender


def check_source(source: str, allowed_buckets: frozenset[str] | set[str]) -> None:
    """A usable ``STYGIG_OVERLAY``: an s3:// URI naming an object in an allowed bucket, or a path."""
    if not source.startswith("s3://"):
        return
    bucket, key = s3io.parse_s3_uri(source)
    if not key or key.endswith("/"):
        raise StygigError(f"{settings.OVERLAY.name} {source[:200]} names no object", code="config_error")
    if bucket not in allowed_buckets:
        raise StygigError(
            f"{settings.OVERLAY.name} {source[:200]}: bucket {bucket!r} is not in {settings.ALLOWED_S3_BUCKETS.name} "
            "(the allow-list covers the overlay too)",
            code="config_error",
        )


#: the overlay thread works at most this long at a stretch, then steps aside for PAUSE_S: a request
#: thread waiting for the interpreter takes it then (a sleep of 0 mostly does not hand it over),
#: instead of after Python's 5 ms switch interval. While a request is running it works BUSY_WORK_S
#: in BUSY_WORK_S + BUSY_PAUSE_S (a sixth): a request releases the interpreter at every search and
#: every larger numpy call, and each time the overlay thread may take it for a whole stretch. On
#: a quiet 2-core machine (benchmarks/overlay.py, 1 M items, 100 k rows) 2 ms in 2.5 ms put the
#: p99 of requests during a swap at 2.9x the steady p99; 0.3 ms in 1.8 ms at 1.6x, the apply
#: taking 2.1 s under requests (0.66 s with none)
WORK_S = 0.002
PAUSE_S = 0.0005
BUSY_WORK_S = 0.0003
BUSY_PAUSE_S = 0.0015


class _Pacer:
    """The ``pause`` handed to :func:`apply_overlay`: called often, sleeps once per stretch of
    work; ``busy()`` says whether a request is running (shorter stretches, longer pauses)."""

    def __init__(self, busy: Callable[[], bool] = lambda: False) -> None:
        self.busy = busy
        self.last = time.perf_counter()

    def __call__(self) -> None:
        busy = self.busy()
        if time.perf_counter() - self.last >= (BUSY_WORK_S if busy else WORK_S):
            time.sleep(BUSY_PAUSE_S if busy else PAUSE_S)
            self.last = time.perf_counter()


def _iso(t: float | None) -> str | None:
    return None if t is None else time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


class OverlayWatcher:
    """One worker's watch over one overlay source, applying it to ``recommender``."""

    def __init__(self, recommender: "Recommender", source: str, every_s: float, allowed_buckets: frozenset[str]):
        self.recommender = recommender
        self.source = source
        self.every_s = float(every_s)
        self.allowed_buckets = frozenset(allowed_buckets)
        #: the artifact's own attributes: every overlay applies over these, never over another overlay
        self.base = recommender.attribute_state
        self.version: str | None = None  # of the overlay applied
        self.seen: str | None = None  # the last version looked at (applied or refused)
        self.checked: float | None = None
        self.refused: dict[str, Any] | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # ---- one look --------------------------------------------------------------------------
    def _version(self) -> tuple[str, float | None]:
        """The source's version and modification time (epoch seconds); raises StygigError."""
        if self.source.startswith("s3://"):
            head = s3io.head_s3(self.source, allowed_buckets=self.allowed_buckets)
            modified = head.get("LastModified")
            return str(head.get("ETag")), modified.timestamp() if modified is not None else None
        try:
            st = Path(self.source).stat()
        except FileNotFoundError:
            raise OverlayError(f"overlay {self.source}: no such file") from None
        except OSError as e:
            raise OverlayError(f"overlay {self.source}: {e.strerror}") from None
        return f"{st.st_mtime_ns}:{st.st_size}:{st.st_ino}", st.st_mtime

    def _read(self) -> bytes:
        if self.source.startswith("s3://"):
            return s3io.read_s3_bytes(self.source, allowed_buckets=self.allowed_buckets, max_bytes=MAX_OVERLAY_BYTES)
        try:
            with open(self.source, "rb") as fh:
                data = fh.read(MAX_OVERLAY_BYTES + 1)
        except OSError as e:
            raise OverlayError(f"overlay {self.source}: {e.strerror}") from None
        if len(data) > MAX_OVERLAY_BYTES:
            raise OverlayError(f"overlay {self.source} is over the {MAX_OVERLAY_BYTES}-byte limit")
        return data

    def check(self) -> bool:
        """Look once; apply the overlay if it changed. True when a new overlay was swapped in."""
        self.checked = time.time()
        version = None
        try:
            version, modified = self._version()
            if version == self.seen:
                return False
            t0 = time.perf_counter()
            state = self.build(self._read(), version, modified)
            seconds = time.perf_counter() - t0
        except OverlayError as e:  # this version is refused until it changes
            self._refuse(version or e.message, e.message)
            return False
        except StygigError as e:  # S3 unreachable, the object unreadable: looked at again next time
            self._refuse(e.message, e.message)
            return False
        except Exception as e:  # noqa: BLE001 - a fault of ours must not stop the watch
            message = f"{type(e).__name__}: {e}".splitlines()[0]
            self._refuse(message, message)
            return False
        self.recommender.swap_attributes(state)
        self.version = self.seen = version
        self.refused = None
        logs.event(logs.LOG, logging.INFO, "overlay_applied", source=self.source, version=version,
                   rows=state.overlay["rows"], attributes=list(state.overlay["attributes"]), seconds=round(seconds, 3))
        return True

    def build(self, data: bytes, version: str | None = None, modified: float | None = None) -> AttributeState:
        """The attribute state of overlay ``data`` over the artifact's, its recent filters built ahead."""
        rec = self.recommender
        # no cyclic garbage collection while the overlay's objects are made (they are freed by
        # reference counting): a full collection triggered here would hold the interpreter for
        # a walk of every object in the worker while requests wait
        collecting = gc.isenabled()
        gc.disable()
        try:
            return self._build(data, version, modified)
        finally:
            if collecting:
                gc.enable()

    def _build(self, data: bytes, version: str | None, modified: float | None) -> AttributeState:
        rec = self.recommender
        # pausing now and then (a short sleep lets a waiting request thread take the interpreter)
        pause = _Pacer(lambda: rec.in_flight > 0)
        overlay = apply_overlay(data, self.source, rec.items.ids, self.base.columns, pause=pause)
        state = AttributeState(overlay.columns, values=overlay.values, overlay={
            "source": self.source, "version": version, "rows": overlay.rows, "attributes": overlay.attributes,
            "added": dict(overlay.added), "modified": modified, "applied": time.time(),
        })
        current = rec.attribute_state
        for name, q in list(current.quantiles.items()):  # the boosts in use, likewise
            pause()
            col = state.columns.get(name)
            if col is current.columns.get(name):
                state.quantiles[name] = q  # a column the overlay leaves alone ranks as before
            elif col is not None and col.type == NUMBER:
                state.quantiles[name] = boost.quantiles(col.values)
        for f in current.cache.filters():  # the filters in use now answer at once after the swap
            pause()
            try:
                rec.allowed(f, state)
            except StygigError:
                pass  # a filter the new attributes no longer allow is a 422 when asked again
        return state

    def _refuse(self, key: str, message: str) -> None:
        """One log line per refused version (or per reason the source cannot be read)."""
        self.refused = {"message": message, "at": _iso(time.time())}
        if key == self.seen:
            return
        self.seen = key
        logs.event(logs.LOG, logging.WARNING, "overlay_refused", message, source=self.source,
                   kept="the last good overlay" if self.version is not None else "the artifact's attributes")

    # ---- the watch -------------------------------------------------------------------------
    def start(self) -> "OverlayWatcher":
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="stygig-overlay", daemon=True)
            self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.wait(self.every_s):
            self.check()

    def stop(self) -> None:
        self._stop.set()

    def describe(self) -> dict[str, Any]:
        """What ``GET /model`` shows: the applied overlay's source, rows, age, and the last refusal."""
        info = self.recommender.attribute_state.overlay
        now = time.time()
        modified = info.get("modified")
        return {
            "source": self.source,
            "every_seconds": self.every_s,
            "rows": int(info.get("rows", 0)),
            "attributes": list(info.get("attributes", ())),
            "version": info.get("version"),
            "modified": _iso(modified),
            "age_seconds": None if modified is None else round(max(0.0, now - modified), 1),
            "applied": _iso(info.get("applied")),
            "checked": _iso(self.checked),
            "refused": self.refused,
        }


def watch(recommender: "Recommender", source: str | None, every_s: float,
          allowed_buckets: frozenset[str]) -> OverlayWatcher | None:
    """Check ``source``, look once now, and keep watching (None: no overlay configured)."""
    if not source:
        return None
    check_source(source, allowed_buckets)
    watcher = OverlayWatcher(recommender, source, every_s, allowed_buckets)
    watcher.check()
    return watcher.start()
