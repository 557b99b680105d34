"""The append-only audit log in the warehouse: this module only INSERTs and SELECTs, never changes a row."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from leadops.errors import WarehouseError
from leadops.registry.errors import RegistryError
from leadops.registry.records import ACTIONS, CHAMPION, AuditEntry

if TYPE_CHECKING:
    from leadops.warehouse.connection import Warehouse

TABLE = "registry_audit"
COLUMNS = "seq, recorded_at, actor, action, model_name, alias, version, previous_version, reason, detail"
CHAMPION_ACTIONS = ("promote", "force_promote", "rollback")


def _utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def require_table(warehouse: Warehouse) -> None:
    """Fail with a clear message when migration 003 has not been applied to this warehouse."""
    if not warehouse.table_exists(TABLE):
        raise WarehouseError(
            f"the warehouse has no '{TABLE}' table (schema version {warehouse.schema_version()})",
            hint="any leadops command that writes (e.g. `leadops ingest`) applies the pending migrations first",
        )


def append(
    warehouse: Warehouse,
    *,
    actor: str,
    action: str,
    model_name: str,
    alias: str | None,
    version: int | None,
    previous_version: int | None,
    reason: str | None,
    detail: dict[str, Any] | None = None,
) -> None:
    """Add one entry after the last; its seq is taken in the same statement (3 tries on a race)."""
    if action not in ACTIONS:
        raise RegistryError(f"audit action {action!r} is unknown; expected one of {list(ACTIONS)}")
    if not actor.strip():
        raise RegistryError("audit actor is empty; expected a user name ($LEADOPS_ACTOR or the OS user)")
    from leadops.warehouse.dialect import render

    sql = render(
        f"INSERT INTO {TABLE} ({COLUMNS}) SELECT coalesce(max(seq), 0) + 1, CAST(? AS TIMESTAMP), "
        "CAST(? AS VARCHAR), CAST(? AS VARCHAR), CAST(? AS VARCHAR), CAST(? AS VARCHAR), CAST(? AS INTEGER), "
        f"CAST(? AS INTEGER), CAST(? AS VARCHAR), CAST(? AS {{json}}) FROM {TABLE}",
        warehouse.dialect,
    )
    params = [
        _utcnow(),
        actor,
        action,
        model_name,
        alias,
        version,
        previous_version,
        reason,
        json.dumps(detail or {}, sort_keys=True, default=str),
    ]
    for attempt in range(3):
        try:
            warehouse.execute(sql, params)
            return
        except WarehouseError as exc:
            racing = "duplicate" in str(exc).lower() or "unique" in str(exc).lower()
            if not racing or attempt == 2:
                raise


def entries(warehouse: Warehouse, model_name: str) -> list[AuditEntry]:
    """Every entry for one registered model, oldest first."""
    require_table(warehouse)
    rows = warehouse.rows(f"SELECT {COLUMNS} FROM {TABLE} WHERE model_name = ? ORDER BY seq", [model_name])
    return [_entry(row) for row in rows]


def _entry(row: tuple[Any, ...]) -> AuditEntry:
    seq, at, actor, action, model, alias, version, previous, reason, detail = row
    if isinstance(detail, str):
        detail = json.loads(detail)
    return AuditEntry(
        seq=int(seq),
        recorded_at=at,
        actor=str(actor),
        action=str(action),
        model_name=str(model),
        alias=alias,
        version=None if version is None else int(version),
        previous_version=None if previous is None else int(previous),
        reason=reason,
        detail=dict(detail or {}),
    )


def champion_stack(log: list[AuditEntry]) -> list[int]:
    """Replay the champion's history: promotions push a version, a rollback pops back to the one before."""
    stack: list[int] = []
    for entry in log:
        if entry.alias != CHAMPION or entry.version is None or entry.action not in CHAMPION_ACTIONS:
            continue
        if entry.action == "rollback":
            if stack:
                stack.pop()
            if not stack or stack[-1] != entry.version:
                stack.append(entry.version)
        else:
            stack.append(entry.version)
    return stack
