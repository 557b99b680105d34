"""The set-based feature path: one SQL statement generated from the specs (one pass over activities).

Semantics shared with the single-lead path (leadops.features.online), which must agree to the last bit:
- an activity counts for a lead as of T when occurred_at <= T; its age is dt = T - occurred_at in whole
  microseconds, and a window of W days keeps 0 <= dt < W (so occurred_at > T - W);
- count / exists are exact integers; recency = min(dt) / 86_400_000_000 (days, missing when none);
- decayed_sum adds floor(0.5 ** (dt / 86_400_000_000 / half_life) * 1e9 + 0.5) as integers and divides by 1e9
  (fixed point, so the sum does not depend on the order the engine adds in); `sum` adds value in 1e-6 units;
- attributes are static; numeric ones DOUBLE (booleans 1/0), categorical ones text, then the unseen policy;
- days_since_created = (T - created_at) in microseconds / 86_400_000_000;
- derived features follow leadops.expr.
The SQL is written once; the engine's SqlDialect (leadops.warehouse.dialect, `warehouse.sql`) renders the few
phrases that differ, so DuckDB, PostgreSQL and Spark compute the same values bit for bit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from leadops import expr
from leadops.errors import FeatureError
from leadops.settings.features import (
    OTHER,
    ActivityFeature,
    AttributeFeature,
    BuiltinFeature,
    DerivedFeature,
    FeaturesSpec,
)
from leadops.warehouse.dialect import DUCKDB_SQL, NUMBER_PATTERN, SqlDialect

__all__ = ["DUCKDB", "NUMBER_PATTERN", "SqlDialect", "derived_layers", "feature_sql", "qi", "ql", "ts_literal"]

US_PER_DAY = 86_400_000_000
DECAY_SCALE = 1_000_000_000
VALUE_SCALE = 1_000_000


def qi(name: str) -> str:
    """Quote an identifier that specs.py already restricted to [a-z0-9_]."""
    return f'"{name}"'


def ql(text: str) -> str:
    """A SQL string literal."""
    return "'" + text.replace("'", "''") + "'"


def ts_literal(value: datetime) -> str:
    """A naive-UTC timestamp literal."""
    if value.tzinfo is not None:
        raise FeatureError(f"as-of time {value.isoformat()} must be naive UTC (the warehouse convention)")
    return f"TIMESTAMP '{value.isoformat(sep=' ', timespec='microseconds')}'"


DUCKDB = DUCKDB_SQL


def _type_filter(types: list[str], codes: dict[str, int], raw: bool = False) -> str:
    """Activity types compared as small integers (string compares per row and feature cost DuckDB ~2x), or, on an
    engine that reads the table's own columns, as the text itself."""
    if not types:
        return "TRUE"
    if raw:
        names = sorted(set(types))
        listed = ", ".join(ql(t) for t in names)
        return f"a.activity_type = {listed}" if len(names) == 1 else f"a.activity_type IN ({listed})"
    wanted = sorted({codes[t] for t in types})
    return f"k = {wanted[0]}" if len(wanted) == 1 else f"k IN ({', '.join(map(str, wanted))})"


def _type_codes(acts: list[ActivityFeature]) -> dict[str, int]:
    return {t: i for i, t in enumerate(sorted({t for f in acts for t in f.types}))}


@dataclass(frozen=True)
class _Rows:
    """How the aggregates read an activity row: per-row columns (k, v, pr, dt) computed once in a subquery, or
    (`raw`) the table's own columns, with windows as `occurred_at > T - W` (the same test as dt < W, exact in
    microseconds) and the age computed only inside the aggregates that need it (recency reads max(occurred_at))."""

    d: SqlDialect
    codes: dict[str, int]
    raw: bool
    now: str
    as_of: datetime | None

    @property
    def value(self) -> str:
        return "a.value" if self.raw else "v"

    @property
    def properties(self) -> str:
        return "a.properties" if self.raw else "pr"

    @property
    def age(self) -> str:
        """The activity's age T - occurred_at in whole microseconds."""
        if not self.raw:
            return "dt"
        return f"({self.d.epoch_us(self.now)} - {self.d.epoch_us('a.occurred_at')})"

    def types(self, types: list[str]) -> str:
        return _type_filter(types, self.codes, self.raw)

    def window(self, us: int) -> str:
        """0 <= age < us for an activity already known to have occurred by T."""
        if not self.raw:
            return f"dt < {us}"
        if self.as_of is None:
            return f"a.occurred_at > {self.d.add_us(self.now, -us)}"
        try:
            start = self.as_of - timedelta(microseconds=us)
        except OverflowError:  # a window reaching before year 1: compare the ages themselves
            return f"{self.age} < {us}"
        return f"a.occurred_at > {ts_literal(start)}"


