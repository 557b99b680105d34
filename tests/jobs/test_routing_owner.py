"""routing.assign_to_owner: a lead new to Sales goes to its CRM owner (leads.owner), on every engine."""

from __future__ import annotations

from datetime import timedelta

import pyarrow as pa
from test_routing_sql import LEADS, T0, _stage

from leadops.jobs.routing import plan, route_run, write_queues
from leadops.settings.business import BusinessSettings
from leadops.settings.jobs import RoutingSpec
from leadops.warehouse import Warehouse

OWNERS = {"A": "REP-07", "B": None, "C": "REP-02"}


def _reps(wh: Warehouse, run_id: str, spec: RoutingSpec) -> dict[str, str | None]:
    business = BusinessSettings(mql_threshold=50, capacity={"per_day": 2, "by": "rep", "reps": {"NA": ["ann"]}})
    _stage(wh, run_id)
    with wh.transaction():
        route_run(wh, run_id=run_id, as_of=T0, model_version=1, previous_run=None,
                  routing=plan(spec, business, None, ["sales_touch"]))  # fmt: skip
        write_queues(wh, run_id)
    return dict(wh.rows("SELECT lead_id, rep FROM sales_queue WHERE run_id = ? ORDER BY lead_id", [run_id]))


def test_new_sales_leads_go_to_their_crm_owner_and_the_rest_as_capacity_picks(warehouse: Warehouse) -> None:
    wh = warehouse
    ids = list(LEADS)
    wh.insert("leads", pa.table({
        "lead_id": ids,
        "created_at": pa.array([T0 - timedelta(days=LEADS[i][1]) for i in ids], pa.timestamp("us")),
        "owner": pa.array([OWNERS.get(i) for i in ids], pa.string()),
    }))  # fmt: skip
    assert _reps(wh, "r0", RoutingSpec()) == {"A": "ann", "B": "ann"}  # default: the capacity's reps
    assert _reps(wh, "r1", RoutingSpec(assign_to_owner=True)) == {"A": "REP-07", "B": "ann"}
