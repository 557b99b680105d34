"""Relational mapping as data: lookups, enrichment, filters, composed values, properties, routes, owner."""

from __future__ import annotations

import json
from typing import Any

import pytest

from conftest import Workspace
from leadops.config import Settings
from leadops.crm import ingest
from leadops.errors import ConfigError, IngestError

LEADS = (
    "Id,OwnerId,CreatedDate,Department,ConvertedContactId,DoNotCall\n"
    "L1,REP-1,2025-03-01T00:00:00Z,,C1,false\n"
    "L2,REP-2,2025-03-02T00:00:00Z,Sales,,true\n"
    "L3,,2025-03-03T00:00:00Z,,C9,false\n"
)
CONTACTS = "Id,Department,DoNotCall\nC1,Finance,true\nC2,IT,true\n"
TASKS = (
    "Id,WhoId,CompletedDateTime,Type,Subject,CallDisposition,Page,Kind\n"
    "T1,L1,2025-03-04T10:00:00Z,Email,Opened,,,lead\n"
    "T2,L1,2025-03-04T11:00:00Z,Call,Outbound,Connected,,lead\n"
    "T3,L2,2025-03-04T12:00:00Z,Web Visit,,,/pricing,lead\n"
    "T4,L2,2025-03-04T13:00:00Z,Email,Opened,,,internal\n"
    "T5,L2,2025-03-04T14:00:00Z,Call,Outbound,,,\n"
)
OPPORTUNITIES = (
    "Id,LeadId,CreatedDate,StageName,IsClosed,IsWon,Amount,CloseDate\n"
    "O1,L1,2025-03-05T00:00:00Z,Proposal,false,false,,\n"
    "O2,L2,2025-03-06T00:00:00Z,Closed Won,true,true,5000,2025-04-01T00:00:00Z\n"
    "O3,L3,2025-03-07T00:00:00Z,Closed Lost,true,false,,2025-04-02T00:00:00Z\n"
)


def _leads_source(**extra: Any) -> dict[str, Any]:
    return {
        "name": "sf_leads",
        "table": "leads",
        "path": "source/Lead.csv",
        "lookups": [
            {
                "name": "contact",
                "path": "source/Contact.csv",
                "key": "Id",
                "source_key": "ConvertedContactId",
                "columns": ["Department"],
            }
        ],
        "columns": {
            "Id": "lead_id",
            "OwnerId": "owner",
            "CreatedDate": "created_at",
            "Department": "department",
            "contact.Department": "department",
            "DoNotCall": "do_not_call",
        },
    } | extra


def _contacts_enrich() -> dict[str, Any]:
    return {
        "name": "sf_contacts",
        "table": "leads",
        "mode": "enrich",
        "path": "source/Contact.csv",
        "lookups": [
            {
                "name": "lead",
                "path": "source/Lead.csv",
                "key": "ConvertedContactId",
                "source_key": "Id",
                "columns": ["Id"],
            }
        ],
        "columns": {"lead.Id": "lead_id", "DoNotCall": "do_not_call"},
    }


def _config(*sources: dict[str, Any]) -> dict[str, Any]:
    return {"sources": list(sources), "contracts": {"require_references": True}}


def _files() -> dict[str, str]:
    return {"source/Lead.csv": LEADS, "source/Contact.csv": CONTACTS, "source/Task.csv": TASKS,
            "source/Opportunity.csv": OPPORTUNITIES}  # fmt: skip


def _leads(wh: Any) -> list[tuple[Any, ...]]:
    return wh.rows("SELECT lead_id, owner, department, do_not_call FROM leads ORDER BY lead_id")


def test_a_lookup_joins_contact_fields_onto_leads_and_the_first_present_source_wins(workspace: Workspace) -> None:
    settings, wh = workspace(_config(_leads_source()), _files())
    report = ingest(settings, wh)
    assert report.rows_loaded == 3 and report.rows_quarantined == 0
    # L1: own Department empty -> the contact's; L2: own value; L3: its contact C9 does not exist -> NULL
    assert _leads(wh) == [("L1", "REP-1", "Finance", False), ("L2", "REP-2", "Sales", True), ("L3", None, None, False)]


