"""The dashboard: server-rendered pages under /ui/ in the same app as the API, behind the same API keys.

`install(app, state)` adds the page routers (one module per page group), the static files (plotly.js from the
installed plotly package), and error pages: a request under /ui/ that fails gets an HTML page that says what
went wrong, every other request keeps the API's JSON error shape.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from leadops.errors import LeadOpsError
from leadops.serving.deps import ServiceState
from leadops.serving.errors import describe, validation_items
from leadops.serving.ui import render as pages
from leadops.serving.ui.deps import LoginRequired, sessions
from leadops.serving.ui.session import Sessions, load_secret

Handler = Callable[[Request, Any], Awaitable[Response]]


def _error_page(request: Request, status: int, message: str) -> Response:
    session = None if status in (401, 503) else _maybe_session(request)
    return pages.render(request, "error.html.j2", session, status=status, status_code=status, message=message)


def _maybe_session(request: Request) -> Any:
    try:
        return sessions(request).current(request)
    except Exception:  # the error page must render even when the session store is what failed
        return None


def _ui(request: Request) -> bool:
    path = request.url.path
    return path == "/ui" or path.startswith("/ui/")


def _wrap(app: FastAPI, kind: type[Exception], page: Callable[[Request, Any], Response]) -> None:
    """Answer `kind` under /ui/ with an HTML page; elsewhere keep the handler the API installed."""
    api: Handler | None = app.exception_handlers.get(kind)  # type: ignore[assignment]

    async def handler(request: Request, exc: Any) -> Response:
        if _ui(request) or api is None:
            return page(request, exc)
        return await api(request, exc)

    app.add_exception_handler(kind, handler)


def warm_up(service: ServiceState) -> threading.Thread:
    """Open the registry once in the background (MLflow's import and store take seconds on a busy machine), so
    the first Models page answers within the request timeout; a failure only leaves the page to try itself."""

    def run() -> None:
        try:
            from leadops.registry import Registry

            Registry(service.settings, None).list_versions()
        except Exception as exc:  # the page reports registry problems itself
            logging.getLogger("leadops.serving").info("dashboard warm-up: %s: %s", type(exc).__name__, exc)

    thread = threading.Thread(target=run, name="ui-warm-up", daemon=True)
    thread.start()
    return thread


def install(app: FastAPI, service: ServiceState) -> None:
    """Mount the dashboard on the service's app (after the API's error handlers are installed)."""
    from leadops.serving.ui import (
        routes_auth,
        routes_experiments,
        routes_marketing,
        routes_models,
        routes_operations,
        routes_sales,
    )

    workspace = service.settings.workspace
    app.state.ui_sessions = Sessions(
        load_secret(workspace), service.keys, seconds=int(service.settings.serving.ui_session_hours * 3600)
    )
    for module in (routes_auth, routes_sales, routes_marketing, routes_models, routes_operations, routes_experiments):
        app.include_router(module.router)

    def login_redirect(request: Request, exc: LoginRequired) -> Response:
        return RedirectResponse(exc.location(), status_code=303)

    def leadops_page(request: Request, exc: LeadOpsError) -> Response:
        return _error_page(request, exc.http_status, str(exc))

    def http_page(request: Request, exc: StarletteHTTPException) -> Response:
        detail = exc.detail if isinstance(exc.detail, str) else "request failed"
        return _error_page(request, exc.status_code, detail)

    def validation_page(request: Request, exc: RequestValidationError) -> Response:
        return _error_page(request, 422, describe(validation_items(exc.errors())))

    def bug_page(request: Request, exc: Exception) -> Response:
        logging.getLogger("leadops.serving").error(
            "internal error on %s %s: %s: %s", request.method, request.url.path, type(exc).__name__, exc
        )
        return _error_page(request, 500, f"internal error: {type(exc).__name__} (the service log has the details)")

    app.add_exception_handler(LoginRequired, login_redirect)  # type: ignore[arg-type]
    _wrap(app, LeadOpsError, leadops_page)
    _wrap(app, StarletteHTTPException, http_page)
    _wrap(app, RequestValidationError, validation_page)
    _wrap(app, Exception, bug_page)
