"""Structured logs: one JSON object per line on stderr (CloudWatch on SageMaker).

Never a request body, never a header value other than the request id, never a credential.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time

#: characters str.splitlines (and some log viewers) treat as line breaks that JSON leaves as is
_LINE_BREAKS = {0x85: "\\u0085", 0x2028: "\\u2028", 0x2029: "\\u2029"}

ACCESS = logging.getLogger("stygig.access")
LOG = logging.getLogger("stygig.serving")


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "pid": record.process,
        }
        fields = getattr(record, "fields", None)
        if fields:
            entry.update(fields)
        message = record.getMessage()
        if message:
            entry["message"] = message
        if record.exc_info:
            entry["traceback"] = self.formatException(record.exc_info)
        # One record, one line, whatever a client put in a path: JSON escapes control characters
        # but not the Unicode line separators, which some readers split lines at.
        return json.dumps(entry, ensure_ascii=False, default=str).translate(_LINE_BREAKS)


def configure(level: str = "info") -> None:
    """Send the ``stygig`` loggers to stderr as JSON lines (idempotent)."""
    root = logging.getLogger("stygig")
    for h in list(root.handlers):
        if getattr(h, "_stygig_json", False):
            root.removeHandler(h)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    handler._stygig_json = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(getattr(logging, level.upper(), logging.INFO))
    root.propagate = False


def event(logger: logging.Logger, level: int, name: str, message: str = "", exc_info=None, **fields) -> None:
    logger.log(level, message, exc_info=exc_info, extra={"fields": {"event": name, **fields}})


def access(request_id: str, method: str, path: str, status: int, ms: float, **extra) -> None:
    ACCESS.info(
        "",
        extra={
            "fields": {
                "event": "request",
                "request_id": request_id,
                "method": method,
                "path": path[:300],
                "status": status,
                "ms": round(ms, 2),
                **extra,
            }
        },
    )


def worker_pid() -> int:
    return os.getpid()
