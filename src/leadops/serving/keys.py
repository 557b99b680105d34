"""API keys for the online service: created and revoked by the CLI, verified by every worker on every request.

Storage is a small SQLite file in the workspace (`.leadops/keys.sqlite`, WAL mode), not the warehouse: DuckDB
allows one writer process and the nightly job holds it, while SQLite in WAL mode lets several uvicorn workers
read while the CLI writes. A key reads `lo_<id>_<secret>`: the id (12 hex characters, not secret) finds its
row without scanning every hash; only a salted PBKDF2-SHA256 hash of the whole key is stored, and the key is
shown once. The secret carries 256 random bits, so the hash's iterations guard a leaked file, not a guessable
password; verification is cached so a request pays a dictionary lookup, not a PBKDF2.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import sqlite3
import threading
import time
from contextlib import AbstractContextManager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

from leadops.errors import LeadOpsError, NotFoundError
from leadops.sqlite_tx import reading, writing

KEYS_FILE = Path(".leadops") / "keys.sqlite"
"""Where a workspace keeps its API keys (relative to the workspace folder)."""
PREFIX = "lo_"
ID_CHARS = 12
HASH_NAME = "pbkdf2_sha256"
ITERATIONS = 10_000
CACHE_SECONDS = 2.0
"""How long a worker trusts what it last read about a key: a revoke takes effect within this time."""
TOUCH_SECONDS = 60.0
"""last_used_at is written at most this often per key and worker (a write per request would contend)."""
MAX_NAME = 200
MAX_PRESENTED = 256
SCHEMA_VERSION = 1
_CACHE_LIMIT = 4096
_BUSY_MS = 5000
_HEX = frozenset("0123456789abcdef")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS api_keys (
    id TEXT PRIMARY KEY,
    name TEXT,
    role TEXT NOT NULL CHECK (role IN ('viewer', 'scorer', 'admin')),
    secret_hash TEXT NOT NULL,
    created_at TEXT NOT NULL,
    last_used_at TEXT,
    revoked_at TEXT
)
"""
_COLUMNS = "id, name, role, created_at, last_used_at, revoked_at, secret_hash"


class KeyStoreError(LeadOpsError):
    """The API key store cannot be used: keys.sqlite is damaged or unwritable, or a role or name is invalid."""

    exit_code = 21
    http_status = 503


class Role(StrEnum):
    """What a key may do: viewer reads scores, scorer also scores and submits leads, admin does everything."""

    VIEWER = "viewer"
    SCORER = "scorer"
    ADMIN = "admin"

    def allows(self, required: Role) -> bool:
        """Whether this role may call a route that needs `required` (viewer < scorer < admin)."""
        return _RANK[self] >= _RANK[required]

    @classmethod
    def parse(cls, value: Role | str) -> Role:
        """A role from its name; a KeyStoreError naming the accepted ones otherwise."""
        try:
            return cls(str(value).strip().lower())
        except ValueError:
            expected = ", ".join(r.value for r in cls)
            raise KeyStoreError(f"role: expected one of {expected}, got {value!r}") from None


_RANK = {Role.VIEWER: 0, Role.SCORER: 1, Role.ADMIN: 2}


@dataclass(frozen=True)
class KeyRecord:
    """What the store knows about a key, never the key itself nor its hash."""

    id: str
    name: str | None
    role: Role
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None

    @property
    def revoked(self) -> bool:
        """Whether the key was revoked (a revoked key is refused)."""
        return self.revoked_at is not None

    def to_dict(self) -> dict[str, Any]:
        """Plain data for `--json` and the API (timestamps as ISO 8601 UTC)."""
        return {
            "id": self.id,
            "name": self.name,
            "role": self.role.value,
            "created_at": _iso(self.created_at),
            "last_used_at": _iso(self.last_used_at),
            "revoked_at": _iso(self.revoked_at),
        }


@dataclass(frozen=True)
class CreatedKey:
    """A new key and its record: the only moment the key exists outside its holder's hands (repr hides it)."""

    key: str = field(repr=False)
    record: KeyRecord

    @property
    def id(self) -> str:
        """The key's id (`leadops keys revoke` takes it)."""
        return self.record.id

    @property
    def role(self) -> Role:
        """What the key may do."""
        return self.record.role

    def to_dict(self) -> dict[str, Any]:
        """`{"key", "role", "id", "name", "created_at"}`: what `keys create --json` prints, once."""
        return {
            "key": self.key,
            "role": self.role.value,
            "id": self.id,
            "name": self.record.name,
            "created_at": _iso(self.record.created_at),
        }


