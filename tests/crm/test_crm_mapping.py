"""Mapping: renames, value maps, coercion, time zones, derived email domain type, attributes."""

from __future__ import annotations

import json
from datetime import datetime

from conftest import LEADS_HEADER, Workspace, crm_config


def _leads(*rows: str) -> str:
    return LEADS_HEADER + "".join(r + "\n" for r in rows)


def test_renames_value_maps_and_coercion_land_in_canonical_columns(workspace: Workspace) -> None:
    settings, wh = workspace(
        crm_config(),
        {"source/leads.csv": _leads(
            "L1,A1,2025-03-04T09:15:00-05:00,bob@acme.com,C-Level,Sales,US,Demo Form,true,no",
            "L2,A2,2025-03-04T09:15:00Z,amy@gmail.com,Select,Ops,DE,Organic Search,0,yes",
        )},
    )  # fmt: skip
    from leadops.crm import ingest

    report = ingest(settings, wh, sources=["crm_leads"])
    assert report.rows_loaded == 2 and report.rows_quarantined == 0
    rows = wh.rows(
        "SELECT lead_id, account_id, created_at, job_level, lead_source, do_not_email, do_not_call, country "
        "FROM leads ORDER BY lead_id"
    )
    assert rows[0] == ("L1", "A1", datetime(2025, 3, 4, 14, 15), "c_level", "demo_form", True, False, "US")
    # "Select" is the form's placeholder: mapped to missing, not quarantined as an unknown job level
    assert rows[1] == ("L2", "A2", datetime(2025, 3, 4, 9, 15), None, "organic_search", False, True, "DE")


def test_naive_timestamps_are_read_in_the_source_timezone_and_stored_as_utc(workspace: Workspace) -> None:
    config = crm_config()
    leads = next(s for s in config["sources"] if s["name"] == "crm_leads")
    leads["timezone"] = "America/New_York"
    settings, wh = workspace(
        config,
        {"source/leads.csv": _leads(
            "L1,A1,2025-01-15 09:00:00,a@acme.com,VP,S,US,Webinar,false,false",   # EST, UTC-5
            "L2,A1,2025-07-15T09:00:00,a@acme.com,VP,S,US,Webinar,false,false",   # EDT, UTC-4
            "L3,A1,2025-07-15T09:00:00+02:00,a@acme.com,VP,S,US,Webinar,false,false",  # offset wins
            "L4,A1,2025-07-15,a@acme.com,VP,S,US,Webinar,false,false",  # a date: midnight local
        )},
    )  # fmt: skip
    from leadops.crm import ingest

    ingest(settings, wh, sources=["crm_leads"])
    got = dict(wh.rows("SELECT lead_id, created_at FROM leads"))
    assert got == {
        "L1": datetime(2025, 1, 15, 14, 0),
        "L2": datetime(2025, 7, 15, 13, 0),
        "L3": datetime(2025, 7, 15, 7, 0),
        "L4": datetime(2025, 7, 15, 4, 0),
    }


def test_email_domain_type_is_derived_and_the_address_is_not_stored(workspace: Workspace) -> None:
    settings, wh = workspace(
        crm_config(),
        {"source/leads.csv": _leads(
            "L1,A1,2025-03-04T09:15:00Z,Bob@Acme.com,VP,S,US,Webinar,false,false",
            "L2,A1,2025-03-04T09:15:00Z,x@gmail.com,VP,S,US,Webinar,false,false",
            "L3,A1,2025-03-04T09:15:00Z,x@cs.stanford.edu,VP,S,US,Webinar,false,false",
            "L4,A1,2025-03-04T09:15:00Z,x@irs.gov,VP,S,US,Webinar,false,false",
            "L5,A1,2025-03-04T09:15:00Z,not-an-address,VP,S,US,Webinar,false,false",
            "L6,A1,2025-03-04T09:15:00Z,,VP,S,US,Webinar,false,false",
        )},
    )  # fmt: skip
    from leadops.crm import ingest

    ingest(settings, wh, sources=["crm_leads"])
    got = dict(wh.rows("SELECT lead_id, email_domain_type FROM leads"))
    assert got == {"L1": "corporate", "L2": "free", "L3": "edu", "L4": "gov", "L5": "unknown", "L6": "unknown"}
    assert wh.scalar("SELECT count(*) FROM leads WHERE email IS NOT NULL") == 0
    assert "gmail" not in json.dumps(wh.rows("SELECT * FROM leads"), default=str)


def test_keep_email_stores_the_address_when_the_config_asks(workspace: Workspace) -> None:
    config = crm_config()
    next(s for s in config["sources"] if s["name"] == "crm_leads")["keep_email"] = True
    settings, wh = workspace(
        config, {"source/leads.csv": _leads("L1,A1,2025-03-04T09:15:00Z,Bob@Acme.com,VP,S,US,Webinar,false,false")}
    )
    from leadops.crm import ingest

    ingest(settings, wh, sources=["crm_leads"])
    assert wh.rows("SELECT email, email_domain_type FROM leads") == [("bob@acme.com", "corporate")]


def test_attributes_keep_their_types_and_unknown_category_policy_other(workspace: Workspace) -> None:
    config = {
        "sources": [{
            "name": "web", "table": "leads", "path": "source/web.csv", "attributes": ["score", "zip", "vip", "note"],
            "columns": {"id": "lead_id", "src": "lead_source"},
        }],
        "contracts": {"leads": {"required": ["lead_id"], "categories": {
            "lead_source": {"allowed": ["webinar"], "unknown": "other"}}}},
    }  # fmt: skip
    settings, wh = workspace(
        config,
        {"source/web.csv": "id,src,score,zip,vip,note\na,webinar,12,02134,TRUE,hello\nb,tv,1.5e2,99,false,\n"},
    )
    from leadops.crm import ingest

    ingest(settings, wh)
    rows = {k: (s, json.loads(a) if isinstance(a, str) else a)
            for k, s, a in wh.rows("SELECT lead_id, lead_source, attributes FROM leads")}  # fmt: skip
    assert rows["a"] == ("webinar", {"score": 12, "zip": "02134", "vip": True, "note": "hello"})
    assert rows["b"] == ("other", {"score": 150.0, "zip": 99, "vip": False, "note": None})
    assert isinstance(rows["a"][1]["score"], int)


def test_ingest_types_every_address_as_classify_email_does(workspace: Workspace) -> None:
    from test_crm_emails import CASES

    from leadops.crm.emails import classify_email

    addresses = [a for a, _ in CASES if a is not None] + ["  Bob@Acme.COM  ", "NA", "x@mit.edu ", " y@GMAIL.com"]
    rows = [f"L{i},A1,2025-03-04T09:15:00Z,{a},VP,S,US,Webinar,false,false" for i, a in enumerate(addresses)]
    config = crm_config()
    next(s for s in config["sources"] if s["name"] == "crm_leads")["keep_email"] = True
    settings, wh = workspace(config, {"source/leads.csv": _leads(*rows)})
    from leadops.crm import ingest

    assert ingest(settings, wh, sources=["crm_leads"]).rows_loaded == len(addresses)
    got = dict((k, (e, t)) for k, e, t in wh.rows("SELECT lead_id, email, email_domain_type FROM leads"))
    for i, a in enumerate(addresses):
        missing = a.strip() in ("", "NA")
        assert got[f"L{i}"] == (None if missing else a.strip().lower(), classify_email(None if missing else a)), a
