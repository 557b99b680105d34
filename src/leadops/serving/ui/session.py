"""The dashboard's login: an API key entered once becomes a signed, HttpOnly, SameSite session cookie.

The cookie holds the key's id, when it was issued and a random nonce, signed with HMAC-SHA256 by a secret kept
in the workspace (`.leadops/ui_secret`, owner-only, created on first use and shared by every worker). The key
itself is never stored in the cookie: each request re-reads the key's row, so a revoked key or a changed role
takes effect at once. Every POST carries a CSRF token derived from the session's nonce and must come from the
page's own origin.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
import time
from dataclasses import dataclass
from pathlib import Path

from fastapi import Request

from leadops.errors import LeadOpsError
from leadops.serving.keys import KeyRecord, KeyStore, KeyStoreError, Role

COOKIE = "leadops_session"
SECRET_FILE = Path(".leadops") / "ui_secret"
SESSION_SECONDS = 12 * 3600
"""A session lasts a working day; then the key is asked for again."""
CSRF_FIELD = "csrf"


class CsrfError(LeadOpsError):
    """A dashboard POST came without this session's CSRF token or from another origin (HTTP 403)."""

    exit_code = 37
    http_status = 403


@dataclass(frozen=True)
class Session:
    """Who is signed in: the key's live record and the session's nonce (the CSRF token is derived from it)."""

    key: KeyRecord
    nonce: str
    issued_at: int
    csrf: str

    @property
    def role(self) -> Role:
        """The key's role now (re-read every request)."""
        return self.key.role

    @property
    def actor(self) -> str:
        """How the audit log names this user: `ui:<key name or id>`."""
        return f"ui:{self.key.name or self.key.id}"

    def may(self, role: Role) -> bool:
        """Whether this user's role allows an action that needs `role`."""
        return self.key.role.allows(role)


def load_secret(workspace: Path) -> bytes:
    """The workspace's signing secret, created owner-only at first use (a race between workers keeps the first)."""
    path = Path(workspace) / SECRET_FILE
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "wb") as out:
                out.write(secrets.token_hex(32).encode())
        for _ in range(50):  # another worker may have created it and not yet written it
            data = path.read_bytes().strip()
            if len(data) >= 32:
                return data
            time.sleep(0.02)
    except OSError as exc:
        raise KeyStoreError(f"{path}: cannot read or create the dashboard's session secret: {exc}") from exc
    raise KeyStoreError(f"{path}: the dashboard's session secret is too short; delete the file to make a new one")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class Sessions:
    """Issues and checks session cookies and CSRF tokens for one workspace."""

    def __init__(self, secret: bytes, keys: KeyStore, *, seconds: int = SESSION_SECONDS) -> None:
        self._secret = secret
        self.keys = keys
        self.seconds = seconds

    def _sign(self, payload: bytes) -> str:
        return _b64(hmac.new(self._secret, b"session:" + payload, hashlib.sha256).digest())

    def csrf_token(self, nonce: str) -> str:
        """The CSRF token of a session: bound to its nonce, useless in another session."""
        return _b64(hmac.new(self._secret, b"csrf:" + nonce.encode(), hashlib.sha256).digest())

    def issue(self, record: KeyRecord, now: float | None = None) -> str:
        """A new cookie value for a key that was just verified."""
        issued = int(time.time() if now is None else now)
        payload = json.dumps({"k": record.id, "t": issued, "n": secrets.token_urlsafe(16)}, separators=(",", ":"))
        raw = payload.encode()
        return f"{_b64(raw)}.{self._sign(raw)}"

    def read(self, value: str | None, now: float | None = None) -> Session | None:
        """The session a cookie value stands for, or None (missing, forged, expired, key revoked or gone)."""
        if not value or len(value) > 512 or value.count(".") != 1:
            return None
        body, signature = value.split(".")
        try:
            raw = _unb64(body)
        except ValueError:
            return None
        if not hmac.compare_digest(self._sign(raw), signature):
            return None
        try:
            data = json.loads(raw)
            key_id, issued, nonce = str(data["k"]), int(data["t"]), str(data["n"])
        except (ValueError, KeyError, TypeError):
            return None
        clock = time.time() if now is None else now
        if not 0 <= clock - issued <= self.seconds:
            return None
        record = self.keys.record(key_id)
        if record is None or record.revoked:
            return None
        return Session(record, nonce, issued, self.csrf_token(nonce))

    def current(self, request: Request) -> Session | None:
        """The session of a request's cookie (cached on the request)."""
        if hasattr(request.state, "ui_session"):
            found: Session | None = request.state.ui_session
            return found
        session = self.read(request.cookies.get(COOKIE))
        request.state.ui_session = session
        if session is not None:
            request.state.key_id = session.key.id
        return session


def same_origin(request: Request) -> bool:
    """Whether a POST comes from this site's own pages (Origin, else Referer, must name this host)."""
    host = request.headers.get("host", "")
    origin = request.headers.get("origin") or request.headers.get("referer")
    if not origin or origin == "null":
        return origin is None
    rest = origin.split("://", 1)[-1]
    return rest.split("/", 1)[0] == host


def check_post(request: Request, session: Session | None, token: str | None) -> None:
    """Refuse a POST from another origin or, for a signed-in user, without the session's CSRF token."""
    if not same_origin(request):
        raise CsrfError("the form was posted from another site (Origin/Referer does not name this host)")
    if session is not None and not (token and hmac.compare_digest(token, session.csrf)):
        raise CsrfError(f"form field '{CSRF_FIELD}': missing or not this session's token; reload the page and retry")


async def form_fields(request: Request) -> dict[str, str]:
    """A urlencoded form's fields (the last value of a repeated name); the dashboard's forms post nothing else."""
    from urllib.parse import parse_qsl

    kind = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if kind != "application/x-www-form-urlencoded":
        raise CsrfError(f"content-type: expected application/x-www-form-urlencoded (a dashboard form), got {kind!r}")
    body = (await request.body()).decode("utf-8", errors="replace")
    return dict(parse_qsl(body, keep_blank_values=True, max_num_fields=50))
