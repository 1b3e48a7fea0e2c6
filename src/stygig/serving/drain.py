"""Answering a request whose body is still unread so that the client can read the answer.

A client that sends its whole body before it reads (Python's urllib, requests, boto3) is sent a
413 (or a 415, 406, 503: every refusal made before the body is read) while it is still writing.
If the server then closes the connection with the body unread in its socket, the kernel resets
the connection and the client sees ``ConnectionResetError`` instead of the JSON error. A client
that reads while it writes (a streaming upload) should instead see the answer at once and stop.

So when a response starts with the body unread, it says ``Connection: close`` and its bytes go
out at once; only its final (empty) part waits while the rest of the body is read and dropped:
at most :data:`DRAIN_MAX_BYTES` and :data:`DRAIN_MAX_SECONDS` (the event loop keeps serving other
requests meanwhile; nothing is kept). A body declared larger than that is not read at all.

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
    """Pure ASGI middleware: answer at once, then drain the unread request body (bounded) before
    the response ends."""

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

        unread = False

        async def send_then_drain(message):
            nonlocal unread
            if message["type"] == "http.response.start" and not done:
                unread = True
                message = dict(message)
                headers = [(k, v) for k, v in message.get("headers", ()) if k.lower() != b"connection"]
                message["headers"] = [*headers, (b"connection", b"close")]
            elif message["type"] == "http.response.body" and unread and not message.get("more_body", False):
                # the answer's bytes go out now (a client reading as it writes stops writing); the
                # final part waits for the drain (a client writing everything first is not reset)
                await send({**message, "more_body": True})
                await drain()
                message = {"type": "http.response.body", "body": b"", "more_body": False}
            await send(message)

        await self.app(scope, tracked_receive, send_then_drain)
