"""Erasure in the workspace's own SQLite stores (`.leadops/*.sqlite`): the shadow log, the intake spool, ...

Stores are discovered, not listed, like the warehouse's tables: in every SQLite file under `.leadops/`, every
table loses the rows whose `lead_id` is one of the erased leads or whose text (a spooled lead's JSON payload,
a stored response) mentions one of their ids or emails as a whole word. Deletes run with `secure_delete` on
and the WAL is checkpointed and truncated afterwards, so the erased values leave no bytes in the files.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from typing import TYPE_CHECKING

from leadops.errors import IngestError

if TYPE_CHECKING:
    from leadops.crm.erase import Mentions

STORES_DIR = ".leadops"
BUSY_MS = 10_000  # the service may be appending: wait for its transaction, as its own writers do
PREFILTER_TOKENS = 50  # up to this many ids and emails, SQLite narrows the rows with instr() first
_TEXT_TYPES = ("", "TEXT", "VARCHAR", "CHAR", "CLOB", "JSON")


class StoreEraseError(IngestError):
    """A workspace SQLite store could not be read or rewritten while erasing."""

    exit_code = 56


def store_files(workspace: Path) -> list[Path]:
    """The SQLite files leadops keeps beside the warehouse (`.leadops/*.sqlite`), sorted."""
    folder = workspace / STORES_DIR
    return sorted(p for p in folder.glob("*.sqlite") if p.is_file()) if folder.is_dir() else []


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _tables(conn: sqlite3.Connection) -> Iterator[tuple[str, list[str], bool]]:
    """(table, its text columns, whether it has lead_id) for every user table."""
    names = conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
    for (table,) in names.fetchall():
        columns = conn.execute(f"PRAGMA table_info({_quote(table)})").fetchall()
        text = [str(c[1]) for c in columns if str(c[2]).upper() in _TEXT_TYPES and c[1] != "lead_id"]
        yield str(table), text, any(c[1] == "lead_id" for c in columns)


def _matching_rowids(conn: sqlite3.Connection, table: str, text: list[str], by_id: bool, who: Mentions) -> list[int]:
    """Rowids of the rows about them: lead_id among theirs, or a text value naming one of them."""
    ids = sorted(who.ids)
    found: set[int] = set()
    if by_id:
        marks = ", ".join("?" for _ in ids)
        rows = conn.execute(f"SELECT rowid FROM {_quote(table)} WHERE lead_id IN ({marks})", ids)
        found.update(int(r[0]) for r in rows.fetchall())
    if not text:
        return sorted(found)
    tokens = sorted(t.lower() for t in who.tokens())
    where, params = "", []
    if len(tokens) <= PREFILTER_TOKENS:
        tests = [f"instr(lower({_quote(c)}), ?) > 0" for c in text for _ in tokens]
        params = [t for _ in text for t in tokens]
        where = " WHERE " + " OR ".join(tests)
    cols = ", ".join(_quote(c) for c in text)
    for rowid, *values in conn.execute(f"SELECT rowid, {cols} FROM {_quote(table)}{where}", params):
        if any(isinstance(v, str) and who.found_in(v) for v in values):
            found.add(int(rowid))
    return sorted(found)


def erase_in_stores(workspace: Path, who: Mentions, *, dry_run: bool) -> dict[str, int]:
    """Delete their rows from every workspace SQLite store; rows per `<file>:<table>` (only tables with some)."""
    counts: dict[str, int] = {}
    for path in store_files(workspace):
        rel = path.relative_to(workspace).as_posix()
        try:
            with closing(sqlite3.connect(path, timeout=BUSY_MS / 1000, isolation_level=None)) as conn:
                conn.execute(f"PRAGMA busy_timeout = {BUSY_MS}")
                conn.execute("PRAGMA secure_delete = ON")  # freed pages are zeroed: no erased bytes stay behind
                conn.execute("BEGIN IMMEDIATE")
                try:
                    for table, text, by_id in list(_tables(conn)):
                        rowids = _matching_rowids(conn, table, text, by_id, who)
                        if not rowids:
                            continue
                        counts[f"{rel}:{table}"] = len(rowids)
                        if not dry_run:
                            conn.executemany(f"DELETE FROM {_quote(table)} WHERE rowid = ?", [[r] for r in rowids])
                    conn.execute("COMMIT")
                except BaseException:
                    conn.execute("ROLLBACK")
                    raise
                if not dry_run and any(k.startswith(f"{rel}:") for k in counts):
                    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # the WAL held the deleted rows too
        except sqlite3.Error as exc:
            raise StoreEraseError(
                f"erase: cannot erase from the store {path}: {exc}",
                hint="stop whatever holds it locked (a long transaction) and run erase again: it is idempotent",
            ) from exc
    return counts
