"""The dashboard's door: the login form, POST /ui/login (key -> session cookie), logout, and the static files."""

from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response

from leadops.plots import draw_js, plotly_js
from leadops.serving.deps import service_state
from leadops.serving.ui.deps import User, sessions
from leadops.serving.ui.render import render, security_headers
from leadops.serving.ui.session import COOKIE, CSRF_FIELD, check_post, form_fields

router = APIRouter(include_in_schema=False)
STATIC = Path(__file__).with_name("static")
JS = "text/javascript; charset=utf-8"
STATIC_TYPES = {"ui.css": "text/css; charset=utf-8", "ui.js": JS, "draw.js": JS, "plotly.min.js": JS}


def _safe_next(value: str | None) -> str:
    """Only a path of this dashboard (never another site) may follow a login."""
    if value and value.startswith("/ui/") and not value.startswith("//") and "\\" not in value:
        return value
    return "/ui/sales"


@router.get("/ui", summary="the dashboard")
@router.get("/ui/", summary="the dashboard")
async def home() -> RedirectResponse:
    """The dashboard opens on today's Sales queue."""
    return RedirectResponse("/ui/sales", status_code=303)


@router.get("/ui/login")
async def login_form(request: Request, next: str | None = None) -> Response:
    """The form asking for an API key."""
    session = sessions(request).current(request)
    if session is not None:
        return RedirectResponse(_safe_next(next), status_code=303)
    return render(request, "login.html.j2", None, next=_safe_next(next))


@router.post("/ui/login")
async def login(request: Request) -> Response:
    """A valid key becomes a session cookie (HttpOnly, SameSite=Strict) and a redirect; a bad one, the form again."""
    fields = await form_fields(request)
    check_post(request, None, None)
    key, next = fields.get("key", "")[:300], fields.get("next", "")
    record = await run_in_threadpool(service_state(request).keys.verify, key.strip()) if key.strip() else None
    if record is None:
        problem = (
            "That key was not accepted: it is unknown, revoked or mistyped." if key.strip() else "Enter your API key."
        )
        return render(request, "login.html.j2", None, status=401, next=_safe_next(next), problem=problem)
    response = RedirectResponse(_safe_next(next), status_code=303)
    issuer = sessions(request)
    response.set_cookie(
        COOKIE,
        issuer.issue(record),
        max_age=issuer.seconds,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        path="/",
    )
    return response


@router.post("/ui/logout")
async def logout(request: Request, session: User) -> Response:
    """Forget the session cookie (the key stays valid; revoke it with `leadops keys revoke`)."""
    check_post(request, session, (await form_fields(request)).get(CSRF_FIELD))
    response = RedirectResponse("/ui/login", status_code=303)
    response.delete_cookie(COOKIE, path="/", httponly=True, samesite="strict")
    return response


@lru_cache(maxsize=8)
def _asset(name: str) -> tuple[bytes, str]:
    """A static file's bytes and ETag, read once per process."""
    if name == "plotly.min.js":
        data = plotly_js().encode()
    elif name == "draw.js":
        data = draw_js().encode()
    else:
        data = (STATIC / name).read_bytes()
    return data, '"' + hashlib.sha256(data).hexdigest()[:20] + '"'


@router.get("/ui/static/{name}")
async def static(request: Request, name: str) -> Response:
    """ui.css, ui.js, draw.js and plotly.js (the installed plotly package's and leadops.plots' own, as the offline
    reports inline them: the dashboard needs no internet)."""
    media = STATIC_TYPES.get(name)
    if media is None:
        return Response("not found", status_code=404, media_type="text/plain")
    data, etag = _asset(name)
    headers = {**security_headers(), "ETag": etag, "Cache-Control": "private, max-age=3600"}
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=headers)
    return Response(data, media_type=media, headers=headers)
