"""The fictional B2B software company: its CRM export, ground truth, drift, faults and the textbook data set."""

from leadops.simulate.engine import SimulationSummary, simulate
from leadops.simulate.world import DEFAULT_START, SCENARIOS

__all__ = ["DEFAULT_START", "SCENARIOS", "SimulationSummary", "simulate"]
