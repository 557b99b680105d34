"""`leadops ingest`: stream every source through mapping and contracts into the canonical tables.

Per batch: the mapping query (DuckDB, vectorized) types and checks the rows; good rows are staged in the
warehouse, checked set-based against `leads`, and upserted by key in one transaction together with the
batch's quarantine entries. Re-running on the same files changes nothing: rows upsert by key, a key already
written in this run is a `duplicate_key` (first occurrence wins), and quarantine entries are deduplicated.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from leadops.crm import quarantine
from leadops.crm.contracts import reference_predicate, reference_violations
from leadops.crm.keys import KeySet
from leadops.crm.mapping import Plan, build_plan
from leadops.crm.readers import (
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
from leadops.crm.specs import SourceSpec
from leadops.crm.stage import Stage
from leadops.errors import IngestError, LeadOpsError
from leadops.warehouse.connection import Warehouse, quote_ident, redact, utcnow

if TYPE_CHECKING:
    from leadops.config import Settings

Progress = Callable[[str, int], None]
FLAT_COLUMNS = ("_converted", "_deal_value")


def new_run_id() -> str:
    """Sortable, unique run id: UTC time then a random suffix."""
    return f"ingest-{time.strftime('%Y%m%dT%H%M%S', time.gmtime())}-{uuid.uuid4().hex[:8]}"


class _Run:
    """State shared by the sources of one run: warehouse, scratch DuckDB, run id, clock."""

    def __init__(self, settings: Settings, warehouse: Warehouse, run_id: str, progress: Progress | None) -> None:
        import duckdb

        self.settings = settings
        self.warehouse = warehouse
        self.run_id = run_id
        self.progress = progress
        self.started = utcnow()
        self.limit = self.started + timedelta(minutes=settings.contracts.future_tolerance_minutes)
        self.scratch = duckdb.connect(":memory:", config={"threads": 2, "memory_limit": "1GB"})
        self.scratch.execute("SET TimeZone = 'UTC'")
        self.stages: list[Stage] = []
        self.seen: dict[str, KeySet] = {}
        if warehouse.dialect == "duckdb":
            warehouse.execute("SET enable_progress_bar = false")
        self.quarantine_stage = Stage(warehouse, "ingest_stage_quarantine", "quarantine", {})
        self.stages.append(self.quarantine_stage)

    def close(self) -> None:
        """Drop staging tables and the scratch database."""
        self.scratch.close()
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

    def _csv(self, spec: SourceSpec, path: Path) -> CsvReader:
        return CsvReader(path, source=spec.name, delimiter=spec.delimiter, encoding=spec.encoding,
                         batch_rows=spec.batch_rows)  # fmt: skip

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
        if spec.query is not None:
            assert spec.connection is not None
            plan: Plan | None = None
            for raw in ingest_from(spec.connection, spec.query, batch_rows=spec.batch_rows, source=spec.name):
                if plan is None:
                    header = [c for c in raw.table.column_names if c not in (ROW, "_bad_field")]
                    plan = self.plan(spec, header, f"the query result of '{spec.name}'")
                yield raw, plan
            return
        for path, kind, header in files:
            plan = self.plan(spec, header, str(path))
            if kind == "parquet":
                wanted = [c for c in plan.read_columns if c in header]
                stream = parquet_batches(path, source=spec.name, columns=wanted, batch_rows=spec.batch_rows)
            else:
                stream = self._csv(spec, path).batches()
            for raw in stream:
                yield raw, plan

    def stage(self, table: TableDef, flat: bool) -> Stage:
        """Where a source's checked rows wait for the set-based checks and the upsert."""
        double = "DOUBLE" if self.warehouse.dialect == "duckdb" else "DOUBLE PRECISION"
        extra = {"_row": "BIGINT"}
        if flat:
            extra |= {"_converted": "BOOLEAN", "_deal_value": double}
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
        seen = self.seen.setdefault(table.name, KeySet())
        for raw, plan in self.batches(spec, files):
            if stage is None:
                stage = self.stage(table, plan.flat)
            self.batch(spec, table, plan, raw, stage, seen, report, raw.file if multi else None)
            if self.progress is not None:
                self.progress(spec.name, report.rows_read)
        report.seconds = round(time.perf_counter() - started, 3)
        return report

    # ---------------------------------------------------------------- batches
    def batch(
        self,
        spec: SourceSpec,
        table: TableDef,
        plan: Plan,
        raw: RawBatch,
        stage: Stage,
        seen: KeySet,
        report: SourceReport,
        file: str | None,
    ) -> None:
        """Map, check, stage, reference-check, upsert and quarantine one batch, atomically."""
        report.batches += 1
        report.rows_read += raw.table.num_rows + len(raw.malformed)
        self.scratch.register("batch", raw.table.select(plan.read_columns))
        try:
            result = self.scratch.sql(plan.sql).to_arrow_table()
        finally:
            self.scratch.unregister("batch")
        failed = pc.is_valid(result.column("_reason"))
        bad = result.filter(failed)
        good = result.filter(pc.invert(failed))
        entries = [
            quarantine.Entry(int(r[ROW]), str(r["_reason"]), self._field(plan, r["_field"]), r["_detail"])
            for r in bad.select([ROW, "_reason", "_field", "_detail"]).to_pylist()
        ]
        with self.warehouse.transaction():
            if good.num_rows:
                entries += self.load(table, plan, good, stage, seen, report)
            data, reasons = quarantine.build(
                entries, raw.malformed, raw.table, run_id=self.run_id, source=spec.name, table=table.name,
                file=file, at=self.started,
            )  # fmt: skip
            quarantine.write(self.warehouse, self.quarantine_stage, data)
        report.count(reasons)

    @staticmethod
    def _field(plan: Plan, field: str | None) -> str | None:
        """Bad-encoding fields are source columns: report their canonical name when mapped."""
        if field is None:
            return None
        return plan.canonical_of.get(field, field)

    def _duplicates(self, table: TableDef, good: pa.Table, seen: KeySet) -> pa.Table:
        """Rows whose key an earlier row of this run already loaded (hash candidates confirmed in SQL)."""
        hashes = good.column("_key_hash").to_numpy(zero_copy_only=False).astype(np.uint64, copy=False)
        candidates = seen.contains(hashes)
        if not candidates.any():
            return good.slice(0, 0)
        maybe = good.filter(pa.array(candidates))
        keys = [str(k) for k in maybe.column(table.key).to_pylist()]
        confirmed: set[str] = set()
        for start in range(0, len(keys), 1000):
            part = keys[start : start + 1000]
            rows = self.warehouse.rows(
                f"SELECT {quote_ident(table.key)} FROM {quote_ident(table.name)} WHERE ingest_run_id = ? AND "
                f"{quote_ident(table.key)} IN ({', '.join('?' * len(part))})",
                [self.run_id, *part],
            )
            confirmed.update(str(r[0]) for r in rows)
        if not confirmed:
            return good.slice(0, 0)
        return good.filter(pc.is_in(good.column(table.key), value_set=pa.array(sorted(confirmed), pa.string())))

    def load(
        self, table: TableDef, plan: Plan, good: pa.Table, stage: Stage, seen: KeySet, report: SourceReport
    ) -> list[quarantine.Entry]:
        """Stage good rows, set aside duplicates and dangling ones, upsert the rest; return their entries."""
        wh = self.warehouse
        entries: list[quarantine.Entry] = []
        dups = self._duplicates(table, good, seen)
        if dups.num_rows:
            for key, number in zip(dups.column(table.key).to_pylist(), dups.column(ROW).to_pylist(), strict=True):
                detail = f"key '{str(key)[:80]}' was already loaded from an earlier row"
                entries.append(quarantine.Entry(int(number), "duplicate_key", table.key, detail))
            good = good.filter(pc.invert(pc.is_in(good.column(ROW), value_set=dups.column(ROW))))
        hashes = good.column("_key_hash")
        keep = [*plan.outputs, ROW] + (list(FLAT_COLUMNS) if plan.flat else [])
        stage.put(good.select(keep))
        if table.refers_to_lead and self.settings.contracts.require_references:
            violations = reference_violations(wh, stage.name, table)
            if violations:
                entries += [quarantine.Entry(r, reason, f, d) for r, reason, f, d in violations]
                rows = [v[0] for v in violations]
                stage.remove(rows, predicate=reference_predicate(stage.name, table))
                mask = pc.invert(pc.is_in(good.column(ROW), value_set=pa.array(rows, pa.int64())))
                hashes = hashes.filter(mask)
        cols = list(plan.outputs)
        names = ", ".join(quote_ident(c) for c in cols)
        values = ", ".join(self._cast(table, c) for c in cols)
        sets = ", ".join(
            f"{quote_ident(c)} = excluded.{quote_ident(c)}" for c in [*cols, "ingest_run_id"] if c != table.key
        )
        wh.execute(
            f"INSERT INTO {quote_ident(table.name)} ({names}, ingest_run_id) SELECT {values}, ? FROM {stage.sql} "
            f"ON CONFLICT ({quote_ident(table.key)}) DO UPDATE SET {sets}",
            [self.run_id],
        )
        loaded = len(hashes)
        report.rows_loaded += loaded
        seen.add(hashes.to_numpy().astype(np.uint64, copy=False))
        if plan.flat:
            report.outcomes_loaded += self._flat_outcomes(stage.sql)
        stage.clear()
        return entries

    def _cast(self, table: TableDef, column: str) -> str:
        """Stage column as the target's type (DuckDB's Arrow view holds JSON as text)."""
        kind = table.columns[column]
        if kind == "JSON":
            return f"CAST({quote_ident(column)} AS {'JSON' if self.warehouse.dialect == 'duckdb' else 'JSONB'})"
        return quote_ident(column)

    def _flat_outcomes(self, s: str) -> int:
        """One `converted` outcome per converting lead of a flat export (outcome_id = lead_id, no time)."""
        wh = self.warehouse
        wh.execute(
            "DELETE FROM outcomes WHERE outcome = 'converted' AND occurred_at IS NULL AND outcome_id IN "
            f"(SELECT lead_id FROM {s} WHERE NOT _converted)"
        )
        count = int(wh.scalar(f"SELECT count(*) FROM {s} WHERE _converted") or 0)
        if count:
            wh.execute(
                "INSERT INTO outcomes (outcome_id, lead_id, occurred_at, outcome, deal_value, ingest_run_id) "
                f"SELECT lead_id, lead_id, NULL, 'converted', _deal_value, ? FROM {s} WHERE _converted "
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
    if names:
        known = {s.name for s in specs}
        unknown = [n for n in names if n not in known]
        if unknown:
            raise IngestError(f"unknown source(s) {unknown}; configured sources are {sorted(known)}")
        specs = [s for s in specs if s.name in names]
    order = {t: i for i, t in enumerate(TABLE_ORDER)}
    return sorted(specs, key=lambda s: order[s.table])


def _json_param(warehouse: Warehouse) -> str:
    return "CAST(? AS JSON)" if warehouse.dialect == "duckdb" else "CAST(? AS JSONB)"


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
        run = _Run(settings, warehouse, run_id, progress)
        warehouse.execute(
            "INSERT INTO ingest_runs (run_id, started_at, status) VALUES (?, ?, 'running')",
            [run_id, run.started],
        )
        try:
            try:
                planned = [(spec, run.files(spec) if spec.path is not None else []) for spec in specs]
                for spec, files in planned:
                    report.per_source.append(run.source(spec, files))
                report.status = "succeeded"
            except BaseException as exc:
                report.status = "failed"
                report.error = str(exc) if isinstance(exc, LeadOpsError) else f"{type(exc).__name__}: {exc}"
                raise
            finally:
                report.total()
                report.seconds = round(time.perf_counter() - clock, 3)
                report.tables = warehouse.counts()
                _finish(warehouse, report, json.dumps(report.to_dict(), default=str))
        finally:
            run.close()
    return report


def _finish(warehouse: Warehouse, report: IngestReport, payload: str) -> None:
    warehouse.execute(
        "UPDATE ingest_runs SET finished_at = ?, status = ?, rows_read = ?, rows_loaded = ?, rows_quarantined = ?, "
        f"report = {_json_param(warehouse)} WHERE run_id = ?",
        [utcnow(), report.status, report.rows_read, report.rows_loaded, report.rows_quarantined, payload,
         report.run_id],
    )  # fmt: skip
