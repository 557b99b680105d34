"""Counts, flags and recencies read from sorted ages (features.online._by_age) equal the loop over the events."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from leadops.features import online
from leadops.settings.features import FeaturesSpec

TYPES = ["email_open", "page_view", "pricing_view", "demo_request"]
SPEC = {
    "definitions": [
        {"name": "n_{days}d", "label": "opens", "kind": "activity", "types": ["email_open"], "windows": [1, 7, 30]},
        {"name": "any_{days}d", "label": "views", "kind": "activity", "types": ["page_view", "pricing_view"],
         "agg": "exists", "windows": [2, 90]},
        {"name": "last_{days}d", "label": "last", "kind": "activity", "types": ["pricing_view", "demo_request"],
         "agg": "recency", "windows": [3, 30]},
        {"name": "last_ever", "label": "last ever", "kind": "activity", "types": ["demo_request"], "agg": "recency"},
        {"name": "everything", "label": "all", "kind": "activity", "agg": "count"},
        {"name": "latest", "label": "latest", "kind": "activity", "agg": "recency"},
        {"name": "twice", "label": "twice", "kind": "activity", "types": ["email_open", "email_open"]},
    ]
}  # fmt: skip


def test_sorted_ages_give_the_loops_numbers_for_random_leads() -> None:
    spec = FeaturesSpec.model_validate(SPEC)
    plan = online._plan(spec)
    steps = [step for _, kind, step in plan.steps if kind == online._ACTIVITY]
    assert steps and all(step.by_age for step in steps)
    rng = random.Random(7)
    now = datetime(2026, 6, 1, 12, 0, 0)
    seen = set()
    for _ in range(400):
        activities = [
            {"activity_type": rng.choice(TYPES), "occurred_at": now - timedelta(seconds=rng.uniform(-3e5, 1.2e7))}
            for _ in range(rng.randrange(0, 25))
        ]
        by_kind: dict[str, list[online.Event]] = {}
        for a in activities:
            if a["occurred_at"] <= now:
                age = (now - a["occurred_at"]) // timedelta(microseconds=1)
                by_kind.setdefault(a["activity_type"], []).append((age, a["activity_type"], None, {}))
        ages = {kind: sorted(e[0] for e in events) for kind, events in by_kind.items()}
        for step in steps:
            got, want = online._by_age(step, ages), online._activity(step, by_kind)
            assert got == want, (step.f.name, got, want)
            seen.add((step.f.name, got is None, got == 0))
        vector = online.online_vector(spec, {"lead_id": "a"}, None, activities, now)
        assert [vector[n] for n, kind, _ in plan.steps if kind == online._ACTIVITY] == [
            online._activity(step, by_kind) for step in steps
        ]
    assert len(seen) >= 2 * len(steps)  # each feature took more than one kind of value (empty, zero, others)
