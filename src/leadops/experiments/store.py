"""The experiment tables (migration 030): experiments, sticky assignments, readouts; the only code touching them.

Read functions for the dashboard and the closed-loop simulation:

- `list_experiments(warehouse)` -> every experiment the warehouse knows (declared or started by retraining)
- `get_experiment(warehouse, name)` -> one, or ExperimentNotFoundError
- `assignments(warehouse, name)` -> Arrow table lead_id, unit_id, bucket, arm, assigned_at, source, run_id,
  model_version, routing_policy (one row per lead, written once, never updated)
- `assignment_counts(warehouse, name)` -> {arm: units}
- `readouts(warehouse, name=None, latest=False)` -> readout dicts, newest first (the full readout JSON with
  its headline columns)

Writers: `register` / `sync` (experiments), `assign` (sticky: a lead's first arm is kept for good), `save_readout`,
`decide`. Timestamps are naive UTC, as everywhere in the warehouse.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import numpy as np
import pyarrow as pa

from leadops.experiments.assignment import arm_index, buckets
from leadops.experiments.errors import AssignmentConflictError, ExperimentNotFoundError
from leadops.hashing import content_hash
from leadops.settings.experiments import ExperimentSpec
from leadops.warehouse import Warehouse
from leadops.warehouse.connection import utcnow

Origin = Literal["config", "retraining"]
Decision = Literal["ship", "keep", "abandon"]
Phase = Literal["scheduled", "running", "stopped", "decided"]

ASSIGNMENT_SCHEMA = pa.schema(
    [
        ("experiment", pa.string()),
        ("lead_id", pa.string()),
        ("unit_id", pa.string()),
        ("bucket", pa.int32()),
        ("arm", pa.string()),
        ("assigned_at", pa.timestamp("us")),
        ("source", pa.string()),
        ("run_id", pa.string()),
        ("model_version", pa.int32()),
        ("routing_policy", pa.string()),
    ]
)


@dataclass(frozen=True)
class ExperimentRecord:
    """One row of `experiments`: the spec as last registered, where it came from, and its decision if any."""

    name: str
    origin: str
    status: str
    spec: ExperimentSpec
    spec_hash: str
    created_at: datetime
    updated_at: datetime
    decided_at: datetime | None
    decision: str | None

    def phase(self, at: datetime) -> Phase:
        """scheduled (before start), running (takes new units), stopped (past stop, undecided) or decided."""
        if self.decision is not None:
            return "decided"
        if at < self.spec.start:
            return "scheduled"
        return "running" if self.spec.running(at) else "stopped"

    def to_dict(self, at: datetime | None = None) -> dict[str, Any]:
        """Plain data for --json and the dashboard."""
        spec = self.spec
        return {
            "name": self.name,
            "origin": self.origin,
            "status": self.status,
            "phase": self.phase(at or utcnow()),
            "unit": spec.unit,
            "population": spec.population,
            "control": spec.control_arm(),
            "arms": [arm.model_dump(mode="json") for arm in spec.arms],
            "start": spec.start.isoformat(),
            "stop": spec.stop.isoformat() if spec.stop else None,
            "kpi": spec.primary_kpi.metric,
            "window_days": spec.primary_kpi.window_days,
            "decision": self.decision,
            "decided_at": self.decided_at.isoformat() if self.decided_at else None,
            "created_at": self.created_at.isoformat(),
        }


def spec_hash(spec: ExperimentSpec) -> str:
    """The spec's content hash (a change of arms or dates shows as a new hash)."""
    return content_hash(spec.model_dump(mode="json"))


_EXPERIMENT_COLUMNS = "name, origin, status, spec, spec_hash, created_at, updated_at, decided_at, decision"


def _record(row: tuple[Any, ...]) -> ExperimentRecord:
    name, origin, status, spec, digest, created, updated, decided_at, decision = row
    body = json.loads(spec) if isinstance(spec, str) else spec
    return ExperimentRecord(
        name=name,
        origin=origin,
        status=status,
        spec=ExperimentSpec.model_validate(body),
        spec_hash=digest,
        created_at=created,
        updated_at=updated,
        decided_at=decided_at,
        decision=decision,
    )


def list_experiments(warehouse: Warehouse) -> list[ExperimentRecord]:
    """Every experiment the warehouse knows, newest start first."""
    rows = warehouse.rows(f"SELECT {_EXPERIMENT_COLUMNS} FROM experiments ORDER BY start_at DESC, name")
    return [_record(r) for r in rows]


