"""One connection type over DuckDB or PostgreSQL: run SQL, read Arrow, upsert Arrow, migrate, lock the writer."""

from __future__ import annotations

import contextlib
import hashlib
import io
import itertools
import os
import re
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit, urlunsplit

import pyarrow as pa

from leadops.errors import WarehouseError, WarehouseLockedError
from leadops.redaction import redact_text, redact_url
from leadops.warehouse import migrator
from leadops.warehouse.dialect import SQL_DIALECTS, Dialect, SqlDialect, placeholders, render

IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
CANONICAL_TABLES = ("accounts", "leads", "activities", "outcomes")
_STAGE_SEQ = itertools.count()


def quote_ident(name: str) -> str:
    """Quote a table or column name after checking it is a plain identifier (no SQL injection by config)."""
    if not IDENTIFIER.match(name):
        raise WarehouseError(f"'{name}' is not a valid table or column name (letters, digits, underscore)")
    return f'"{name}"'


def redact(url: str) -> str:
    """A URL fit for logs and error messages: passwords and secret query values replaced by ***."""
    return redact_url(url)


class Warehouse:
    """A live connection to the warehouse; SQL uses `?` parameters whatever the engine."""

    def __init__(self, url: str, *, base_dir: Path | None = None, read_only: bool = False) -> None:
        self.url = url
        self.read_only = read_only
        self.dialect: Dialect
        self.path: Path | None = None
        self.schema: str | None = None
        self.checkpoints_deferred = False  # inside few_checkpoints(): committed rows wait in memory for the WAL fold
        if url.startswith("duckdb://"):
            self.dialect = "duckdb"
            self._open_duckdb(url, base_dir)
        elif url.startswith(("postgresql://", "postgres://")):
            self.dialect = "postgres"
            self._open_postgres(url)
        else:
            raise WarehouseError(
                f"warehouse url '{redact(url)}' is not understood",
                hint="use duckdb:///relative/or/absolute/path.duckdb or postgresql://user:pass@host/db",
            )
        self.sql: SqlDialect = SQL_DIALECTS[self.dialect]

    # ----------------------------------------------------------------- opening
    def _open_duckdb(self, url: str, base_dir: Path | None) -> None:
        import duckdb

        raw = url[len("duckdb://") :]
        if raw in ("", "/:memory:", ":memory:"):
            target = ":memory:"
        else:
            path = Path(raw[1:] if raw.startswith("/") and not raw.startswith("//") else raw)
            if raw.startswith("//"):
                path = Path(raw[1:])
            if not path.is_absolute():
                path = (base_dir or Path.cwd()) / path
            path.parent.mkdir(parents=True, exist_ok=True)
            self.path = path
            target = str(path)
        try:
            self._duck = duckdb.connect(target, read_only=self.read_only and target != ":memory:")
        except duckdb.IOException as exc:
            if "lock" in str(exc).lower():
                raise WarehouseLockedError(
                    f"the warehouse {target} is open for writing by another process",
                    hint="wait for the running leadops job to finish, then retry",
                ) from exc
            raise WarehouseError(f"cannot open the warehouse {target}: {exc}") from exc

    def _open_postgres(self, url: str) -> None:
        import psycopg

        parts = urlsplit(url)
        query = parse_qs(parts.query)
        self.schema = query.pop("schema", [None])[0]
        conninfo = urlunsplit(parts._replace(query="&".join(f"{k}={v[0]}" for k, v in query.items())))
        try:
            self._pg = psycopg.connect(conninfo, autocommit=True)
        except psycopg.OperationalError as exc:
            raise WarehouseError(redact_text(f"cannot connect to PostgreSQL at {redact(url)}: {exc}".strip())) from exc
        if self.schema:
            quote_ident(self.schema)
            self._pg.execute(f'CREATE SCHEMA IF NOT EXISTS "{self.schema}"')
            self._pg.execute(f'SET search_path TO "{self.schema}"')

    def close(self) -> None:
        """Release the connection (and with DuckDB, the file lock)."""
        if self.dialect == "duckdb":
            self._duck.close()
        else:
            self._pg.close()

    def __enter__(self) -> Warehouse:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --------------------------------------------------------------- running SQL
    def execute(self, sql: str, params: Sequence[Any] | None = None) -> None:
        """Run one statement that returns nothing the caller needs."""
        try:
            if self.dialect == "duckdb":
                self._duck.execute(sql, params or [])
                with contextlib.suppress(Exception):
                    self._duck.fetchall()
            else:
                self._pg.execute(placeholders(sql, "postgres") if params else sql, params or None)
        except WarehouseError:
            raise
        except Exception as exc:
            raise WarehouseError(
                redact_text(f"warehouse statement failed: {exc}".strip()), hint=_first_line(sql)
            ) from exc

    def changed(self, sql: str, params: Sequence[Any] | None = None) -> int:
        """Run one INSERT/UPDATE/DELETE and return how many rows it wrote, as the engine counts them."""
        try:
            if self.dialect == "duckdb":
                result = self._duck.execute(sql, params or []).fetchall()
                return int(result[0][0]) if result and result[0] and result[0][0] is not None else 0
            with self._pg.cursor() as cur:
                cur.execute(placeholders(sql, "postgres") if params else sql, params or None)
                return max(0, int(cur.rowcount))
        except Exception as exc:
            raise WarehouseError(f"warehouse statement failed: {exc}".strip(), hint=_first_line(sql)) from exc

    def rows(self, sql: str, params: Sequence[Any] | None = None) -> list[tuple[Any, ...]]:
        """Run a query and return its rows as tuples (small results only)."""
        try:
            if self.dialect == "duckdb":
                return self._duck.execute(sql, params or []).fetchall()
            with self._pg.cursor() as cur:
                cur.execute(placeholders(sql, "postgres") if params else sql, params or None)
                return list(cur.fetchall())
        except Exception as exc:
            raise WarehouseError(f"warehouse query failed: {exc}".strip(), hint=_first_line(sql)) from exc

    def scalar(self, sql: str, params: Sequence[Any] | None = None) -> Any:
        """The first column of the first row, or None."""
        result = self.rows(sql, params)
        return result[0][0] if result else None

    def arrow(self, sql: str, params: Sequence[Any] | None = None) -> pa.Table:
        """Run a query and return the whole result as an Arrow table."""
        try:
            if self.dialect == "duckdb":
                return self._duck.sql(sql, params=list(params) if params else None).to_arrow_table()
            with self._pg.cursor() as cur:
                cur.execute(placeholders(sql, "postgres") if params else sql, params or None)
                described = [(d.name, d.type_code) for d in cur.description or []]
                data = cur.fetchall()
            return _pg_table(described, data)
        except Exception as exc:
            raise WarehouseError(f"warehouse query failed: {exc}".strip(), hint=_first_line(sql)) from exc

    def arrow_typed(self, sql: str, schema: pa.Schema) -> pa.Table:
        """A large result of known column types (text, numbers, timestamps) as Arrow in `schema`: on PostgreSQL
        streamed by COPY as CSV and parsed by Arrow's C++ reader (~4x faster than building Python rows)."""
        if self.dialect == "duckdb":
            return self.arrow(sql).cast(schema)
        import pyarrow.csv as pacsv

        buffer = io.BytesIO()
        try:
            with self._pg.cursor() as cur, cur.copy(f"COPY ({sql}) TO STDOUT WITH (FORMAT csv, HEADER)") as copy:
                for block in copy:
                    buffer.write(block)
            buffer.seek(0)
            options = pacsv.ConvertOptions(  # NULL is an unquoted empty field; '' and 'NaN' stay themselves
                column_types=schema, null_values=[""], strings_can_be_null=True, quoted_strings_can_be_null=False
            )
            table = pacsv.read_csv(buffer, convert_options=options)
        except Exception as exc:
            raise WarehouseError(f"warehouse query failed: {exc}".strip(), hint=_first_line(sql)) from exc
        if table.column_names != schema.names:
            raise WarehouseError(f"query columns {table.column_names} are not the expected {schema.names}")
        return table.cast(schema)

    def df(self, sql: str, params: Sequence[Any] | None = None) -> Any:
        """Run a query and return a pandas DataFrame."""
        return self.arrow(sql, params).to_pandas()

    @contextlib.contextmanager
    def staged(self, data: pa.Table) -> Iterator[str]:
        """Arrow rows as a relation SQL can join for the length of the block (DuckDB: a registered view;
        PostgreSQL: a typed temporary table loaded by COPY); yields its name."""
        name = f"_leadops_rel_{os.getpid()}_{next(_STAGE_SEQ)}"
        if self.dialect == "duckdb":
            self._duck.register(name, data)
            try:
                yield name
            finally:
                self._duck.unregister(name)
            return
        cols = ", ".join(f"{quote_ident(f.name)} {_pg_type(f.type)}" for f in data.schema)
        try:
            self._pg.execute(f"CREATE TEMP TABLE {name} ({cols})")
            self._pg_copy(name, data)
            self._pg.execute(f"ANALYZE {name}")
        except Exception as exc:
            with contextlib.suppress(Exception):
                self._pg.execute(f"DROP TABLE IF EXISTS {name}")
            raise WarehouseError(f"staging {data.num_rows} rows for a query failed: {exc}".strip()) from exc
        try:
            yield name
        finally:
            self._pg.execute(f"DROP TABLE IF EXISTS {name}")

    def copy_to(self, sql: str, target: Path, fmt: str) -> None:
        """Write a query's rows to a CSV (with header) or zstd Parquet file, streamed (flat memory)."""
        if fmt not in ("csv", "parquet"):
            raise WarehouseError(f"copy_to: format must be csv or parquet, got {fmt!r} (file {target})")
        if self.dialect == "duckdb":
            options = "FORMAT csv, HEADER" if fmt == "csv" else "FORMAT parquet, COMPRESSION zstd"
            path = "'" + str(target).replace("'", "''") + "'"
            self.execute(f"COPY ({sql}) TO {path} ({options})")
            return
        import pyarrow.csv as pacsv
        import pyarrow.parquet as pq

        writer: pacsv.CSVWriter | pq.ParquetWriter | None = None
        try:
            with self._pg.transaction(), self._pg.cursor(name=f"leadops_copy_{next(_STAGE_SEQ)}") as cur:
                cur.execute(sql)
                while True:
                    data = cur.fetchmany(COPY_BATCH)
                    described = [(d.name, d.type_code) for d in cur.description or []]
                    if not data and writer is not None:
                        break
                    table = _pg_table(described, data)
                    if writer is None:
                        schema = table.schema
                        writer = (
                            pacsv.CSVWriter(str(target), schema)
                            if fmt == "csv"
                            else pq.ParquetWriter(str(target), schema, compression="zstd")
                        )
                    writer.write_table(table.cast(schema))
                    if not data:
                        break
        except Exception as exc:
            raise WarehouseError(f"writing {target} failed: {exc}".strip(), hint=_first_line(sql)) from exc
        finally:
            if writer is not None:
                writer.close()

    def duckdb(self) -> Any:
        """The raw DuckDB connection, for set-based work that stays inside DuckDB (feature SQL, exports)."""
        if self.dialect != "duckdb":
            raise WarehouseError("this operation needs the DuckDB warehouse")
        return self._duck

    # ---------------------------------------------------------------- schema
    def table_exists(self, table: str) -> bool:
        """Whether a table or view exists in the warehouse's schema."""
        if self.dialect == "duckdb":
            sql = "SELECT count(*) FROM information_schema.tables WHERE table_name = ?"
            return bool(self.scalar(sql, [table]))
        sql = "SELECT count(*) FROM information_schema.tables WHERE table_name = ? AND table_schema = current_schema()"
        return bool(self.scalar(sql, [table]))

    def columns(self, table: str) -> dict[str, str]:
        """Column name -> SQL type of a table, in table order."""
        extra = "" if self.dialect == "duckdb" else " AND table_schema = current_schema()"
        sql = (
            "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = ?"
            + extra
            + " ORDER BY ordinal_position"
        )
        return {str(name): str(kind) for name, kind in self.rows(sql, [table])}

    def schema_version(self) -> int:
        """The highest applied migration number (0 on an empty warehouse)."""
        if not self.table_exists("schema_version"):
            return 0
        return int(self.scalar("SELECT coalesce(max(version), 0) FROM schema_version") or 0)

    def migrate(self) -> list[str]:
        """Apply every migration not yet applied, each in its own transaction; return their names."""
        if self.read_only:
            raise WarehouseError("cannot migrate a warehouse opened read-only")
        self.execute(
            "CREATE TABLE IF NOT EXISTS schema_version "
            "(version INTEGER PRIMARY KEY, name VARCHAR NOT NULL, applied_at TIMESTAMP NOT NULL)"
        )
        done = {int(row[0]) for row in self.rows("SELECT version FROM schema_version")}
        applied: list[str] = []
        for migration in migrator.available():
            if migration.version in done:
                continue
            with self.transaction():
                for statement in migrator.statements(render(migration.sql, self.dialect)):
                    self.execute(statement)
                self.execute(
                    "INSERT INTO schema_version VALUES (?, ?, ?)",
                    [migration.version, migration.name, utcnow()],
                )
            applied.append(f"{migration.version:03d}_{migration.name}")
        return applied

    def counts(self, tables: Sequence[str] = CANONICAL_TABLES) -> dict[str, int]:
        """Row count per table."""
        return {t: int(self.scalar(f"SELECT count(*) FROM {quote_ident(t)}") or 0) for t in tables}

    # ----------------------------------------------------------- transactions
    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        """All or nothing: readers never see a half-applied change."""
        if self.dialect == "duckdb":
            self._duck.execute("BEGIN TRANSACTION")
            try:
                yield
            except BaseException:
                self._duck.execute("ROLLBACK")
                raise
            self._duck.execute("COMMIT")
        else:
            with self._pg.transaction():
                yield

    @contextlib.contextmanager
    def few_checkpoints(self, wal: str = "512MB") -> Iterator[None]:
        """Inside: DuckDB folds its write-ahead log into the file only once it passes `wal`, then once at the end.

        For a long series of small commits in one process (the closed loop's simulated nights): each commit
        past DuckDB's default 16 MB otherwise rewrites the changed row groups of a large file, ~1 s a night.
        Until a fold the committed rows stay in DuckDB's memory (IN_MEMORY_TABLE, ~15-20 MB a simulated day), so
        ingest leaves the buffer pool uncapped meanwhile (`checkpoints_deferred`). PostgreSQL: nothing changes."""
        if self.dialect != "duckdb" or self.path is None:
            yield
            return
        before = str(self.scalar("SELECT current_setting('checkpoint_threshold')"))
        self._duck.execute(f"SET checkpoint_threshold = '{_size(wal)}'")
        self.checkpoints_deferred = True
        try:
            yield
        finally:
            self.checkpoints_deferred = False
            self._duck.execute(f"SET checkpoint_threshold = '{_size(before)}'")
            self._duck.execute("CHECKPOINT")

    @contextlib.contextmanager
    def writer(self, job: str) -> Iterator[None]:
        """Hold the single-writer lock for a job; a second writer gets WarehouseLockedError at once."""
        if self.dialect == "duckdb":
            # DuckDB's own file lock already admits one read-write process; this guards threads/jobs in it.
            lock_path = Path(f"{self.path}.writer.lock") if self.path else None
            if lock_path is None:
                yield
                return
            import fcntl

            with open(lock_path, "a+") as handle:
                try:
                    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError as exc:
                    raise WarehouseLockedError(
                        f"another leadops job is writing to {self.path}", hint="retry when it has finished"
                    ) from exc
                handle.seek(0)
                handle.truncate()
                handle.write(f"{os.getpid()} {job}\n")
                handle.flush()
                try:
                    yield
                finally:
                    fcntl.flock(handle, fcntl.LOCK_UN)
        else:
            key = int.from_bytes(hashlib.sha256(f"leadops:{self.schema}".encode()).digest()[:7], "big")
            if not self.scalar("SELECT pg_try_advisory_lock(?)", [key]):
                raise WarehouseLockedError(
                    "another leadops job holds the PostgreSQL writer lock", hint="retry when it has finished"
                )
            try:
                yield
            finally:
                self.scalar("SELECT pg_advisory_unlock(?)", [key])

    def compact(self, tables: Sequence[str] = ()) -> None:
        """Rewrite storage so deleted rows leave no bytes behind (erasure): DuckDB copies the database into a
        fresh file and swaps it in (views, keys and indexes come along); PostgreSQL runs VACUUM FULL on `tables`.
        Call while holding the writer lock."""
        if self.dialect == "postgres":
            for table in tables:
                self.execute(f"VACUUM FULL {quote_ident(table)}")
            return
        if self.path is None:
            return  # in memory: nothing on disk
        import duckdb

        fresh = self.path.with_name(f".{self.path.name}.compact.{os.getpid()}")
        fresh.unlink(missing_ok=True)
        current = quote_ident(str(self.scalar("SELECT current_database()")))
        try:
            self._duck.execute("CHECKPOINT")
            self._duck.execute(f"ATTACH '{str(fresh).replace(chr(39), chr(39) * 2)}' AS leadops_compact")
            try:
                self._duck.execute(f"COPY FROM DATABASE {current} TO leadops_compact")
            finally:
                self._duck.execute("DETACH leadops_compact")
        except duckdb.Error as exc:
            fresh.unlink(missing_ok=True)
            raise WarehouseError(f"compacting {self.path} failed: {exc}") from exc
        self._duck.close()
        try:
            os.replace(fresh, self.path)
        finally:
            self._duck = duckdb.connect(str(self.path))

    # ----------------------------------------------------------------- writing
    def insert(self, table: str, data: pa.Table) -> int:
        """Append rows (columns matched by name; missing columns get NULL)."""
        return self._merge(table, data, key=None)

    def upsert(self, table: str, data: pa.Table, key: Sequence[str]) -> int:
        """Insert rows, replacing any row with the same key: re-loading the same data changes nothing."""
        return self._merge(table, data, key=list(key))

    def update(self, table: str, data: pa.Table, key: Sequence[str]) -> int:
        """Set the given columns of existing rows matched on `key` (PostgreSQL checks NOT NULL columns of an
        upsert's proposed row before its conflict, so a partial upsert cannot fill in columns there)."""
        if data.num_rows == 0:
            return 0
        target = self.columns(table)
        unknown = [c for c in data.column_names if c not in target]
        if not target or unknown:
            raise WarehouseError(
                f"update of '{table}': columns {unknown or data.column_names} not in it ({list(target)})"
            )
        sets = [c for c in data.column_names if c not in key]
        assign = ", ".join(
            f"{quote_ident(c)} = CAST(s.{quote_ident(c)} AS {_cast_type(target[c], self.dialect)})" for c in sets
        )
        match = " AND ".join(f"{quote_ident(table)}.{quote_ident(k)} = s.{quote_ident(k)}" for k in key)
        with self.staged(data) as rel:
            return self.changed(f"UPDATE {quote_ident(table)} SET {assign} FROM {rel} s WHERE {match}")

    def _merge(self, table: str, data: pa.Table, key: list[str] | None) -> int:
        if data.num_rows == 0:
            return 0
        target = self.columns(table)
        if not target:
            raise WarehouseError(f"table '{table}' does not exist; run migrations first")
        unknown = [c for c in data.column_names if c not in target]
        if unknown:
            raise WarehouseError(f"columns {unknown} are not in table '{table}' (it has {list(target)})")
        names = [c for c in target if c in data.column_names]
        cols = ", ".join(quote_ident(c) for c in names)
        casts = ", ".join(f"CAST({quote_ident(c)} AS {_cast_type(target[c], self.dialect)})" for c in names)
        conflict = ""
        if key:
            updates = [c for c in names if c not in key]
            keys = ", ".join(quote_ident(k) for k in key)
            if updates:
                sets = ", ".join(f"{quote_ident(c)} = excluded.{quote_ident(c)}" for c in updates)
                conflict = f" ON CONFLICT ({keys}) DO UPDATE SET {sets}"
            else:
                conflict = f" ON CONFLICT ({keys}) DO NOTHING"
        if self.dialect == "duckdb":
            view = f"_leadops_stage_{os.getpid()}_{next(_STAGE_SEQ)}"
            self._duck.register(view, data.select(names))
            try:
                self._duck.execute(f"INSERT INTO {quote_ident(table)} ({cols}) SELECT {casts} FROM {view}{conflict}")
            except Exception as exc:
                raise WarehouseError(f"writing {data.num_rows} rows to '{table}' failed: {exc}") from exc
            finally:
                self._duck.unregister(view)
            return data.num_rows
        return self._pg_merge(table, data.select(names), cols, casts, conflict)

    def _pg_copy(self, relation: str, data: pa.Table) -> None:
        """COPY Arrow rows into an existing PostgreSQL table (values as text PostgreSQL parses back exactly)."""
        cols = ", ".join(quote_ident(c) for c in data.column_names)
        with self._pg.cursor() as cur, cur.copy(f"COPY {relation} ({cols}) FROM STDIN WITH (FORMAT csv)") as copy:
            copy.write(_csv_bytes(data))

    def _pg_merge(self, table: str, data: pa.Table, cols: str, casts: str, conflict: str) -> int:
        stage = f"_leadops_stage_{os.getpid()}_{next(_STAGE_SEQ)}"
        buffer = io.BytesIO(_csv_bytes(data))
        stage_cols = ", ".join(f"{quote_ident(c)} TEXT" for c in data.column_names)
        try:
            with self._pg.transaction(), self._pg.cursor() as cur:
                cur.execute(f"CREATE TEMP TABLE {stage} ({stage_cols}) ON COMMIT DROP")
                with cur.copy(f"COPY {stage} ({cols}) FROM STDIN WITH (FORMAT csv)") as copy:
                    copy.write(buffer.getvalue())
                cur.execute(f"INSERT INTO {quote_ident(table)} ({cols}) SELECT {casts} FROM {stage}{conflict}")
                cur.execute(f"DROP TABLE {stage}")  # now: inside an outer transaction ON COMMIT DROP waits for it
        except Exception as exc:
            raise WarehouseError(f"writing {data.num_rows} rows to '{table}' failed: {exc}") from exc
        return data.num_rows


