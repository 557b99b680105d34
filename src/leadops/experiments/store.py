"""The experiment tables (migration 030): experiments, sticky assignments, readouts; the only code touching them.

Read functions for the dashboard and the closed-loop simulation:

- `list_experiments(warehouse)` -> every experiment the warehouse knows (declared or started by retraining)
- `get_experiment(warehouse, name)` -> one, or ExperimentNotFoundError
- `assignments(warehouse, name)` -> Arrow table lead_id, unit_id, bucket, arm, assigned_at, source, run_id,
  model_version, routing_policy (one row per lead, written once, never updated)
- `assignment_counts(warehouse, name)` -> {arm: units}
- `readouts(warehouse, name=None, latest=False)` -> readout dicts, newest first (the full readout JSON with
  its headline columns)

Writers: `register` / `sync` (experiments), `stop` (a hand stop, migration 031), `assign` (sticky: a lead's first arm
is kept for good), `save_readout`, `decide`; registering, editing and stopping are appended to `experiment_audit`
(`audit_entries`). Timestamps are naive UTC, as everywhere in the warehouse.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import numpy as np
import pyarrow as pa

from leadops.actor import default_actor
from leadops.experiments.assignment import arm_index, buckets
from leadops.experiments.errors import (
    AssignmentConflictError,
    ExperimentNotFoundError,
    ExperimentStoppedError,
    StopTimeError,
)
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
class StopInfo:
    """When an experiment stops taking units, who or what stopped it and why (readouts and --json say it)."""

    at: datetime
    by: str  # "hand" (`experiment stop`), "config" (leadops.yaml's stop:) or "retraining" (its template's days)
    reason: str
    actor: str | None

    def to_dict(self) -> dict[str, Any]:
        """Plain data for readouts and --json."""
        return {"at": self.at.isoformat(), "by": self.by, "reason": self.reason, "actor": self.actor}


@dataclass(frozen=True)
class ExperimentRecord:
    """One row of `experiments`: the spec in force (a hand stop applied to the declared one), where it came from,
    its hand stop and its decision if any."""

    name: str
    origin: str
    status: str
    spec: ExperimentSpec
    spec_hash: str
    created_at: datetime
    updated_at: datetime
    decided_at: datetime | None
    decision: str | None
    declared_stop: datetime | None = None
    stopped_at: datetime | None = None
    stop_reason: str | None = None
    stopped_by: str | None = None

    def stop_info(self) -> StopInfo | None:
        """The stop in force: the hand stop when it comes first, else the declared one (None while open-ended)."""
        if self.stopped_at is not None and (self.declared_stop is None or self.stopped_at <= self.declared_stop):
            return StopInfo(self.stopped_at, "hand", self.stop_reason or "no reason given", self.stopped_by)
        if self.declared_stop is None:
            return None
        if self.origin == "retraining":
            return StopInfo(self.declared_stop, "retraining", "the retraining policy's experiment.days ran out", None)
        return StopInfo(self.declared_stop, "config", "the stop: leadops.yaml declares", None)

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
            "stopped": None if (info := self.stop_info()) is None else info.to_dict(),
            "kpi": spec.primary_kpi.metric,
            "window_days": spec.primary_kpi.window_days,
            "decision": self.decision,
            "decided_at": self.decided_at.isoformat() if self.decided_at else None,
            "created_at": self.created_at.isoformat(),
        }


def spec_hash(spec: ExperimentSpec) -> str:
    """The spec's content hash (a change of arms or dates shows as a new hash)."""
    return content_hash(spec.model_dump(mode="json"))


_EXPERIMENT_COLUMNS = (
    "name, origin, status, spec, spec_hash, created_at, updated_at, decided_at, decision, stopped_at, stop_reason, "
    "stopped_by"
)


