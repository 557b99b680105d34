"""The dashboard's session cookie and CSRF token: signed, bound to a live key, refused when forged, old or revoked."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from leadops.serving.keys import KeyStore, Role
from leadops.serving.ui.session import Sessions, load_secret


@pytest.fixture
def store(tmp_path: Path) -> KeyStore:
    return KeyStore(tmp_path / "keys.sqlite", cache_seconds=0.0, iterations=1000)


def test_a_cookie_names_its_key_and_survives_a_round_trip(store: KeyStore, tmp_path: Path) -> None:
    made = store.create(Role.ADMIN, "ana")
    sessions = Sessions(load_secret(tmp_path), store)
    session = sessions.read(sessions.issue(made.record))
    assert session is not None and session.key.id == made.id and session.role is Role.ADMIN
    assert session.actor == "ui:ana"
    assert made.key not in sessions.issue(made.record)  # the key itself never travels in the cookie


def test_a_tampered_expired_or_revoked_cookie_is_refused(store: KeyStore, tmp_path: Path) -> None:
    made = store.create(Role.VIEWER)
    sessions = Sessions(load_secret(tmp_path), store, seconds=60)
    value = sessions.issue(made.record)
    body, signature = value.split(".")
    assert sessions.read(body + "." + signature[:-2] + ("AA" if signature[-2:] != "AA" else "BB")) is None
    assert sessions.read(value + "x") is None and sessions.read("") is None and sessions.read(None) is None
    assert sessions.read(value, now=time.time() + 61) is None
    other = Sessions(b"another workspace's secret, 32+ bytes long", store)
    assert other.read(value) is None
    store.revoke(made.id)
    assert sessions.read(value) is None


def test_a_role_change_is_seen_on_the_next_request(store: KeyStore, tmp_path: Path) -> None:
    made = store.create(Role.ADMIN)
    sessions = Sessions(load_secret(tmp_path), store)
    value = sessions.issue(made.record)
    session = sessions.read(value)
    assert session is not None and session.may(Role.ADMIN)
    with store._write() as conn:  # an operator downgrading the key in the store
        conn.execute("UPDATE api_keys SET role = 'viewer' WHERE id = ?", (made.id,))
    later = sessions.read(value)
    assert later is not None and not later.may(Role.ADMIN) and later.may(Role.VIEWER)


def test_each_session_has_its_own_csrf_token(store: KeyStore, tmp_path: Path) -> None:
    made = store.create(Role.ADMIN)
    sessions = Sessions(load_secret(tmp_path), store)
    first, second = sessions.read(sessions.issue(made.record)), sessions.read(sessions.issue(made.record))
    assert first is not None and second is not None
    assert first.csrf != second.csrf and len(first.csrf) >= 40


def test_the_secret_is_created_owner_only_once_and_then_reused(tmp_path: Path) -> None:
    secret = load_secret(tmp_path)
    path = tmp_path / ".leadops" / "ui_secret"
    assert path.stat().st_mode & 0o077 == 0
    assert load_secret(tmp_path) == secret and len(secret) >= 32