def test_enrichment_updates_existing_rows_by_key_through_a_lookup(workspace: Workspace) -> None:
    settings, wh = workspace(_config(_contacts_enrich(), _leads_source()), _files())
    report = ingest(settings, wh)
    assert [s.name for s in report.per_source] == ["sf_leads", "sf_contacts"]  # enrichments load last
    contacts = report.per_source[1]
    # C1 -> L1 updated (never a duplicate_key); C2 is nobody's converted contact: its key is missing
    assert (contacts.rows_read, contacts.rows_loaded, contacts.quarantine_reasons) == (2, 1, {"missing_required": 1})
    assert _leads(wh)[:2] == [("L1", "REP-1", "Finance", True), ("L2", "REP-2", "Sales", True)]
    again = ingest(settings, wh)
    # L1 is changed twice (the lead file resets do_not_call, the enrichment sets it again); L2, L3 are unchanged
    assert (again.rows_loaded, again.rows_unchanged) == (2, 2) and _leads(wh)[0] == ("L1", "REP-1", "Finance", True)


def test_enrichment_keeps_values_it_does_not_have_and_merges_attributes(workspace: Workspace) -> None:
    extra = {"name": "extra", "table": "leads", "mode": "enrich", "path": "source/Extra.csv",
             "columns": {"Id": "lead_id", "Department": "department"}, "attributes": ["Score"]}  # fmt: skip
    leads = _leads_source(attributes=["OwnerId"])
    files = _files() | {"source/Extra.csv": "Id,Department,Score\nL2,,7\nL9,IT,1\n"}
    settings, wh = workspace(_config(leads, extra), files)
    report = ingest(settings, wh)
    assert report.per_source[1].quarantine_reasons == {"dangling_reference": 1}
    entry = wh.rows("SELECT row_number, field, detail FROM quarantine WHERE source = 'extra'")[0]
    assert entry == (2, "lead_id", "lead_id 'L9' is not in leads, so there is no row to enrich")
    assert wh.scalar("SELECT count(*) FROM leads") == 3
    row = wh.rows("SELECT department, attributes FROM leads WHERE lead_id = 'L2'")[0]
    attributes = row[1] if isinstance(row[1], dict) else json.loads(row[1])
    assert row[0] == "Sales" and attributes == {"OwnerId": "REP-2", "Score": 7}


def test_filters_leave_rows_out_with_a_reason_and_never_quarantine_them(workspace: Workspace) -> None:
    tasks = {
        "name": "sf_tasks", "table": "activities", "path": "source/Task.csv",
        "filters": [{"column": "Kind", "equals": "internal", "reason": "internal task"},
                    {"column": "Kind", "missing": True, "reason": "no kind"}],
        "columns": {"Id": "activity_id", "WhoId": "lead_id", "CompletedDateTime": "occurred_at", "Type": "channel"},
        "compose": {"activity_type": {"columns": ["Type", "Subject"]}},
        "values": {"activity_type": {"Email / Opened": "email_open", "Call / Outbound": "sales_touch",
                                     "Web Visit": "page_view"}},
        "properties": {"CallDisposition": "outcome", "Page": "page"},
    }  # fmt: skip
    settings, wh = workspace(_config(_leads_source(), tasks), _files())
    report = ingest(settings, wh)
    source = next(s for s in report.per_source if s.name == "sf_tasks")
    assert (source.rows_read, source.rows_loaded, source.rows_quarantined, source.rows_filtered) == (5, 3, 0, 2)
    assert source.filtered_reasons == {"internal task": 1, "no kind": 1}
    assert report.rows_filtered == 2 and report.filtered_reasons == source.filtered_reasons
    assert report.to_dict()["rows_filtered"] == 2
    assert wh.rows("SELECT rows_filtered, rows_unchanged FROM ingest_runs") == [(2, 0)]
    assert wh.scalar("SELECT count(*) FROM quarantine") == 0
    rows = wh.rows("SELECT activity_id, activity_type, properties FROM activities ORDER BY activity_id")
    parsed = [(a, t, p if p is None or isinstance(p, dict) else json.loads(p)) for a, t, p in rows]
    assert parsed == [("T1", "email_open", None), ("T2", "sales_touch", {"outcome": "Connected"}),
                      ("T3", "page_view", {"page": "/pricing"})]  # fmt: skip


