"""The single-lead feature path: pure Python over one lead's attributes and recent activities.

Agrees exactly with the SQL path (see leadops.features.sql for the shared semantics); used by online scoring,
where a warehouse round trip per request would cost more than the model.
"""

from __future__ import annotations

import json
import math
import re
from bisect import bisect_left
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from leadops import expr
from leadops.errors import FeatureError
from leadops.features.sql import DECAY_SCALE, NUMBER_PATTERN, US_PER_DAY, VALUE_SCALE
from leadops.settings.features import (
    OTHER,
    ActivityFeature,
    AttributeFeature,
    BuiltinFeature,
    FeaturesSpec,
)

Value = float | str | None
Event = tuple[int, str, float | None, dict[str, Any]]  # age in microseconds, type, value, properties
_NUMBER = re.compile(NUMBER_PATTERN)
_ONE_US = timedelta(microseconds=1)


def as_naive_utc(value: Any, *, field: str) -> datetime:
    """A datetime (or ISO text) as naive UTC, the warehouse convention."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError as exc:
            raise FeatureError(f"{field}: expected an ISO 8601 timestamp, got {value!r}") from exc
    if not isinstance(value, datetime):
        raise FeatureError(f"{field}: expected a timestamp, got {type(value).__name__} {value!r}")
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value


def _json_mapping(raw: Any, where: str) -> dict[str, Any]:
    """A JSON object given as a dict or as JSON text (missing or not an object = empty); bad JSON names `where`."""
    if raw is None:
        return {}
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise FeatureError(f"{where}: not valid JSON: {exc}") from exc
    return dict(raw) if isinstance(raw, Mapping) else {}


def _properties(raw: Any, index: int) -> dict[str, Any]:
    """An activity's properties (a dict or JSON text; missing = none)."""
    return _json_mapping(raw, f"activities[{index}].properties")


def _attributes(record: Mapping[str, Any] | None) -> dict[str, Any]:
    """A lead's or account's `attributes` (flat exports keep their extra columns there)."""
    if not record:
        return {}
    return _json_mapping(record.get("attributes"), f"attributes of lead {record.get('lead_id')!r}")


def _json_number(value: Any) -> float | None:
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str) and _NUMBER.match(value):
        return float(value)
    return None