def get_experiment(warehouse: Warehouse, name: str) -> ExperimentRecord:
    """The experiment called `name`, or ExperimentNotFoundError naming the ones there are."""
    rows = warehouse.rows(f"SELECT {_EXPERIMENT_COLUMNS} FROM experiments WHERE name = ?", [name])
    if not rows:
        known = [r[0] for r in warehouse.rows("SELECT name FROM experiments ORDER BY name")]
        raise ExperimentNotFoundError(
            f"no experiment named {name!r} (known: {', '.join(known) or 'none'})",
            hint="declare it under `experiments:` in leadops.yaml; `leadops experiment list` shows them",
        )
    return _record(rows[0])


def _assigned_arms(warehouse: Warehouse, name: str) -> dict[str, int]:
    rows = warehouse.rows(
        "SELECT arm, COUNT(*) FROM experiment_assignments WHERE experiment = ? GROUP BY arm ORDER BY arm", [name]
    )
    return {str(arm): int(n) for arm, n in rows}


def register(
    warehouse: Warehouse, spec: ExperimentSpec, *, origin: Origin = "config", now: datetime | None = None
) -> ExperimentRecord:
    """Record an experiment (or its edited spec); an edit may reweigh arms but not drop an arm units already have."""
    now = now or utcnow()
    digest = spec_hash(spec)
    rows = warehouse.rows("SELECT spec_hash, origin FROM experiments WHERE name = ?", [spec.name])
    body = json.dumps(spec.model_dump(mode="json"), sort_keys=True)
    if rows and rows[0][0] == digest:
        return get_experiment(warehouse, spec.name)
    if rows:
        given = _assigned_arms(warehouse, spec.name)
        if given:
            _check_split_unchanged(warehouse, spec, given)
        described = _described(spec, body, digest) | {"updated_at": now}
        sets = ", ".join(f"{column} = ?" for column in described)
        warehouse.execute(f"UPDATE experiments SET {sets} WHERE name = ?", [*described.values(), spec.name])
    else:
        described = {"name": spec.name, "origin": origin, "status": "active"} | _described(spec, body, digest)
        described |= {"created_at": now, "updated_at": now}
        warehouse.execute(
            f"INSERT INTO experiments ({', '.join(described)}) VALUES ({', '.join('?' for _ in described)})",
            list(described.values()),
        )
    return get_experiment(warehouse, spec.name)


def _described(spec: ExperimentSpec, body: str, digest: str) -> dict[str, Any]:
    """The experiments row's columns that come from the spec (one list for the insert and the edit)."""
    return {
        "spec": body,
        "spec_hash": digest,
        "start_at": spec.start,
        "stop_at": spec.stop,
        "unit": spec.unit,
        "control_arm": spec.control_arm(),
        "kpi": spec.primary_kpi.metric,
        "window_days": spec.primary_kpi.window_days,
    }


def _split(spec: ExperimentSpec) -> dict[str, Any]:
    """What decides a unit's arm: the arms and weights, the salt, the unit and the population."""
    return {
        "arms": [(a.name, a.weight) for a in spec.arms],
        "salt": spec.hash_salt(),
        "unit": spec.unit,
        "population": spec.population,
    }


def _check_split_unchanged(warehouse: Warehouse, spec: ExperimentSpec, given: dict[str, int]) -> None:
    """Once units are assigned, the split may not change: a unit's arm never changes, and the hash (which the
    online service uses) must keep agreeing with the log; the sample-ratio check tests one allocation."""
    names = {arm.name for arm in spec.arms}
    lost = sorted(set(given) - names)
    if lost:
        raise AssignmentConflictError(
            f"experiment {spec.name!r}: arms {lost} were given to {sum(given[a] for a in lost)} units and are no "
            f"longer in its settings (arms now: {sorted(names)})",
            hint="keep every arm that has units, or start a new experiment under a new name and salt",
        )
    before = _split(get_experiment(warehouse, spec.name).spec)
    after = _split(spec)
    changed = sorted(k for k in after if after[k] != before[k])
    if changed:
        raise AssignmentConflictError(
            f"experiment {spec.name!r}: {', '.join(changed)} changed after {sum(given.values())} units were assigned "
            f"(was {', '.join(f'{k}={before[k]}' for k in changed)})",
            hint="dates, KPI and guardrails may change; for a new split start a new experiment with a new name",
        )