def test_one_source_feeds_several_tables_through_routes(workspace: Workspace) -> None:
    opportunities = {
        "name": "sf_opps", "table": "activities", "path": "source/Opportunity.csv",
        "columns": {"Id": "activity_id", "LeadId": "lead_id", "CreatedDate": "occurred_at"},
        "constants": {"activity_type": "sales_touch", "channel": "Opportunity"},
        "routes": [{
            "name": "closed", "table": "outcomes",
            "filters": [{"column": "IsClosed", "not_in": ["true"], "reason": "still open"}],
            "columns": {"Id": "outcome_id", "LeadId": "lead_id", "CloseDate": "occurred_at", "IsWon": "outcome",
                        "Amount": "deal_value"},
            "values": {"outcome": {"true": "converted", "false": "lost"}},
        }],
    }  # fmt: skip
    settings, wh = workspace(_config(_leads_source(), opportunities), _files())
    report = ingest(settings, wh)
    names = [s.name for s in report.per_source]
    assert names == ["sf_leads", "sf_opps", "sf_opps.closed"]
    closed = report.per_source[2]
    assert (closed.table, closed.rows_read, closed.rows_loaded, closed.filtered_reasons) == (
        "outcomes",
        3,
        2,
        {"still open": 1},
    )
    assert wh.scalar("SELECT count(*) FROM activities") == 3
    only = ingest(settings, wh, sources=["sf_opps.closed"])
    assert [s.name for s in only.per_source] == ["sf_opps.closed"] and only.rows_unchanged == 2
    with pytest.raises(IngestError, match=r"unknown source\(s\) \['sf_opps.open'\]"):
        ingest(settings, wh, sources=["sf_opps.open"])
    assert wh.rows("SELECT outcome_id, outcome, deal_value FROM outcomes ORDER BY 1") == [
        ("O2", "converted", 5000.0), ("O3", "lost", None)]  # fmt: skip


def test_a_lookup_with_a_repeated_key_fails_the_source_with_the_key_named(workspace: Workspace) -> None:
    files = _files() | {"source/Contact.csv": CONTACTS + "C1,Other,false\n"}
    settings, wh = workspace(_config(_leads_source()), files)
    with pytest.raises(IngestError, match=r"lookup 'contact' has 1 repeated value\(s\) of key 'Id'.*'C1'"):
        ingest(settings, wh)


def test_a_lookup_column_the_file_lacks_is_named(workspace: Workspace) -> None:
    source = _leads_source()
    source["lookups"][0]["columns"] = ["Departmnet"]
    source["columns"]["contact.Departmnet"] = source["columns"].pop("contact.Department")
    settings, wh = workspace(_config(source), _files())
    with pytest.raises(IngestError, match=r"lookup 'contact' needs columns \['Departmnet'\]"):
        ingest(settings, wh)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"filters": [{"column": "X", "reason": "r"}]}, "give exactly one of equals, in, not_in, missing"),
        ({"filters": [{"column": "X", "in": ["a"]}]}, "sources.0.filters.0.reason"),
        ({"properties": {"X": "x"}}, "'properties' only applies to table 'activities'"),
        ({"table": "activities", "mode": "enrich"}, "mode 'enrich' updates accounts or leads"),
        ({"routes": [{"name": "a b", "table": "outcomes"}]}, "sources.0.routes.0.name"),
    ],
)
def test_mapping_mistakes_are_config_errors_naming_the_key(change: dict[str, Any], message: str) -> None:
    from leadops.config import describe_validation_error

    data = {"sources": [_leads_source() | change]}
    with pytest.raises(Exception) as caught:
        Settings.model_validate(data)
    assert message in describe_validation_error("leadops.yaml", caught.value)  # type: ignore[arg-type]


def test_compose_onto_a_column_the_table_lacks_is_a_config_error(workspace: Workspace) -> None:
    source = _leads_source(compose={"stage": {"columns": ["Id"]}})
    settings, wh = workspace(_config(source), _files())
    with pytest.raises(ConfigError, match="'compose' builds 'stage', which table 'leads' lacks"):
        ingest(settings, wh)


def test_a_lookup_path_outside_the_workspace_is_refused(workspace: Workspace) -> None:
    source = _leads_source()
    source["lookups"][0]["path"] = "/etc/passwd"
    with pytest.raises(Exception, match=r"sources\.0\.lookups\.0\.path"):
        workspace(_config(source), _files())


def test_a_lookup_column_the_lookup_does_not_bring_is_named_with_what_it_brings(workspace: Workspace) -> None:
    source = _leads_source()
    source["columns"]["contact.Title"] = "job_level"
    settings, wh = workspace(_config(source), _files())
    with pytest.raises(ConfigError, match=r"lookup 'contact' brings only \['Department'\]; add 'Title'"):
        ingest(settings, wh)
