"""Spec YAML shapes: one example per methodology parses, builds, and named sub-models resolve."""

from __future__ import annotations

import subprocess
import sys

import pytest
import yaml
from scorer_fixtures import make_leads

from leadops.errors import ScorerError
from leadops.scorers import build_scorer, parse_scorer_spec

EXAMPLES = """
points_model:
  type: points
  base: 0
  clamp: {min: -50, max: 100}
  groups: {behavioural: {max: 50}}
  rules:
    - {feature: job_level, when: {in: [c_level, vp]}, points: 20, reason: "Senior buyer ({value})"}
    - {feature: is_competitor, when: {is_true: true}, points: -50, reason: "Works for a competitor"}
    - feature: demo_requests_30d
      group: behavioural
      when: {gte: 1}
      points: 30
      reason: "Requested a demo {days} days ago"
      decay: {days_feature: days_since_last_activity, rate_per_week: 0.05}
  grades: {cutoffs: {A: 60, B: 40, C: 20}, otherwise: D}
icp:
  type: icp_fit
  attributes:
    - {feature: industry, weight: 3, values: [Technology, Finance]}
    - {feature: employees, weight: 2, range: {min: 200, max: 10000}}
engagement:
  type: engagement
  activities:
    - {feature: email_clicks_30d, weight: 5, days_since_feature: days_since_last_activity}
    - {feature: demo_requests_30d, weight: 30}
  half_life_days: 14
  scale: 50
scorecard:
  type: scorecard
  C: 1.0
  class_weight: balanced
  calibration: {method: platt, cv: 3}
gbm:
  type: lightgbm
  n_estimators: 50
  num_threads: 1
  calibration: {method: isotonic}
matrix:
  type: matrix
  fit: icp
  engagement: engagement
blend:
  type: blend
  components:
    rules: {weight: 1, scorer: points_model}
    model: {weight: 3, scorer: scorecard}
"""


def test_every_example_parses_builds_and_scores() -> None:
    models = yaml.safe_load(EXAMPLES)
    X, y = make_leads(1500, seed=4)
    for name in models:
        scorer = build_scorer(models[name], catalog=models).fit(X, y)
        assert scorer.score(X)["score"].between(0, 100).all(), name


def test_named_sub_models_are_inlined_and_unknown_names_fail() -> None:
    models = yaml.safe_load(EXAMPLES)
    built = build_scorer(models["matrix"], catalog=models)
    assert built.spec.fit.type == "icp_fit"  # type: ignore[union-attr]
    with pytest.raises(ScorerError, match=r"refers to model 'nope'"):
        build_scorer({"type": "blend", "components": {"x": {"weight": 1, "scorer": "nope"}}}, catalog=models)
    loop = {"a": {"type": "blend", "components": {"x": {"weight": 1, "scorer": "a"}}}}
    with pytest.raises(ScorerError, match="refers to itself"):
        build_scorer(loop["a"], catalog=loop)


def test_matrix_cells_must_cover_every_grade_pair() -> None:
    models = yaml.safe_load(EXAMPLES)
    with pytest.raises(ScorerError, match="missing"):
        build_scorer({"type": "matrix", "fit": "icp", "engagement": "engagement", "cells": {"A1": 100}}, catalog=models)


def test_unknown_type_and_extra_keys_are_rejected_with_the_field_named() -> None:
    with pytest.raises(ScorerError, match="type"):
        parse_scorer_spec({"type": "magic"})
    with pytest.raises(ScorerError, match="n_trees"):
        parse_scorer_spec({"type": "lightgbm", "n_trees": 10})


def test_importing_scorers_does_not_import_sklearn_or_lightgbm() -> None:
    code = "import sys, leadops.scorers; print('sklearn' in sys.modules, 'lightgbm' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]
