"""ServiceMiddleware: a slow request answers 504 and an oversized body 413, each in the one error shape, timed."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from leadops.serving.middleware import ServiceMiddleware


async def _drive(app: Any, body: bytes, headers: list[tuple[bytes, bytes]] | None = None) -> tuple[int, Any]:
    """One POST through the ASGI app; (status, decoded JSON body)."""
    scope = {"type": "http", "method": "POST", "path": "/x", "headers": headers or []}
    given = False

    async def receive() -> dict[str, Any]:
        nonlocal given
        if not given:
            given = True
            return {"type": "http.request", "body": body, "more_body": False}
        await asyncio.sleep(3600)
        return {"type": "http.disconnect"}

    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app(scope, receive, send)
    start = next(m for m in sent if m["type"] == "http.response.start")
    data = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return int(start["status"]), json.loads(data)


async def _slow(scope: Any, receive: Any, send: Any) -> None:
    await receive()
    await asyncio.sleep(5)


async def _echo(scope: Any, receive: Any, send: Any) -> None:
    message = await receive()
    body = json.dumps({"ok": True, "n": len(message["body"])}).encode()
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": body})


def test_a_request_slower_than_the_timeout_answers_504_in_the_error_shape_and_is_timed() -> None:
    seen: list[tuple[str, str, int, float]] = []
    app = ServiceMiddleware(_slow, max_body=1024, timeout=0.05, observe=lambda *a: seen.append(a))
    status, body = asyncio.run(_drive(app, b"{}"))
    assert status == 504 and body["ok"] is False and body["status"] == 504 and "0.05 s" in body["error"]
    assert seen[0][2] == 504 and 0.05 <= seen[0][3] < 1.0


def test_a_body_over_the_limit_answers_413_whether_declared_or_streamed() -> None:
    app = ServiceMiddleware(_echo, max_body=1024, timeout=5, observe=lambda *a: None)
    declared = [(b"content-length", b"5000")]
    assert asyncio.run(_drive(app, b"x" * 5000, declared))[0] == 413
    status, body = asyncio.run(_drive(app, b"x" * 5000))
    assert status == 413 and body["status"] == 413 and "1024 bytes" in body["error"]
    assert asyncio.run(_drive(app, b"x" * 100)) == (200, {"ok": True, "n": 100})
