"""`leadops ingest`: stream every source through mapping and contracts into the canonical tables.

The whole run is one transaction (readers see all of it or none of it, even when the process is killed; the
next run marks a killed run `failed`). Per batch: the mapping query (vectorized SQL) types and checks the
rows; one set-based query then classifies every good row against the target table (new, already there, a key
this run already loaded or an earlier row of the batch carried, a lead that does not exist or was created
later); one INSERT adds the new rows, one UPDATE refreshes the rows already there, and one INSERT writes the
batch's quarantine.
On DuckDB the batch never leaves the warehouse connection (the reader's Arrow batch is scanned in place);
on PostgreSQL the mapping runs in a scratch DuckDB and the good rows are copied into a staging table.

Re-running on the same files changes nothing: rows already there are matched by key (leads and accounts
take the newer values; activities and outcomes are immutable events, only their ingest_run_id moves to the
run that delivered them again), a key already loaded in this run is a `duplicate_key` (first occurrence
wins), and quarantine entries are deduplicated; the report counts those rows as unchanged, not loaded.
Every source must balance (rows_read = loaded + unchanged + quarantined + filtered) or the run fails.
Memory holds one batch, whatever the file size.
"""

from __future__ import annotations

import contextlib
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from leadops.config_safety import allowed_roots
from leadops.crm import pii, quarantine
from leadops.crm.contracts import lit
from leadops.crm.erase import drop_erased_rows, erased_keys
from leadops.crm.joins import Lookups
from leadops.crm.mapping import CHECK, DETAIL, RAW, Plan, build_plan
from leadops.crm.properties import PROPERTIES, properties_column
from leadops.crm.readers import (
    BAD_FIELD,
    ROW,
    CsvReader,
    RawBatch,
    file_format,
    ingest_from,
    parquet_batches,
    parquet_header,
    resolve_files,
)
from leadops.crm.report import IngestReport, SourceReport
from leadops.crm.schema import TABLE_ORDER, TABLES, TableDef
from leadops.crm.stage import Stage
from leadops.errors import IngestError, LeadOpsError, WarehouseError
from leadops.settings.crm import SourceSpec
from leadops.warehouse.connection import Warehouse, quote_ident, redact, utcnow

if TYPE_CHECKING:
    from leadops.config import Settings

Progress = Callable[[str, int], None]
FLAT_COLUMNS = ("_converted", "_deal_value")
STATUS = "_status"
ROWS = "_ingest_rows"  # DuckDB: the mapped batch, an Arrow table in _Run.batch's frame
FLAGS = "_ingest_flags"  # the batch's good rows that are not simply new (see flags_sql)
LOADED = ("new", "existing")
# Tables whose rows are events: a row already there is never rewritten (only its ingest_run_id moves).
IMMUTABLE = ("activities", "outcomes")
# Arrow chunk of a mapped batch: DuckDB's row group size. Its default (131,072) splits every row group across two
# of the INSERT's parallel appenders, so each commit left partial row groups that the checkpoint then rewrote
# (the run's COMMIT took 3.9-7 s at 100k leads; with whole row groups 0.3 s, and peak RSS 1.03 -> 0.79 GB).
ROW_GROUP_ROWS = 122_880
# DuckDB's buffer pool while ingest runs: it otherwise keeps every block the run writes cached (its default limit
# is 80 % of RAM), so peak RSS grew with the file although the run holds one batch; above this it evicts blocks
# already written to the file (the open transaction's too) instead. The previous limit is restored afterwards.
# What the pool cannot evict grows with the keyed rows of the run (the primary-key indexes of leads, accounts and
# outcomes: ~35 MB at 600k leads; at 48 MB the 600k leads ran out of memory), so before each batch the limit is
# raised to that plus INGEST_MEMORY_HEADROOM_MB when it would otherwise fall short (fit_memory_limit).
# Peak RSS at 1M leads: 1,198 MB with 512 MB, 960 MB with 256 MB, 924 MB like this (100k leads: 747-775 MB).
INGEST_MEMORY_LIMIT_MB = 224
INGEST_MEMORY_HEADROOM_MB = 128
UNEVICTABLE_TAGS = ("ART_INDEX", "IN_MEMORY_TABLE")


def new_run_id() -> str:
    """Sortable, unique run id: UTC time then a random suffix."""
    return f"ingest-{time.strftime('%Y%m%dT%H%M%S', time.gmtime())}-{uuid.uuid4().hex[:8]}"


