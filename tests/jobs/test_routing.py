"""Routing policies: threshold, capacity per territory / rep, expected value, recycling, consent."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pyarrow as pa
from jobs_fakes import AS_OF, FakeFeatures, FakeModels, make_settings

from leadops.jobs import score_job
from leadops.warehouse import Warehouse


def _run(
    wh: Warehouse,
    tmp_path: Path,
    feats: FakeFeatures,
    models: FakeModels,
    days: int = 0,
    business: dict | None = None,  # type: ignore[type-arg]
    **routing: object,
):
    settings = make_settings(tmp_path, scoring={"chunk_size": 100}, routing=routing, business=business or {})
    return score_job(settings, wh, as_of=AS_OF + timedelta(days=days), models=models, features=feats)


def _rows(wh: Warehouse, run_id: str) -> list[tuple]:
    return wh.rows(
        "SELECT lead_id, score, route, region, rep, do_not_call, do_not_email, probability, expected_value "
        "FROM lead_scores WHERE run_id = ? ORDER BY score_rank",
        [run_id],
    )


def _reasons(wh: Warehouse, run_id: str) -> dict[str, tuple]:
    rows = wh.rows(
        "SELECT lead_id, score, route, do_not_call, route_reason, reason_text FROM lead_scores WHERE run_id = ?",
        [run_id],
    )
    return {r[0]: r[1:] for r in rows}


UNCAPPED = {"mql_threshold": 40, "capacity": {"per_day": 10_000}}


def test_threshold_routes_every_callable_lead_at_or_above_it_to_sales(wh, tmp_path, feats, models):
    result = _run(wh, tmp_path, feats, models, business=UNCAPPED, policy="threshold", fresh_days=None)
    rows = _rows(wh, result.run_id)
    for lead, score, route, _, _, dnc, dne, *_ in rows:
        if score >= 40 and not dnc:
            assert route == "sales", lead
        elif dne:
            assert route == "suppressed", lead
        else:
            assert route == "nurture", lead
    assert result.routed_sales == sum(1 for r in rows if r[2] == "sales") > 0
    queue = wh.rows("SELECT count(*) FROM current_sales_queue")[0][0]
    assert queue == result.routed_sales
    assert result.checks["routed_sales"]["passed"] and not result.warnings


def test_each_route_reason_says_what_happened_to_the_lead(wh, tmp_path, feats, models):
    business = {"mql_threshold": 40, "capacity": {"per_day": 5}}
    result = _run(wh, tmp_path, feats, models, business=business, policy="threshold", fresh_days=None)
    reasons = _reasons(wh, result.run_id)
    mqls = sorted((v[0], k) for k, v in reasons.items() if v[0] >= 40 and not v[2])
    assert len(mqls) > 5, "the fixture needs more MQLs than capacity"
    for lead, (score, route, dnc, why, _) in reasons.items():
        if dnc:
            assert why.startswith("no call consent"), (lead, why)
        elif score < 40:
            assert why.startswith("below the MQL threshold (40)"), (lead, why)
        elif route == "sales":
            assert why == "new MQL: score >= 40, within today's Sales capacity", (lead, why)
        else:
            assert why.startswith("an MQL over today's Sales capacity"), (lead, why)
    assert sum(1 for v in reasons.values() if v[1] == "sales") == 5


def test_capacity_policy_never_calls_a_low_score_lead_qualified(wh, tmp_path, feats, models):
    business = {"mql_threshold": 40, "capacity": {"per_day": 5}}
    result = _run(wh, tmp_path, feats, models, business=business, policy="capacity", fresh_days=None)
    reasons = _reasons(wh, result.run_id)
    for lead, (score, route, dnc, why, _) in reasons.items():
        if route != "sales" and not dnc and score < 40:
            assert why.startswith("below the MQL threshold"), (lead, why)
        if "over today's Sales capacity" in why:
            assert score >= 40, (lead, score, why)


def test_every_lead_routed_to_sales_has_reasons(wh, tmp_path, feats, models):
    business = {"mql_threshold": 30, "capacity": {"per_day": 12}}
    first = _run(wh, tmp_path, feats, models, business=business, fresh_days=None)
    second = _run(wh, tmp_path, feats, models, days=1, business=business, fresh_days=None)
    for run in (first, second):
        rows = wh.rows("SELECT reason_text FROM lead_scores WHERE run_id = ? AND route = 'sales'", [run.run_id])
        assert rows and all(r[0] for r in rows), run.run_id
    kept = wh.rows("SELECT route_reason FROM lead_scores WHERE run_id = ? AND sales_status = 'kept'", [second.run_id])
    assert kept and all(r[0].startswith("kept:") for r in kept)


def test_an_empty_sales_queue_with_open_leads_warns_and_fails_the_routed_sales_check(wh, tmp_path, feats, models):
    result = _run(wh, tmp_path, feats, models, business={"mql_threshold": 99.9}, fresh_days=None)
    assert result.routed_sales == 0 and result.leads_scored > 0
    check = result.checks["routed_sales"]
    assert check["passed"] is False and check["value"] == 0
    assert result.warnings and "below the MQL threshold (99.9)" in result.warnings[0]
    assert result.to_dict()["checks"]["routed_sales"]["passed"] is False


def test_the_threshold_stored_with_the_model_is_used_unless_business_declares_one(wh, tmp_path, feats, models):
    import json

    ref = models.champion()
    manifest = json.loads((ref.path / "manifest.json").read_text())
    manifest["extras"] = {"routing": {"mql_threshold": 35.0, "method": "capacity"}}
    (ref.path / "manifest.json").write_text(json.dumps(manifest))
    stored = _run(wh, tmp_path, feats, models, business={"capacity": {"per_day": 10_000}}, fresh_days=None)
    assert stored.routing["mql_threshold"] == 35.0 and "validation" in stored.routing["threshold_source"]
    scores = {r[0]: (r[1], r[2], r[5]) for r in _rows(wh, stored.run_id)}
    assert {k for k, v in scores.items() if v[1] == "sales"} == {
        k for k, v in scores.items() if v[0] >= 35 and not v[2]
    }
    declared = _run(wh, tmp_path, feats, models, days=1, business=UNCAPPED, fresh_days=None)
    assert declared.routing["mql_threshold"] == 40 and declared.routing["threshold_source"] == "business.mql_threshold"


def test_capacity_takes_only_fresh_leads(wh, tmp_path, feats, models):
    old = wh.rows(
        "SELECT lead_id FROM leads WHERE created_at < ? AND lead_id NOT IN (SELECT lead_id FROM outcomes) "
        "AND NOT do_not_call ORDER BY lead_id LIMIT 1",
        [AS_OF - timedelta(days=150)],
    )[0][0]
    wh.insert(  # an old lead active last week is fresh again
        "activities",
        pa.table(
            {
                "activity_id": ["R1"],
                "lead_id": [old],
                "occurred_at": pa.array([AS_OF - timedelta(days=7)], pa.timestamp("us")),
                "activity_type": ["page_view"],
            }
        ),
    )
    result = _run(wh, tmp_path, feats, models, business={"capacity": {"per_day": 500}}, policy="capacity")
    fresh = {
        r[0]
        for r in wh.rows(
            "SELECT l.lead_id FROM leads l WHERE l.created_at > ? OR EXISTS (SELECT 1 FROM activities a "
            "WHERE a.lead_id = l.lead_id AND a.occurred_at > ? AND a.occurred_at <= ?)",
            [AS_OF - timedelta(days=30), AS_OF - timedelta(days=30), AS_OF],
        )
    }
    assert old in fresh
    rows = _reasons(wh, result.run_id)
    picked = {k for k, v in rows.items() if v[1] == "sales"}
    assert picked == {k for k, v in rows.items() if k in fresh and not v[2]}, "every fresh callable lead, no other"
    stale = [v[3] for k, v in rows.items() if k not in fresh and not v[2]]
    assert stale and all(why.startswith("not fresh: neither created nor active in the last 30 days") for why in stale)


def test_capacity_per_region_takes_the_top_k_callable_leads_of_each_region(wh, tmp_path, feats, models):
    cap = {"per_day": 3, "by": "region", "regions": {"NA": 5}}
    result = _run(wh, tmp_path, feats, models, business={"capacity": cap}, policy="capacity", fresh_days=None)
    rows = _rows(wh, result.run_id)
    for region in ("NA", "EMEA", "APAC"):
        callable_ = [r for r in rows if r[3] == region and not r[5]]
        expected = {r[0] for r in callable_[: 5 if region == "NA" else 3]}
        got = {r[0] for r in rows if r[3] == region and r[2] == "sales"}
        assert got == expected, region


def test_capacity_per_rep_deals_the_top_leads_round_robin(wh, tmp_path, feats, models):
    cap = {"per_day": 2, "by": "rep", "reps": {"NA": ["ana", "bo"], "EMEA": ["cy"]}}
    result = _run(wh, tmp_path, feats, models, business={"capacity": cap}, policy="capacity", fresh_days=None)
    rows = _rows(wh, result.run_id)
    na = [r for r in rows if r[3] == "NA" and not r[5]][:4]
    assert [r[4] for r in na] == ["ana", "bo", "ana", "bo"]
    assert all(r[2] == "sales" for r in na)
    assert sum(1 for r in rows if r[3] == "EMEA" and r[2] == "sales") == 2
    assert sum(1 for r in rows if r[3] == "APAC" and r[2] == "sales") == 0  # no rep there


def test_expected_value_routes_positive_value_leads_capped_by_capacity(wh, tmp_path, feats, models):
    business = {"value_per_conversion": 1000.0, "cost_per_contact": 300.0, "capacity": {"per_day": 10}}
    result = _run(wh, tmp_path, feats, models, business=business, policy="expected_value", fresh_days=None)
    rows = _rows(wh, result.run_id)
    for r in rows:
        assert abs(r[8] - (r[7] * 1000.0 - 300.0)) < 1e-9
    positive = sorted((r for r in rows if r[8] > 0 and not r[5]), key=lambda r: (-r[8], -r[1], r[0]))
    assert len(positive) > 10
    assert {r[0] for r in rows if r[2] == "sales"} == {r[0] for r in positive[:10]}


def test_consent_do_not_call_never_goes_to_sales_and_do_not_email_never_email_nurtured(wh, tmp_path, feats, models):
    business = {"mql_threshold": 0, "capacity": {"per_day": 10_000}}
    result = _run(wh, tmp_path, feats, models, business=business, policy="threshold", fresh_days=None)
    rows = _rows(wh, result.run_id)
    assert any(r[5] for r in rows) and any(r[6] for r in rows)
    assert all(r[2] != "sales" for r in rows if r[5])
    email = wh.rows("SELECT lead_id FROM nurture_queue WHERE run_id = ? AND channel = 'email'", [result.run_id])
    dne = {r[0] for r in rows if r[6]}
    assert not dne & {e[0] for e in email}


def test_a_lead_already_with_sales_is_kept_not_routed_again(wh, tmp_path, feats, models):
    business = {"capacity": {"per_day": 5}}
    first = _run(wh, tmp_path, feats, models, business=business, policy="capacity", fresh_days=None)
    second = _run(wh, tmp_path, feats, models, days=1, business=business, policy="capacity", fresh_days=None)
    q1 = {r[0] for r in wh.rows("SELECT lead_id FROM sales_queue WHERE run_id = ?", [first.run_id])}
    kept = wh.rows(
        "SELECT lead_id, status, routed_at FROM sales_queue WHERE run_id = ? AND status = 'kept'", [second.run_id]
    )
    assert {k[0] for k in kept} == q1
    assert all(k[2] == AS_OF for k in kept)  # still counted from the first routing
    assert second.new_to_sales == 5 and second.routed_sales == 10


def test_a_lead_untouched_with_sales_for_n_days_returns_to_nurture(wh, tmp_path, feats, models):
    routing = {
        "policy": "capacity",
        "business": {"capacity": {"per_day": 4}},
        "fresh_days": None,
        "recycle": {"untouched_days": 3, "cooldown_days": 5},
    }
    first = _run(wh, tmp_path, feats, models, **routing)
    q1 = [r[0] for r in wh.rows("SELECT lead_id FROM sales_queue WHERE run_id = ? ORDER BY lead_id", [first.run_id])]
    touched = q1[0]
    wh.insert(
        "activities",
        pa.table(
            {
                "activity_id": ["T1"],
                "lead_id": [touched],
                "occurred_at": pa.array([AS_OF + timedelta(days=1)], pa.timestamp("us")),
                "activity_type": ["sales_touch"],
            }
        ),
    )
    for day in (1, 2):
        _run(wh, tmp_path, feats, models, days=day, **routing)
    third = _run(wh, tmp_path, feats, models, days=3, **routing)
    recycled = wh.rows(
        "SELECT lead_id FROM nurture_queue WHERE run_id = ? AND recycled_at IS NOT NULL ORDER BY lead_id",
        [third.run_id],
    )
    assert [r[0] for r in recycled] == [x for x in q1 if x != touched]
    assert touched in {r[0] for r in wh.rows("SELECT lead_id FROM sales_queue WHERE run_id = ?", [third.run_id])}
    fourth = _run(wh, tmp_path, feats, models, days=4, **routing)  # in cool-down: not straight back to Sales
    back = {r[0] for r in wh.rows("SELECT lead_id FROM sales_queue WHERE run_id = ?", [fourth.run_id])}
    assert not back & {r[0] for r in recycled}


def _touch(wh: Warehouse, lead: str, kind: str, when: datetime) -> None:
    table = {
        "activity_id": [f"T-{lead}-{kind}"],
        "lead_id": [lead],
        "occurred_at": pa.array([when], pa.timestamp("us")),
        "activity_type": [kind],
    }
    wh.insert("activities", pa.table(table))


def test_a_configured_sales_activity_type_stops_recycling(wh, tmp_path, feats, models):
    base = {
        "policy": "capacity",
        "business": {"capacity": {"per_day": 4}},
        "fresh_days": None,
        "recycle": {"untouched_days": 2, "cooldown_days": 5},
    }
    configured = {**base, "sales_activity_types": ["discovery_call"]}
    first = _run(wh, tmp_path, feats, models, **configured)
    queued = sorted(r[0] for r in wh.rows("SELECT lead_id FROM sales_queue WHERE run_id = ?", [first.run_id]))
    worked = queued[:2]
    for lead in worked:
        _touch(wh, lead, "discovery_call", AS_OF + timedelta(hours=30))
    _run(wh, tmp_path, feats, models, days=1, **configured)
    third = _run(wh, tmp_path, feats, models, days=2, **configured)
    recycled = {
        r[0]: r[1]
        for r in wh.rows(
            "SELECT lead_id, route_reason FROM lead_scores WHERE run_id = ? AND recycled_at IS NOT NULL",
            [third.run_id],
        )
    }
    assert set(recycled) == set(queued) - set(worked)
    assert all("no Sales activity (discovery_call) in 2 days" in why for why in recycled.values())
    with_sales = {r[0] for r in wh.rows("SELECT lead_id FROM sales_queue WHERE run_id = ?", [third.run_id])}
    assert set(worked) <= with_sales


def test_by_default_every_sales_side_type_counts_as_sales_working_a_lead(wh, tmp_path, feats, models):
    from leadops.jobs.routing import SALES_SIDE_TYPES, declared_activity_types, sales_activity_types
    from leadops.settings.crm import ContractsSpec
    from leadops.settings.jobs import RoutingSpec

    contracts = ContractsSpec.model_validate(
        {"activities": {"categories": {"activity_type": {"allowed": ["page_view", "sales_call", "meeting", "demo"]}}}}
    )
    declared = declared_activity_types(contracts, [])
    assert sales_activity_types(RoutingSpec(), declared) == ["sales_call", "meeting"]
    assert sales_activity_types(RoutingSpec(), []) == list(SALES_SIDE_TYPES)
    assert sales_activity_types(RoutingSpec(sales_activity_types=["demo"]), declared) == ["demo"]
    routing = {
        "policy": "capacity",
        "business": {"capacity": {"per_day": 3}},
        "fresh_days": None,
        "recycle": {"untouched_days": 2, "cooldown_days": 5},
    }
    first = _run(wh, tmp_path, feats, models, **routing)
    queued = sorted(r[0] for r in wh.rows("SELECT lead_id FROM sales_queue WHERE run_id = ?", [first.run_id]))
    for lead, kind in zip(queued, ("sales_email", "meeting", "page_view"), strict=True):
        _touch(wh, lead, kind, AS_OF + timedelta(hours=30))
    _run(wh, tmp_path, feats, models, days=1, **routing)
    third = _run(wh, tmp_path, feats, models, days=2, **routing)
    recycled = {
        r[0]
        for r in wh.rows(
            "SELECT lead_id FROM nurture_queue WHERE run_id = ? AND recycled_at IS NOT NULL", [third.run_id]
        )
    }
    assert recycled == {queued[2]}, "a page view is the lead's own activity, not Sales working it"


def test_ties_in_the_calibrated_score_rank_and_route_by_the_raw_score(wh, tmp_path, feats):
    coarse = FakeModels(tmp_path / "coarse", loader="jobs_fakes:load_coarse")
    business = {"capacity": {"per_day": 7}}
    result = _run(wh, tmp_path, feats, coarse, business=business, policy="capacity", fresh_days=None)
    rows = wh.rows(
        "SELECT lead_id, score, raw, score_rank, route, do_not_call FROM lead_scores WHERE run_id = ? "
        "ORDER BY score_rank",
        [result.run_id],
    )
    assert len({r[1] for r in rows}) < len(rows) / 10, "the coarse scores tie a lot"
    want = sorted(rows, key=lambda r: (-r[1], -r[2], r[0]))
    assert [r[0] for r in rows] == [r[0] for r in want]
    callable_ = [r for r in want if not r[5]]
    assert {r[0] for r in rows if r[4] == "sales"} == {r[0] for r in callable_[:7]}


def test_without_any_threshold_sales_gets_the_top_leads_and_nobody_is_called_an_mql(wh, tmp_path, feats, models):
    result = _run(wh, tmp_path, feats, models, business={"capacity": {"per_day": 6}}, fresh_days=None)
    assert result.routing["mql_threshold"] is None and result.routing["threshold_source"].startswith("none")
    reasons = _reasons(wh, result.run_id)
    sales = [v for v in reasons.values() if v[1] == "sales"]
    assert len(sales) == 6 and all(v[3].startswith("new to Sales: among today's top scores") for v in sales)
    assert not any("MQL" in v[3] and "no MQL threshold" not in v[3] for v in reasons.values())
