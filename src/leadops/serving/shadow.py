"""Shadow scoring online: challengers score every request in a background thread; the results go to SQLite.

Each worker process has one ShadowScorer. A scored request hands it the leads (a put on a bounded queue, never
a wait); a daemon thread scores them with every challenger and appends one row per (lead, challenger) to
`<workspace>/.leadops/shadow.sqlite` (WAL: N worker processes append while the dashboard and monitoring
read). A full queue drops that request's shadow work (counted in metrics); a challenger that raises is written
as an error row. Neither ever reaches the response. `shadow_log` and `shadow_summary` are what other parts read.
"""

from __future__ import annotations

import logging
import queue
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import closing, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa

from leadops.config import Settings
from leadops.errors import LeadOpsError
from leadops.serving import metrics
from leadops.serving.model import LeadRecords, ServedModel
from leadops.serving.schemas import ScoreResult
from leadops.serving.slot import Models

log = logging.getLogger("leadops.serving.shadow")

SHADOW_FILE = ".leadops/shadow.sqlite"
BUSY_MS = 10_000
"""How long a writer waits for another worker's transaction before giving up on a batch."""
MAX_BATCH = 64
"""Queued requests written in one transaction (fewer fsyncs when requests come fast)."""
PRUNE_EVERY = 3600.0
_ERROR_CHARS = 300

SCHEMA = pa.schema(
    [
        ("request_id", pa.string()),
        ("position", pa.int32()),
        ("lead_id", pa.string()),
        ("as_of", pa.timestamp("us")),
        ("scored_at", pa.timestamp("us")),
        ("champion_version", pa.int32()),
        ("champion_score", pa.float64()),
        ("champion_grade", pa.string()),
        ("challenger_version", pa.int32()),
        ("challenger_score", pa.float64()),
        ("challenger_grade", pa.string()),
        ("challenger_probability", pa.float64()),
        ("error", pa.string()),
    ]
)
"""One row per lead and challenger; `error` is set (and the challenger's numbers NULL) when it failed."""
COLUMNS = tuple(SCHEMA.names)
_TIMES = frozenset({"as_of", "scored_at"})

DDL = """
CREATE TABLE IF NOT EXISTS shadow_scores (
    request_id TEXT NOT NULL,
    position INTEGER NOT NULL,
    lead_id TEXT,
    as_of TEXT NOT NULL,
    scored_at TEXT NOT NULL,
    champion_version INTEGER NOT NULL,
    champion_score REAL,
    champion_grade TEXT,
    challenger_version INTEGER NOT NULL,
    challenger_score REAL,
    challenger_grade TEXT,
    challenger_probability REAL,
    error TEXT
);
CREATE INDEX IF NOT EXISTS shadow_scores_scored_at ON shadow_scores (scored_at);
"""


class ShadowLogError(LeadOpsError):
    """The shadow log (`.leadops/shadow.sqlite`) cannot be read: damaged, or not a shadow log."""

    exit_code = 36
    http_status = 503


def shadow_path(settings: Settings) -> Path:
    """Where the workspace's online shadow results are kept."""
    return settings.path(SHADOW_FILE)


def _iso(when: datetime) -> str:
    """Naive UTC as fixed-width ISO text: sorts and compares as time in SQL."""
    if when.tzinfo is not None:
        when = when.astimezone(UTC).replace(tzinfo=None)
    return when.isoformat(timespec="microseconds")


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


@dataclass(frozen=True)
class _Job:
    """One request's shadow work: its leads, the champion's answers, the challengers to ask."""

    request_id: str
    challengers: tuple[ServedModel, ...]
    records: Sequence[LeadRecords]
    as_of: datetime
    champion: tuple[tuple[str | None, int, float, str], ...]  # (lead_id, version, score, grade) per lead


