"""The audit log is append-only and reads back the same on DuckDB and PostgreSQL."""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

import leadops.registry
from leadops.actor import default_actor
from leadops.registry import Registry, RegistryError, audit
from leadops.warehouse import Warehouse, open_warehouse

STEPS = [
    ("register", None, 1, None, None),
    ("register", None, 2, None, None),
    ("promote", "champion", 1, None, "first"),
    ("set_challenger", "challenger", 2, None, "shadow"),
    ("force_promote", "champion", 2, 1, "urgent"),
    ("rollback", "champion", 1, 2, "bad"),
]


def write_steps(warehouse: Warehouse, model: str) -> None:
    """Append STEPS for `model`."""
    for action, alias, version, previous, reason in STEPS:
        audit.append(
            warehouse,
            actor="ana",
            action=action,
            model_name=model,
            alias=alias,
            version=version,
            previous_version=previous,
            reason=reason,
            detail={"gates": {"auc": True}, "n": 3},
        )


def test_no_code_in_the_registry_updates_or_deletes_rows() -> None:
    package = Path(leadops.registry.__file__).parent
    sources = [*package.glob("*.py"), package.parent / "warehouse/migrations/003_registry_audit.sql"]
    for source in sources:
        text = source.read_text()
        assert not re.search(r"\b(UPDATE\s+\w|DELETE\s+FROM|TRUNCATE|DROP\s+TABLE|ALTER\s+TABLE)", text), source


def test_history_length_only_grows(two_versions: Registry) -> None:
    lengths = [len(two_versions.history())]
    two_versions.promote(1, gates_passed=True, gate_detail={}, force=False, reason=None, actor="a")
    lengths.append(len(two_versions.history()))
    two_versions.promote(2, gates_passed=True, gate_detail={}, force=False, reason=None, actor="a")
    lengths.append(len(two_versions.history()))
    before = two_versions.history()
    two_versions.rollback("a", "r")
    after = two_versions.history()
    lengths.append(len(after))
    assert lengths == [2, 3, 4, 5]
    assert after[: len(before)] == before  # earlier entries are untouched


def test_unknown_action_and_empty_actor_are_refused(warehouse: Warehouse) -> None:
    with pytest.raises(RegistryError, match="unknown"):
        audit.append(
            warehouse,
            actor="a",
            action="delete",
            model_name="m",
            alias=None,
            version=1,
            previous_version=None,
            reason=None,
        )
    with pytest.raises(RegistryError, match="actor is empty"):
        audit.append(
            warehouse,
            actor=" ",
            action="promote",
            model_name="m",
            alias=None,
            version=1,
            previous_version=None,
            reason=None,
        )


def test_actor_defaults_to_leadops_actor_then_the_os_user(monkeypatch: pytest.MonkeyPatch) -> None:
    import getpass

    monkeypatch.setenv("LEADOPS_ACTOR", "robot-nightly")
    assert default_actor() == "robot-nightly"
    monkeypatch.delenv("LEADOPS_ACTOR")
    assert default_actor() == getpass.getuser()


def test_duckdb_audit_reads_back_in_order(warehouse: Warehouse) -> None:
    write_steps(warehouse, "duck_model")
    log = audit.entries(warehouse, "duck_model")
    assert [(e.action, e.alias, e.version, e.previous_version, e.reason) for e in log] == STEPS
    assert log[0].detail == {"gates": {"auc": True}, "n": 3}
    assert audit.champion_stack(log) == [1]


@pytest.fixture
def postgres() -> Iterator[Warehouse]:
    """A migrated PostgreSQL warehouse in a fresh schema (skipped without LEADOPS_TEST_PG_URL unless CI)."""
    url = os.environ.get("LEADOPS_TEST_PG_URL")
    if not url:
        if os.environ.get("CI") == "true":
            pytest.fail("CI=true but LEADOPS_TEST_PG_URL is not set; the PostgreSQL tests must run in CI")
        pytest.skip("LEADOPS_TEST_PG_URL is not set")
    schema = f"t_registry_{uuid.uuid4().hex[:10]}"
    wh = open_warehouse(url + ("&" if "?" in url else "?") + f"schema={schema}")
    try:
        yield wh
    finally:
        wh.execute(f'DROP SCHEMA "{schema}" CASCADE')
        wh.close()


@pytest.mark.postgres
def test_postgres_audit_matches_duckdb(postgres: Warehouse, warehouse: Warehouse) -> None:
    write_steps(postgres, "pg_model")
    pg = audit.entries(postgres, "pg_model")
    write_steps(warehouse, "duck_model_parity")
    duck = audit.entries(warehouse, "duck_model_parity")
    keep = lambda e: (e.action, e.alias, e.version, e.previous_version, e.reason, e.actor, e.detail)  # noqa: E731
    assert [keep(e) for e in pg] == [keep(e) for e in duck]
    assert [e.seq for e in pg] == [1, 2, 3, 4, 5, 6]
