"""The bundle tests' world: the feature tests' synthetic company, a training set and a bundle trained on it."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "features"))

from features_synth import World, load_world, make_world

from leadops.bundle import Bundle, load_bundle, save_bundle
from leadops.bundle.summaries import summarize
from leadops.features.training import TrainingSet, build_training_set
from leadops.scorers import build_scorer
from leadops.settings.features import FeaturesSpec, TrainingSpec
from leadops.warehouse import Warehouse, open_warehouse

SPEC = {
    "unseen": "other",
    "definitions": [
        {
            "name": "lead_source",
            "label": "lead source",
            "column": "lead_source",
            "type": "categorical",
            "max_categories": 3,
        },
        {"name": "job_level", "label": "job level", "column": "job_level", "type": "categorical"},
        {"name": "industry", "label": "industry", "source": "account", "column": "industry", "type": "categorical"},
        {"name": "employees", "label": "employees", "source": "account", "column": "employees"},
        {"name": "do_not_email", "label": "opted out of email", "column": "do_not_email", "type": "boolean"},
        {"name": "budget", "label": "budget", "key": "budget"},
        {"name": "opens_30d", "label": "email opens", "kind": "activity", "types": ["email_open"], "window_days": 30},
        {"name": "pricing_ever", "label": "pricing views", "kind": "activity", "types": ["pricing_view"]},
        {"name": "last_seen", "label": "days since last activity", "kind": "activity", "agg": "recency"},
        {"name": "heat", "label": "recent engagement", "kind": "activity", "agg": "decayed_sum", "half_life_days": 14},
        {"name": "age", "label": "lead age", "kind": "builtin"},
        {"name": "opens_per_day", "label": "opens per day", "kind": "derived", "expression": "opens_30d / (age + 1)"},
    ],
}
TRAINING = {
    "snapshot": {"policy": "as_of_dates", "every_days": 10},
    "label": {"window_days": 60},
    "leakage": {"enabled": False},
}


@dataclass
class Trained:
    """A warehouse, the world in it, the training set cut from it and the bundle trained on it."""

    warehouse: Warehouse
    world: World
    training: TrainingSet
    bundle: Bundle


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Trained]:
    """2,000 synthetic leads, a LightGBM bundle trained on them with lead_source cut to 3 values + other."""
    root = tmp_path_factory.mktemp("bundle")
    wh = open_warehouse(f"duckdb:///{root / 'wh.duckdb'}")
    world = make_world(2_000, seed=5)
    load_world(wh, world)
    spec = FeaturesSpec.model_validate(SPEC)
    training = build_training_set(spec, TrainingSpec.model_validate(TRAINING), wh)
    scorer = build_scorer({"type": "lightgbm", "n_estimators": 20}).fit(
        training.X_train, training.y_train, X_val=training.X_val, y_val=training.y_val
    )
    summaries = summarize(training.X_train, training.spec, scorer.score(training.X_test))
    path = save_bundle(root / "model", scorer, training.spec, summaries=summaries, extras={"mql_threshold": 41.5})
    yield Trained(wh, world, training, load_bundle(path))
    wh.close()
