"""Fixtures for the job's tests: a small warehouse with leads, fake features and a fake champion."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from jobs_fakes import FakeFeatures, FakeModels, fill_warehouse

from leadops.jobs import checkpoints
from leadops.warehouse import Warehouse, open_warehouse


@pytest.fixture
def wh(tmp_path: Path) -> Iterator[Warehouse]:
    """A DuckDB warehouse file with 300 leads (about 285 open)."""
    warehouse = open_warehouse("duckdb:///warehouse.duckdb", tmp_path)
    fill_warehouse(warehouse)
    yield warehouse
    checkpoints.set_hook(None)
    warehouse.close()


@pytest.fixture
def feats(wh: Warehouse) -> FakeFeatures:
    return FakeFeatures(wh)


@pytest.fixture
def models(tmp_path: Path) -> FakeModels:
    return FakeModels(tmp_path / "models")
