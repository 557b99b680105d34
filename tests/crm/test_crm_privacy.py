"""Personal data: masked in quarantine, expired by `purge`, removed everywhere by `erase` (DuckDB and PostgreSQL)."""

from __future__ import annotations

import json
from contextlib import closing
from datetime import datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from conftest import LEADS_HEADER, Workspace
from leadops.crm import ingest
from leadops.crm.erase import erase, lead_key, lead_tables
from leadops.crm.pii import masker, personal_columns
from leadops.crm.retention import PrivacySpec, purge
from leadops.settings.crm import SourceSpec

LEADS = (
    LEADS_HEADER
    + "L1,A1,2025-01-02T10:00:00Z,ann.lee@example.com,VP,Sales,US,Webinar,false,false\n"
    + "L2,A1,2025-01-03T10:00:00Z,bob.roe@example.com,Wizard,Sales,US,Webinar,false,false\n"
    + "L3,A1,2025-01-04T10:00:00Z,cy.doe@example.com,VP,Sales,US,Webinar,false,false,EXTRA\n"
    + "L10,A1,2025-01-05T10:00:00Z,dee.fox@example.com,VP,Sales,US,Webinar,false,false\n"
)
ACTIVITIES = (
    "ActivityId,LeadId,ActivityDate,ActivityType,Channel,Value\nX1,L1,2025-01-05T10:00:00Z,email_open,email,\n"
    "X2,L10,2025-01-06T10:00:00Z,email_open,email,\nX3,L1,2025-01-07T10:00:00Z,warp_drive,email,\n"
)


def _config(keep_email: bool = False) -> dict:  # type: ignore[type-arg]
    return {
        "sources": [
            {"name": "leads", "table": "leads", "path": "source/leads.csv", "email_column": "Email",
             "keep_email": keep_email,
             "columns": {"LeadId": "lead_id", "AccountId": "account_id", "CreatedDate": "created_at",
                         "JobLevel": "job_level", "HasOptedOutOfEmail": "do_not_email"}},
            {"name": "activities", "table": "activities", "path": "source/activities.csv",
             "columns": {"ActivityId": "activity_id", "LeadId": "lead_id", "ActivityDate": "occurred_at",
                         "ActivityType": "activity_type", "Channel": "channel", "Value": "value"}},
        ],
        "contracts": {
            "leads": {"categories": {"job_level": {"allowed": ["VP"], "unknown": "quarantine"}}},
            "activities": {"categories": {"activity_type": {"allowed": ["email_open"], "unknown": "quarantine"}}},
        },
    }  # fmt: skip


def _raw(wh: object) -> list[dict]:  # type: ignore[type-arg]
    rows = wh.rows("SELECT CAST(raw AS VARCHAR) FROM quarantine ORDER BY source, row_number")  # type: ignore[attr-defined]
    return [json.loads(r[0]) for r in rows]


def test_quarantine_masks_the_email_and_keeps_the_domain_when_the_config_does_not_keep_it(workspace: Workspace) -> None:
    settings, wh = workspace(_config(), {"source/leads.csv": LEADS, "source/activities.csv": ACTIVITIES})
    report = ingest(settings, wh)
    assert report.rows_quarantined == 3
    text = json.dumps(_raw(wh))
    for address in ("ann.lee", "bob.roe", "cy.doe"):
        assert address not in text
    by_reason = {r.get("LeadId", r.get("_line", "")[:2]): r for r in _raw(wh)}
    assert by_reason["L2"]["Email"] == "***@example.com" and by_reason["L2"]["JobLevel"] == "Wizard"
    line = by_reason["L3"]["_line"]
    assert "***@example.com" in line and line.startswith("L3,A1,2025-01-04T10:00:00Z,"), line


def test_keep_email_keeps_the_address_in_quarantine_as_in_the_leads_table(workspace: Workspace) -> None:
    settings, wh = workspace(_config(keep_email=True), {"source/leads.csv": LEADS, "source/activities.csv": ACTIVITIES})
    ingest(settings, wh)
    assert "bob.roe@example.com" in json.dumps(_raw(wh))


