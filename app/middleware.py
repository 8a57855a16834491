"""ASGI middleware: JSON for every error, a request size limit, security headers, access log.

Pure ASGI classes (no BaseHTTPMiddleware), so they wrap streaming responses and exceptions
without buffering. Order, outermost first (see `install_middleware`): access log, security
headers, JSON errors, write gate (API key and body size before the body is read).
"""

from __future__ import annotations

import json
import logging
import secrets
import time
import uuid
from collections.abc import Callable
from typing import Any

__all__ = ["install_middleware"]

access_log = logging.getLogger("kdtcn.access")
log = logging.getLogger(__name__)

Scope = dict[str, Any]
ASGIApp = Callable[..., Any]

SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
]
_UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}


async def _send_json(
    send: Callable[..., Any],
    status: int,
    body: dict[str, Any],
    headers: list[tuple[bytes, bytes]] | None = None,
) -> None:
    payload = json.dumps(body).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(payload)).encode()),
                *(headers or []),
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})


class AccessLog:
    """One line per request: method, path without the query string, status, milliseconds."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        started = time.perf_counter()
        status = 0

        async def watch(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, watch)
        finally:
            access_log.info(
                "%s %s %d %.1fms",
                scope["method"],
                scope["path"],
                status,
                (time.perf_counter() - started) * 1000,
            )


class SecurityHeaders:
    """nosniff, no referrer, no framing on every response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)

        async def add(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                names = {name.lower() for name, _ in message.get("headers", [])}
                extra = [(k, v) for k, v in SECURITY_HEADERS if k not in names]
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        await self.app(scope, receive, add)


class JsonErrors:
    """An unhandled exception becomes a JSON 500 sent like any response.

    Starlette's own handler sends its 500 and re-raises, and uvicorn then drops the
    keep-alive connection under the client's feet. Here the exception stops: it is logged
    (with an id that the body repeats) and the connection stays usable.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        started = False

        async def watch(message: dict[str, Any]) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, watch)
        except Exception:
            error_id = uuid.uuid4().hex[:12]
            log.exception("unhandled error %s on %s %s", error_id, scope["method"], scope["path"])
            if started:  # part of a response is out: nothing consistent can follow
                raise
            await _send_json(
                send,
                500,
                {"detail": f"internal error (id {error_id}); the server log has its details"},
            )


class WriteGate:
    """For writes: check the API key, then the body size, before the body is parsed.

    A body larger than `max_bytes` (by Content-Length, or counted as it arrives when the
    length is not given) is answered 413 without reading the rest; the connection is closed
    then, as the unread body cannot be skipped. The route's own key dependency stays in place
    (and documents the header); this only answers earlier.
    """

    def __init__(self, app: ASGIApp, *, max_bytes: int, api_key: Callable[[], str | None]) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.api_key = api_key

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["method"] not in _UNSAFE:
            return await self.app(scope, receive, send)
        headers = dict(scope.get("headers", []))
        expected = self.api_key()
        if expected:
            given = headers.get(b"x-api-key", b"").decode("latin-1")
            if not secrets.compare_digest(given, expected):
                return await _send_json(
                    send,
                    401,
                    {"detail": "missing or wrong X-API-Key header"},
                    [(b"connection", b"close")],
                )
        too_large = {
            "detail": f"request body larger than {self.max_bytes} bytes; nothing was written"
        }
        close = [(b"connection", b"close")]
        length = headers.get(b"content-length")
        if length is not None and length.isdigit() and int(length) > self.max_bytes:
            return await _send_json(send, 413, too_large, close)
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return  # the client went away
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                return await _send_json(send, 413, too_large, close)
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        replayed = False

        async def replay() -> dict[str, Any]:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": b"".join(chunks), "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


def install_middleware(app: Any, *, max_body_bytes: int) -> None:
    """Wire the middleware; the last added is the outermost."""

    def api_key() -> str | None:
        settings = getattr(app.state, "settings", None)
        return settings.api_key if settings is not None else None

    app.add_middleware(WriteGate, max_bytes=max_body_bytes, api_key=api_key)
    app.add_middleware(JsonErrors)
    app.add_middleware(SecurityHeaders)
    app.add_middleware(AccessLog)
