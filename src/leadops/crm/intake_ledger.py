"""The online intake's own small store (SQLite, `.leadops/intake.sqlite`): request ids and the spool.

DuckDB admits one writer process and the nightly job holds it for minutes, so a lead submitted meanwhile is
kept here (durably: WAL, synchronous FULL) and drained into the warehouse when it is free. The same file
remembers every client request id with its body hash and first answer, so a retried web form or webhook gets
that answer again whether the lead went straight to the warehouse or waits in the spool, and every worker
process of the service sees the same ids.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from leadops.errors import LeadOpsError
from leadops.sqlite_tx import reading, writing

FILE = ".leadops/intake.sqlite"
BUSY_SECONDS = 5.0
STALE_SECONDS = 60.0
"""A claim older than this whose request never finished (the worker died) may be taken over by a retry."""
KEEP_DAYS = 30
"""How long a request id is remembered (and a drained spool entry kept, its payload already dropped)."""

_SCHEMA = """
CREATE TABLE IF NOT EXISTS requests (
    request_id TEXT PRIMARY KEY,
    body_hash TEXT NOT NULL,
    status TEXT NOT NULL,            -- pending | stored | queued
    http_status INTEGER,
    lead_id TEXT,
    response TEXT,
    received_at TEXT NOT NULL,
    finished_at TEXT
);
CREATE TABLE IF NOT EXISTS spool (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,              -- lead | quarantine
    request_id TEXT,
    payload TEXT,
    queued_at TEXT NOT NULL,
    drained_at TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT
);
CREATE INDEX IF NOT EXISTS spool_pending ON spool (drained_at, seq);
"""


class IntakeLedgerError(LeadOpsError):
    """The intake store (`.leadops/intake.sqlite`) cannot be opened or written."""

    exit_code = 52
    http_status = 503


@dataclass(frozen=True)
class KnownRequest:
    """A request id seen before: its body hash, where it got to, and the answer it was given."""

    request_id: str
    body_hash: str
    status: str
    http_status: int | None
    response: dict[str, Any] | None


@dataclass(frozen=True)
class SpoolEntry:
    """One accepted submission (or quarantine entry) waiting for the warehouse."""

    seq: int
    kind: str
    request_id: str | None
    payload: dict[str, Any]
    attempts: int


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).replace(tzinfo=None).isoformat() if value.tzinfo else value.isoformat()


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


class IntakeLedger:
    """Request ids and the spool of one workspace, safe for the threads and worker processes of the service."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None
        self._pid = 0

    @classmethod
    def for_workspace(cls, workspace: Path | str) -> IntakeLedger:
        """The ledger at `<workspace>/.leadops/intake.sqlite`."""
        return cls(Path(workspace) / FILE)

    def close(self) -> None:
        """Close this process's connection."""
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    # ------------------------------------------------------------------------------------ requests
    def claim(self, request_id: str, body_hash: str) -> KnownRequest | None:
        """Take the request id for this call (None), or the request already holding it (answer it with that)."""
        now = _now()
        with self._write() as conn:
            row = conn.execute(
                "SELECT request_id, body_hash, status, http_status, response, received_at FROM requests "
                "WHERE request_id = ?",
                [request_id],
            ).fetchone()
            if row is not None:
                stale = row[2] == "pending" and datetime.fromisoformat(row[5]) < now - timedelta(seconds=STALE_SECONDS)
                if not stale:
                    return KnownRequest(row[0], row[1], row[2], row[3], json.loads(row[4]) if row[4] else None)
                conn.execute("DELETE FROM requests WHERE request_id = ?", [request_id])
            conn.execute(
                "INSERT INTO requests (request_id, body_hash, status, received_at) VALUES (?, ?, 'pending', ?)",
                [request_id, body_hash, _iso(now)],
            )
        return None

    def release(self, request_id: str) -> None:
        """Give a claim back (the request was refused or failed: a corrected retry may use the id)."""
        with self._write() as conn:
            conn.execute("DELETE FROM requests WHERE request_id = ? AND status = 'pending'", [request_id])

    def finish(self, request_id: str, lead_id: str, http_status: int, response: dict[str, Any]) -> None:
        """Remember the answer a stored request got."""
        with self._write() as conn:
            self._finish(conn, request_id, "stored", lead_id, http_status, response)

    def queue(
        self, kind: str, payload: dict[str, Any], *, request_id: str | None = None,
        lead_id: str | None = None, http_status: int | None = None, response: dict[str, Any] | None = None,
    ) -> int:  # fmt: skip
        """Spool a submission for the warehouse (and remember the request's answer) in one transaction."""
        with self._write() as conn:
            cur = conn.execute(
                "INSERT INTO spool (kind, request_id, payload, queued_at) VALUES (?, ?, ?, ?)",
                [kind, request_id, json.dumps(payload, default=str), _iso(_now())],
            )
            if request_id is not None and response is not None and http_status is not None:
                self._finish(conn, request_id, "queued", lead_id, http_status, response)
            return int(cur.lastrowid or 0)

    @staticmethod
    def _finish(
        conn: sqlite3.Connection, request_id: str, status: str, lead_id: str | None, http_status: int,
        response: dict[str, Any],
    ) -> None:  # fmt: skip
        conn.execute(
            "UPDATE requests SET status = ?, lead_id = ?, http_status = ?, response = ?, finished_at = ? "
            "WHERE request_id = ?",
            [status, lead_id, http_status, json.dumps(response, default=str), _iso(_now()), request_id],
        )

    # --------------------------------------------------------------------------------------- spool
    def pending(self, limit: int = 500) -> list[SpoolEntry]:
        """The oldest submissions not yet in the warehouse, in arrival order."""
        with self._read() as conn:
            rows = conn.execute(
                "SELECT seq, kind, request_id, payload, attempts FROM spool WHERE drained_at IS NULL "
                "ORDER BY seq LIMIT ?",
                [limit],
            ).fetchall()
        return [SpoolEntry(int(r[0]), str(r[1]), r[2], json.loads(r[3]), int(r[4])) for r in rows]

    def pending_count(self) -> int:
        """How many submissions wait for the warehouse."""
        with self._read() as conn:
            return int(conn.execute("SELECT count(*) FROM spool WHERE drained_at IS NULL").fetchone()[0])

    def drained(self, seq: int) -> None:
        """The warehouse has the entry: mark it and drop its payload (personal data is kept in one place)."""
        with self._write() as conn:
            conn.execute("UPDATE spool SET drained_at = ?, payload = NULL WHERE seq = ?", [_iso(_now()), seq])

    def failed(self, seq: int, error: str) -> None:
        """The entry could not be written this time: count the attempt, keep it for the next drain."""
        with self._write() as conn:
            conn.execute("UPDATE spool SET attempts = attempts + 1, last_error = ? WHERE seq = ?", [error[:500], seq])

    def purge(self, days: int = KEEP_DAYS) -> int:
        """Forget request ids and drained entries older than `days`; how many rows went."""
        cutoff = _iso(_now() - timedelta(days=days))
        with self._write() as conn:
            a = conn.execute("DELETE FROM requests WHERE received_at < ? AND status <> 'pending'", [cutoff]).rowcount
            b = conn.execute("DELETE FROM spool WHERE drained_at IS NOT NULL AND drained_at < ?", [cutoff]).rowcount
        return int(a) + int(b)

    # ----------------------------------------------------------------------------------- plumbing
    def _connection(self) -> sqlite3.Connection:
        pid = os.getpid()
        if self._conn is not None and self._pid == pid:
            return self._conn
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            if not self.path.exists():  # owner-only: the spool holds submitted (personal) data
                os.close(os.open(self.path, os.O_CREAT | os.O_WRONLY, 0o600))
            conn = sqlite3.connect(self.path, timeout=BUSY_SECONDS, isolation_level=None, check_same_thread=False)
            deadline = time.monotonic() + BUSY_SECONDS
            while True:
                try:
                    conn.execute("PRAGMA journal_mode = WAL")
                    conn.execute("PRAGMA synchronous = FULL")  # an accepted lead survives a power cut
                    conn.executescript(_SCHEMA)
                    break
                except sqlite3.OperationalError as exc:  # another worker creating the file at the same moment
                    if "locked" not in str(exc) or time.monotonic() > deadline:
                        raise
                    time.sleep(0.02)
        except (OSError, sqlite3.Error) as exc:
            raise IntakeLedgerError(f"{self.path}: cannot open the intake store: {exc}") from exc
        self._conn, self._pid = conn, pid
        return conn

    def _fail(self, exc: sqlite3.Error, what: str) -> Exception:
        return IntakeLedgerError(f"{self.path}: cannot {what} the intake store: {exc}")

    def _read(self) -> AbstractContextManager[sqlite3.Connection]:
        return reading(self._lock, self._connection, self._fail)

    def _write(self) -> AbstractContextManager[sqlite3.Connection]:
        """One IMMEDIATE transaction (waits up to 5 s for another worker's)."""
        return writing(self._lock, self._connection, self._fail)
