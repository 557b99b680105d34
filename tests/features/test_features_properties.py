"""Activity features filtered on a property (calls whose outcome is Connected, visits of a pricing page)."""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import datetime
from typing import Any

import pytest
from features_synth import load_world, make_world
from pydantic import ValidationError
from test_features_parity import assert_identical

from leadops.features.build import build_features
from leadops.features.online import online_vector
from leadops.settings.features import FeaturesSpec
from leadops.warehouse import Warehouse

SPEC = {
    "definitions": [
        {"name": "connected_{days}d", "label": "connected calls", "kind": "activity", "types": ["email_open"],
         "windows": [30, 365], "where": {"property": "outcome", "equals": "Connected"}},
        {"name": "pricing_pages", "label": "pricing page visits", "kind": "activity",
         "where": {"property": "page", "contains": "/pricing"}},
        {"name": "reached", "label": "calls that reached someone", "kind": "activity", "agg": "recency",
         "where": {"property": "outcome", "in": ["Connected", "Left Voicemail"]}},
        {"name": "long_calls", "label": "calls of 5 minutes", "kind": "activity", "agg": "exists",
         "where": {"property": "minutes", "equals": "5"}},
        {"name": "all_opens", "label": "email opens", "kind": "activity", "types": ["email_open"]},
    ]
}  # fmt: skip


def _online(spec: FeaturesSpec, world: Any, as_of: datetime) -> list[dict[str, Any]]:
    acts: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for a in world.activities.to_pylist():
        acts[a["lead_id"]].append(a)
    rows = []
    for lead in sorted(world.leads.to_pylist(), key=lambda r: r["lead_id"]):
        rows.append({"lead_id": lead["lead_id"], **online_vector(spec, lead, None, acts[lead["lead_id"]], as_of)})
    return rows


def test_property_filters_agree_between_sql_and_the_single_lead_path(warehouse: Warehouse) -> None:
    spec = FeaturesSpec.model_validate(SPEC)
    world = make_world(2_000, seed=11)
    load_world(warehouse, world)
    as_of = datetime(2025, 9, 1, 8, 0, 0, 500)
    sql_rows = sorted(build_features(spec, warehouse, as_of=as_of).to_pylist(), key=lambda r: r["lead_id"])
    py_rows = [r for r in _online(spec, world, as_of) if r["lead_id"] in {s["lead_id"] for s in sql_rows}]
    assert_identical(sql_rows, py_rows, spec.names())
    # not vacuous: each filter keeps some activities and drops others
    total = sum(r["all_opens"] for r in sql_rows)
    connected = sum(r["connected_365d"] for r in sql_rows)
    assert 0 < connected < total
    assert sum(r["pricing_pages"] > 0 for r in sql_rows) > 50
    assert sum(r["long_calls"] for r in sql_rows) > 10


def test_a_property_filter_counts_exactly_the_matching_activities(warehouse: Warehouse) -> None:
    spec = FeaturesSpec.model_validate(SPEC)
    world = make_world(300, seed=5)
    load_world(warehouse, world)
    as_of = datetime(2026, 1, 1)
    table = build_features(spec, warehouse, as_of=as_of).to_pylist()
    expected: dict[str, int] = defaultdict(int)
    for a in world.activities.to_pylist():
        props = json.loads(a["properties"]) if a["properties"] else {}
        if "/pricing" in props.get("page", "") and a["occurred_at"] <= as_of:
            expected[a["lead_id"]] += 1
    assert {r["lead_id"]: int(r["pricing_pages"]) for r in table if r["pricing_pages"]} == dict(expected)


@pytest.mark.parametrize(
    ("where", "message"),
    [
        ({"property": "outcome"}, "give exactly one of equals, in, contains"),
        ({"property": "out'come", "equals": "x"}, "may not contain quotes"),
        ({"property": "outcome", "equals": "x", "contains": "y"}, "give exactly one of equals, in, contains"),
    ],
)
def test_a_bad_property_filter_is_an_error_naming_the_feature_key(where: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message) as caught:
        FeaturesSpec.model_validate({"definitions": [{"name": "x", "label": "x", "kind": "activity", "where": where}]})
    assert "where" in str(caught.value)


def test_online_properties_may_be_json_text_or_a_dict_and_bad_json_is_named() -> None:
    from leadops.errors import FeatureError

    spec = FeaturesSpec.model_validate(SPEC).select(["pricing_pages"])
    as_of = datetime(2025, 6, 1)
    acts = [
        {"occurred_at": datetime(2025, 5, 1), "activity_type": "page_view", "properties": '{"page": "/pricing"}'},
        {"occurred_at": datetime(2025, 5, 2), "activity_type": "page_view", "properties": {"page": "/pricing/x"}},
        {"occurred_at": datetime(2025, 5, 3), "activity_type": "page_view", "properties": None},
    ]
    assert online_vector(spec, {"lead_id": "L"}, None, acts, as_of) == {"pricing_pages": 2.0}
    with pytest.raises(FeatureError, match=r"activities\[0\]\.properties: not valid JSON"):
        online_vector(spec, {"lead_id": "L"}, None, [acts[0] | {"properties": "{bad"}], as_of)
