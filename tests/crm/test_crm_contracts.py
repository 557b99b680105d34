"""Contracts: each violation is quarantined with its reason, field and row number while good rows load."""

from __future__ import annotations

import json

import pytest

from conftest import LEADS_HEADER, Workspace, crm_config
from leadops.crm import ingest
from leadops.errors import IngestError

GOOD = "2025-03-04T09:15:00Z"


def _lead(i: int, **over: str) -> str:
    values = {"id": f"L{i}", "acct": "A1", "created": GOOD, "email": "a@acme.com", "level": "VP",
              "dept": "Sales", "country": "US", "source": "Webinar", "dne": "false", "dnc": "false"}  # fmt: skip
    values.update(over)
    return ",".join(values.values())


ACTIVITIES = "ActivityId,LeadId,ActivityDate,ActivityType,Channel,Value\n"
OUTCOMES = "OutcomeId,LeadId,OutcomeDate,Stage,Amount\n"


def _quarantine(wh: object) -> dict[tuple[str, int], tuple[str | None, str]]:
    rows = wh.rows("SELECT source, row_number, field, reason FROM quarantine")  # type: ignore[attr-defined]
    return {(s, int(n)): (f, r) for s, n, f, r in rows}


def _files() -> dict[str, str | bytes]:
    leads = LEADS_HEADER + "\n".join([
        _lead(1),                                   # row 1 good
        _lead(2, created="yesterday"),              # row 2 unparseable_timestamp
        _lead(3, id=""),                            # row 3 missing_required lead_id
        _lead(4, level="Intern"),                   # row 4 unknown_category job_level
        _lead(5, created="2999-01-01T00:00:00Z"),   # row 5 future_timestamp
        _lead(1, email="dup@acme.com"),             # row 6 duplicate_key (first occurrence wins)
        _lead(7, dne="maybe"),                      # row 7 wrong_type do_not_email
        _lead(8),                                   # row 8 good
        _lead(9, created="2025-06-01T00:00:00Z"),   # row 9 good, created later
    ]) + "\n"  # fmt: skip
    activities = ACTIVITIES + "\n".join([
        f"X1,L1,{GOOD},email_open,email,1",         # row 1 good
        f"X2,L404,{GOOD},email_open,email,1",       # row 2 dangling_reference
        f"X3,L1,{GOOD},telepathy,email,1",          # row 3 unknown_category
        f"X4,L1,{GOOD},page_view,web,-3",           # row 4 out_of_range
        f"X5,L1,{GOOD},page_view,web,abc",          # row 5 wrong_type value
        f"X6,L2,{GOOD},page_view,web,1",            # row 6 dangling: L2 was quarantined
        f"X7,L8,{GOOD},page_view,web,2",            # row 7 good
    ]) + "\n"  # fmt: skip
    outcomes = OUTCOMES + "\n".join([
        "O1,L1,2025-04-01T00:00:00Z,Closed Won,1200",  # row 1 good
        "O2,L9,2025-04-01T00:00:00Z,SQL,",             # row 2 outcome_before_lead (L9 created June)
        "O3,L8,2025-04-01T00:00:00Z,,",                # row 3 missing_required outcome
        "O4,L8,2025-04-01T00:00:00Z,Closed Won,-5",    # row 4 out_of_range deal_value
    ]) + "\n"  # fmt: skip
    return {"source/leads.csv": leads, "source/activities.csv": activities, "source/outcomes.csv": outcomes}


def _config() -> dict[str, object]:
    config = crm_config()
    config["sources"] = [s for s in config["sources"] if s["name"] != "crm_accounts"]  # type: ignore[index]
    return config


def test_each_violation_is_quarantined_with_reason_field_and_row_number(workspace: Workspace) -> None:
    settings, wh = workspace(_config(), _files())
    report = ingest(settings, wh)
    q = _quarantine(wh)
    assert q == {
        ("crm_leads", 2): ("created_at", "unparseable_timestamp"),
        ("crm_leads", 3): ("lead_id", "missing_required"),
        ("crm_leads", 4): ("job_level", "unknown_category"),
        ("crm_leads", 5): ("created_at", "future_timestamp"),
        ("crm_leads", 6): ("lead_id", "duplicate_key"),
        ("crm_leads", 7): ("do_not_email", "wrong_type"),
        ("crm_activities", 2): ("lead_id", "dangling_reference"),
        ("crm_activities", 3): ("activity_type", "unknown_category"),
        ("crm_activities", 4): ("value", "out_of_range"),
        ("crm_activities", 5): ("value", "wrong_type"),
        ("crm_activities", 6): ("lead_id", "dangling_reference"),
        ("crm_outcomes", 2): ("occurred_at", "outcome_before_lead"),
        ("crm_outcomes", 3): ("outcome", "missing_required"),
        ("crm_outcomes", 4): ("deal_value", "out_of_range"),
    }
    assert wh.counts() == {"accounts": 0, "leads": 3, "activities": 2, "outcomes": 1}
    # first occurrence wins: L1 keeps row 1's email domain, not row 6's
    assert sorted(r[0] for r in wh.rows("SELECT lead_id FROM leads")) == ["L1", "L8", "L9"]
    assert report.rows_read == 20 and report.rows_loaded == 6 and report.rows_quarantined == 14
    assert report.quarantine_reasons["dangling_reference"] == 2
    assert report.tables == wh.counts()
    raw = wh.scalar("SELECT raw FROM quarantine WHERE source = 'crm_leads' AND row_number = 2")
    assert (json.loads(raw) if isinstance(raw, str) else raw)["CreatedDate"] == "yesterday"
    status = wh.rows("SELECT status, rows_read, rows_loaded, rows_quarantined FROM ingest_runs")
    assert status == [("succeeded", 20, 6, 14)]