def sync(warehouse: Warehouse, specs: Iterable[ExperimentSpec], now: datetime | None = None) -> list[ExperimentRecord]:
    """Register every experiment declared in leadops.yaml (the nightly job and the CLI call this first)."""
    return [register(warehouse, spec, origin="config", now=now) for spec in specs]


def active(warehouse: Warehouse, at: datetime) -> list[ExperimentRecord]:
    """Undecided experiments started by `at`: their logged arms are honoured (new units only while running)."""
    return [r for r in list_experiments(warehouse) if r.decision is None and r.spec.start <= at]


def decide(warehouse: Warehouse, name: str, decision: Decision, now: datetime | None = None) -> None:
    """Close an experiment with its decision: from now on no arm of it is applied."""
    warehouse.execute(
        "UPDATE experiments SET status = 'decided', decision = ?, decided_at = ?, updated_at = ? WHERE name = ?",
        [decision, now or utcnow(), now or utcnow(), name],
    )


def assignments(warehouse: Warehouse, name: str, as_of: datetime | None = None) -> pa.Table:
    """Every lead's logged arm in one experiment (assigned before `as_of` when given), oldest first."""
    where = "experiment = ?" + (" AND assigned_at <= ?" if as_of is not None else "")
    params: list[Any] = [name] + ([as_of] if as_of is not None else [])
    return warehouse.arrow(
        "SELECT lead_id, unit_id, bucket, arm, assigned_at, source, run_id, model_version, routing_policy "
        f"FROM experiment_assignments WHERE {where} ORDER BY assigned_at, lead_id",
        params,
    )


def assignment_counts(warehouse: Warehouse, name: str) -> dict[str, int]:
    """Units per arm so far (the sample-ratio check's observed counts)."""
    return _assigned_arms(warehouse, name)


def logged_arms(warehouse: Warehouse, name: str, lead_ids: Iterable[str]) -> dict[str, str]:
    """The logged arm of each of these leads that has one (lead_id -> arm)."""
    ids = [str(i) for i in lead_ids]
    if not ids:
        return {}
    table = pa.table({"lead_id": pa.array(ids, pa.string())})
    with warehouse.staged(table) as rel:
        rows = warehouse.rows(
            f"SELECT a.lead_id, a.arm FROM experiment_assignments a JOIN {rel} r ON a.lead_id = r.lead_id "
            "WHERE a.experiment = ?",
            [name],
        )
    return {str(lead): str(arm) for lead, arm in rows}


def eligible(spec: ExperimentSpec, created_at: Any) -> np.ndarray:
    """Which leads may join: all (population open) or those created from `start` on (population new)."""
    values = np.asarray(created_at, dtype="datetime64[us]")
    if spec.population == "open":
        return np.ones(len(values), dtype=bool)
    return values >= np.datetime64(spec.start, "us")


def new_assignments(
    spec: ExperimentSpec,
    lead_ids: list[str],
    unit_ids: list[str],
    *,
    at: datetime,
    source: str,
    run_id: str | None = None,
    arm_versions: Mapping[str, int | None] | None = None,
) -> pa.Table:
    """Assignment rows for leads not yet logged: the hash's arm, with the version and policy the arm resolves to."""
    bucket_values = buckets(spec.hash_salt(), unit_ids)
    index = arm_index(spec, bucket_values)
    arms = [spec.arms[i] for i in index]
    versions = arm_versions or {}
    n = len(lead_ids)
    return pa.table(
        {
            "experiment": pa.array([spec.name] * n, pa.string()),
            "lead_id": pa.array(lead_ids, pa.string()),
            "unit_id": pa.array(unit_ids, pa.string()),
            "bucket": pa.array(bucket_values.astype(np.int32), pa.int32()),
            "arm": pa.array([a.name for a in arms], pa.string()),
            "assigned_at": pa.array([at] * n, pa.timestamp("us")),
            "source": pa.array([source] * n, pa.string()),
            "run_id": pa.array([run_id] * n, pa.string()),
            "model_version": pa.array([versions.get(a.name) for a in arms], pa.int32()),
            "routing_policy": pa.array([a.routing for a in arms], pa.string()),
        },
        schema=ASSIGNMENT_SCHEMA,
    )