def keys_path(workspace: Path | str) -> Path:
    """The workspace's key store file, so the CLI and the app always agree on it."""
    return Path(workspace) / KEYS_FILE


class KeyStore:
    """API keys in one SQLite file: the CLI writes, any number of worker processes read at once."""

    def __init__(self, path: Path | str, *, cache_seconds: float = CACHE_SECONDS, iterations: int = ITERATIONS) -> None:
        self.path = Path(path)
        self.cache_seconds = cache_seconds
        self._iterations = iterations
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None
        self._pid = 0
        self._verified: dict[bytes, str] = {}  # sha256(presented) -> the id whose stored hash it matched
        self._refused: dict[bytes, float] = {}  # sha256(presented) -> when it failed its hash (monotonic)
        self._status: dict[str, tuple[float, KeyRecord]] = {}  # id -> (when read, the row then)

    @classmethod
    def for_workspace(cls, workspace: Path | str, **options: Any) -> KeyStore:
        """The store of a workspace (`<workspace>/.leadops/keys.sqlite`)."""
        return cls(keys_path(workspace), **options)

    # ----------------------------------------------------------------------------------------- writes (CLI)
    def create(self, role: Role | str, name: str | None = None) -> CreatedKey:
        """A new key with `role`; the returned CreatedKey holds the key, which is never stored or shown again."""
        parsed = Role.parse(role)
        label = _clean_name(name)
        for _ in range(3):  # a 48-bit id collides practically never; retry rather than fail if it does
            key_id = secrets.token_hex(ID_CHARS // 2)
            key = f"{PREFIX}{key_id}_{secrets.token_urlsafe(32)}"
            record = KeyRecord(key_id, label, parsed, _now(), None, None)
            try:
                with self._write() as conn:
                    conn.execute(
                        "INSERT INTO api_keys (id, name, role, secret_hash, created_at) VALUES (?, ?, ?, ?, ?)",
                        (key_id, label, parsed.value, _hash(key, self._iterations), _iso(record.created_at)),
                    )
            except _DuplicateIdError:
                continue
            return CreatedKey(key=key, record=record)
        raise KeyStoreError(f"{self.path}: could not draw an unused key id in 3 tries")

    def revoke(self, key_id: str) -> KeyRecord:
        """Refuse key `key_id` from now on (every worker within `cache_seconds`); a second revoke keeps the first."""
        wanted = key_id.strip()
        with self._write() as conn:
            row = conn.execute(f"SELECT {_COLUMNS} FROM api_keys WHERE id = ?", (wanted,)).fetchone()
            if row is None:
                raise NotFoundError(
                    f"no API key with id {wanted!r} in {self.path}", hint="`leadops keys list` shows every key's id"
                )
            if row[5] is None:
                conn.execute("UPDATE api_keys SET revoked_at = ? WHERE id = ?", (_iso(_now()), wanted))
                row = conn.execute(f"SELECT {_COLUMNS} FROM api_keys WHERE id = ?", (wanted,)).fetchone()
        self._status.pop(wanted, None)
        return _record(row)

    # ------------------------------------------------------------------------------------------------ reads
    def list(self) -> list[KeyRecord]:
        """Every key, oldest first, revoked ones included (their revoked_at says so)."""
        with self._read() as conn:
            rows = conn.execute(f"SELECT {_COLUMNS} FROM api_keys ORDER BY created_at, id").fetchall()
        return [_record(row) for row in rows]

    def get(self, key_id: str) -> KeyRecord:
        """One key's record by id; NotFoundError when there is none."""
        with self._read() as conn:
            row = conn.execute(f"SELECT {_COLUMNS} FROM api_keys WHERE id = ?", (key_id,)).fetchone()
        if row is None:
            raise NotFoundError(
                f"no API key with id {key_id!r} in {self.path}", hint="`leadops keys list` shows every key's id"
            )
        return _record(row)

    def record(self, key_id: str) -> KeyRecord | None:
        """A key's row by id, re-read at most every `cache_seconds` (the dashboard's session check); None if gone."""
        now = time.monotonic()
        cached = self._status.get(key_id)
        if cached is not None and now - cached[0] < self.cache_seconds:
            return cached[1]
        found = self._fetch(key_id)
        if found is None:
            self._status.pop(key_id, None)
            return None
        self._status[key_id] = (now, found[0])
        return found[0]

    def remembered(self, presented: str) -> bool:
        """True when verify(presented) answers from memory (no SQLite read or write): safe on the event loop."""
        key_id = _key_id(presented)
        if key_id is None:
            return True
        digest = hashlib.sha256(presented.encode()).digest()
        now = time.monotonic()
        if self._verified.get(digest) == key_id:
            cached = self._status.get(key_id)
            return cached is not None and now - cached[0] < self.cache_seconds
        refused = self._refused.get(digest)
        return refused is not None and now - refused < self.cache_seconds

    def verify(self, presented: str) -> KeyRecord | None:
        """The live record of the key presented, or None when it is malformed, unknown, wrong or revoked.

        A key that once matched its stored hash is remembered by its SHA-256 (an id's hash never changes), and
        its row (revoked? role?) is re-read at most every `cache_seconds`: a request pays a hash and a dict
        lookup, and a revoke by the CLI reaches every worker within that time. Raises KeyStoreError when the
        store itself cannot be read (the app answers 503, not 401).
        """
        key_id = _key_id(presented)
        if key_id is None:
            return None
        digest = hashlib.sha256(presented.encode()).digest()
        now = time.monotonic()
        known = self._verified.get(digest) == key_id
        cached = self._status.get(key_id) if known else None
        if cached is not None and now - cached[0] < self.cache_seconds:
            record = cached[1]
        else:
            if not known:
                refused = self._refused.get(digest)
                if refused is not None and now - refused < self.cache_seconds:
                    return None
            found = self._fetch(key_id)
            if found is None:
                self._status.pop(key_id, None)
                return None
            record, stored = found
            if not known:
                if not _matches(presented, stored):
                    _remember(self._refused, digest, now)
                    return None
                _remember(self._verified, digest, key_id)
            record = self._touch_if_stale(record)
            self._status[key_id] = (now, record)
        return None if record.revoked else record

    def close(self) -> None:
        """Close this process's connection (a later call opens a new one)."""
        with self._lock:
            if self._conn is not None and self._pid == os.getpid():
                self._conn.close()
            self._conn = None

    def __enter__(self) -> KeyStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------------------------------- internals
    def _fetch(self, key_id: str) -> tuple[KeyRecord, str] | None:
        with self._read() as conn:
            row = conn.execute(f"SELECT {_COLUMNS} FROM api_keys WHERE id = ?", (key_id,)).fetchone()
        return None if row is None else (_record(row), str(row[6]))

    def _touch_if_stale(self, record: KeyRecord) -> KeyRecord:
        """Record that the key was used, at most every TOUCH_SECONDS; best effort (never waits on the CLI)."""
        stamp = _now()
        if record.revoked or (
            record.last_used_at is not None and (stamp - record.last_used_at).total_seconds() < TOUCH_SECONDS
        ):
            return record
        with self._lock:
            try:
                conn = self._connection()
                conn.execute("PRAGMA busy_timeout = 20")
                try:
                    conn.execute("UPDATE api_keys SET last_used_at = ? WHERE id = ?", (_iso(stamp), record.id))
                finally:
                    conn.execute(f"PRAGMA busy_timeout = {_BUSY_MS}")
            except sqlite3.Error:  # locked by a writer or a read-only file: the next refresh tries again
                return record
        return replace(record, last_used_at=stamp)

    def _connection(self) -> sqlite3.Connection:
        """This process's connection (reopened after a fork), the schema created on first use; call under _lock."""
        pid = os.getpid()
        if self._conn is not None and self._pid == pid:
            return self._conn
        self._conn, self._pid = self._open(), pid
        return self._conn

    def _open(self) -> sqlite3.Connection:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            if not self.path.exists():  # created owner-only: the file holds the hashes
                os.close(os.open(self.path, os.O_CREAT | os.O_WRONLY, 0o600))
            conn = sqlite3.connect(self.path, timeout=_BUSY_MS / 1000, isolation_level=None, check_same_thread=False)
        except (OSError, sqlite3.Error) as exc:
            raise KeyStoreError(f"{self.path}: cannot open the API key store: {exc}") from exc
        deadline = time.monotonic() + _BUSY_MS / 1000
        while True:
            try:
                return _prepare(conn, self.path)
            except sqlite3.OperationalError as exc:  # another process creating the file at the same moment
                if "locked" not in str(exc) or time.monotonic() > deadline:
                    conn.close()
                    raise KeyStoreError(f"{self.path}: cannot prepare the API key store: {exc}") from exc
                time.sleep(0.02)
            except sqlite3.Error as exc:
                conn.close()
                raise KeyStoreError(f"{self.path}: not a usable API key store: {exc}") from exc
            except KeyStoreError:
                conn.close()
                raise

    def _fail(self, exc: sqlite3.Error, what: str) -> Exception:
        if isinstance(exc, sqlite3.IntegrityError) and "api_keys.id" in str(exc):
            return _DuplicateIdError(str(exc))
        return KeyStoreError(f"{self.path}: cannot {what} the API key store: {exc}")

    def _read(self) -> AbstractContextManager[sqlite3.Connection]:
        return reading(self._lock, self._connection, self._fail)

    def _write(self) -> AbstractContextManager[sqlite3.Connection]:
        """One IMMEDIATE transaction (the writer lock taken up front, waiting up to 5 s for another writer)."""
        return writing(self._lock, self._connection, self._fail)


class _DuplicateIdError(Exception):
    """A drawn key id already exists (retried by create, never seen outside)."""


def _prepare(conn: sqlite3.Connection, path: Path) -> sqlite3.Connection:
    """WAL mode (readers never block the writer), the table, the schema version checked."""
    version = int(conn.execute("PRAGMA user_version").fetchone()[0])
    if version > SCHEMA_VERSION:
        raise KeyStoreError(
            f"{path}: API key store schema {version} is newer than this leadops understands ({SCHEMA_VERSION})"
        )
    if str(conn.execute("PRAGMA journal_mode").fetchone()[0]).lower() != "wal":
        conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")  # in WAL mode: durable at checkpoints, no fsync per revoke
    if version < SCHEMA_VERSION:
        conn.execute("BEGIN IMMEDIATE")
        try:
            conn.execute(_SCHEMA)
            conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
    return conn


def _key_id(presented: str) -> str | None:
    """The id part of a well-formed key (`lo_` + 12 hex + `_` + secret), else None; no I/O."""
    if (
        not isinstance(presented, str)
        or len(presented) > MAX_PRESENTED
        or not presented.isascii()
        or not presented.startswith(PREFIX)
        or len(presented) < len(PREFIX) + ID_CHARS + 2
        or presented[len(PREFIX) + ID_CHARS] != "_"
    ):
        return None
    key_id = presented[len(PREFIX) : len(PREFIX) + ID_CHARS]
    return key_id if _HEX.issuperset(key_id) else None


def _hash(key: str, iterations: int) -> str:
    """`pbkdf2_sha256$<iterations>$<salt hex>$<hash hex>` of the whole key, with a fresh 16-byte salt."""
    salt = secrets.token_bytes(16)
    derived = hashlib.pbkdf2_hmac("sha256", key.encode(), salt, iterations)
    return f"{HASH_NAME}${iterations}${salt.hex()}${derived.hex()}"


def _matches(presented: str, stored: str) -> bool:
    """Whether `presented` is the key `stored` was derived from (constant-time compare)."""
    try:
        name, iterations, salt, expected = stored.split("$")
        if name != HASH_NAME:
            return False
        derived = hashlib.pbkdf2_hmac("sha256", presented.encode(), bytes.fromhex(salt), int(iterations))
    except ValueError:
        return False
    return hmac.compare_digest(derived, bytes.fromhex(expected))


def _remember(cache: dict[Any, Any], key: Any, value: Any) -> None:
    """Put into a bounded cache (cleared when full: a flood of bad keys cannot grow a worker's memory)."""
    if len(cache) >= _CACHE_LIMIT:
        cache.clear()
    cache[key] = value


def _clean_name(name: str | None) -> str | None:
    if name is None or not name.strip():
        return None
    cleaned = name.strip()
    if len(cleaned) > MAX_NAME or any(ord(c) < 32 for c in cleaned):
        raise KeyStoreError(
            f"name: expected at most {MAX_NAME} printable characters, got {len(cleaned)} characters "
            f"starting {cleaned[:20]!r}"
        )
    return cleaned


def _record(row: tuple[Any, ...]) -> KeyRecord:
    return KeyRecord(
        id=str(row[0]),
        name=row[1],
        role=Role(row[2]),
        created_at=_parse(row[3]) or datetime.fromtimestamp(0, UTC),
        last_used_at=_parse(row[4]),
        revoked_at=_parse(row[5]),
    )


def _now() -> datetime:
    return datetime.now(UTC)


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat(timespec="microseconds")


def _parse(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)