def test_personal_columns_default_to_email_name_phone_and_free_text_not_mapped_flags() -> None:
    spec = SourceSpec(name="s", table="leads", path="x.csv", email_column="Mail",
                      columns={"Id": "lead_id", "HasOptedOutOfEmail": "do_not_email", "Full Name": "name"})  # fmt: skip
    header = ["Id", "Mail", "HasOptedOutOfEmail", "Full Name", "FirstName", "Phone", "Notes", "Country"]
    assert personal_columns(spec, header) == ["Mail", "Full Name", "FirstName", "Phone", "Notes"]
    mask = masker(spec, header)
    assert mask is not None
    assert mask({"Id": "7", "Phone": "+1 555 123 4567", "Notes": "call me", "Country": "US"}) == {
        "Id": "7", "Phone": "***", "Notes": "***", "Country": "US"}  # fmt: skip
    kept = spec.model_copy(update={"keep_personal": True})
    assert masker(kept, header) is None


def test_purge_clears_old_raw_values_then_old_entries_and_a_second_run_removes_nothing(
    workspace: Workspace, tmp_path: Path
) -> None:
    settings, wh = workspace(_config(), {"source/leads.csv": LEADS, "source/activities.csv": ACTIVITIES})
    ingest(settings, wh)
    exports = tmp_path / "exports"
    today = datetime.now()
    old, recent = f"{today - timedelta(days=60):%Y-%m-%d}", f"{today:%Y-%m-%d}"
    for name in (old, recent, "keep-me"):
        (exports / name).mkdir(parents=True)
    spec = PrivacySpec(quarantine_raw_days=10, quarantine_days=100, exports_days=30)
    later = today + timedelta(days=20)
    first = purge(spec, wh, exports, now=later)
    assert first["quarantine_raw_cleared"] == 3 and first["quarantine_deleted"] == 0
    assert first["export_dirs_deleted"] == [str(exports / old)]
    assert sorted(p.name for p in exports.iterdir()) == sorted([recent, "keep-me"])
    assert wh.scalar("SELECT count(*) FROM quarantine WHERE raw IS NULL") == 3
    assert wh.scalar("SELECT count(reason) FROM quarantine") == 3, "the entry (reason, row) stays for accounting"
    again = purge(spec, wh, exports, now=later)
    assert again["removed_anything"] is False and again["message"] == "nothing is past its retention"
    dry = purge(spec, wh, exports, now=today + timedelta(days=101), dry_run=True)
    assert dry["quarantine_deleted"] == 3 and wh.scalar("SELECT count(*) FROM quarantine") == 3
    much_later = purge(spec, wh, exports, now=today + timedelta(days=101))
    assert much_later["quarantine_deleted"] == 3 and wh.scalar("SELECT count(*) FROM quarantine") == 0