def flags_sql(
    table: TableDef,
    rows: str,
    run_id: str,
    *,
    checked: bool,
    references: bool,
    enrich: bool = False,
    unique: bool = False,
    fresh: bool = False,
) -> str:
    """SELECT the good rows of a batch that must NOT simply be inserted, with `_status` saying why.

    `_status` is `existing` (key already there from an earlier run), `dup_batch` (an earlier row of the batch
    has the key), `dup_run` (this run already loaded the key), `dangling` (no such lead) or `before_lead`.
    `rows` holds the mapped batch (with `_check` when `checked`; otherwise only rows that passed the
    row-level checks). Only keys, row numbers and lead ids take part in the joins, so probing the whole target
    stays cheap; no key list is kept outside the warehouse, and a fresh load yields no rows at all.
    `enrich` (a partial update) flags every row: `existing` when the key is there, `unknown` when it is not.
    `unique` says the caller found no key twice among the batch's good rows (`batch_keys_unique`), so the
    grouping that finds `dup_batch` rows (a third of the query's time) is left out. `fresh` says no key of the
    batch can be in the target (`KeyMarks.fresh`), so the target is not probed: no row is `existing` or
    `dup_run`.
    """
    key = quote_ident(table.key)
    good = f"WHERE {CHECK} IS NULL" if checked else ""
    lead = ", lead_id" if references else ""
    when = ", occurred_at" if references and table.name == "outcomes" else ""
    batch_dup = [] if unique else ["WHEN d.first_row IS NOT NULL AND s._row > d.first_row THEN 'dup_batch'"]
    whens = [*batch_dup, f"WHEN t.ingest_run_id = {lit(run_id)} THEN 'dup_run'"]
    joins = ""
    extra = ", NULL AS _lead, CAST(NULL AS TIMESTAMP) AS _occurred, CAST(NULL AS TIMESTAMP) AS _lead_created"
    if references:
        joins = " LEFT JOIN leads l ON l.lead_id = s.lead_id"
        whens.append("WHEN l.lead_id IS NULL THEN 'dangling'")
        extra = ", s.lead_id AS _lead, CAST(NULL AS TIMESTAMP) AS _occurred, CAST(NULL AS TIMESTAMP) AS _lead_created"
        if table.name == "outcomes":
            whens.append("WHEN s.occurred_at < l.created_at THEN 'before_lead'")
            extra = ", s.lead_id AS _lead, s.occurred_at AS _occurred, l.created_at AS _lead_created"
    if enrich:
        whens = list(batch_dup)
    probe = f"LEFT JOIN {quote_ident(table.name)} t ON t.{key} = s.{key}"
    if fresh and not enrich:
        whens = [w for w in whens if "t.ingest_run_id" not in w]
        probe = ""
    else:
        whens.append(f"WHEN t.{key} IS NULL THEN {lit('unknown' if enrich else 'new')}")
    dups = "" if unique else (
        f"LEFT JOIN (SELECT {key}, min({ROW}) AS first_row FROM {rows} {good} GROUP BY {key} HAVING count(*) > 1) d "
        f"ON d.{key} = s.{key} "
    )  # fmt: skip
    return (
        f"SELECT * FROM (SELECT s.{ROW}, s.{key} AS _key{extra}, "
        f"CASE {' '.join(whens) or 'WHEN false THEN NULL'} ELSE {lit('new' if not probe else 'existing')} END "
        f"AS {STATUS} FROM (SELECT {ROW}, {key}{lead}{when} FROM {rows} {good}) s "
        f"{dups}{probe}{joins}) x "
        f"WHERE {STATUS} <> 'new'"
    )


def good_keys(rows: pa.Table, key: str, *, checked: bool) -> pa.ChunkedArray:
    """The keys of a mapped batch's good rows (those that passed every row-level check), NULLs left out, in
    source row order: DuckDB hands a mapped batch back in runs of it as its scan threads finish, so keys that
    follow the file's order would otherwise look unordered to keys_distinct."""
    if checked:
        rows = rows.filter(pc.is_null(rows.column(CHECK)))
    keys = rows.column(key)
    if ROW in rows.column_names and rows.num_rows > 1:
        numbers = rows.column(ROW).to_numpy()
        if not bool(np.all(numbers[1:] > numbers[:-1])):
            keys = keys.take(pa.array(np.argsort(numbers, kind="stable")))
    return keys.drop_null()


def keys_distinct(keys: pa.ChunkedArray) -> bool:
    """Whether no key appears twice. Exports usually list rows in key order: keys that strictly increase are
    distinct, which one comparison of neighbours shows without hashing every key (0.41 -> 0.004 CPU-s at 500k)."""
    if len(keys) < 2:
        return True
    if pc.all(pc.less(keys.slice(0, len(keys) - 1), keys.slice(1))).as_py():
        return True
    return bool(pc.count_distinct(keys, mode="only_valid").as_py() == len(keys))


