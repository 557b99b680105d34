"""Routing policies: threshold, capacity per territory / rep, expected value, recycling, consent."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pyarrow as pa
from jobs_fakes import AS_OF, FakeFeatures, FakeModels, make_settings

from leadops.jobs import score_job
from leadops.warehouse import Warehouse


def _run(wh: Warehouse, tmp_path: Path, feats: FakeFeatures, models: FakeModels, days: int = 0, **routing: object):
    settings = make_settings(tmp_path, scoring={"chunk_size": 100}, routing=routing)
    return score_job(settings, wh, as_of=AS_OF + timedelta(days=days), models=models, features=feats)


def _rows(wh: Warehouse, run_id: str) -> list[tuple]:
    return wh.rows(
        "SELECT lead_id, score, route, region, rep, do_not_call, do_not_email, probability, expected_value "
        "FROM lead_scores WHERE run_id = ? ORDER BY score_rank",
        [run_id],
    )


def test_threshold_routes_every_callable_lead_at_or_above_it_to_sales(wh, tmp_path, feats, models):
    result = _run(wh, tmp_path, feats, models, policy="threshold", threshold=40)
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


def test_capacity_per_region_takes_the_top_k_callable_leads_of_each_region(wh, tmp_path, feats, models):
    cap = {"per_day": 3, "by": "region", "regions": {"NA": 5}}
    result = _run(wh, tmp_path, feats, models, policy="capacity", capacity=cap)
    rows = _rows(wh, result.run_id)
    for region in ("NA", "EMEA", "APAC"):
        callable_ = [r for r in rows if r[3] == region and not r[5]]
        expected = {r[0] for r in callable_[: 5 if region == "NA" else 3]}
        got = {r[0] for r in rows if r[3] == region and r[2] == "sales"}
        assert got == expected, region


def test_capacity_per_rep_deals_the_top_leads_round_robin(wh, tmp_path, feats, models):
    cap = {"per_day": 2, "by": "rep", "reps": {"NA": ["ana", "bo"], "EMEA": ["cy"]}}
    result = _run(wh, tmp_path, feats, models, policy="capacity", capacity=cap)
    rows = _rows(wh, result.run_id)
    na = [r for r in rows if r[3] == "NA" and not r[5]][:4]
    assert [r[4] for r in na] == ["ana", "bo", "ana", "bo"]
    assert all(r[2] == "sales" for r in na)
    assert sum(1 for r in rows if r[3] == "EMEA" and r[2] == "sales") == 2
    assert sum(1 for r in rows if r[3] == "APAC" and r[2] == "sales") == 0  # no rep there


def test_expected_value_routes_positive_value_leads_capped_by_capacity(wh, tmp_path, feats, models):
    ev = {"value_per_conversion": 1000.0, "cost_per_contact": 300.0}
    result = _run(wh, tmp_path, feats, models, policy="expected_value", expected_value=ev, capacity={"per_day": 10})
    rows = _rows(wh, result.run_id)
    for r in rows:
        assert abs(r[8] - (r[7] * 1000.0 - 300.0)) < 1e-9
    positive = sorted((r for r in rows if r[8] > 0 and not r[5]), key=lambda r: (-r[8], -r[1], r[0]))
    assert len(positive) > 10
    assert {r[0] for r in rows if r[2] == "sales"} == {r[0] for r in positive[:10]}


def test_consent_do_not_call_never_goes_to_sales_and_do_not_email_never_email_nurtured(wh, tmp_path, feats, models):
    result = _run(wh, tmp_path, feats, models, policy="threshold", threshold=0)
    rows = _rows(wh, result.run_id)
    assert any(r[5] for r in rows) and any(r[6] for r in rows)
    assert all(r[2] != "sales" for r in rows if r[5])
    email = wh.rows("SELECT lead_id FROM nurture_queue WHERE run_id = ? AND channel = 'email'", [result.run_id])
    dne = {r[0] for r in rows if r[6]}
    assert not dne & {e[0] for e in email}


def test_a_lead_already_with_sales_is_kept_not_routed_again(wh, tmp_path, feats, models):
    first = _run(wh, tmp_path, feats, models, policy="capacity", capacity={"per_day": 5})
    second = _run(wh, tmp_path, feats, models, days=1, policy="capacity", capacity={"per_day": 5})
    q1 = {r[0] for r in wh.rows("SELECT lead_id FROM sales_queue WHERE run_id = ?", [first.run_id])}
    kept = wh.rows(
        "SELECT lead_id, status, routed_at FROM sales_queue WHERE run_id = ? AND status = 'kept'", [second.run_id]
    )
    assert {k[0] for k in kept} == q1
    assert all(k[2] == AS_OF for k in kept)  # still counted from the first routing
    assert second.new_to_sales == 5 and second.routed_sales == 10


def test_a_lead_untouched_with_sales_for_n_days_returns_to_nurture(wh, tmp_path, feats, models):
    routing = {"policy": "capacity", "capacity": {"per_day": 4}, "recycle": {"untouched_days": 3, "cooldown_days": 5}}
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


def test_ties_in_the_calibrated_score_rank_and_route_by_the_raw_score(wh, tmp_path, feats):
    coarse = FakeModels(tmp_path / "coarse", loader="jobs_fakes:load_coarse")
    result = _run(wh, tmp_path, feats, coarse, policy="capacity", capacity={"per_day": 7})
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
