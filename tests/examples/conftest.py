"""Example workspaces copied into tmp folders, with the real data sets copied in and ingested once per module."""

from __future__ import annotations

from pathlib import Path

import pytest
from examples_ws import cli, example_workspace, ingested


@pytest.fixture(scope="module")
def bank(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bank-marketing example, ingested (41,188 rows)."""
    return ingested(example_workspace(tmp_path_factory.mktemp("bank"), "bank-marketing", "bank-additional-full.csv"))


@pytest.fixture(scope="module")
def shoppers(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The online-shoppers example, ingested (12,330 rows)."""
    return ingested(
        example_workspace(tmp_path_factory.mktemp("shop"), "online-shoppers", "online_shoppers_intention.csv")
    )


@pytest.fixture(scope="module")
def tutorial(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tutorial example at 2,000 leads: `leadops simulate --scenario tutorial` then ingest."""
    ws = example_workspace(tmp_path_factory.mktemp("tutorial"), "tutorial")
    out = cli("simulate", "--workspace", str(ws), "--scenario", "tutorial", "--leads", "2000")
    assert out["leads"] == 2000
    return ingested(ws)