def batch_keys_unique(rows: pa.Table, key: str, *, checked: bool) -> bool:
    """Whether no key appears twice among a mapped batch's good rows (NULL keys never match one another)."""
    return keys_distinct(good_keys(rows, key, checked=checked))


class KeyMarks:
    """Per table, whether it was empty when the run began and the highest key any batch of the run offered.

    In such a table every row is this run's, with a key at most the mark; a batch whose keys are all above it
    holds no key already there (`fresh`), so the classification need not probe the target (a third of its
    time on a first load). Comparisons are by UTF-8 bytes (pyarrow's and Python's order of str alike)."""

    def __init__(self, warehouse: Warehouse) -> None:
        self.warehouse = warehouse
        self.empty: dict[str, bool] = {}
        self.high: dict[str, str | None] = {}

    def written(self, name: str) -> None:
        """Rows reached the table some other way (a flat export's outcomes): no batch of it is fresh any more."""
        self.empty[name] = False

    def fresh(self, table: TableDef, keys: pa.ChunkedArray) -> bool:
        """Whether none of these keys can be in the table; then remember the batch's highest key."""
        name = table.name
        if name not in self.empty:  # asked before the run's first write to the table
            self.empty[name] = not bool(self.warehouse.scalar(f"SELECT count(*) > 0 FROM {quote_ident(name)}"))
            self.high[name] = None
        if not self.empty[name] or len(keys) == 0:
            return self.empty[name]
        if not pa.types.is_string(keys.type):
            self.empty[name] = False  # the order argument is made for text keys only
            return False
        bounds = pc.min_max(keys).as_py()
        low, high = str(bounds["min"]), str(bounds["max"])
        mark = self.high[name]
        self.high[name] = high if mark is None or high > mark else mark
        return mark is None or low > mark


