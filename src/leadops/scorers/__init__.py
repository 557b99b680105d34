"""Scorers: every lead-scoring methodology behind one protocol (fit / score / explain / save, load_scorer).

Importing this package is cheap: scikit-learn and LightGBM load only inside the methods that need them.
"""

from __future__ import annotations

import importlib
from typing import Any

# Names resolve on first use: config loading imports `leadops.scorers.specs` (pydantic only) and must not pay
# for pandas/numpy through this package's __init__.
_HOMES = {
    "SCORE_COLUMNS": "base",
    "Scorer": "base",
    "build_scorer": "base",
    "load_scorer": "base",
    "Calibrator": "calibration",
    "GradeScale": "grades",
}


def __getattr__(name: str) -> Any:
    """Import the submodule that defines `name` when it is first asked for."""
    if name not in __all__:
        raise AttributeError(f"module 'leadops.scorers' has no attribute {name!r}")
    return getattr(importlib.import_module(f"leadops.scorers.{_HOMES.get(name, 'specs')}"), name)


__all__ = [
    "SCORE_COLUMNS",
    "ActivitySpec",
    "AnyScorerSpec",
    "BlendComponent",
    "BlendSpec",
    "CalibrationSpec",
    "Calibrator",
    "ClampSpec",
    "Condition",
    "DecaySpec",
    "EngagementSpec",
    "GradeScale",
    "GradesSpec",
    "GroupSpec",
    "ICPAttribute",
    "ICPFitSpec",
    "LightGBMSpec",
    "MatrixSpec",
    "PointsRule",
    "PointsSpec",
    "RangeSpec",
    "ScorecardSpec",
    "Scorer",
    "ScorerSpec",
    "build_scorer",
    "load_preset",
    "load_scorer",
    "parse_scorer_spec",
]
