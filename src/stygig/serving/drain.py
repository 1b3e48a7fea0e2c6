"""Reading what is left of a request body before answering it, so the client can read the answer.

A client that sends its whole body before it reads (Python's urllib, and any client asking for
``Connection: close``) is sent a 413 (or a 415, 406, 503: every refusal made before the body is
read) while it is still writing. If the server then closes the connection with the body unread
in its socket, the kernel resets the connection and the client sees ``ConnectionResetError``
instead of the JSON error. So before a response starts, whatever of the body the app left unread
is read and dropped: at most :data:`DRAIN_MAX_BYTES` and :data:`DRAIN_MAX_SECONDS` (the event loop
keeps serving other requests meanwhile; nothing is kept). A body declared larger than that is not
read at all, and a drain that reaches a bound stops: the answer then says ``Connection: close``.

Not drained: a client waiting on ``Expect: 100-continue`` (curl): it never sent the body, and
reading would invite it to.
"""

from __future__ import annotations

import asyncio
import time

#: the most of an unread body read and dropped before an answer (a 40 MB upload gets its 413)
DRAIN_MAX_BYTES = 64 * 1024 * 1024
#: the longest a connection is held to drain it (a client trickling its body gets its answer)
DRAIN_MAX_SECONDS = 5.0


class DrainUnreadBody:
    """Pure ASGI middleware: drain the unread request body (bounded) when the response starts."""

    def __init__(self, app, *, max_bytes: int = DRAIN_MAX_BYTES, max_seconds: float = DRAIN_MAX_SECONDS):
        self.app = app
        self.max_bytes = max_bytes
        self.max_seconds = max_seconds

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = dict(scope.get("headers", ()))
        chunked = b"chunked" in headers.get(b"transfer-encoding", b"").lower()
        try:
            declared = int(headers[b"content-length"]) if b"content-length" in headers else None
        except ValueError:
            declared = None
        if (not chunked and not declared) or b"100-continue" in headers.get(b"expect", b"").lower():
            return await self.app(scope, receive, send)

        received = 0
        done = False

        async def tracked_receive():
            nonlocal received, done
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                done = not message.get("more_body", False)
            else:  # http.disconnect
                done = True
            return message

        async def drain() -> bool:
            """Read and drop the rest of the body; False if a bound stopped it first."""
            if declared is not None and declared - received > self.max_bytes:
                return False
            dropped = 0
            deadline = time.monotonic() + self.max_seconds
            while not done:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                try:
                    message = await asyncio.wait_for(tracked_receive(), timeout=remaining)
                except asyncio.TimeoutError:
                    return False
                dropped += len(message.get("body", b""))
                if dropped > self.max_bytes:
                    return False
            return True

        async def send_after_draining(message):
            if message["type"] == "http.response.start" and not done:
                if not await drain():
                    message = dict(message)
                    message["headers"] = [*message.get("headers", ()), (b"connection", b"close")]
            await send(message)

        await self.app(scope, tracked_receive, send_after_draining)