COPY_BATCH = 100_000

# PostgreSQL type OIDs -> Arrow types, so an all-NULL column keeps its type (numeric and others are inferred)
_PG_ARROW: dict[int, pa.DataType] = {
    16: pa.bool_(),
    20: pa.int64(),
    21: pa.int16(),
    23: pa.int32(),
    25: pa.string(),
    114: pa.string(),
    700: pa.float32(),
    701: pa.float64(),
    1042: pa.string(),
    1043: pa.string(),
    1114: pa.timestamp("us"),
    3802: pa.string(),
}


def _pg_table(described: list[tuple[str, int]], data: list[tuple[Any, ...]]) -> pa.Table:
    """PostgreSQL rows as an Arrow table, typed by the result's column types."""
    arrays = []
    for i, (_, oid) in enumerate(described):
        values = _plain([row[i] for row in data])
        kind = _PG_ARROW.get(oid)
        arrays.append(pa.array(values, kind) if kind is not None else pa.array(values))
    return pa.Table.from_arrays(arrays, names=[name for name, _ in described])


def _pg_type(kind: pa.DataType) -> str:
    """The PostgreSQL column type holding an Arrow type's values exactly."""
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        return "TEXT"
    if pa.types.is_timestamp(kind):
        return "TIMESTAMP"
    if pa.types.is_boolean(kind):
        return "BOOLEAN"
    if pa.types.is_integer(kind):
        return "BIGINT"
    if pa.types.is_floating(kind):
        return "DOUBLE PRECISION"
    if pa.types.is_date(kind):
        return "DATE"
    raise WarehouseError(f"cannot stage an Arrow column of type {kind} in PostgreSQL (expected text, number, time)")