def test_reingesting_the_same_files_changes_nothing(workspace: Workspace) -> None:
    settings, wh = workspace(_config(), _files())
    first = ingest(settings, wh)
    tables = wh.counts()
    quarantined = wh.rows("SELECT source, row_number, reason, row_hash FROM quarantine ORDER BY 1, 2")
    snapshot = wh.rows("SELECT lead_id, created_at, job_level, email_domain_type FROM leads ORDER BY 1")
    second = ingest(settings, wh)
    assert wh.counts() == tables
    assert wh.rows("SELECT source, row_number, reason, row_hash FROM quarantine ORDER BY 1, 2") == quarantined
    assert wh.rows("SELECT lead_id, created_at, job_level, email_domain_type FROM leads ORDER BY 1") == snapshot
    # the second run finds the same problems (the report says so) but stores no new entries
    assert second.quarantine_reasons == first.quarantine_reasons
    # what loaded the first time is unchanged the second: nothing is loaded again
    assert (second.rows_loaded, second.rows_unchanged) == (0, first.rows_loaded)
    assert second.rows_read == first.rows_read
    assert wh.scalar("SELECT count(*) FROM ingest_runs WHERE status = 'succeeded'") == 2
    ledger = wh.rows(
        "SELECT rows_read, rows_loaded, rows_unchanged, rows_quarantined, rows_filtered FROM ingest_runs "
        "ORDER BY started_at"
    )
    assert ledger == [
        (r.rows_read, r.rows_loaded, r.rows_unchanged, r.rows_quarantined, r.rows_filtered) for r in (first, second)
    ]
    assert all(read == loaded + unchanged + quarantined + filtered for read, loaded, unchanged, quarantined, filtered
               in ledger)  # fmt: skip


def test_references_are_not_checked_when_the_contract_says_so(workspace: Workspace) -> None:
    config = _config()
    config["contracts"]["require_references"] = False  # type: ignore[index]
    settings, wh = workspace(config, _files())
    ingest(settings, wh, sources=["crm_activities"])
    assert wh.scalar("SELECT count(*) FROM activities") == 4  # X1, X2, X6 (no leads loaded at all), X7
    assert wh.scalar("SELECT count(*) FROM quarantine WHERE reason = 'dangling_reference'") == 0


def test_bad_utf8_in_one_field_quarantines_that_row_only(workspace: Workspace) -> None:
    body = (LEADS_HEADER + _lead(1) + "\n").encode() + _lead(2, dept="Sal\xe9s").encode("latin-1") + b"\n"
    body += (_lead(3) + "\n").encode()
    settings, wh = workspace(_config(), {"source/leads.csv": body})
    report = ingest(settings, wh, sources=["crm_leads"])
    assert report.rows_loaded == 2
    assert _quarantine(wh) == {("crm_leads", 2): ("department", "bad_encoding")}


def test_rows_with_the_wrong_number_of_fields_keep_later_row_numbers_exact(workspace: Workspace) -> None:
    body = LEADS_HEADER + _lead(1) + "\nL2,A1\n" + '"L3",A1,' + GOOD + ',"multi\nline",VP,S,US,Webinar,false,false\n'
    body += _lead(4, level="Intern") + "\n"
    settings, wh = workspace(_config(), {"source/leads.csv": body})
    ingest(settings, wh, sources=["crm_leads"])
    assert _quarantine(wh) == {
        ("crm_leads", 2): (None, "wrong_field_count"),
        ("crm_leads", 4): ("job_level", "unknown_category"),
    }
    assert sorted(r[0] for r in wh.rows("SELECT lead_id FROM leads")) == ["L1", "L3"]


def test_a_missing_file_is_one_line_naming_source_and_file(workspace: Workspace) -> None:
    settings, wh = workspace(_config(), {})
    with pytest.raises(IngestError) as err:
        ingest(settings, wh, sources=["crm_leads"])
    message = str(err.value)
    assert "crm_leads" in message and "leads.csv" in message and "\n" not in message
    assert wh.rows("SELECT status FROM ingest_runs") == [("failed",)]


def test_a_missing_mapped_column_names_source_file_and_column(workspace: Workspace) -> None:
    header = LEADS_HEADER.replace("JobLevel,", "Level,")
    settings, wh = workspace(_config(), {"source/leads.csv": header + _lead(1) + "\n"})
    with pytest.raises(IngestError, match=r"crm_leads.*'JobLevel'.*leads\.csv"):
        ingest(settings, wh, sources=["crm_leads"])
    assert wh.scalar("SELECT count(*) FROM leads") == 0
