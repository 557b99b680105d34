"""The dashboard's FastAPI dependencies: who is signed in (or a redirect to the login), and the warehouse to read."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Annotated
from urllib.parse import quote

from fastapi import Depends, Request

from leadops.errors import LeadOpsError
from leadops.serving.deps import ServiceState, service_state
from leadops.serving.keys import Role
from leadops.serving.lead_view import reading
from leadops.serving.ui.session import Session, Sessions
from leadops.warehouse import Warehouse
from leadops.warehouse.snapshot import resolve_copy


class LoginRequired(Exception):
    """No valid session: the page answers a redirect to /ui/login (handled in ui.install)."""

    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path

    def location(self) -> str:
        """Where to send the browser: the login, then back here."""
        return "/ui/login?next=" + quote(self.next_path, safe="/")


class RoleRefusedError(LeadOpsError):
    """A signed-in dashboard user's role may not do this (a viewer pressing an admin button): HTTP 403."""

    exit_code = 38
    http_status = 403


def sessions(request: Request) -> Sessions:
    """The worker's session issuer (set by ui.install)."""
    found: Sessions = request.app.state.ui_sessions
    return found


def signed_in(role: Role = Role.VIEWER) -> Callable[[Request], Session]:
    """A dependency: the signed-in user with `role` or above; no session redirects to the login, too low is a 403."""

    def check(request: Request) -> Session:
        session = sessions(request).current(request)
        if session is None:
            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            raise LoginRequired(target if request.method == "GET" else "/ui/")
        if not session.may(role):
            raise RoleRefusedError(
                f"your key's role '{session.role.value}' may not do this; it needs '{role.value}' "
                "(ask an admin, or sign in with an admin key)"
            )
        return session

    return check


def warehouse(request: Request) -> Iterator[Warehouse]:
    """A short read-only connection for one page: the warehouse, or while the nightly job writes DuckDB the
    analysts' copy of the last published run (the page says so); a 503 page when neither can be read."""
    with read_only(service_state(request)) as (wh, from_copy):
        request.state.ui_from_copy = from_copy
        yield wh


@contextmanager
def read_only(service: ServiceState) -> Iterator[tuple[Warehouse, bool]]:
    """The service's read-only warehouse (or its analysts' copy) and whether it is the copy."""
    s = service.settings
    with reading(s.warehouse.url, s.workspace, resolve_copy(s.warehouse.analytics_copy, s.workspace)) as found:
        yield found


User = Annotated[Session, Depends(signed_in(Role.VIEWER))]
AdminUser = Annotated[Session, Depends(signed_in(Role.ADMIN))]
ReadOnly = Annotated[Warehouse, Depends(warehouse)]
