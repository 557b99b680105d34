"""One lead submitted online (a web form, a CRM webhook) through the same contracts `leadops ingest` applies.

The lead, its account and its activities become one-batch sources of their canonical tables: the mapping
query ingest builds (leadops.crm.mapping.build_plan: types, required, categories with their unknown-value
policy, ranges, future times, key lengths) runs on them in a scratch DuckDB, so a value ingest would
quarantine is refused here for the same reason, and a value ingest would rewrite (an unknown category under
`unknown: other`, an email turned into its domain type) is stored rewritten here too. A refused submission
goes to the `quarantine` table with its personal fields masked by the workspace's privacy settings
(leadops.crm.pii, as ingest masks them); an accepted one is written with three small statements.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pyarrow as pa

from leadops.crm import pii
from leadops.crm.mapping import CHECK, DETAIL, RAW, build_plan
from leadops.crm.quarantine import COLUMNS as QUARANTINE_COLUMNS
from leadops.crm.quarantine import row_hash
from leadops.crm.readers import BAD_FIELD, ROW
from leadops.crm.schema import TABLES
from leadops.settings.crm import ContractsSpec, SourceSpec
from leadops.warehouse.connection import Warehouse, quote_ident

SOURCE = "api:/v1/leads"
"""The quarantine `source` of online submissions (ingest's entries name their configured source instead)."""
RUN_ID = "api-intake"
"""The `ingest_run_id` of rows written online: a later ingest of the same keys treats them as already there."""
JSON_COLUMNS = ("attributes", "properties")
Record = dict[str, Any]


@dataclass(frozen=True)
class Submission:
    """A submitted lead as plain canonical records (the API's schema already parsed the JSON)."""

    lead: Record
    account: Record | None = None
    activities: list[Record] = field(default_factory=list)


@dataclass(frozen=True)
class Violation:
    """One broken contract: which table and row of the submission, which field, why (ingest's reason codes)."""

    table: str
    row_number: int
    field: str
    reason: str
    detail: str

    def where(self) -> list[str | int]:
        """The field's path in the request body (`lead.job_level`, `activities.0.activity_type`)."""
        if self.table == "activities":
            return ["activities", self.row_number - 1, self.field]
        return ["account", self.field] if self.table == "accounts" else [self.field]


@dataclass(frozen=True)
class CheckedLead:
    """The submission as it would be stored (typed, mapped as ingest maps it), or what it breaks."""

    lead: Record
    account: Record | None
    activities: list[Record]
    violations: list[Violation]

    @property
    def ok(self) -> bool:
        """True when nothing broke a contract."""
        return not self.violations

    def to_json(self) -> dict[str, Any]:
        """JSON-able rows (what the spool keeps until the warehouse takes them)."""
        return {"lead": _jsonable(self.lead), "account": _jsonable(self.account),
                "activities": [_jsonable(a) for a in self.activities]}  # fmt: skip

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> CheckedLead:
        """The rows to_json wrote, timestamps typed again."""
        return cls(_typed_back("leads", data["lead"]) or {}, _typed_back("accounts", data.get("account")) or None,
                   [_typed_back("activities", a) or {} for a in data.get("activities") or []], [])  # fmt: skip


def _jsonable(row: Record | None) -> Record | None:
    if row is None:
        return None
    return {k: (v.isoformat() if isinstance(v, datetime | date) else v) for k, v in row.items()}


def _typed_back(table: str, row: Record | None) -> Record | None:
    if row is None:
        return None
    kinds = TABLES[table].columns
    out = dict(row)
    for key, value in row.items():
        if kinds.get(key) == "TIMESTAMP" and isinstance(value, str):
            out[key] = datetime.fromisoformat(value)
    return out


def naive_utc(value: datetime) -> datetime:
    """The warehouse's timestamp convention: naive UTC."""
    return value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo is not None else value


def _text(value: Any) -> str | None:
    """A value as the text a CSV export would carry (what the mapping query parses)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return naive_utc(value).isoformat(sep=" ")
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True)
    return str(value)


def _digest(*parts: Any) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:16]


def activity_id(lead_id: str, activity: Record) -> str:
    """A stable id for a submitted activity: the same event sent twice is one row."""
    keys = ("activity_type", "occurred_at", "channel", "value", "properties")
    return f"api:{lead_id}:{_digest(*(_text(activity.get(k)) for k in keys))}"


_SCRATCH: list[Any] = []
_SCRATCH_LOCK = threading.Lock()


def _scratch() -> Any:
    """The process's in-memory DuckDB where the mapping queries run (never the warehouse); use under the lock."""
    if not _SCRATCH:
        import atexit

        import duckdb

        con = duckdb.connect(":memory:", config={"threads": 1})
        con.execute("SET TimeZone = 'UTC'")
        # a few rows per query: optimizing ingest's 5 KB mapping query costs more than running it unoptimized
        # (about a third of the check); the optimizer only rewrites plans, the rows that come out are the same
        con.execute("PRAGMA disable_optimizer")
        _SCRATCH.append(con)
        atexit.register(con.close)  # closed on the main thread: a worker thread's exit must not tear it down
    return _SCRATCH[0]


def _source(table: str, columns: Sequence[str], template: SourceSpec | None) -> SourceSpec:
    """A one-batch source of `table` mapping the canonical columns onto themselves."""
    email = table == "leads"
    return SourceSpec(
        name=SOURCE,
        table=table,  # type: ignore[arg-type]
        path=SOURCE,
        columns={c: c for c in columns},
        email_column="email" if email else None,
        keep_email=bool(template and template.keep_email) if email else False,
    )


def _check_table(
    table: str,
    rows: list[Record],
    contracts: ContractsSpec,
    template: SourceSpec | None,
    limit: datetime,
    earliest: date,
) -> tuple[list[Record], list[Violation]]:
    """Run ingest's mapping query for `table` over `rows`; the typed rows that pass, and the violations."""
    tdef = TABLES[table]
    contract = getattr(contracts, table)
    needed = {tdef.key, *tdef.not_null, *contract.required}
    given = {k for r in rows for k, v in r.items() if v is not None or k in needed}
    columns = [c for c in tdef.columns if (c in given or c in needed) and c not in ("email", *JSON_COLUMNS)]
    spec = _source(table, columns, template)
    header = [*columns, *(["email"] if table == "leads" else [])]
    plan = build_plan(spec, tdef, contract, header, file=SOURCE, now=limit, earliest=earliest)
    data: dict[str, pa.Array] = {
        ROW: pa.array(range(1, len(rows) + 1), pa.int64()),
        BAD_FIELD: pa.array([None] * len(rows), pa.string()),
    }
    for column in header:
        data[column] = pa.array([_text(r.get(column)) for r in rows], pa.string())
    with _SCRATCH_LOCK:
        con = _scratch()
        con.register(RAW, pa.table(data).select(plan.read_columns))
        try:
            result = con.sql(plan.sql).to_arrow_table().to_pylist()
        finally:
            con.unregister(RAW)
    good: list[Record] = []
    bad: list[Violation] = []
    for sent, out in zip(rows, result, strict=True):
        if out[CHECK] is not None:
            rule = plan.checks[int(out[CHECK])]
            bad.append(Violation(table, int(out[ROW]), rule.field, rule.reason, str(out[DETAIL])))
            continue
        typed = {c: out[c] for c in plan.outputs}
        for column in JSON_COLUMNS:
            if column in tdef.columns:
                value = sent.get(column)
                if value:  # an empty object leaves what the warehouse holds
                    typed[column] = value
        good.append(typed)
    return good, bad


def _first(sources: Iterable[SourceSpec], table: str) -> SourceSpec | None:
    return next((s for s in sources if s.table == table), None)


def check_submission(
    submission: Submission, contracts: ContractsSpec, sources: Sequence[SourceSpec], now: datetime
) -> CheckedLead:
    """The submission through the workspace's contracts, as `leadops ingest` would check the same rows."""
    now = naive_utc(now)
    limit = now + timedelta(minutes=contracts.future_tolerance_minutes)
    earliest = contracts.earliest_timestamp
    lead = dict(submission.lead)
    violations: list[Violation] = []
    account_rows: list[Record] = []
    if submission.account is not None:
        account = dict(submission.account)
        account["account_id"] = account.get("account_id") or lead.get("account_id")
        lead["account_id"] = account["account_id"]
        account_rows, bad = _check_table("accounts", [account], contracts, None, limit, earliest)
        violations += bad
    leads, bad = _check_table("leads", [lead], contracts, _first(sources, "leads"), limit, earliest)
    violations += bad
    lead_id = str(lead.get("lead_id"))
    acts = [{**a, "lead_id": lead_id, "activity_id": a.get("activity_id") or activity_id(lead_id, a)}
            for a in submission.activities]  # fmt: skip
    checked_acts, bad = _check_table("activities", acts, contracts, None, limit, earliest) if acts else ([], [])
    violations += bad
    return CheckedLead(leads[0] if leads else lead, account_rows[0] if account_rows else None, checked_acts,
                       violations)  # fmt: skip


# ------------------------------------------------------------------------------------------- quarantine
def _masker_for(sources: Sequence[SourceSpec], table: str, keys: Sequence[str]) -> pii.Masker | None:
    """The masker ingest would use for `table`'s configured source, over the submission's field names."""
    template = _first(sources, table)
    personal = None
    if template is not None and template.personal_columns is not None:
        personal = [template.columns.get(c, "email" if c == template.email_column else c)
                    for c in template.personal_columns]  # fmt: skip
    spec = SourceSpec(
        name=SOURCE,
        table=table,  # type: ignore[arg-type]
        path=SOURCE,
        email_column="email" if table == "leads" and "email" in keys else None,
        keep_email=bool(template and template.keep_email),
        keep_personal=bool(template and template.keep_personal),
        personal_columns=personal,
    )
    return pii.masker(spec, list(keys))


def _masked(sources: Sequence[SourceSpec], table: str, row: Record | None, nested: str) -> Record | None:
    """One record masked: its canonical fields and, as a flat export's extra columns, its JSON attributes."""
    if row is None:
        return None
    plain = {k: v for k, v in (_jsonable(row) or {}).items() if k != nested}
    mask = _masker_for(sources, table, list(plain))
    out = mask(plain) if mask is not None else plain
    extra = row.get(nested)
    if isinstance(extra, dict) and extra:
        inner = _masker_for(sources, table, list(extra))
        out[nested] = inner(dict(extra)) if inner is not None else dict(extra)
    return out


def masked_payload(submission: Submission, sources: Sequence[SourceSpec], request_id: str | None) -> Record:
    """The submitted payload with personal fields masked as the workspace's privacy settings say."""
    return {
        "request_id": request_id,
        "lead": _masked(sources, "leads", submission.lead, "attributes"),
        "account": _masked(sources, "accounts", submission.account, "attributes"),
        "activities": [_masked(sources, "activities", a, "properties") for a in submission.activities],
    }


def quarantine_rows(
    violations: Sequence[Violation], payload: Record, *, request_id: str | None, at: datetime
) -> list[Record]:
    """One quarantine row per broken row of the submission, each carrying the whole (masked) payload."""
    digest = row_hash(payload)
    return [
        {"ingest_run_id": f"{RUN_ID}:{request_id}" if request_id else RUN_ID, "source": SOURCE,
         "target_table": v.table, "row_number": v.row_number, "field": v.field, "reason": v.reason,
         "detail": v.detail, "row_hash": digest, "raw": json.dumps(payload, ensure_ascii=False, default=str),
         "quarantined_at": naive_utc(at).isoformat()}
        for v in violations
    ]  # fmt: skip


def write_quarantine(warehouse: Warehouse, rows: Sequence[Record]) -> int:
    """Add the entries, skipping any already there (same source, row number, reason and payload hash)."""
    json_type = warehouse.sql.json
    cols = ", ".join(quote_ident(c) for c in QUARANTINE_COLUMNS)
    marks = ", ".join(f"CAST(? AS {json_type})" if c == "raw" else ("CAST(? AS TIMESTAMP)" if c == "quarantined_at"
                      else "?") for c in QUARANTINE_COLUMNS)  # fmt: skip
    written = 0
    for row in rows:
        written += warehouse.changed(
            f"INSERT INTO quarantine ({cols}) VALUES ({marks}) "
            "ON CONFLICT (source, row_number, reason, row_hash) DO NOTHING",
            [row[c] for c in QUARANTINE_COLUMNS],
        )
    return written


# ------------------------------------------------------------------------------------------------ store
def _json_value(value: Any) -> str | None:
    return None if value is None else json.dumps(value, sort_keys=True, default=str)


def _marks(warehouse: Warehouse, table: str, names: Sequence[str]) -> str:
    """Typed placeholders (PostgreSQL cannot tell a NULL's type in `INSERT ... SELECT ?`)."""
    kinds = TABLES[table].columns
    return ", ".join(f"CAST(? AS {warehouse.sql.native(kinds[c])})" for c in names)


def _upsert(warehouse: Warehouse, table: str, row: Record) -> None:
    tdef = TABLES[table]
    names = [c for c in tdef.columns if c in row]
    marks = _marks(warehouse, table, names)
    values = [_json_value(row[c]) if tdef.columns[c] == "JSON" else row[c] for c in names]
    updates = ", ".join(f"{quote_ident(c)} = excluded.{quote_ident(c)}" for c in [*names, "ingest_run_id"]
                        if c != tdef.key)  # fmt: skip
    cols = ", ".join(quote_ident(c) for c in [*names, "ingest_run_id"])
    warehouse.execute(
        f"INSERT INTO {quote_ident(table)} ({cols}) VALUES ({marks}, ?) "
        f"ON CONFLICT ({quote_ident(tdef.key)}) DO UPDATE SET {updates}",
        [*values, RUN_ID],
    )


def _insert_activity(warehouse: Warehouse, row: Record) -> int:
    tdef = TABLES["activities"]
    names = [c for c in tdef.columns if c in row]
    marks = _marks(warehouse, "activities", names)
    values = [_json_value(row[c]) if tdef.columns[c] == "JSON" else row[c] for c in names]
    cols = ", ".join(quote_ident(c) for c in [*names, "ingest_run_id"])
    # activities keep no key index (migration 005): an anti-join keeps the id unique, as ingest does
    return warehouse.changed(
        f"INSERT INTO activities ({cols}) SELECT {marks}, CAST(? AS VARCHAR) "
        "WHERE NOT EXISTS (SELECT 1 FROM activities WHERE activity_id = CAST(? AS VARCHAR))",
        [*values, RUN_ID, row["activity_id"]],
    )


def store_lead(warehouse: Warehouse, checked: CheckedLead) -> int:
    """Write the checked rows (inside the caller's transaction): account and lead upserted, new activities
    added; returns how many activities were new."""
    if checked.account is not None:
        _upsert(warehouse, "accounts", checked.account)
    _upsert(warehouse, "leads", checked.lead)
    return sum(_insert_activity(warehouse, a) for a in checked.activities)