def _property_test(f: ActivityFeature, d: SqlDialect, pr: str = "pr") -> str:
    """The feature's property filter over the activity's properties (`pr`), or TRUE."""
    rule = f.where
    if rule is None:
        return "TRUE"
    text = d.json_text(pr, rule.property)
    if rule.equals is not None:
        return f"coalesce({text} = {ql(rule.equals)}, FALSE)"
    if rule.in_ is not None:
        return f"coalesce({text} IN ({', '.join(ql(v) for v in rule.in_) or 'NULL'}), FALSE)"
    return f"coalesce({d.contains(text, ql(rule.contains or ''))}, FALSE)"


def _activity_filter(f: ActivityFeature, rows: _Rows) -> str:
    cond = rows.types(f.types)
    if f.where is not None:
        cond = f"{cond} AND {_property_test(f, rows.d, rows.properties)}"
    w = f.window_us()
    if w is not None:
        cond = f"{cond} AND {rows.window(w)}"
    if f.agg == "sum":
        cond += f" AND {rows.value} IS NOT NULL"
    return cond


def _activity_aggregate(f: ActivityFeature, rows: _Rows) -> str:
    """The conditional aggregate of one activity feature inside the single pass."""
    d = rows.d
    cond = _activity_filter(f, rows)
    if f.agg in ("count", "exists"):
        return f"count(*) FILTER (WHERE {cond})"
    if f.agg == "recency":
        return f"max(a.occurred_at) FILTER (WHERE {cond})" if rows.raw else f"min(dt) FILTER (WHERE {cond})"
    if f.agg == "decayed_sum":
        days = f"CAST({rows.age} AS {d.double}) / {float(US_PER_DAY)!r} / {float(f.half_life_days or 1)!r}"
        weight = f"pow(CAST(0.5 AS {d.double}), {days})"
        return f"sum(CAST(floor({weight} * {float(DECAY_SCALE)!r} + 0.5) AS BIGINT)) FILTER (WHERE {cond})"
    value = rows.value
    return f"sum(CAST(floor({value} * {float(VALUE_SCALE)!r} + 0.5) AS BIGINT)) FILTER (WHERE {cond})"


def _activity_final(f: ActivityFeature, col: str, rows: _Rows) -> str:
    """Turn the aggregate into the feature's DOUBLE value (zeros for leads with no activity)."""
    d = rows.d
    if f.agg == "count":
        return f"CAST(coalesce({col}, 0) AS {d.double})"
    if f.agg == "exists":
        return f"CAST((CASE WHEN coalesce({col}, 0) > 0 THEN 1.0 ELSE 0.0 END) AS {d.double})"
    if f.agg == "recency":
        age = f"({d.epoch_us(rows.now)} - {d.epoch_us(col)})" if rows.raw else col
        return f"(CAST({age} AS {d.double}) / {float(US_PER_DAY)!r})"
    scale = DECAY_SCALE if f.agg == "decayed_sum" else VALUE_SCALE
    return f"(CAST(coalesce({col}, 0) AS {d.double}) / {float(scale)!r})"