def test_erase_removes_a_lead_from_every_lead_table_quarantine_and_exports_and_is_idempotent(
    workspace: Workspace,
) -> None:
    settings, wh = workspace(_config(), {"source/leads.csv": LEADS, "source/activities.csv": ACTIVITIES})
    ingest(settings, wh)
    # a table added later (monitoring samples) is found by its lead_id column, not from a list
    wh.execute("CREATE TABLE monitoring_samples (lead_id VARCHAR, score REAL)")
    wh.execute("INSERT INTO monitoring_samples VALUES ('L1', 0.5), ('L10', 0.7)")
    assert "monitoring_samples" in lead_tables(wh)
    ws = settings.workspace
    day = ws / "exports" / "2025-02-01"
    day.mkdir(parents=True)
    (day / "lead_scores.csv").write_text("lead_id,score\nL1,90\nL10,80\n", encoding="utf-8")
    pq.write_table(pa.table({"lead_id": ["L10", "L1"], "score": [0.8, 0.9]}), day / "lead_scores.parquet")

    dry = erase(wh, ["L1"], workspace=ws, exports_dir=ws / "exports", sources=settings.sources, dry_run=True)
    exported = {str(day / "lead_scores.csv"): 1, str(day / "lead_scores.parquet"): 1}
    assert dry["tables"]["leads"] == 1 and dry["files"]["rewritten"] == exported
    assert (
        wh.scalar("SELECT count(*) FROM leads WHERE lead_id = 'L1'") == 1
        and "L1,90" in (day / "lead_scores.csv").read_text()
    )
    assert wh.scalar("SELECT count(*) FROM erasure_log") == 0
    result = erase(wh, ["L1"], workspace=ws, exports_dir=ws / "exports", sources=settings.sources)
    assert result["tables"]["leads"] == 1 and result["tables"]["activities"] == 1
    assert result["tables"]["monitoring_samples"] == 1
    assert result["tables"]["quarantine"] == 1, "the quarantined warp_drive activity of L1"
    assert result["files"]["rewritten"] == {str(day / "lead_scores.csv"): 1, str(day / "lead_scores.parquet"): 1}
    assert set(result["files"]["still_mentioning"]) == {str(ws / "source" / "leads.csv"),
                                                         str(ws / "source" / "activities.csv")}  # fmt: skip
    assert "warning" in result
    assert (day / "lead_scores.csv").read_text(encoding="utf-8") == "lead_id,score\nL10,80\n"
    assert pq.read_table(day / "lead_scores.parquet").column("lead_id").to_pylist() == ["L10"]
    for table in lead_tables(wh):
        assert wh.scalar(f'SELECT count(*) FROM "{table}" WHERE lead_id = ?', ["L1"]) == 0
    assert wh.scalar("SELECT count(*) FROM leads WHERE lead_id = 'L10'") == 1, "L10 is not L1"

    audit = wh.rows("SELECT actor, leads_requested, rows_removed, CAST(tables AS VARCHAR) FROM erasure_log")
    assert len(audit) == 1 and audit[0][1] == 1 and audit[0][2] == result["rows_removed"]
    assert "L1" not in json.dumps([str(v) for v in audit[0]]).replace("L10", ""), "the audit never names the lead"

    second = erase(wh, ["L1"], workspace=ws, exports_dir=ws / "exports", sources=settings.sources)
    assert second["nothing_to_erase"] is True and second["rows_removed"] == 0
    assert "nothing to erase" in second["message"]
    assert wh.scalar("SELECT count(*) FROM erasure_log") == 2


def test_a_bulk_erase_finds_quarantine_mentions_without_the_like_prefilter(workspace: Workspace) -> None:
    settings, wh = workspace(_config(), {"source/leads.csv": LEADS, "source/activities.csv": ACTIVITIES})
    ingest(settings, wh)
    ids = ["L1"] + [f"NOBODY-{i}" for i in range(80)]
    ws = settings.workspace
    result = erase(wh, ids, workspace=ws, exports_dir=ws / "exports", sources=settings.sources)
    assert result["tables"]["quarantine"] == 1 and result["tables"]["leads"] == 1
    assert wh.scalar("SELECT count(*) FROM quarantine") == 2, "L2's and L3's entries stay (L10 is not L1)"


def test_an_erased_lead_is_not_loaded_again_by_the_next_ingest_of_the_same_export(workspace: Workspace) -> None:
    settings, wh = workspace(_config(), {"source/leads.csv": LEADS, "source/activities.csv": ACTIVITIES})
    ingest(settings, wh)
    ws = settings.workspace
    erase(wh, ["L1"], workspace=ws, exports_dir=ws / "exports", sources=settings.sources)
    assert wh.rows("SELECT lead_key FROM erased_leads") == [(lead_key("L1"),)]
    again = ingest(settings, wh)
    by_source = {s.name: s for s in again.per_source}
    assert by_source["leads"].filtered_reasons == {"erased": 1}
    assert by_source["activities"].filtered_reasons == {"erased": 2}, "X1 and X3 (broken, but L1's: not quarantined)"
    assert wh.scalar("SELECT count(*) FROM quarantine WHERE CAST(raw AS VARCHAR) LIKE '%\"L1\"%'") == 0
    assert wh.scalar("SELECT count(*) FROM leads WHERE lead_id = 'L1'") == 0
    assert wh.scalar("SELECT count(*) FROM activities WHERE lead_id = 'L1'") == 0
    assert wh.scalar("SELECT count(*) FROM leads WHERE lead_id = 'L10'") == 1
    assert again.rows_read == again.rows_loaded + again.rows_unchanged + again.rows_quarantined + again.rows_filtered


