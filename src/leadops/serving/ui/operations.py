"""What the Operations page reads: nightly runs, ingest runs and quarantine, drift over time, cohorts, alerts, and
the service's own request latency and error rates (from its Prometheus metrics, summed over every worker)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from leadops.warehouse import Warehouse

RUNS = 30
SAMPLES_PER_REASON = 2
TOP_DRIFT = 12


@dataclass
class Drift:
    """PSI per feature per monitored run (oldest first) and which cells were flagged drifted."""

    runs: list[str] = field(default_factory=list)
    as_of: list[Any] = field(default_factory=list)
    features: list[str] = field(default_factory=list)
    psi: list[list[float | None]] = field(default_factory=list)
    drifted_now: list[dict[str, Any]] = field(default_factory=list)


def _dicts(warehouse: Warehouse, sql: str, params: list[Any], names: tuple[str, ...]) -> list[dict[str, Any]]:
    return [dict(zip(names, row, strict=True)) for row in warehouse.rows(sql, params)]


def nightly_runs(warehouse: Warehouse, limit: int = RUNS) -> list[dict[str, Any]]:
    """The run ledger, newest first: status, counts, duration, errors and warnings."""
    names = (
        "run_id",
        "as_of",
        "status",
        "model_version",
        "engine",
        "leads_scored",
        "routed_sales",
        "routed_nurture",
        "suppressed",
        "started_at",
        "finished_at",
        "error",
    )
    warn = ", warnings" if _has_column(warehouse, "score_runs", "warnings") else ", NULL"
    rows = _dicts(
        warehouse,
        f"SELECT {', '.join(names)}{warn} FROM score_runs ORDER BY started_at DESC LIMIT ?",
        [limit],
        (*names, "warnings"),
    )
    for row in rows:
        start, end = row["started_at"], row["finished_at"]
        row["seconds"] = (end - start).total_seconds() if start is not None and end is not None else None
    return rows


def _has_column(warehouse: Warehouse, table: str, column: str) -> bool:
    found = warehouse.scalar(
        "SELECT count(*) FROM information_schema.columns WHERE table_name = ? AND column_name = ?", [table, column]
    )
    return bool(found)


def ingest_runs(warehouse: Warehouse, limit: int = 20) -> list[dict[str, Any]]:
    """Ingest runs, newest first, with what each read, loaded and quarantined."""
    names = ("run_id", "started_at", "finished_at", "status", "rows_read", "rows_loaded", "rows_quarantined")
    return _dicts(
        warehouse, f"SELECT {', '.join(names)} FROM ingest_runs ORDER BY started_at DESC LIMIT ?", [limit], names
    )


def quarantine(warehouse: Warehouse) -> tuple[list[dict[str, Any]], dict[str, list[dict[str, Any]]]]:
    """Quarantined rows by reason (counts per reason and table) and a few sample rows of each (personal data masked
    at ingest: `raw` is stored masked)."""
    counts = _dicts(
        warehouse,
        "SELECT reason, string_agg(DISTINCT target_table, ', ') AS tables, count(*) AS n, "
        "max(quarantined_at) AS latest FROM quarantine GROUP BY 1 ORDER BY 3 DESC, 1",
        [],
        ("reason", "table", "rows", "latest"),
    )
    names = ("reason", "source", "row_number", "field", "detail", "raw")
    samples: dict[str, list[dict[str, Any]]] = {}
    rows = warehouse.rows(
        f"SELECT {', '.join(names)} FROM (SELECT *, row_number() OVER (PARTITION BY reason "
        "ORDER BY quarantined_at DESC, row_number) AS k FROM quarantine) q WHERE k <= ? ORDER BY reason, k",
        [SAMPLES_PER_REASON],
    )
    for row in rows:
        item = dict(zip(names, row, strict=True))
        raw = item["raw"]
        if raw is not None and not isinstance(raw, str):
            raw = json.dumps(raw, default=str)
        item["raw"] = None if raw is None else (str(raw) if len(str(raw)) <= 240 else str(raw)[:237] + "…")
        samples.setdefault(str(item["reason"]), []).append(item)
    return counts, samples


def drift(warehouse: Warehouse, runs: int = RUNS) -> Drift:
    """PSI of every feature on the last `runs` monitored runs, and the features drifted on the latest one."""
    monitored = warehouse.rows(
        "SELECT run_id, as_of FROM monitor_runs ORDER BY as_of DESC, monitored_at DESC LIMIT ?", [runs]
    )[::-1]
    if not monitored:
        return Drift()
    ids = [str(r[0]) for r in monitored]
    marks = ", ".join("?" for _ in ids)
    cells: dict[str, dict[str, float | None]] = {}
    for run_id, feature, value in warehouse.rows(
        f"SELECT run_id, feature, value FROM drift_results WHERE stat = 'psi' AND run_id IN ({marks})", ids
    ):
        cells.setdefault(str(feature), {})[str(run_id)] = None if value is None else float(value)
    worst = sorted(cells, key=lambda f: (f != "score", -max((v or 0.0) for v in cells[f].values()), f))[:TOP_DRIFT]
    drifted = _dicts(
        warehouse,
        "SELECT feature, stat, value, p_value, threshold FROM drift_results WHERE run_id = ? AND drifted "
        "ORDER BY feature, stat",
        [ids[-1]],
        ("feature", "stat", "value", "p_value", "threshold"),
    )
    return Drift(ids, [r[1] for r in monitored], worst, [[cells[f].get(i) for i in ids] for f in worst], drifted)


def cohorts(warehouse: Warehouse) -> list[dict[str, Any]]:
    """Performance by weekly cohort as the latest monitoring run saw it (estimates until labels mature)."""
    names = (
        "cohort_week",
        "model_version",
        "leads",
        "mature",
        "expected_conversion_rate",
        "conversion_rate",
        "expected_auc",
        "auc",
        "auc_low",
        "auc_high",
        "ece",
        "captured_at_capacity",
    )
    latest = warehouse.scalar(
        "SELECT c.run_id FROM cohort_performance c JOIN monitor_runs m ON m.run_id = c.run_id "
        "ORDER BY m.as_of DESC, m.monitored_at DESC LIMIT 1"
    )
    if latest is None:
        return []
    return _dicts(
        warehouse,
        f"SELECT {', '.join(names)} FROM cohort_performance WHERE run_id = ? ORDER BY cohort_week",
        [latest],
        names,
    )


def alerts(warehouse: Warehouse, limit: int = 50) -> list[dict[str, Any]]:
    """The latest alerts, newest first."""
    names = ("as_of", "kind", "severity", "feature", "stat", "value", "threshold", "message")
    return _dicts(
        warehouse, f"SELECT {', '.join(names)} FROM alerts ORDER BY created_at DESC, as_of DESC LIMIT ?", [limit], names
    )


def _quantile(buckets: list[tuple[float, float]], q: float) -> float | None:
    """The q-quantile of a cumulative histogram (upper bound, count), interpolated inside its bucket."""
    total = buckets[-1][1] if buckets else 0.0
    if total <= 0:
        return None
    target = q * total
    low_bound, low_count = 0.0, 0.0
    for bound, count in buckets:
        if count >= target:
            if bound == float("inf"):
                return low_bound
            inside = count - low_count
            share = 0.0 if inside <= 0 else (target - low_count) / inside
            return low_bound + share * (bound - low_bound)
        low_bound, low_count = bound, count
    return low_bound


def service_rates(text: str) -> list[dict[str, Any]]:
    """Per route: requests, the share answered with an error (4xx, 5xx), and p50 / p95 latency in ms."""
    from prometheus_client.parser import text_string_to_metric_families

    buckets: dict[str, dict[float, float]] = {}
    statuses: dict[str, dict[str, float]] = {}
    for family in text_string_to_metric_families(text):
        if family.name == "leadops_http_request_duration_seconds":
            for sample in family.samples:
                if sample.name.endswith("_bucket"):
                    route = sample.labels.get("route", "?")
                    bound = float(sample.labels["le"])
                    per = buckets.setdefault(route, {})
                    per[bound] = per.get(bound, 0.0) + float(sample.value)
        elif family.name == "leadops_http_requests":
            for sample in family.samples:
                if sample.name.endswith("_total"):
                    per_status = statuses.setdefault(sample.labels.get("route", "?"), {})
                    code = sample.labels.get("status", "?")
                    per_status[code] = per_status.get(code, 0.0) + float(sample.value)
    out = []
    for route in sorted(set(buckets) | set(statuses)):
        cumulative = sorted(buckets.get(route, {}).items())
        codes = statuses.get(route, {})
        total = sum(codes.values())
        client = sum(v for k, v in codes.items() if k.startswith("4"))
        server = sum(v for k, v in codes.items() if k.startswith("5"))
        p50, p95 = _quantile(cumulative, 0.5), _quantile(cumulative, 0.95)
        out.append(
            {
                "route": route,
                "requests": int(total),
                "client_errors": client / total if total else None,
                "server_errors": server / total if total else None,
                "p50_ms": None if p50 is None else 1000 * p50,
                "p95_ms": None if p95 is None else 1000 * p95,
            }
        )
    return sorted(out, key=lambda r: -int(r["requests"]))
