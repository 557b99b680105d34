"""One JSON error shape for every error the API answers: `{"ok": false, "error", "status", "detail": [...]}`."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from leadops.errors import LeadOpsError
from leadops.serving import metrics

log = logging.getLogger("leadops.serving")


class NoModelError(LeadOpsError):
    """The registry has no champion the service could load yet."""

    exit_code = 30
    http_status = 503


class RequestTooLargeError(LeadOpsError):
    """A request body or batch is over the configured limit."""

    exit_code = 31
    http_status = 413


class RequestFieldError(LeadOpsError):
    """A request field is wrong in a way the schema cannot say (the base of the field errors below)."""

    exit_code = 35
    http_status = 422

    def __init__(self, message: str, *, loc: Sequence[str | int] = (), hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.loc = list(loc)


class MissingFieldsError(RequestFieldError):
    """A textbook-API lead lacks a field the served model reads (the book answers 400)."""

    exit_code = 33
    http_status = 400


class FlatLeadError(RequestFieldError):
    """A textbook-API lead is not a JSON object of plain values, or a canonical field has the wrong type."""

    exit_code = 34
    http_status = 422


def error_body(status: int, error: str, detail: Sequence[dict[str, Any]] = ()) -> dict[str, Any]:
    """The error shape, as a plain dict."""
    return {"ok": False, "error": error, "status": status, "detail": list(detail)}


def error_response(status: int, error: str, detail: Sequence[dict[str, Any]] = (), **headers: str) -> JSONResponse:
    """A JSONResponse in the error shape."""
    return JSONResponse(error_body(status, error, detail), status_code=status, headers=headers or None)


def _loc(parts: Sequence[Any]) -> list[str | int]:
    return [p if isinstance(p, int) else str(p) for p in parts]


def validation_items(errors: Sequence[Any]) -> list[dict[str, Any]]:
    """pydantic/FastAPI errors as {loc, msg, type}: field paths, never the rejected (maybe personal) values."""
    items = []
    for e in errors:
        loc = _loc(e.get("loc", ()))
        items.append({"loc": loc, "msg": str(e.get("msg", "invalid")), "type": e.get("type")})
    return items


def describe(items: Sequence[dict[str, Any]]) -> str:
    """One line naming the fields: 'leads.0.created_at: Input should be a valid datetime; ...'."""
    parts = [".".join(str(p) for p in i["loc"]) + f": {i['msg']}" for i in items[:5]]
    more = f" (and {len(items) - 5} more)" if len(items) > 5 else ""
    return "invalid request: " + "; ".join(parts) + more if parts else "invalid request"


def install(app: FastAPI) -> None:
    """Register the handlers that turn every failure into the one shape (a bug is a 500 without a traceback)."""

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        items = validation_items(exc.errors())
        metrics.observe_error("validation")
        return error_response(422, describe(items), items)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        metrics.observe_error(f"http_{exc.status_code}")
        headers = dict(exc.headers or {})
        detail = exc.detail if isinstance(exc.detail, str) else "request failed"
        return error_response(exc.status_code, detail, (), **headers)

    @app.exception_handler(LeadOpsError)
    async def _leadops(request: Request, exc: LeadOpsError) -> JSONResponse:
        metrics.observe_error(type(exc).__name__)
        status = exc.http_status
        loc = exc.loc if isinstance(exc, RequestFieldError) else []
        item = {"loc": loc, "msg": exc.message, "type": type(exc).__name__}
        items = getattr(exc, "items", None) or [item]  # an error naming several fields lists each
        return error_response(status, str(exc), items, **getattr(exc, "headers", {}))

    @app.exception_handler(Exception)
    async def _bug(request: Request, exc: Exception) -> JSONResponse:
        metrics.observe_error("internal")
        log.error("internal error on %s %s: %s: %s", request.method, request.url.path, type(exc).__name__, exc)
        return error_response(500, f"internal error: {type(exc).__name__} (the service log has the details)")