def _column_number(value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    try:
        out = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(out) else out


def _text(value: Any, *, from_json: bool) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return None if math.isnan(value) else repr(value)
    if isinstance(value, dict | list) and from_json:
        return json.dumps(value, separators=(",", ":"))
    return str(value)


def apply_categories(spec: FeaturesSpec, f: AttributeFeature, raw: str | None, lead_id: Any) -> str | None:
    """The unseen-category policy for one value."""
    if raw is None or f.categories is None or raw in f.categories:
        return raw
    policy = spec.policy(f)
    if policy == "other":
        return OTHER
    if policy == "error":
        raise FeatureError(
            f"feature '{f.name}': lead {lead_id!r} has category {raw!r}, not one of the known "
            f"{f.categories[:10]}{'...' if len(f.categories) > 10 else ''} (unseen: error)"
        )
    return raw


def _attribute(
    spec: FeaturesSpec,
    f: AttributeFeature,
    lead: Mapping[str, Any],
    account: Mapping[str, Any] | None,
    attrs: dict[str, dict[str, Any]],
) -> Value:
    record = lead if f.source == "lead" else (account or {})
    if f.column is not None:
        value = record.get(f.column)
        if f.type == "categorical":
            return apply_categories(spec, f, _text(value, from_json=False), lead.get("lead_id"))
        return _column_number(value)
    value = attrs[f.source].get(f.key or "")
    if f.type == "categorical":
        return apply_categories(spec, f, _text(value, from_json=True), lead.get("lead_id"))
    return _json_number(value)


def _property_text(value: Any) -> str | None:
    """A property as the SQL path reads it: strings as they are, other JSON values as JSON text."""
    if value is None or isinstance(value, str):
        return value
    return json.dumps(value)


_ATTRIBUTE, _ACTIVITY, _BUILTIN, _DERIVED = 0, 1, 2, 3


@dataclass(frozen=True)
class _ActivityStep:
    """One activity feature's aggregate, its fields read once (the request path reads these per lead)."""

    f: ActivityFeature
    types: tuple[str, ...]  # its distinct types (empty: every type)
    window: int | None
    agg: str
    half_life: float
    by_age: bool  # a count, exists or recency without `where`: read from the sorted ages (_by_age)


@dataclass(frozen=True)
class _Plan:
    """What online_vector reads of a spec on every call, worked out once per spec (an online request's hot path)."""

    spec: FeaturesSpec
    derived: list[tuple[str, expr.Node]]  # in dependency order, expressions parsed
    steps: list[tuple[str, int, Any]]  # (name, kind, feature or _ActivityStep) in definition order
    names: list[str]


_PLANS: dict[int, _Plan] = {}


def _step(f: Any) -> tuple[str, int, Any]:
    if isinstance(f, AttributeFeature):
        return f.name, _ATTRIBUTE, f
    if isinstance(f, ActivityFeature):
        types = tuple(dict.fromkeys(f.types))
        by_age = f.where is None and f.agg in ("count", "exists", "recency")
        step = _ActivityStep(f, types, f.window_us(), f.agg, float(f.half_life_days or 1), by_age)
        return f.name, _ACTIVITY, step
    if isinstance(f, BuiltinFeature):
        return f.name, _BUILTIN, f
    return f.name, _DERIVED, f


def _plan(spec: FeaturesSpec) -> _Plan:
    """The spec's plan, kept by identity (a fitted spec is not changed after it is loaded)."""
    found = _PLANS.get(id(spec))
    if found is not None and found.spec is spec:
        return found
    found = _Plan(
        spec=spec,
        derived=[(d.name, d.tree()) for d in spec.derived_order()],
        steps=[_step(f) for f in spec.definitions],
        names=[f.name for f in spec.definitions],
    )
    if len(_PLANS) >= 64:  # bundles come and go with hot swaps: never grow without bound
        _PLANS.clear()
    _PLANS[id(spec)] = found
    return found


def _by_age(a: _ActivityStep, ages: dict[str, list[int]]) -> float | None:
    """_activity of a count, exists or recency without `where`, from each type's ages sorted ascending.

    The events inside the window are a prefix of each sorted list: the count is where the window's end falls
    (bisect), and the newest event is each list's first. The same numbers as the loop over the events.
    """
    lists = [ages[t] for t in a.types if t in ages] if a.types else list(ages.values())
    window = a.window
    if a.agg == "recency":
        best = min((xs[0] for xs in lists), default=None)
        if best is None or (window is not None and best >= window):
            return None
        return float(best) / float(US_PER_DAY)
    count = sum(len(xs) for xs in lists) if window is None else sum(bisect_left(xs, window) for xs in lists)
    if a.agg == "exists":
        return 1.0 if count > 0 else 0.0
    return float(count)


def _activity(a: _ActivityStep, by_kind: dict[str, list[Event]]) -> float | None:
    f, types, window, agg = a.f, a.types, a.window, a.agg
    count = 0
    best: int | None = None
    total = 0  # whole units: the sum is the same in any order, so events are read grouped by type
    if types:
        events: Iterable[Event] = [e for t in types for e in by_kind.get(t, ())]
    else:
        events = [e for group in by_kind.values() for e in group]
    where = f.where
    for dt, _, value, props in events:
        if window is not None and dt >= window:
            continue
        if where is not None and not where.matches(_property_text(props.get(where.property))):
            continue
        if agg == "sum":
            if value is None:
                continue
            total += math.floor(value * float(VALUE_SCALE) + 0.5)
        elif agg == "decayed_sum":
            weight = math.pow(0.5, dt / float(US_PER_DAY) / a.half_life)
            total += math.floor(weight * float(DECAY_SCALE) + 0.5)
        count += 1
        best = dt if best is None or dt < best else best
    if agg == "count":
        return float(count)
    if agg == "exists":
        return 1.0 if count > 0 else 0.0
    if agg == "recency":
        return None if best is None else float(best) / float(US_PER_DAY)
    return float(total) / float(DECAY_SCALE if agg == "decayed_sum" else VALUE_SCALE)


def _naive(value: Any, field: str) -> datetime:
    """as_naive_utc, with the datetime an API request already holds taken without the general checks."""
    if type(value) is datetime:
        return value if value.tzinfo is None else value.astimezone(UTC).replace(tzinfo=None)
    return as_naive_utc(value, field=field)


def online_vector(
    spec: FeaturesSpec,
    lead: Mapping[str, Any],
    account: Mapping[str, Any] | None,
    activities: Sequence[Mapping[str, Any]],
    as_of: datetime,
) -> dict[str, Value]:
    """Every feature of one lead as of `as_of`, from its record, its account and its activities.

    `lead`/`account` use the canonical column names (`attributes` a dict or JSON text); each activity needs
    `occurred_at`, `activity_type` and optionally `value` and `properties` (a dict or JSON text). Activities
    after `as_of` are ignored.
    """
    plan = _plan(spec)
    now = as_naive_utc(as_of, field="as_of")
    by_kind: dict[str, list[Event]] = {}
    for i, a in enumerate(activities):
        occurred = a.get("occurred_at")
        if type(occurred) is not datetime or occurred.tzinfo is not None:  # the field's name only when needed
            occurred = _naive(occurred, f"activities[{i}].occurred_at")
        if occurred > now:
            continue
        value = a.get("value")
        kind = str(a.get("activity_type"))
        raw = a.get("properties")
        props = raw if type(raw) is dict else _properties(raw, i)  # a request's dict is read, never changed
        event = ((now - occurred) // _ONE_US, kind, None if value is None else float(value), props)
        found = by_kind.get(kind)
        if found is None:
            by_kind[kind] = [event]
        else:
            found.append(event)
    ages = {kind: sorted(e[0] for e in events) for kind, events in by_kind.items()}
    attrs = {"lead": _attributes(lead), "account": _attributes(account)}
    out: dict[str, Value] = {}
    numeric: dict[str, float | None] = {}
    for name, kind_of, f in plan.steps:
        if kind_of == _ACTIVITY:
            value_of: Value = _by_age(f, ages) if f.by_age else _activity(f, by_kind)
        elif kind_of == _ATTRIBUTE:
            value_of = _attribute(spec, f, lead, account, attrs)
        elif kind_of == _BUILTIN:
            created = lead.get("created_at")
            if created is None:
                value_of = None
            else:
                age = (now - _naive(created, "lead.created_at")) // _ONE_US
                value_of = float(age) / float(US_PER_DAY)
        else:
            continue
        out[name] = value_of
        if not isinstance(value_of, str):
            numeric[name] = value_of
    for name, tree in plan.derived:
        value_of = out[name] = expr.evaluate(tree, numeric)
        if not isinstance(value_of, str):
            numeric[name] = value_of
    return {name: out[name] for name in plan.names}
