"""The routing statement on both engines (DuckDB and PostgreSQL): states, reasons, freshness, recycling."""

from __future__ import annotations

from datetime import datetime, timedelta

import pyarrow as pa

from leadops.jobs.routing import plan, route_run, write_queues
from leadops.settings.business import BusinessSettings
from leadops.settings.jobs import RoutingSpec
from leadops.warehouse import Warehouse

T0 = datetime(2026, 3, 10)
MQL: dict[str, bool] = {}
# lead: (score, created days ago, do_not_call, region)
LEADS = {
    "A": (95.0, 2, False, "NA"),  # new MQL
    "B": (90.0, 3, False, "NA"),  # new MQL
    "C": (85.0, 4, False, "NA"),  # an MQL over capacity (2 a day)
    "D": (80.0, 200, False, "NA"),  # an MQL, but created seven months ago, never active since: stale
    "E": (75.0, 5, True, "NA"),  # do not call
    "F": (10.0, 1, False, "NA"),  # below the threshold
}


def _stage(wh: Warehouse, run_id: str) -> None:
    ids = list(LEADS)
    wh.insert(
        "score_run_leads",
        pa.table(
            {
                "run_id": [run_id] * len(ids),
                "lead_id": ids,
                "chunk": [0] * len(ids),
                "region": [LEADS[i][3] for i in ids],
                "do_not_call": [LEADS[i][2] for i in ids],
                "do_not_email": [False] * len(ids),
            }
        ),
    )
    wh.insert(
        "score_stage",
        pa.table(
            {
                "run_id": [run_id] * len(ids),
                "lead_id": ids,
                "score": [LEADS[i][0] for i in ids],
                "probability": [LEADS[i][0] / 100 for i in ids],
                "grade": ["A"] * len(ids),
            }
        ),
    )


def _route(wh: Warehouse, run_id: str, as_of: datetime, previous: str | None, spec: RoutingSpec) -> dict:  # type: ignore[type-arg]
    business = BusinessSettings(mql_threshold=50, capacity={"per_day": 2})
    _stage(wh, run_id)
    with wh.transaction():
        route_run(
            wh,
            run_id=run_id,
            as_of=as_of,
            model_version=1,
            previous_run=previous,
            routing=plan(spec, business, None, ["sales_touch", "call"]),
        )
        write_queues(wh, run_id)
    rows = wh.rows("SELECT lead_id, route, route_reason, sales_status, mql FROM lead_scores WHERE run_id = ?", [run_id])
    MQL.update({r[0]: bool(r[4]) for r in rows})
    return {r[0]: (r[1], r[2], r[3]) for r in rows}


def test_routing_states_and_reasons_are_the_same_on_every_engine(warehouse: Warehouse) -> None:
    wh = warehouse
    wh.insert(
        "leads",
        pa.table(
            {
                "lead_id": list(LEADS),
                "created_at": pa.array([T0 - timedelta(days=v[1]) for v in LEADS.values()], pa.timestamp("us")),
            }
        ),
    )
    spec = RoutingSpec(recycle={"untouched_days": 1, "cooldown_days": 10})
    day1 = _route(wh, "r1", T0, None, spec)
    assert {k for k, v in day1.items() if v[0] == "sales"} == {"A", "B"}
    assert day1["A"][1] == "new MQL: score >= 50, within today's Sales capacity"
    assert day1["C"][1] == "an MQL over today's Sales capacity (score >= 50)"
    assert day1["D"][1] == "an MQL, but not fresh: neither created nor active in the last 30 days"
    assert day1["E"][1] == "no call consent (do not call): not queued for Sales"
    assert day1["F"][1] == "below the MQL threshold (50)"
    assert MQL == {"A": True, "B": True, "C": True, "D": True, "E": True, "F": False}, "mql: score >= the threshold"
    wh.insert(  # Sales called A (a type of its own); B was never worked
        "activities",
        pa.table(
            {
                "activity_id": ["X1"],
                "lead_id": ["A"],
                "occurred_at": pa.array([T0 + timedelta(hours=12)], pa.timestamp("us")),
                "activity_type": ["call"],
            }
        ),
    )
    day2 = _route(wh, "r2", T0 + timedelta(days=1), "r1", spec)
    assert day2["A"] == ("sales", "kept: already with Sales and worked recently", "kept")
    assert day2["B"][0] == "nurture"
    assert day2["B"][1] == "recycled to nurture: no Sales activity (sales_touch, call) in 1 day with Sales"
    assert day2["C"] == ("sales", "new MQL: score >= 50, within today's Sales capacity", "new")
