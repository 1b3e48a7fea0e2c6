"""The model's life in one worker: load in the background at start, warm up, then serve.

``/ping`` reads :attr:`ModelState.status` and never waits: ``loading`` and ``failed`` are 503,
``ready`` (loaded *and* warmed up) is 200. Requests never load the model, and are never refused
because it is loading: :meth:`ModelState.wait_ready` holds one until it is ready (within its
timeout). Each worker loads its own model, so once one worker's ``/ping`` has said 200, a request
can still reach another that is loading -- at start, or the replacement of a killed worker; it is
answered a moment later instead of refused.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from stygig import settings
from stygig.errors import StygigError
from stygig.serving import logs
from stygig.serving.errors import InferenceTimeout, ModelNotReady
from stygig.serving.overlay import OverlayWatcher, watch

if TYPE_CHECKING:  # pragma: no cover
    from stygig.recommend.engine import Recommender

LOADING, READY, FAILED = "loading", "ready", "failed"


#: how often a held request looks whether the model has become ready
_READY_POLL_S = 0.01

#: models the arbiter loaded before forking its workers (:func:`preload`), by (artifact, compatibility)
_PRELOADED: dict[tuple[str, str | None], "Recommender"] = {}


def preload(artifact_dir: str | Path, compatibility: str | None = None, rounds: int = 1) -> "Recommender":
    """Load the model once, in the arbiter, for every worker it forks to inherit (copy-on-write):
    artifact, indexes and both ONNX sessions (the text one too, so that no worker pays for it),
    then the first of the ``rounds`` warm-up passes (what a first pass pays -- the towers' first
    runs, lazy imports, page faults -- is then paid once; a worker runs the other ``rounds - 1``).

    Only for workers that run single-threaded (``OMP_NUM_THREADS=1``, as ``serve`` sets it with one
    worker per core): then neither ONNX Runtime nor OpenMP has started a thread pool, which would
    not survive the fork. Checksums are the caller's to verify (``serve`` hashes beside this)."""
    from stygig.recommend.engine import Recommender

    recommender = Recommender.load(artifact_dir, verify=False, compatibility=compatibility)
    prepare_text = getattr(recommender.encoder, "prepare_text", None)
    with ThreadPoolExecutor(1, thread_name_prefix="stygig-text") as pool:
        # the text session opens (without the GIL) while the picture and item paths warm up; the
        # pass's text query waits for it (prepare_text is idempotent and locked)
        opening = pool.submit(prepare_text) if prepare_text is not None else None
        if rounds >= 1:
            warm_up(recommender, 1)
        if opening is not None:
            opening.result()
    _PRELOADED[_preload_key(artifact_dir, compatibility)] = recommender
    return recommender


def _preload_key(artifact_dir: str | Path, compatibility: str | None) -> tuple[str, str | None]:
    return str(Path(artifact_dir).resolve()), compatibility


def warm_up(recommender: "Recommender", rounds: int = 1) -> None:
    """Run the paths a request runs (encoder, colour extraction, index search, scoring), ``rounds``
    times (STYGIG_WARMUP_ROUNDS; 0: only fault in the memory-mapped files)."""
    from PIL import Image

    from stygig.errors import UnsupportedQuery
    from stygig.recommend.query import Query
    from stygig.schema import Options

    recommender.warm()  # memory-mapped indexes: page faults now, not in the first requests
    picture = Image.merge(
        "RGB", (Image.linear_gradient("L"), Image.linear_gradient("L").rotate(90), Image.new("L", (256, 256), 128))
    )
    for _ in range(rounds):
        try:
            recommender.recommend(Query(image=picture), Options())
        except UnsupportedQuery:
            pass  # an artifact of precomputed vectors answers item queries only; those are warmed below
        if recommender.items:
            recommender.recommend(Query(item_id=recommender.items[0]["id"]), Options())
        if getattr(recommender.encoder, "supports_text", False):
            recommender.recommend(Query(text="a white cotton shirt"), Options())


