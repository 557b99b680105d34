"""POST /v1/score without FastAPI's per-request machinery: the one route a web form waits on, answered directly.

FastAPI spends about as long on one lead's request as the model does: matching ~40 routes, solving the
dependency tree, `json.loads` then a Python-mode validation of the body, re-validating the returned model and
building a Response. `FastScore` sits inside `ServiceMiddleware` (so the body limit, timeout and metrics stay
as they are) and answers a well-formed, authorised request itself: the body validated straight from JSON into
the same `ScoreRequest`, the key checked from memory as `deps.require` does, the very `routes_score.score`
coroutine run, and the result written by the route's own response serializer. Anything else (no or unknown
key, a wrong role, a key not in memory, a body that does not validate, no model, any error while scoring) is
handed to FastAPI untouched with the body replayed, so every error and every answer keeps its one shape.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from fastapi.routing import APIRoute
from pydantic import ValidationError

from leadops.serving.deps import ServiceState, key_from
from leadops.serving.keys import Role
from leadops.serving.routes_score import score
from leadops.serving.schemas import ScoreRequest

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

PATH = "/v1/score"
_JSON = (b"content-type", b"application/json")


def _header_map(scope: Scope) -> dict[bytes, bytes]:
    """The request's headers by lower-case name (a repeated header: the first, as Starlette's `get` reads it)."""
    out: dict[bytes, bytes] = {}
    for name, value in scope.get("headers", ()):
        out.setdefault(name.lower(), value)
    return out


def presented_key(headers: dict[bytes, bytes]) -> str | None:
    """The API key as `deps.presented_key` reads it, from raw ASGI headers (latin-1, as Starlette decodes them)."""
    auth, key = headers.get(b"authorization"), headers.get(b"x-api-key")
    return key_from(None if auth is None else auth.decode("latin-1"), None if key is None else key.decode("latin-1"))


def _is_json(headers: dict[bytes, bytes]) -> bool:
    """The content type FastAPI reads as JSON here, plainly `application/json` (anything else takes its path)."""
    value = headers.get(b"content-type")
    return value is not None and value.split(b";", 1)[0].strip().lower() == b"application/json"


class FastScore:
    """Answer authorised, valid POST /v1/score requests directly; pass every other request on unchanged."""

    def __init__(self, app: ASGIApp, *, state: ServiceState, route: APIRoute) -> None:
        self.app = app
        self.state = state
        self.route = route
        if route.response_field is None:
            raise TypeError(f"FastScore: route {route.path} has no response model to serialize with")
        self.field = route.response_field
        self.status = route.status_code or 200

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != PATH or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        more = True
        while more:  # the body as ServiceMiddleware's limited receive gives it (its size limit still applies)
            message = await receive()
            if message["type"] != "http.request":
                await self.app(scope, _replay(b"".join(chunks), message, receive), send)
                return
            chunks.append(message.get("body", b""))
            more = bool(message.get("more_body", False))
        body = b"".join(chunks)
        answer = self._answer_or_none(scope)
        content = None if answer is None else await self._scored(body, *answer)
        if content is None:
            await self.app(scope, _replay(body, None, receive), send)
            return
        scope["route"] = self.route  # what ServiceMiddleware times the request under, as FastAPI's router sets it
        headers = [(b"content-length", str(len(content)).encode("latin-1")), _JSON]
        await send({"type": "http.response.start", "status": self.status, "headers": headers})
        await send({"type": "http.response.body", "body": content})

    def _answer_or_none(self, scope: Scope) -> tuple[Any, Any] | None:
        """(key record, models) when this request may be answered here, else None (FastAPI decides)."""
        headers = _header_map(scope)
        key = presented_key(headers)
        if key is None or not _is_json(headers):
            return None
        keys = self.state.keys
        try:
            if not keys.remembered(key):  # the store would be read: FastAPI's route does that in a thread
                return None
            record = keys.verify(key)
            if record is None or not record.role.allows(Role.SCORER):
                return None
            return record, self.state.slot.models()
        except Exception:
            return None

    async def _scored(self, body: bytes, record: Any, served: Any) -> bytes | None:
        """The route's JSON answer for the body, or None when FastAPI should answer (invalid, or any error)."""
        try:
            request = ScoreRequest.model_validate_json(body)
        except ValidationError:
            return None
        try:
            result = await score(request, self.state, served, record)
            r = self.route
            return self.field.serialize_json(
                result,
                include=r.response_model_include,
                exclude=r.response_model_exclude,
                by_alias=r.response_model_by_alias,
                exclude_unset=r.response_model_exclude_unset,
                exclude_defaults=r.response_model_exclude_defaults,
                exclude_none=r.response_model_exclude_none,
            )
        except Exception:
            return None


def _replay(body: bytes, pending: Message | None, receive: Receive) -> Receive:
    """A receive that gives the body already read (then `pending`, if one was read), then the real receive."""
    queue: list[Message] = [{"type": "http.request", "body": body, "more_body": False}]
    if pending is not None:
        queue = [pending] if not body else [*queue, pending]

    async def replayed() -> Message:
        if queue:
            return queue.pop(0)
        return await receive()

    return replayed