def _record(row: tuple[Any, ...]) -> ExperimentRecord:
    name, origin, status, spec, digest, created, updated, decided_at, decision, stopped_at, why, by = row
    declared = ExperimentSpec.model_validate(json.loads(spec) if isinstance(spec, str) else spec)
    in_force = declared
    if stopped_at is not None and (declared.stop is None or stopped_at < declared.stop):
        in_force = declared.model_copy(update={"stop": stopped_at})
    return ExperimentRecord(
        name=name,
        origin=origin,
        status=status,
        spec=in_force,
        spec_hash=digest,
        created_at=created,
        updated_at=updated,
        decided_at=decided_at,
        decision=decision,
        declared_stop=declared.stop,
        stopped_at=stopped_at,
        stop_reason=why,
        stopped_by=by,
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
        _audit(warehouse, spec.name, "edit", now=now, at=spec.stop, reason=f"spec {digest[:12]} from {origin}")
    else:
        described = {"name": spec.name, "origin": origin, "status": "active"} | _described(spec, body, digest)
        described |= {"created_at": now, "updated_at": now}
        warehouse.execute(
            f"INSERT INTO experiments ({', '.join(described)}) VALUES ({', '.join('?' for _ in described)})",
            list(described.values()),
        )
        _audit(warehouse, spec.name, "register", now=now, at=spec.stop, reason=f"spec {digest[:12]} from {origin}")
    return get_experiment(warehouse, spec.name)


AUDIT_COLUMNS = "seq, recorded_at, experiment, action, actor, effective_at, reason, detail"


def _audit(
    warehouse: Warehouse,
    name: str,
    action: str,
    *,
    now: datetime,
    at: datetime | None,
    reason: str | None,
    detail: Mapping[str, Any] | None = None,
) -> None:
    """Append one entry to `experiment_audit` (its seq taken in the same statement; never updated)."""
    from leadops.warehouse.dialect import render

    sql = render(
        f"INSERT INTO experiment_audit ({AUDIT_COLUMNS}) SELECT coalesce(max(seq), 0) + 1, CAST(? AS TIMESTAMP), "
        "CAST(? AS VARCHAR), CAST(? AS VARCHAR), CAST(? AS VARCHAR), CAST(? AS TIMESTAMP), CAST(? AS VARCHAR), "
        "CAST(? AS {json}) FROM experiment_audit",
        warehouse.dialect,
    )
    body = json.dumps(dict(detail or {}), sort_keys=True, default=str)
    warehouse.execute(sql, [now, name, action, default_actor(), at, reason, body])


def audit_entries(warehouse: Warehouse, name: str) -> list[dict[str, Any]]:
    """The experiment's audit log, oldest first: who registered, edited or stopped it, when and why."""
    names = [c.strip() for c in AUDIT_COLUMNS.split(",")]
    rows = warehouse.rows(f"SELECT {AUDIT_COLUMNS} FROM experiment_audit WHERE experiment = ? ORDER BY seq", [name])
    out = [dict(zip(names, row, strict=True)) for row in rows]
    for entry in out:
        if isinstance(entry["detail"], str):
            entry["detail"] = json.loads(entry["detail"])
    return out


def stop(
    warehouse: Warehouse,
    name: str,
    *,
    at: datetime | None = None,
    reason: str | None = None,
    now: datetime | None = None,
) -> tuple[ExperimentRecord, bool]:
    """Stop `name` by hand at `at` (default now): no new units from then on, audited. Returns the record and
    whether this call stopped it (False: the same hand stop was already recorded, so a retry changes nothing)."""
    now = now or utcnow()
    record = get_experiment(warehouse, name)
    when = at or now
    if record.decision is not None:
        raise ExperimentStoppedError(
            f"experiment {name!r} was decided ({record.decision}) at {record.decided_at}: it takes no units already",
            hint="a decided experiment cannot be stopped; `leadops experiment list` shows every phase",
        )
    if record.stopped_at is not None:
        if at is None or at == record.stopped_at:
            return record, False
        raise ExperimentStoppedError(
            f"experiment {name!r} was already stopped by hand at {record.stopped_at:%Y-%m-%d %H:%M:%S} by "
            f"{record.stopped_by} ({record.stop_reason}); --at {when:%Y-%m-%d %H:%M:%S} would move that stop",
            hint="a stop is final; run `leadops experiment stop` without --at to confirm the recorded one",
        )
    if when < record.spec.start:
        raise StopTimeError(
            f"experiment {name!r}: --at {when:%Y-%m-%d %H:%M:%S} is before its start "
            f"{record.spec.start:%Y-%m-%d %H:%M:%S}",
            hint="give a time from its start on, or leave --at out to stop it now",
        )
    if record.declared_stop is not None and record.declared_stop <= when:
        source = "the retraining policy" if record.origin == "retraining" else "its stop: in leadops.yaml"
        raise ExperimentStoppedError(
            f"experiment {name!r} is already stopped at {record.declared_stop:%Y-%m-%d %H:%M:%S} by {source}, "
            f"not later than --at {when:%Y-%m-%d %H:%M:%S}",
            hint="nothing to do: it takes no units since then; give an earlier --at to stop it sooner",
        )
    actor = default_actor()
    why = (reason or "").strip() or "no reason given"
    with warehouse.transaction():
        warehouse.execute(
            "UPDATE experiments SET status = 'stopped', stopped_at = ?, stop_reason = ?, stopped_by = ?, "
            "updated_at = ? WHERE name = ?",
            [when, why, actor, now, name],
        )
        later = units_assigned_from(warehouse, name, when)
        _audit(warehouse, name, "stop", now=now, at=when, reason=why, detail={"units_assigned_after": later})
    return get_experiment(warehouse, name), True


def units_assigned_from(warehouse: Warehouse, name: str, at: datetime | None, until: datetime | None = None) -> int:
    """Logged units assigned at or after `at` (and by `until`): those a stop given a past time leaves out."""
    if at is None:
        return 0
    where = " AND assigned_at <= ?" if until is not None else ""
    params: list[Any] = [name, at] + ([until] if until is not None else [])
    return int(
        warehouse.scalar(
            f"SELECT count(*) FROM experiment_assignments WHERE experiment = ? AND assigned_at >= ?{where}", params
        )
        or 0
    )


def hand_stops(warehouse: Warehouse) -> dict[str, datetime]:
    """Every hand stop (name -> time), decided experiments too: what the online workers' stops file holds."""
    rows = warehouse.rows("SELECT name, stopped_at FROM experiments WHERE stopped_at IS NOT NULL ORDER BY name")
    return {str(name): at for name, at in rows}


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