def _csv_bytes(data: pa.Table) -> bytes:
    """Rows as header-less CSV, NULL unquoted-empty and strings quoted (so '' stays an empty string)."""
    import pyarrow.csv as pacsv

    buffer = io.BytesIO()
    text_cols = pa.table({n: _as_text(data.column(n)) for n in data.column_names})
    pacsv.write_csv(text_cols, buffer, pacsv.WriteOptions(include_header=False, quoting_style="all_valid"))
    return buffer.getvalue()


def _plain(values: list[Any]) -> list[Any]:
    """PostgreSQL hands JSONB back as dicts; give it back as JSON text, as DuckDB does."""
    import json

    if any(isinstance(v, dict | list) for v in values):
        return [None if v is None else json.dumps(v, separators=(",", ":")) for v in values]
    return values


def _as_text(column: pa.ChunkedArray) -> pa.ChunkedArray:
    """Render a column as text PostgreSQL parses back exactly (timestamps ISO, booleans true/false)."""
    import pyarrow.compute as pc

    kind = column.type
    if pa.types.is_timestamp(kind):
        return pc.strftime(column, format="%Y-%m-%dT%H:%M:%S")
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        return column
    return pc.cast(column, pa.string())


def _cast_type(sql_type: str, dialect: Dialect) -> str:
    upper = sql_type.upper()
    if dialect == "postgres" and upper == "TIMESTAMP WITHOUT TIME ZONE":
        return "TIMESTAMP"
    if dialect == "postgres" and upper == "CHARACTER VARYING":
        return "VARCHAR"
    return upper


def _first_line(sql: str) -> str:
    return " ".join(sql.split())[:160]


def utcnow() -> datetime:
    """Now as naive UTC, the warehouse's timestamp convention."""
    return datetime.now(UTC).replace(tzinfo=None)


def open_warehouse(
    url: str, base_dir: Path | None = None, *, read_only: bool = False, migrate: bool = True
) -> Warehouse:
    """Open the warehouse at `url` (relative DuckDB paths resolve inside `base_dir`) and bring its schema up."""
    warehouse = Warehouse(url, base_dir=base_dir, read_only=read_only)
    if migrate and not read_only:
        warehouse.migrate()
    return warehouse


def _size(text: str) -> str:
    """A DuckDB memory size ('512MB', '16.0 MiB') checked before it is spliced into SET (no quotes, no SQL)."""
    value = text.strip()
    if not re.fullmatch(r"[0-9]+(\.[0-9]+)? ?[KMGT]?i?B", value):
        raise WarehouseError(f"checkpoint size: expected a size like '512MB', got {text!r}")
    return value
