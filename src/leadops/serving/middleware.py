"""The one ASGI layer around every request: body-size limit, timeout, timing and metrics (no body is logged).

Pure ASGI rather than BaseHTTPMiddleware: it adds microseconds, not a task per request.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from leadops.serving.errors import error_body

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]
Observe = Callable[[str, str, int, float], None]

log = logging.getLogger("leadops.serving.access")


class _TooLarge(Exception):
    """The body grew past the limit while it was being read."""


async def _send_error(send: Send, status: int, message: str) -> None:
    body = json.dumps(error_body(status, message)).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class ServiceMiddleware:
    """Refuse oversized bodies (413), stop slow requests (504), time every request into `observe`."""

    def __init__(self, app: ASGIApp, *, max_body: int, timeout: float, observe: Observe) -> None:
        self.app = app
        self.max_body = max_body
        self.timeout = timeout
        self.observe = observe

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        state = {"status": 500, "started": False}
        for name, value in scope.get("headers", ()):
            if name == b"content-length":
                try:
                    too_big = int(value) > self.max_body
                except ValueError:
                    too_big = False
                if too_big:
                    await _send_error(send, 413, f"request body over the limit of {self.max_body} bytes")
                    self._record(scope, 413, started)
                    return
        seen = 0

        async def limited_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_body:
                    raise _TooLarge
            return message

        async def tracking_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                state["status"] = int(message["status"])
                state["started"] = True
            await send(message)

        try:
            async with asyncio.timeout(self.timeout):  # in this task: no task per request as wait_for makes
                await self.app(scope, limited_receive, tracking_send)
        except _TooLarge:
            if not state["started"]:
                await _send_error(send, 413, f"request body over the limit of {self.max_body} bytes")
                state["status"] = 413
        except TimeoutError:
            if not state["started"]:
                await _send_error(send, 504, f"the request took longer than {self.timeout:g} s")
                state["status"] = 504
        self._record(scope, int(state["status"]), started)

    def _record(self, scope: Scope, status: int, started: float) -> None:
        seconds = time.perf_counter() - started
        route = scope.get("route")
        template = getattr(route, "path", None) or "unmatched"
        try:
            self.observe(template, str(scope.get("method", "")), status, seconds)
        except Exception as exc:  # metrics must never fail a request
            log.warning("metrics: %s", exc)
        if log.isEnabledFor(logging.INFO):
            log.info("%s %s %d %.2f ms", scope.get("method"), template, status, seconds * 1000)