class ShadowScorer:
    """One worker's shadow scoring: `submit` is the ServiceState.shadow hook; a daemon thread does the work."""

    def __init__(self, settings: Settings, *, maxsize: int | None = None, keep_days: float | None = None) -> None:
        self.path = shadow_path(settings)
        self.keep = timedelta(days=keep_days if keep_days is not None else settings.serving.shadow_keep_days)
        self._queue: queue.Queue[_Job | None] = queue.Queue(maxsize or settings.serving.shadow_queue)
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._stopping = False
        self.dropped = 0
        self.written = 0
        self.failed_writes = 0

    # ----------------------------------------------------------------------------------- the request side
    def submit(
        self, served: Models, records: Sequence[LeadRecords], as_of: datetime, results: Sequence[ScoreResult]
    ) -> None:
        """Queue the request's leads for the challengers; never blocks, never raises (a full queue drops them)."""
        if not served.challengers or self._stopping:
            return
        try:
            job = _Job(
                uuid.uuid4().hex,
                served.challengers,
                records,
                as_of,
                tuple((r.lead_id, r.model_version, r.score, r.grade) for r in results),
            )
            self._ensure_thread()
            self._queue.put_nowait(job)
        except queue.Full:
            self.dropped += 1
            metrics.observe_shadow_dropped()
        except Exception as exc:  # shadow scoring must never fail the request that feeds it
            log.warning("shadow: request not queued: %s", type(exc).__name__)

    @property
    def pending(self) -> int:
        """Requests waiting for the challengers in this worker."""
        return self._queue.qsize()

    def _ensure_thread(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            return
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="leadops-shadow", daemon=True)
                self._thread.start()

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until every queued request is scored and written (tests, shutdown); False on timeout."""
        deadline = time.monotonic() + timeout
        while self._queue.unfinished_tasks:
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.005)
        return True

    def stop(self, timeout: float = 5.0) -> None:
        """Finish what is queued (up to `timeout`), then end the thread."""
        self._stopping = True
        thread = self._thread
        if thread is None or not thread.is_alive():
            return
        try:
            self._queue.put(None, timeout=timeout)
        except queue.Full:
            log.warning("shadow: %d queued requests not scored at shutdown", self.pending)
            return
        thread.join(timeout)

    # ------------------------------------------------------------------------------------ the thread side
    def _run(self) -> None:
        conn: sqlite3.Connection | None = None
        next_prune = 0.0
        while True:
            jobs, stop = self._take()
            try:
                if jobs:
                    rows = [row for job in jobs for row in self._score(job)]
                    if conn is None:
                        conn = _open_writer(self.path)
                    _insert(conn, rows)
                    self.written += len(rows)
                    if time.monotonic() >= next_prune:
                        next_prune = time.monotonic() + PRUNE_EVERY
                        conn.execute("DELETE FROM shadow_scores WHERE scored_at < ?", (_iso(_now() - self.keep),))
            except Exception as exc:  # a full disk or a locked file loses these rows, never the thread
                self.failed_writes += 1
                metrics.observe_shadow_error("write")
                log.warning("shadow: %d requests not written to %s: %s", len(jobs), self.path, type(exc).__name__)
                if conn is not None:
                    conn.close()
                    conn = None
            finally:
                for _ in range(len(jobs) + stop):
                    self._queue.task_done()
            if stop:
                break
        if conn is not None:
            conn.close()

    def _take(self) -> tuple[list[_Job], bool]:
        """The next request (waiting for it) and whatever else is already queued, up to MAX_BATCH."""
        first = self._queue.get()
        if first is None:
            return [], True
        jobs = [first]
        while len(jobs) < MAX_BATCH:
            try:
                job = self._queue.get_nowait()
            except queue.Empty:
                break
            if job is None:
                return jobs, True
            jobs.append(job)
        return jobs, False

    def _score(self, job: _Job) -> Iterator[tuple[Any, ...]]:
        """Rows of one request: each challenger's answer beside the champion's, or its error."""
        as_of = _iso(job.as_of)
        for challenger in job.challengers:
            error: str | None = None
            try:
                answers: list[ScoreResult | None] = list(challenger.score(job.records, job.as_of))
                if len(answers) != len(job.records):
                    raise ValueError(f"{len(answers)} results for {len(job.records)} leads")
            except Exception as exc:  # a broken challenger is a finding to log, not a failure of the service
                error = f"{type(exc).__name__}: {exc}"[:_ERROR_CHARS]
                answers = [None] * len(job.records)
                metrics.observe_shadow_error(str(challenger.version))
                log.warning("shadow: challenger v%s failed: %s", challenger.version, type(exc).__name__)
            else:
                metrics.observe_shadow(str(challenger.version), len(answers))
            scored_at = _iso(_now())
            for i, (answer, champ) in enumerate(zip(answers, job.champion, strict=True)):
                yield (
                    job.request_id,
                    i,
                    champ[0],
                    as_of,
                    scored_at,
                    champ[1],
                    champ[2],
                    champ[3],
                    challenger.version,
                    None if answer is None else answer.score,
                    None if answer is None else answer.grade,
                    None if answer is None else answer.probability,
                    error,
                )


def _connect(path: Path, *, read_only: bool) -> sqlite3.Connection:
    if read_only:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=BUSY_MS / 1000)
    else:
        conn = sqlite3.connect(path, timeout=BUSY_MS / 1000, isolation_level=None)
    conn.execute(f"PRAGMA busy_timeout = {BUSY_MS}")
    return conn


def _open_writer(path: Path) -> sqlite3.Connection:
    """A connection that appends: WAL (readers never block writers), the table created if missing."""
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = _connect(path, read_only=False)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    conn.executescript(DDL)
    return conn


def _insert(conn: sqlite3.Connection, rows: list[tuple[Any, ...]]) -> None:
    conn.execute("BEGIN IMMEDIATE")
    try:
        conn.executemany(
            f"INSERT INTO shadow_scores ({', '.join(COLUMNS)}) VALUES ({', '.join('?' for _ in COLUMNS)})", rows
        )
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


@contextmanager
def _reader(settings: Settings) -> Iterator[sqlite3.Connection | None]:
    """A read-only connection to the log, None when nothing was ever logged; ShadowLogError when unreadable."""
    path = shadow_path(settings)
    if not path.exists():
        yield None
        return
    try:
        conn = _connect(path, read_only=True)
    except sqlite3.Error as exc:
        raise ShadowLogError(f"{path}: cannot open the shadow log: {exc}") from None
    with closing(conn):
        try:
            found = conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'shadow_scores'").fetchone()
        except sqlite3.DatabaseError as exc:
            raise ShadowLogError(f"{path}: not a readable shadow log: {exc}") from None
        yield conn if found else None


def _where(since: datetime | None, version: int | None) -> tuple[str, list[Any]]:
    clauses: list[str] = []
    args: list[Any] = []
    if since is not None:
        clauses.append("scored_at >= ?")
        args.append(_iso(since))
    if version is not None:
        clauses.append("challenger_version = ?")
        args.append(int(version))
    return (" WHERE " + " AND ".join(clauses)) if clauses else "", args


def shadow_log(
    settings: Settings, since: datetime | None = None, *, version: int | None = None, limit: int | None = None
) -> pa.Table:
    """The online shadow results (oldest first) scored at or after `since`, of challenger `version` if given."""
    where, args = _where(since, version)
    sql = f"SELECT {', '.join(COLUMNS)} FROM shadow_scores{where} ORDER BY scored_at, request_id, position"
    if limit is not None:
        sql += f" LIMIT {max(int(limit), 0)}"
    with _reader(settings) as conn:
        if conn is None:
            return SCHEMA.empty_table()
        try:
            rows = conn.execute(sql, args).fetchall()
        except sqlite3.DatabaseError as exc:
            raise ShadowLogError(f"{shadow_path(settings)}: cannot read shadow_scores: {exc}") from None
    columns = list(zip(*rows, strict=True)) if rows else [() for _ in COLUMNS]
    arrays = []
    for name, values in zip(COLUMNS, columns, strict=True):
        if name in _TIMES:
            values = tuple(datetime.fromisoformat(v) for v in values)
        arrays.append(pa.array(values, type=SCHEMA.field(name).type))
    return pa.Table.from_arrays(arrays, schema=SCHEMA)


def shadow_summary(settings: Settings, since: datetime | None = None) -> list[dict[str, Any]]:
    """Per (champion, challenger) pair: leads, errors, mean and mean absolute score gap, grade agreement."""
    where, args = _where(since, None)
    sql = f"""
        SELECT champion_version, challenger_version, count(*), count(DISTINCT request_id),
               sum(error IS NOT NULL),
               avg(CASE WHEN error IS NULL THEN challenger_score - champion_score END),
               avg(CASE WHEN error IS NULL THEN abs(challenger_score - champion_score) END),
               avg(CASE WHEN error IS NULL THEN (challenger_grade = champion_grade) * 1.0 END),
               min(scored_at), max(scored_at)
        FROM shadow_scores{where}
        GROUP BY champion_version, challenger_version
        ORDER BY champion_version, challenger_version
    """
    with _reader(settings) as conn:
        if conn is None:
            return []
        try:
            rows = conn.execute(sql, args).fetchall()
        except sqlite3.DatabaseError as exc:
            raise ShadowLogError(f"{shadow_path(settings)}: cannot read shadow_scores: {exc}") from None
    keys = (
        "champion_version",
        "challenger_version",
        "leads",
        "requests",
        "errors",
        "mean_score_difference",
        "mean_absolute_score_difference",
        "grade_agreement",
        "first_scored_at",
        "last_scored_at",
    )
    out = []
    for row in rows:
        item = dict(zip(keys, row, strict=True))
        for name in ("first_scored_at", "last_scored_at"):
            item[name] = datetime.fromisoformat(item[name])
        item["errors"] = int(item["errors"] or 0)
        out.append(item)
    return out
