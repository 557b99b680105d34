"""Shared fixtures: a warehouse on each engine (PostgreSQL for real in CI), one local Spark session, the shared
data folder."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from leadops.warehouse import Warehouse, open_warehouse

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def postgres_url() -> str | None:
    """The test server's URL; missing is a skip locally and a failure in CI (CI=true)."""
    url = os.environ.get("LEADOPS_TEST_PG_URL")
    if not url:
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail("LEADOPS_TEST_PG_URL is not set in CI: PostgreSQL tests must run there, not skip")
        pytest.skip("PostgreSQL not configured (set LEADOPS_TEST_PG_URL)")
    return url


@pytest.fixture(params=["duckdb", pytest.param("postgres", marks=pytest.mark.postgres)])
def warehouse(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Warehouse]:
    """The same warehouse tests run against both engines; each PostgreSQL test gets its own schema."""
    if request.param == "duckdb":
        wh = open_warehouse("duckdb:///warehouse.duckdb", tmp_path)
        yield wh
        wh.close()
        return
    base = postgres_url()
    assert base is not None
    schema = f"t_{uuid.uuid4().hex[:12]}"
    sep = "&" if "?" in base else "?"
    wh = open_warehouse(f"{base}{sep}schema={schema}")
    try:
        yield wh
    finally:
        wh.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        wh.close()


@pytest.fixture(scope="session")
def spark() -> object:
    """One local[2] Spark session for the whole run (starting one costs seconds); skipped without Java/pyspark
    locally, a failure in CI."""
    from leadops.jobs.engines.spark import session, spark_available
    from leadops.settings.jobs import SparkSpec

    problem = spark_available()
    if problem:
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(f"Spark tests must run in CI: {problem}")
        pytest.skip(problem)
    return session(SparkSpec(master="local[2]"))


@pytest.fixture
def shared_data() -> Path:
    """../shared/data beside the project root (real public data sets); skipped when absent."""
    if not SHARED_DATA.exists():
        pytest.skip(f"{SHARED_DATA} not found")
    return SHARED_DATA


@pytest.fixture
def pg_warehouse() -> Iterator[Warehouse]:
    """A migrated PostgreSQL warehouse in a schema of its own (dropped after the test), for parity tests."""
    base = postgres_url()
    assert base is not None
    schema = f"t_{uuid.uuid4().hex[:12]}"
    sep = "&" if "?" in base else "?"
    wh = open_warehouse(f"{base}{sep}schema={schema}")
    try:
        yield wh
    finally:
        wh.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        wh.close()


@pytest.fixture(scope="module")
def pg_schema_url() -> Iterator[str]:
    """A PostgreSQL warehouse URL with a schema of its own for a whole module (dropped afterwards)."""
    base = postgres_url()
    assert base is not None
    schema = f"t_{uuid.uuid4().hex[:12]}"
    url = f"{base}{'&' if '?' in base else '?'}schema={schema}"
    try:
        yield url
    finally:
        wh = Warehouse(url)
        wh.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        wh.close()