def _attribute(f: AttributeFeature, spec: FeaturesSpec, d: SqlDialect) -> str:
    table = "l" if f.source == "lead" else "c"
    if f.type in ("numeric", "boolean"):
        if f.column is not None and f.type == "boolean":
            return d.flag_number(f"{table}.{qi(f.column)}")
        if f.column is not None:
            return f"CAST({table}.{qi(f.column)} AS {d.double})"
        return d.json_number(f"{table}.attributes", f.key or "")
    text = d.type_word("text")
    raw = f"CAST({table}.{qi(f.column)} AS {text})" if f.column else d.json_text(f"{table}.attributes", f.key or "")
    if f.categories is None or spec.policy(f) != "other":
        return raw
    if not f.categories:
        return f"(CASE WHEN {raw} IS NULL THEN NULL ELSE {ql(OTHER)} END)"
    known = ", ".join(ql(c) for c in f.categories)
    return f"(CASE WHEN {raw} IS NULL THEN NULL WHEN {raw} IN ({known}) THEN {raw} ELSE {ql(OTHER)} END)"


def feature_sql(
    spec: FeaturesSpec,
    *,
    population: str,
    as_of: datetime | None,
    per_lead: bool,
    restrict_activities: bool = True,
    dialect: SqlDialect = DUCKDB,
    ordered: bool = True,
    raw_columns: bool | None = None,
) -> str:
    """The SELECT computing every feature of every lead in `population` (a table/view with lead_id[, as_of]).

    `per_lead`: the population carries its own as_of column (training snapshots); otherwise `as_of` is the one
    time for everyone and activities are aggregated straight off the table, without a join.
    `restrict_activities=False` skips the semi-join of activities to the population (when it is every lead,
    aggregating the rest costs less than the join; the final LEFT JOIN drops them).
    `ordered=False` leaves out the final ORDER BY (on Spark a global sort is a shuffle nobody needs when the
    rows are scored and written partition by partition).
    `raw_columns` overrides the dialect's `reads_raw_columns` (how the aggregates read an activity row, _Rows).
    """
    d = dialect
    raw = d.reads_raw_columns if raw_columns is None else raw_columns
    acts = spec.of_kind(ActivityFeature)
    if not per_lead and as_of is None:
        raise FeatureError("feature_sql needs an as_of time or a population with its own as_of column")
    now = "p.as_of" if per_lead else ts_literal(as_of)  # type: ignore[arg-type]
    codes = _type_codes(acts)
    rows = _Rows(d, codes, raw, now, None if per_lead else as_of)
    ctes = [f"pop AS (SELECT lead_id{', as_of' if per_lead else ''} FROM {population} src)"]
    if acts:
        all_types = sorted({t for f in acts for t in f.types}) if all(f.types for f in acts) else []
        windows = [f.window_us() for f in acts]
        max_window = None if any(w is None for w in windows) else max(w for w in windows if w is not None)
        type_clause = f" AND a.activity_type IN ({', '.join(ql(t) for t in all_types)})" if all_types else ""
        aggs = ",\n    ".join(f"{_activity_aggregate(f, rows)} AS {qi('a_' + f.name)}" for f in acts)
        if per_lead:
            source = "FROM pop p JOIN activities a ON a.lead_id = p.lead_id WHERE a.occurred_at <= p.as_of"
            keys = "lead_id, as_of"
        else:
            source = f"FROM activities a WHERE a.occurred_at <= {now}"
            if restrict_activities:
                type_clause += " AND a.lead_id IN (SELECT lead_id FROM pop)"
            keys = "lead_id"
        if raw:  # one aggregate straight over the table (or the join): nothing for the planner to inline
            if max_window is not None:
                type_clause += f" AND {rows.window(max_window)}"
            group = ", ".join(f"{'p' if per_lead else 'a'}.{k}" for k in keys.split(", "))
            ctes.append(f"agg AS (SELECT {group},\n    {aggs}\n  {source}{type_clause} GROUP BY {group})")
        else:
            kind = "CASE a.activity_type " + " ".join(f"WHEN {ql(t)} THEN {i}" for t, i in codes.items()) + " END"
            if not codes:
                kind = "0"
            props = ", a.properties AS pr" if any(f.where is not None for f in acts) else ""
            lead = "p.lead_id, p.as_of" if per_lead else "a.lead_id"
            dt = f"{d.epoch_us(now)} - {d.epoch_us('a.occurred_at')} AS dt"
            src = f"SELECT {lead}, {kind} AS k, a.value AS v{props}, {dt} {source}{type_clause}"
            if max_window is not None:
                src = f"SELECT * FROM ({src}) s WHERE dt < {max_window}"
            ctes.append(f"act AS ({src}{d.fence})")
            ctes.append(f"agg AS (SELECT {keys},\n    {aggs}\n  FROM act GROUP BY {keys})")
    cols: list[str] = ["p.lead_id AS lead_id"] + (["p.as_of AS as_of"] if per_lead else [])
    for f in spec.definitions:
        if isinstance(f, AttributeFeature):
            cols.append(f"{_attribute(f, spec, d)} AS {qi(f.name)}")
        elif isinstance(f, ActivityFeature):
            cols.append(f"{_activity_final(f, 'g.' + qi('a_' + f.name), rows)} AS {qi(f.name)}")
        elif isinstance(f, BuiltinFeature):
            age = f"({d.epoch_us(now)} - {d.epoch_us('l.created_at')})"
            cols.append(f"(CAST({age} AS {d.double}) / {float(US_PER_DAY)!r}) AS {qi(f.name)}")
    joins = "FROM pop p JOIN leads l ON l.lead_id = p.lead_id LEFT JOIN accounts c ON c.account_id = l.account_id"
    if acts:
        joins += " LEFT JOIN agg g ON g.lead_id = p.lead_id" + (" AND g.as_of = p.as_of" if per_lead else "")
    ctes.append("base AS (SELECT " + ",\n    ".join(cols) + f"\n  {joins})")
    layers = derived_layers(spec, d)
    for i, layer in enumerate(layers, start=1):
        items = ",\n    ".join(f"{text} AS {qi(name)}" for name, text in layer)
        ctes.append(f"d{i} AS (SELECT *,\n    {items}\n  FROM {'base' if i == 1 else f'd{i - 1}'})")
    final = ["lead_id"] + (["as_of"] if per_lead else []) + [qi(f.name) for f in spec.definitions]
    order = d.text_order("lead_id") + (", as_of" if per_lead else "")
    last = f"d{len(layers)}" if layers else "base"
    tail = f" ORDER BY {order}" if ordered else ""
    return "WITH " + ",\n".join(ctes) + "\nSELECT " + ",\n  ".join(final) + f"\nFROM {last}{tail}"


