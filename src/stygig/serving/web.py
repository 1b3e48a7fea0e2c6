"""The web page: ``GET /`` and its static assets, for people who would rather look than read JSON.

Plain HTML, CSS and JavaScript from ``stygig/serving/static`` (no build step, nothing fetched from
the internet). The page only talks to the server's own API (``/model``, ``/items``,
``/items/{id}/thumbnail``, ``/invocations``); the one thing it cannot ask the API for, the request
size limit (``TS_MAX_REQUEST_SIZE``), is written into the page so it can refuse a too-large
picture before uploading it.

:func:`register` is called by :func:`stygig.serving.app.create_app`.
"""

from __future__ import annotations

import html
from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import HTMLResponse
from starlette.staticfiles import StaticFiles
from starlette.types import Receive, Scope, Send

from stygig.serving.config import DEFAULT_MAX_REQUEST_BYTES

STATIC_DIR = Path(__file__).with_name("static")
STATIC_PREFIX = "/static"
#: the page loads only its own files; pictures may also be the user's own (blob:) before upload
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; "
    "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
PAGE_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}
#: placeholder in index.html replaced by the server's request size limit in bytes
MAX_BYTES_PLACEHOLDER = "{{max_request_bytes}}"


class _StaticAssets(StaticFiles):
    """Read-only files from the package's static folder, revalidated on each load (they change
    with the installed version) and never content-sniffed."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers += [(b"x-content-type-options", b"nosniff"), (b"cache-control", b"no-cache")]
                message = {**message, "headers": headers}
            await send(message)

        await super().__call__(scope, receive, send_with_headers)


def render_page(max_request_bytes: int) -> str:
    """index.html with the request size limit filled in."""
    page = (STATIC_DIR / "index.html").read_text(encoding="utf-8")
    return page.replace(MAX_BYTES_PLACEHOLDER, html.escape(str(int(max_request_bytes))))


def register(app: FastAPI) -> None:
    """Mount the page (``GET /``) and its assets (``GET /static/...``) on the server's app."""
    ctx = getattr(app.state, "stygig", None)
    limit = ctx.config.max_request_bytes if ctx is not None else DEFAULT_MAX_REQUEST_BYTES
    page = render_page(limit)

    @app.get("/", include_in_schema=False, response_class=HTMLResponse)
    async def index() -> HTMLResponse:
        """The StyGig page. Answers while the model loads; the page waits for ``/model``."""
        return HTMLResponse(page, headers=PAGE_HEADERS)

    app.mount(STATIC_PREFIX, _StaticAssets(directory=STATIC_DIR, follow_symlink=False), name="static")
