"""Scorers: every lead-scoring methodology behind one protocol (fit / score / explain / save, load_scorer).

Importing this package is cheap: scikit-learn and LightGBM load only inside the methods that need them.
"""

from __future__ import annotations

from leadops.scorers.base import SCORE_COLUMNS, Scorer, build_scorer, load_scorer
from leadops.scorers.calibration import Calibrator
from leadops.scorers.grades import GradeScale
from leadops.scorers.specs import (
    ActivitySpec,
    AnyScorerSpec,
    BlendComponent,
    BlendSpec,
    CalibrationSpec,
    ClampSpec,
    Condition,
    DecaySpec,
    EngagementSpec,
    GradesSpec,
    GroupSpec,
    ICPAttribute,
    ICPFitSpec,
    LightGBMSpec,
    MatrixSpec,
    PointsRule,
    PointsSpec,
    RangeSpec,
    ScorecardSpec,
    ScorerSpec,
    load_preset,
    parse_scorer_spec,
)

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
