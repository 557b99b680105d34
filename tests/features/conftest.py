"""Fixtures of the feature tests: a DuckDB warehouse (parity tests add pg_warehouse), specs, a 10k-lead world."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from features_synth import SPEC, World, make_world

from leadops.settings.features import FeaturesSpec, TrainingSpec
from leadops.warehouse import Warehouse, open_warehouse


@pytest.fixture
def spec() -> FeaturesSpec:
    """The feature spec the tests use (every kind of feature)."""
    return FeaturesSpec.model_validate(SPEC)


@pytest.fixture
def training_spec() -> TrainingSpec:
    """A training spec with short label windows that fit the synthetic year."""
    return TrainingSpec.model_validate({"snapshot": {"days_after_created": 7}, "label": {"window_days": 60}})


@pytest.fixture
def warehouse(tmp_path: Path) -> Iterator[Warehouse]:
    """An empty migrated DuckDB warehouse (the parity tests add `pg_warehouse` beside it)."""
    wh = open_warehouse(f"duckdb:///{tmp_path / 'wh.duckdb'}")
    yield wh
    wh.close()


@pytest.fixture(scope="module")
def big_world() -> World:
    """10,000 leads with ~100k activities (built once per module)."""
    return make_world(10_000, seed=7)