def _shadow_rows(path: Path, leads: list[str]) -> None:
    """Rows of the service's shadow log (its own schema), one per lead, as a worker appends them."""
    import sqlite3

    from leadops.serving.shadow import COLUMNS, DDL

    path.parent.mkdir(parents=True, exist_ok=True)
    with closing(sqlite3.connect(path, isolation_level=None)) as conn:
        conn.execute("PRAGMA journal_mode = WAL")
        conn.executescript(DDL)
        marks = ", ".join("?" for _ in COLUMNS)
        for i, lead in enumerate(leads):
            row = [f"req-{i}", 0, lead, "2025-02-01T00:00:00", "2025-02-01T00:00:01", 1, 50.0, "B", 2, 40.0, "C", 0.4]
            conn.execute(f"INSERT INTO shadow_scores ({', '.join(COLUMNS)}) VALUES ({marks})", [*row, None])


def _store_bytes(ws: Path) -> bytes:
    """Every byte of the workspace's SQLite stores, their WAL and journal files included."""
    return b"".join(p.read_bytes() for p in sorted((ws / ".leadops").glob("*.sqlite*")) if p.is_file())


def test_erase_clears_the_person_from_the_shadow_log_and_the_intake_spool_and_ledger(workspace: Workspace) -> None:
    import sqlite3

    from leadops.crm.intake_ledger import IntakeLedger
    from leadops.serving.shadow import SHADOW_FILE

    settings, wh = workspace(_config(), {"source/leads.csv": LEADS, "source/activities.csv": ACTIVITIES})
    ingest(settings, wh)
    ws = settings.workspace
    _shadow_rows(ws / SHADOW_FILE, ["L1", "L10", "L1"])
    ledger = IntakeLedger.for_workspace(ws)
    for lead, email in (("L1", "ann.lee@example.com"), ("L10", "dee.fox@example.com")):
        assert ledger.claim(f"form-{lead}", "hash") is None
        payload = {"lead_id": lead, "email": email, "job_level": "VP"}
        ledger.queue("lead", payload, request_id=f"form-{lead}", lead_id=lead, http_status=202,
                     response={"lead_id": lead, "status": "queued"})  # fmt: skip
    # a quarantined submission names the person only inside its JSON payload (no lead_id column)
    ledger.queue("quarantine", {"raw": {"LeadId": "L1", "Email": "ann.lee@example.com"}, "reason": "bad"})
    ledger.close()
    assert b"ann.lee@example.com" in _store_bytes(ws)

    dry = erase(wh, ["L1"], workspace=ws, exports_dir=ws / "exports", sources=settings.sources, dry_run=True)
    stores = {".leadops/shadow.sqlite:shadow_scores": 2, ".leadops/intake.sqlite:requests": 1,
              ".leadops/intake.sqlite:spool": 2}  # fmt: skip
    assert dry["stores"] == stores and b"ann.lee@example.com" in _store_bytes(ws), "a dry run changes nothing"
    result = erase(wh, ["L1"], workspace=ws, exports_dir=ws / "exports", sources=settings.sources)
    assert result["stores"] == stores
    assert result["rows_removed"] == sum(result["tables"].values()) + sum(stores.values())
    left = _store_bytes(ws)
    assert b"ann.lee" not in left and b'"L1"' not in left, "no byte of the erased person stays in the files"
    assert b"dee.fox@example.com" in left, "L10 is not L1"
    ledger = IntakeLedger.for_workspace(ws)
    assert [e.payload["lead_id"] for e in ledger.pending()] == ["L10"]
    ledger.close()
    with closing(sqlite3.connect(ws / SHADOW_FILE)) as conn:
        assert conn.execute("SELECT lead_id FROM shadow_scores").fetchall() == [("L10",)]
    again = erase(wh, ["L1"], workspace=ws, exports_dir=ws / "exports", sources=settings.sources)
    assert again["stores"] == {} and again["nothing_to_erase"] is True