class _Run:
    """State shared by the sources of one run: warehouse, scratch DuckDB (PostgreSQL only), run id, clock."""

    def __init__(self, settings: Settings, warehouse: Warehouse, run_id: str, progress: Progress | None) -> None:
        self.settings = settings
        self.warehouse = warehouse
        self.run_id = run_id
        self.progress = progress
        self.started = utcnow()
        self.limit = self.started + timedelta(minutes=settings.contracts.future_tolerance_minutes)
        self.duck = warehouse.sql.in_process
        self.scratch: Any = None
        self.stages: list[Stage] = []
        self.refused: list[quarantine.Entry] = []  # rows PostgreSQL itself refused in this batch (see _insert)
        if self.duck:
            self.con = warehouse.duckdb()
            self.con.execute("SET enable_progress_bar = false")
            self.con.execute("SET python_scan_all_frames = true")  # see _Run.batch
            self.memory_limit = str(self.con.sql("SELECT current_setting('memory_limit')").fetchall()[0][0])
            self.limit_mb = 0  # 0: leave DuckDB's limit alone (an in-memory warehouse has no file to evict to)
            if warehouse.path is not None and not warehouse.checkpoints_deferred:  # see Warehouse.few_checkpoints
                self.fit_memory_limit()
        else:
            import duckdb

            self.scratch = duckdb.connect(":memory:", config={"threads": 2, "memory_limit": "1GB"})
            self.scratch.execute("SET TimeZone = 'UTC'")
        self.erased = set() if self.duck else erased_keys(warehouse)
        self.any_erased = bool(warehouse.scalar("SELECT count(*) > 0 FROM erased_leads")) if self.duck else False
        self.marks = KeyMarks(warehouse)
        self.quarantine_stage = Stage(warehouse, "ingest_stage_quarantine", "quarantine", {})
        self.stages.append(self.quarantine_stage)

    def fit_memory_limit(self) -> int:
        """Cap DuckDB's buffer pool at INGEST_MEMORY_LIMIT_MB, or at what it cannot evict plus the headroom when
        that is more (the run's indexes grow with its keyed rows); return the limit set, in MB."""
        held = self.con.sql(
            "SELECT coalesce(sum(memory_usage_bytes), 0) FROM duckdb_memory() "
            f"WHERE tag IN ({', '.join(lit(t) for t in UNEVICTABLE_TAGS)})"
        ).fetchall()[0][0]
        want = max(INGEST_MEMORY_LIMIT_MB, int(held) // (1 << 20) + INGEST_MEMORY_HEADROOM_MB)
        if want != self.limit_mb:
            self.con.execute(f"SET memory_limit = {lit(f'{want}MB')}")
            self.limit_mb = want
        return want

    def close(self) -> None:
        """Drop staging tables and the scratch database."""
        if self.scratch is not None:
            self.scratch.close()
        if self.duck:
            self.con.execute("RESET python_scan_all_frames")
            self.con.execute(f"SET memory_limit = {lit(self.memory_limit)}")
        for name in (ROWS, FLAGS):
            self.warehouse.execute(f"DROP TABLE IF EXISTS {name}")
        for stage in self.stages:
            stage.drop()

    # ---------------------------------------------------------------- sources
    def files(self, spec: SourceSpec) -> list[tuple[Path, str, list[str]]]:
        """(file, format, header) per file of a file source; raises before anything is written."""
        assert spec.path is not None
        found = []
        for path in resolve_files(self.settings.path(spec.path), spec.name):
            kind = file_format(path, spec.format)
            header = parquet_header(path, spec.name) if kind == "parquet" else self._csv(spec, path).header()
            found.append((path, kind, header))
        return found

    def batch_rows(self, spec: SourceSpec) -> int:
        """The source's batch size, or the engine's default."""
        return spec.batch_rows or self.warehouse.sql.ingest_batch_rows

    def _csv(self, spec: SourceSpec, path: Path) -> CsvReader:
        return CsvReader(path, source=spec.name, delimiter=spec.delimiter, encoding=spec.encoding,
                         batch_rows=self.batch_rows(spec))  # fmt: skip

    def plan(self, spec: SourceSpec, header: list[str], file: str) -> Plan:
        """The mapping query of a source for one file's header."""
        table = TABLES[spec.table]
        contract = getattr(self.settings.contracts, spec.table)
        return build_plan(
            spec, table, contract, header, file=file, now=self.limit,
            earliest=self.settings.contracts.earliest_timestamp,
        )  # fmt: skip

    def batches(self, spec: SourceSpec, files: list[tuple[Path, str, list[str]]]) -> Iterator[tuple[RawBatch, Plan]]:
        """Every batch of a source with the plan that maps it."""
        rows = self.batch_rows(spec)
        if spec.query is not None:
            assert spec.connection is not None
            plan: Plan | None = None
            readable = allowed_roots(self.settings.workspace, self.settings.security.allowed_dirs)
            for raw in ingest_from(spec.connection, spec.query, batch_rows=rows, source=spec.name,
                                   workspace=self.settings.workspace, readable=readable):  # fmt: skip
                if plan is None:
                    header = [c for c in raw.table.column_names if c not in (ROW, BAD_FIELD)]
                    plan = self.plan(spec, header, f"the query result of '{spec.name}'")
                yield raw, plan
            return
        for path, kind, header in files:
            plan = self.plan(spec, header, str(path))
            if kind == "parquet":
                wanted = [c for c in plan.read_columns if c in header]
                stream = parquet_batches(path, source=spec.name, columns=wanted, batch_rows=rows)
            else:
                stream = self._csv(spec, path).batches()
            for raw in stream:
                yield raw, plan

    def stage(self, table: TableDef, flat: bool) -> Stage:
        """PostgreSQL: where a source's checked rows wait for the set-based checks and the write."""
        extra = {ROW: "BIGINT"}
        if flat:
            extra |= {"_converted": "BOOLEAN", "_deal_value": "DOUBLE PRECISION"}
        stage = Stage(self.warehouse, f"ingest_stage_{table.name}", table.name, extra)
        self.stages.append(stage)
        return stage

    def source(self, spec: SourceSpec, files: list[tuple[Path, str, list[str]]]) -> SourceReport:
        """Ingest one source batch by batch."""
        started = time.perf_counter()
        table = TABLES[spec.table]
        report = SourceReport(name=spec.name, table=spec.table, files=[str(f[0]) for f in files])
        if spec.query is not None and spec.connection is not None:
            report.files = [f"query on {redact(spec.connection)}"]
        stage: Stage | None = None
        multi = len(files) > 1
        lookups = Lookups(spec, self.con if self.duck else self.scratch, lambda p: self.settings.path(p))
        try:
            for raw, plan in self.batches(spec, files):
                if stage is None and not self.duck:
                    stage = self.stage(table, plan.flat)
                self.batch(spec, table, plan, raw, stage, report, raw.file if multi else None)
                if self.progress is not None:
                    self.progress(spec.name, report.rows_read)
        finally:
            lookups.close()
        report.seconds = round(time.perf_counter() - started, 3)
        report.balance()
        return report

    # ---------------------------------------------------------------- batches
    def batch(
        self,
        spec: SourceSpec,
        table: TableDef,
        plan: Plan,
        raw: RawBatch,
        stage: Stage | None,
        report: SourceReport,
        file: str | None,
    ) -> None:
        """Map, check, classify, write and quarantine one batch (inside the run's one transaction)."""
        report.batches += 1
        report.rows_read += raw.table.num_rows + len(raw.malformed)
        references = table.refers_to_lead and self.settings.contracts.require_references
        source = raw.table.select(plan.read_columns)
        if plan.properties:
            source = source.append_column(PROPERTIES, properties_column(source, plan.properties, plan.missing))
        wh = self.warehouse
        entries: list[quarantine.Entry] = []
        enrich = spec.mode == "enrich"
        # DuckDB finds these three by name in this frame (replacement scans, python_scan_all_frames): registering
        # or creating tables per batch would be catalog changes the run's one transaction keeps until it commits,
        # so memory would grow with the file. PostgreSQL stages in tables instead (its transactions spill to disk).
        _ingest_raw = source  # read by name from SQL, as are the two below
        _ingest_rows: pa.Table | None = None
        _ingest_flags: pa.Table | None = None
        if self.duck:
            if self.limit_mb:
                self.fit_memory_limit()
            if plan.filter_sql is not None:
                report.filtered(plan.filter_reasons, self.con.execute(plan.filter_sql).fetchall())
            _ingest_rows = self.con.sql(plan.sql).to_arrow_table(ROW_GROUP_ROWS)
            if self.any_erased and "lead_id" in table.columns:  # people `leadops erase` removed stay out
                key = self.warehouse.sql.sha256_hex("lead_id")
                gone = f"lead_id IS NOT NULL AND {key} IN (SELECT lead_key FROM erased_leads)"
                erased = int(self.con.sql(f"SELECT count(*) FROM {ROWS} WHERE {gone}").fetchall()[0][0])
                if erased:
                    _ingest_rows = self.con.sql(f"SELECT * FROM {ROWS} WHERE NOT ({gone})").to_arrow_table(
                        ROW_GROUP_ROWS
                    )
                    report.filtered(["erased"], [(0, erased)])
        else:
            assert stage is not None
            entries += self._map_elsewhere(plan, source, stage, report)
        try:
            rows = ROWS if stage is None else stage.sql
            good = f"(SELECT * FROM {rows} WHERE {CHECK} IS NULL)" if self.duck else rows
            mapped = _ingest_rows if self.duck else stage.data if stage is not None else None
            keys = None if mapped is None else good_keys(mapped, table.key, checked=self.duck)
            unique = keys is not None and keys_distinct(keys)
            fresh = self.duck and not enrich and keys is not None and self.marks.fresh(table, keys)
            sql = flags_sql(table, rows, self.run_id, checked=self.duck, references=references and not enrich,
                            enrich=enrich, unique=unique, fresh=fresh)  # fmt: skip
            if self.duck:
                _ingest_flags = self.con.sql(sql).to_arrow_table()
            else:
                wh.execute(f"DROP TABLE IF EXISTS {FLAGS}")
                wh.execute(f"CREATE TEMPORARY TABLE {FLAGS} AS {sql}")
            flagged, existing = (int(v or 0) for v in wh.rows(
                f"SELECT count(*), count(*) FILTER (WHERE {STATUS} = 'existing') FROM {FLAGS}")[0])  # fmt: skip
            if not enrich:
                report.rows_loaded += self._insert(table, plan, good, flagged > 0)
            if existing:
                changed = self._changed(table, plan, rows, enrich=enrich)
                report.rows_loaded += changed
                report.rows_unchanged += self._update(table, plan, rows, enrich=enrich) - changed
            if plan.flat:
                report.outcomes_loaded += self._flat_outcomes(good)
            entries += self._rejected(table, plan, rows) + self.refused
            self.refused = []
            data, reasons = quarantine.build(
                entries, raw.malformed, raw.table, run_id=self.run_id, source=spec.name, table=table.name,
                file=file, at=self.started, mask=pii.masker(spec, raw.table.column_names),
            )  # fmt: skip
            quarantine.write(wh, self.quarantine_stage, data)
        finally:
            # after a failed statement PostgreSQL refuses everything until the rollback: the first error is the one
            if not self.duck:
                with contextlib.suppress(Exception):
                    wh.execute(f"DROP TABLE IF EXISTS {FLAGS}")
                    if stage is not None:
                        stage.clear()
        report.count(reasons)

    def _map_elsewhere(
        self, plan: Plan, source: pa.Table, stage: Stage, report: SourceReport
    ) -> list[quarantine.Entry]:
        """PostgreSQL: run the mapping in the scratch DuckDB, stage the good rows, return the bad rows' entries."""
        self.scratch.register(RAW, source)
        try:
            if plan.filter_sql is not None:
                report.filtered(plan.filter_reasons, self.scratch.execute(plan.filter_sql).fetchall())
            result = self.scratch.sql(plan.sql).to_arrow_table()
        finally:
            self.scratch.unregister(RAW)
        result, erased = drop_erased_rows(result, self.erased)  # people `leadops erase` removed stay out
        if erased:
            report.filtered(["erased"], [(0, erased)])
        failed = pc.is_valid(result.column(CHECK))
        bad = result.filter(failed).select([ROW, CHECK, BAD_FIELD, DETAIL]).to_pylist()
        keep = [*plan.outputs, ROW] + (list(FLAT_COLUMNS) if plan.flat else [])
        stage.put(result.filter(pc.invert(failed)).select(keep))
        return [self._failed(plan, r[ROW], r[CHECK], r[BAD_FIELD], r[DETAIL]) for r in bad]

    def _failed(self, plan: Plan, row: int, check: int, bad_field: str | None, detail: str | None) -> quarantine.Entry:
        """The quarantine entry of a row that broke plan.checks[check]."""
        rule = plan.checks[check]
        field = rule.field
        if rule.field_is_sql:  # bad encoding: the source column, reported by its canonical name when mapped
            field = plan.canonical_of.get(bad_field or "", bad_field or "")
        return quarantine.Entry(int(row), rule.reason, field, detail)

    def _insert(self, table: TableDef, plan: Plan, good: str, flagged: bool) -> int:
        """One INSERT of the batch's new rows (good rows minus the flagged ones); the engine's count of them.

        PostgreSQL: should the engine still refuse a value the checks let through, the INSERT is retried in
        halves inside savepoints and each row it refuses is quarantined as `rejected_by_warehouse` with the
        engine's message, instead of aborting the source.
        """
        names = ", ".join(quote_ident(c) for c in plan.outputs)
        values = ", ".join(self._cast(table, c) for c in plan.outputs)
        skip = f"NOT EXISTS (SELECT 1 FROM {FLAGS} f WHERE f.{ROW} = r.{ROW})" if flagged else "true"
        sql = (f"INSERT INTO {quote_ident(table.name)} ({names}, ingest_run_id) "
               f"SELECT {values}, {lit(self.run_id)} FROM {good} AS r WHERE {skip}")  # fmt: skip
        if self.duck:
            return self.warehouse.changed(sql)
        try:
            with self.warehouse.transaction():  # a savepoint inside the run's transaction
                return self.warehouse.changed(sql)
        except WarehouseError:
            candidates = [
                int(r[0]) for r in self.warehouse.rows(f"SELECT {ROW} FROM {good} AS r WHERE {skip} ORDER BY 1")
            ]
            return self._insert_apart(sql, candidates)

    def _insert_apart(self, sql: str, rows: list[int]) -> int:
        """Insert `rows` (row numbers) by halves; quarantine each single row the engine refuses."""
        if not rows:
            return 0
        try:
            with self.warehouse.transaction():
                return self.warehouse.changed(f"{sql} AND r.{ROW} BETWEEN {rows[0]} AND {rows[-1]}")
        except WarehouseError as exc:
            if len(rows) == 1:
                message = " ".join(str(exc).split())[:300]
                self.refused.append(quarantine.Entry(rows[0], "rejected_by_warehouse", None, message))
                return 0
            half = len(rows) // 2
            return self._insert_apart(sql, rows[:half]) + self._insert_apart(sql, rows[half:])

    def _existing(self, rows: str) -> str:
        return f"(SELECT b.* FROM {rows} b JOIN {FLAGS} f ON f.{ROW} = b.{ROW} AND f.{STATUS} = 'existing')"

    def _changed(self, table: TableDef, plan: Plan, rows: str, *, enrich: bool) -> int:
        """How many rows already there this batch changes (events are immutable: none)."""
        if table.name in IMMUTABLE:
            return 0
        columns = [c for c in plan.outputs if c != table.key]
        if not columns:
            return 0
        target = quote_ident(table.name)
        news = [self._enriched_value(table, c, "t") if enrich else self._cast(table, c, "r") for c in columns]
        differs = " OR ".join(
            f"{new} IS DISTINCT FROM t.{quote_ident(c)}" for c, new in zip(columns, news, strict=True)
        )
        key = quote_ident(table.key)
        return int(self.warehouse.scalar(
            f"SELECT count(*) FROM {self._existing(rows)} r JOIN {target} t ON t.{key} = r.{key} WHERE {differs}"
        ) or 0)  # fmt: skip

    def _update(self, table: TableDef, plan: Plan, rows: str, *, enrich: bool = False) -> int:
        """One UPDATE of rows already there: newer values for leads/accounts, only the run id for events.

        An enrichment changes only the columns it maps and only where it has a value (attributes are merged),
        and leaves ingest_run_id to the source that loaded the row. Returns the rows the engine updated.
        """
        columns = [] if table.name in IMMUTABLE else [c for c in plan.outputs if c != table.key]
        key = quote_ident(table.key)
        target = quote_ident(table.name)
        if enrich:
            sets = ", ".join(f"{quote_ident(c)} = {self._enriched_value(table, c, target)}" for c in columns)
            if not sets:
                return int(self.warehouse.scalar(f"SELECT count(*) FROM {FLAGS} WHERE {STATUS} = 'existing'") or 0)
        else:
            sets = ", ".join([f"{quote_ident(c)} = {self._cast(table, c, 'r')}" for c in columns]
                             + [f"ingest_run_id = {lit(self.run_id)}"])  # fmt: skip
        return self.warehouse.changed(
            f"UPDATE {target} SET {sets} FROM {self._existing(rows)} r WHERE {target}.{key} = r.{key}"
        )

    def _enriched_value(self, table: TableDef, column: str, target: str) -> str:
        """The value an enrichment gives one column: the new value when there is one (JSON objects merged)."""
        new = self._cast(table, column, "r")
        old = f"{target}.{quote_ident(column)}"
        if table.columns[column] != "JSON":
            return f"coalesce({new}, {old})"
        empty = f"coalesce({old}, '{{}}')"
        merged = self.warehouse.sql.json_merge(empty, new)
        return f"CASE WHEN {new} IS NULL THEN {old} ELSE {merged} END"

    def _rejected(self, table: TableDef, plan: Plan, rows: str) -> list[quarantine.Entry]:
        """Entries for the rows the flags set aside (and, on DuckDB, the rows that broke a row-level check)."""
        found = self.warehouse.rows(
            f"SELECT {ROW}, {STATUS}, _key, _lead, _occurred, _lead_created FROM {FLAGS} "
            f"WHERE {STATUS} <> 'existing' ORDER BY {ROW}"
        )
        entries: list[quarantine.Entry] = []
        if self.duck:
            for row, check, bad_field, detail in self.warehouse.rows(
                f"SELECT {ROW}, {CHECK}, {BAD_FIELD}, {DETAIL} FROM {rows} WHERE {CHECK} IS NOT NULL ORDER BY {ROW}"
            ):
                entries.append(self._failed(plan, row, check, bad_field, detail))
        for row, status, value, lead, occurred, created in found:
            shown = str(value)[:80]
            reason, field, detail = {
                "dup_batch": ("duplicate_key", table.key, f"key '{shown}' already appeared on an earlier row"),
                "dup_run": ("duplicate_key", table.key, f"key '{shown}' was already loaded from an earlier row"),
                "dangling": ("dangling_reference", "lead_id", f"lead_id '{str(lead)[:80]}' is not a known lead"),
                "unknown": ("dangling_reference", table.key,
                            f"{table.key} '{shown}' is not in {table.name}, so there is no row to enrich"),
                "before_lead": ("outcome_before_lead", "occurred_at",
                                f"outcome at {occurred} is before the lead was created at {created}"),
            }[status]  # fmt: skip
            entries.append(quarantine.Entry(int(row), reason, field, detail))
        return entries

    def _cast(self, table: TableDef, column: str, alias: str | None = None) -> str:
        """A batch column as the target's type (the DuckDB mapping holds JSON as text)."""
        ref = f"{alias}.{quote_ident(column)}" if alias else quote_ident(column)
        if table.columns[column] == "JSON":
            return f"CAST({ref} AS {self.warehouse.sql.json})"
        return ref

    def _flat_outcomes(self, good: str) -> int:
        """One `converted` outcome per converting lead of a flat export (outcome_id = lead_id, no time)."""
        wh = self.warehouse
        loaded = (f"(SELECT b.* FROM {good} AS b WHERE NOT EXISTS (SELECT 1 FROM {FLAGS} f "
                  f"WHERE f.{ROW} = b.{ROW} AND f.{STATUS} <> 'existing')) AS s")  # fmt: skip
        wh.execute(
            "DELETE FROM outcomes WHERE outcome = 'converted' AND occurred_at IS NULL AND outcome_id IN "
            f"(SELECT lead_id FROM {loaded} WHERE NOT _converted)"
        )
        count = int(wh.scalar(f"SELECT count(*) FROM {loaded} WHERE _converted") or 0)
        if count:
            self.marks.written("outcomes")
            wh.execute(
                "INSERT INTO outcomes (outcome_id, lead_id, occurred_at, outcome, deal_value, ingest_run_id) "
                f"SELECT lead_id, lead_id, NULL, 'converted', _deal_value, ? FROM {loaded} WHERE _converted "
                "ON CONFLICT (outcome_id) DO UPDATE SET lead_id = excluded.lead_id, occurred_at = NULL, "
                "outcome = excluded.outcome, deal_value = excluded.deal_value, "
                "ingest_run_id = excluded.ingest_run_id",
                [self.run_id],
            )
        return count


def _select(settings: Settings, names: list[str] | None) -> list[SourceSpec]:
    specs = list(settings.sources)
    if not specs:
        raise IngestError("no sources are configured", hint="add a 'sources' list to leadops.yaml")
    expanded = [one for spec in specs for one in spec.expanded()]
    if names:  # a source's name selects it with its routes; <source>.<route> selects one route
        known = {s.name for s in specs} | {s.name for s in expanded}
        unknown = [n for n in names if n not in known]
        if unknown:
            raise IngestError(f"unknown source(s) {unknown}; configured sources are {sorted(known)}")
        expanded = [s for s in expanded if s.name in names or s.name.split(".", 1)[0] in names]
    order = {t: i for i, t in enumerate(TABLE_ORDER)}
    # referenced tables first; within a table, enrichments after the sources that load the rows they update
    return sorted(expanded, key=lambda s: (order[s.table], s.mode == "enrich"))


def _json_param(warehouse: Warehouse) -> str:
    return f"CAST(? AS {warehouse.sql.json})"


def ingest(
    settings: Settings,
    warehouse: Warehouse,
    *,
    sources: list[str] | None = None,
    progress: Callable[[str, int], None] | None = None,
) -> IngestReport:
    """Load the configured sources (all, or those named) into the canonical tables; return the run's report."""
    import json

    specs = _select(settings, sources)
    run_id = new_run_id()
    report = IngestReport(run_id=run_id)
    clock = time.perf_counter()
    with warehouse.writer("ingest"):
        warehouse.migrate()
        report.interrupted_runs = close_dead_runs(warehouse, run_id)
        run = _Run(settings, warehouse, run_id, progress)
        warehouse.execute(
            "INSERT INTO ingest_runs (run_id, started_at, status) VALUES (?, ?, 'running')",
            [run_id, run.started],
        )
        try:
            try:
                planned = [(spec, run.files(spec) if spec.path is not None else []) for spec in specs]
                with warehouse.transaction():  # readers see all of the run or none of it, even if it is killed
                    for spec, files in planned:
                        report.per_source.append(run.source(spec, files))
                report.status = "succeeded"
            except BaseException as exc:
                report.status = "failed"
                report.error = str(exc) if isinstance(exc, LeadOpsError) else f"{type(exc).__name__}: {exc}"
                if isinstance(exc, LeadOpsError):
                    report.error += " (nothing from this run was kept)"
                raise
            finally:
                report.total()
                report.seconds = round(time.perf_counter() - clock, 3)
                report.tables = warehouse.counts()
                _finish(warehouse, report, json.dumps(report.to_dict(), default=str))
        finally:
            run.close()
    return report


def close_dead_runs(warehouse: Warehouse, by: str) -> list[str]:
    """Mark `failed` every run still `running`: this process holds the writer lock, so none of them is alive.

    A killed ingest never committed its rows (the run is one transaction), so only its ledger entry is left.
    """
    import json

    dead = [str(r[0]) for r in warehouse.rows("SELECT run_id FROM ingest_runs WHERE status = 'running'")]
    for run_id in dead:
        note = {"run_id": run_id, "status": "failed", "error": f"interrupted: the process stopped before the run "
                f"finished, nothing it read was kept (found by {by})"}  # fmt: skip
        warehouse.execute(
            f"UPDATE ingest_runs SET status = 'failed', finished_at = ?, report = {_json_param(warehouse)} "
            "WHERE run_id = ?",
            [utcnow(), json.dumps(note), run_id],
        )
    return dead


def _finish(warehouse: Warehouse, report: IngestReport, payload: str) -> None:
    warehouse.execute(
        "UPDATE ingest_runs SET finished_at = ?, status = ?, rows_read = ?, rows_loaded = ?, rows_quarantined = ?, "
        f"rows_unchanged = ?, rows_filtered = ?, report = {_json_param(warehouse)} WHERE run_id = ?",
        [utcnow(), report.status, report.rows_read, report.rows_loaded, report.rows_quarantined,
         report.rows_unchanged, report.rows_filtered, payload, report.run_id],
    )  # fmt: skip