def assign(
    warehouse: Warehouse,
    spec: ExperimentSpec,
    leads: pa.Table,
    *,
    at: datetime,
    source: str = "nightly",
    run_id: str | None = None,
    arm_versions: Mapping[str, int | None] | None = None,
) -> dict[str, str]:
    """Each lead's arm (lead_id -> arm) for leads in the experiment: logged arms kept, new eligible leads logged now.

    `leads` holds lead_id, and account_id (unit account) and created_at (population new) when the spec needs them.
    A lead without an account is its own unit. New units join only while the experiment runs.
    """
    ids = [str(v) for v in leads.column("lead_id").to_pylist()]
    known = logged_arms(warehouse, spec.name, ids)
    if not spec.running(at):
        return known
    keep = np.array([i not in known for i in ids], dtype=bool)
    if spec.population == "new":
        if "created_at" not in leads.column_names:
            raise AssignmentConflictError(
                f"experiment {spec.name!r}: population 'new' needs the leads' created_at, the caller gave none"
            )
        keep &= eligible(spec, leads.column("created_at").to_numpy(zero_copy_only=False))
    fresh = [i for i, k in zip(ids, keep, strict=True) if k]
    if not fresh:
        return known
    units = fresh
    if spec.unit == "account":
        accounts = leads.column("account_id").to_pylist() if "account_id" in leads.column_names else [None] * len(ids)
        by_lead = dict(zip(ids, accounts, strict=True))
        units = [str(by_lead[i]) if by_lead[i] not in (None, "") else i for i in fresh]
    rows = new_assignments(spec, fresh, units, at=at, source=source, run_id=run_id, arm_versions=arm_versions)
    cols = ", ".join(ASSIGNMENT_SCHEMA.names)
    with warehouse.staged(rows) as rel:
        warehouse.execute(
            f"INSERT INTO experiment_assignments ({cols}) SELECT {cols} FROM {rel} "
            "ON CONFLICT (experiment, lead_id) DO NOTHING"
        )
    return known | logged_arms(warehouse, spec.name, fresh)


_READOUT_COLUMNS = (
    "readout_id, experiment, as_of, created_at, kpi, window_days, control_arm, treatment_arm, units, mature_units, "
    "mature, control_kpi, treatment_kpi, diff, diff_low, diff_high, lift, lift_low, lift_high, p_value, "
    "sequential_p, srm_p, recommendation, reason, incremental_revenue, roi, html_path, readout"
)


def save_readout(warehouse: Warehouse, row: Mapping[str, Any]) -> None:
    """Store one readout (its headline columns and `readout`, the full dict); the same readout_id replaces it."""
    names = [c.strip() for c in _READOUT_COLUMNS.split(",")]
    missing = [c for c in names if c not in row]
    if missing:
        raise ValueError(f"readout row lacks {missing}")
    values = [json.dumps(row[c], sort_keys=True, default=str) if c == "readout" else row[c] for c in names]
    with warehouse.transaction():
        warehouse.execute("DELETE FROM experiment_readouts WHERE readout_id = ?", [row["readout_id"]])
        warehouse.execute(
            f"INSERT INTO experiment_readouts ({_READOUT_COLUMNS}) VALUES ({', '.join('?' for _ in names)})", values
        )


def readouts(warehouse: Warehouse, name: str | None = None, *, latest: bool = False) -> list[dict[str, Any]]:
    """Stored readouts (of one experiment when named), newest first; latest=True keeps the newest per experiment
    and treatment arm. Each is its headline columns plus `readout`, the full readout as `experiment report`
    printed it."""
    where = "WHERE experiment = ?" if name is not None else ""
    rows = warehouse.rows(
        f"SELECT {_READOUT_COLUMNS} FROM experiment_readouts {where} ORDER BY created_at DESC, readout_id DESC",
        [name] if name is not None else [],
    )
    names = [c.strip() for c in _READOUT_COLUMNS.split(",")]
    out: list[dict[str, Any]] = []
    seen: set[tuple[str, str]] = set()
    for values in rows:
        item = dict(zip(names, values, strict=True))
        if isinstance(item["readout"], str):
            item["readout"] = json.loads(item["readout"])
        key = (item["experiment"], item["treatment_arm"])
        if latest and key in seen:
            continue
        seen.add(key)
        out.append(item)
    return out
