"""Shared simulated workspaces (built once per test session; each takes a second or two)."""

from __future__ import annotations

from pathlib import Path

import pytest

from leadops.simulate import SimulationSummary, simulate


@pytest.fixture(scope="session")
def baseline(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, SimulationSummary]:
    """A 6k-lead baseline workspace."""
    ws = tmp_path_factory.mktemp("baseline")
    return ws, simulate(ws, leads=6_000, seed=7)


@pytest.fixture(scope="session")
def faulty(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, SimulationSummary]:
    """A 4k-lead faults workspace at a 3 % fault rate."""
    ws = tmp_path_factory.mktemp("faults")
    return ws, simulate(ws, scenario="faults", leads=4_000, seed=3, fault_rate=0.03)
