"""The gunicorn worker class: uvicorn serving the app in each forked worker process."""

from __future__ import annotations

from uvicorn_worker import UvicornWorker


class StygigWorker(UvicornWorker):
    # asyncio + h11: pure Python, no optional C extensions needed.
    CONFIG_KWARGS = {"loop": "asyncio", "http": "h11", "lifespan": "on"}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # a worker's own drain ends before the arbiter's deadline (after which it SIGKILLs)
        self.config.timeout_graceful_shutdown = max(1, int(self.cfg.graceful_timeout) - 2)