def derived_layers(spec: FeaturesSpec, d: SqlDialect = DUCKDB) -> list[list[tuple[str, str]]]:
    """The derived features as query layers: (column, SQL) pairs whose SQL reads only columns of earlier layers.

    Each derived feature is compiled once and referenced by name, never inlined into the features built on it
    (inlining a chain of 20 features that each use the previous twice makes SQL of 2^20 copies), and the
    arguments SQL would repeat (min, max, log1p) are hoisted into a column of their own for the same reason.
    The SQL text therefore grows linearly with the config, whatever the nesting.
    """
    depth: dict[str, int] = {f.name: 0 for f in spec.definitions if not isinstance(f, DerivedFeature)}
    layers: list[list[tuple[str, str]]] = []
    taken = set(spec.names())
    hoisted = 0

    def place(name: str, text: str, level: int) -> None:
        while len(layers) < level:
            layers.append([])
        layers[level - 1].append((name, text))
        depth[name] = level

    def compile_node(node: expr.Node) -> tuple[str, int]:
        """SQL of node over columns, and the deepest layer it reads."""
        deepest = 0

        def column(name: str) -> str:
            nonlocal deepest
            deepest = max(deepest, depth[name])
            return qi(name)

        def hoist(sub: expr.Node) -> str:
            nonlocal deepest, hoisted
            text, level = compile_node(sub)
            name = f"__expr_{hoisted}"
            while name in taken:
                hoisted += 1
                name = f"__expr_{hoisted}"
            hoisted += 1
            place(name, text, level + 1)
            deepest = max(deepest, level + 1)
            return qi(name)

        return expr.to_sql(node, column, d.double, hoist, d.ln), deepest

    for f in spec.derived_order():
        text, level = compile_node(f.tree())
        place(f.name, text, level + 1)
    return layers