class ModelState:
    def __init__(
        self,
        artifact_dir: str | Path,
        *,
        on_failure: Callable[[str], None] | None = None,
        verify: bool = True,
        compatibility: str | None = None,
        overlay: str | None = None,
        overlay_seconds: float = settings.OVERLAY_SECONDS.default,
        allowed_s3_buckets: frozenset[str] = frozenset(),
    ):
        self.artifact_dir = Path(artifact_dir)
        #: the compatibility kind to load (None: STYGIG_COMPATIBILITY, else the artifact's)
        self.compatibility = compatibility
        #: check every file's sha256 while loading (False only when `serve` has just done so)
        self.verify = verify
        self.status = LOADING
        self.error: str | None = None
        self.recommender: "Recommender | None" = None
        self.load_seconds: float | None = None
        #: where the model was loaded: "arbiter" (before the fork, :func:`preload`) or "worker"
        self.loaded_in: str | None = None
        #: the live attribute overlay (STYGIG_OVERLAY), watched by this worker once its model is loaded
        self.overlay_source = overlay
        self.overlay_seconds = overlay_seconds
        self.allowed_s3_buckets = frozenset(allowed_s3_buckets)
        self.overlay: OverlayWatcher | None = None
        self._on_failure = on_failure
        self._thread: threading.Thread | None = None
        self._started = time.monotonic()

    def start(self) -> None:
        if self._thread is None:
            self._started = time.monotonic()
            self._thread = threading.Thread(target=self._run, name="stygig-model-load", daemon=True)
            self._thread.start()

    def wait(self, timeout: float | None = None) -> str:
        if self._thread is not None:
            self._thread.join(timeout)
        return self.status

    @property
    def ready(self) -> bool:
        return self.status == READY

    @property
    def public_error(self) -> str | None:
        """Why the load failed, as clients see it: the server's own directories left out (the
        log and `serve`'s exit message keep the full text)."""
        if self.error is None:
            return None
        message = self.error
        roots = {str(self.artifact_dir.resolve()), str(self.artifact_dir.absolute())}
        for root in sorted(roots, key=len, reverse=True):
            if len(root) > 1:
                message = message.replace(root, "<artifact>")
        return message

    def require(self) -> "Recommender":
        if self.status == READY and self.recommender is not None:
            return self.recommender
        if self.status == FAILED:
            raise ModelNotReady(f"the model failed to load: {self.public_error}")
        raise ModelNotReady("the model is still loading; retry when GET /ping answers 200")

    async def wait_ready(self, deadline: float, timeout_s: float) -> "Recommender":
        """The recommender, once this worker has loaded it: a request that arrives while it loads
        waits (the event loop keeps serving ``/ping``) instead of being refused. Past ``deadline``
        (``time.monotonic()``) it is a 504; a failed load is a 503."""
        while self.status == LOADING:
            if time.monotonic() >= deadline:
                raise InferenceTimeout(
                    f"the model was still loading after {timeout_s:g} s (SAGEMAKER_MODEL_SERVER_TIMEOUT)"
                )
            await asyncio.sleep(_READY_POLL_S)
        return self.require()

    def _load(self) -> tuple["Recommender", int]:
        """The model and the warm-up passes it still needs: the one the arbiter loaded before
        forking (:func:`preload`, which ran the first pass), else this worker's own."""
        from stygig.recommend.engine import Recommender

        rounds = settings.WARMUP_ROUNDS.read()
        inherited = _PRELOADED.get(_preload_key(self.artifact_dir, self.compatibility))
        if inherited is not None:
            self.loaded_in = "arbiter"
            return inherited, rounds - 1
        self.loaded_in = "worker"
        return Recommender.load(self.artifact_dir, verify=self.verify, compatibility=self.compatibility), rounds

    def _run(self) -> None:
        try:
            recommender, rounds = self._load()
            # the overlay's first look before /ping says 200 (a bad one is logged; the artifact's stays)
            self.overlay = watch(recommender, self.overlay_source, self.overlay_seconds, self.allowed_s3_buckets)
            warm_up(recommender, rounds)
        except StygigError as e:
            self._fail(e.message, None)
        except Exception as e:  # noqa: BLE001 - any load failure is fatal for this worker
            self._fail(f"{type(e).__name__}: {e}".splitlines()[0], e)
        else:
            self.recommender = recommender
            self.load_seconds = time.monotonic() - self._started
            self.status = READY
            logs.event(
                logs.LOG,
                logging.INFO,
                "model_ready",
                artifact=str(self.artifact_dir),
                model_version=recommender.model_version,
                items=recommender.n_items,
                seconds=round(self.load_seconds, 3),
                loaded_in=self.loaded_in,
            )

    def _fail(self, message: str, exc: BaseException | None) -> None:
        self.error = message
        self.status = FAILED
        logs.event(
            logs.LOG,
            logging.ERROR,
            "model_load_failed",
            message,
            exc_info=(type(exc), exc, exc.__traceback__) if exc is not None else None,
            artifact=str(self.artifact_dir),
        )
        if self._on_failure is not None:
            self._on_failure(message)
