"""The textbook tutorial at 2,000 leads: its rule table, its logistic regression and LightGBM all train, and the
example's points model is the shipped preset."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from examples_ws import settings_for, train

from leadops.features.training import build_training_set
from leadops.scorers import build_scorer, load_preset, load_scorer
from leadops.warehouse.connection import open_warehouse

WORKED_EXAMPLES = pd.DataFrame(
    {  # the tutorial's three worked examples (scorers/presets/tutorial_points.yaml)
        "company_size": ["1000+", "201-1000", "1-10"],
        "industry": ["Technology", "Finance", "Education"],
        "geography": ["North America", "Europe", "LATAM"],
        "job_level": ["C-Level", "Director", "Student"],
        "website_visits_30d": [12, 6, 5],
        "email_opens": [8, 3, 6],
        "email_clicks": [4, 0, 0],
        "content_downloads": [3, 0, 1],
        "demo_requested": [True, False, False],
        "days_since_first_visit": [10, 20, 30],
        "page_views_per_visit": [2.0, 1.5, 1.0],
    }
)


@pytest.mark.parametrize("model", ["points", "textbook", "predictive"])
def test_every_tutorial_model_trains_and_ranks(tutorial: Path, model: str) -> None:
    out = train(tutorial, model)
    print(f"tutorial 2,000 {model}: AUC {out['auc']:.4f} (observable oracle {out['observable_oracle_auc']:.4f})")
    assert (out["train_rows"], out["validation_rows"], out["test_rows"]) == (1200, 300, 500)
    assert out["leakage_flags"] == {}
    assert len(out["features"]) == 11
    assert out["auc"] > 0.6, out["auc"]
    # nothing the file holds ranks better than the logit the simulator drew from, bar sampling noise
    assert out["auc"] < out["observable_oracle_auc"] + 0.03
    assert out["observable_oracle_auc"] <= out["oracle_auc"] + 0.03


def test_example_points_model_is_the_shipped_preset(tutorial: Path) -> None:
    out = train(tutorial, "points")
    fitted = load_scorer(out["artifact"])
    preset = build_scorer(load_preset("tutorial_points"))
    settings = settings_for(tutorial)
    with open_warehouse(settings.warehouse.url, settings.workspace) as wh:
        ts = build_training_set(settings, wh)
    mine, theirs = fitted.score(ts.X_test), preset.fit(ts.X_train).score(ts.X_test)
    pd.testing.assert_series_equal(mine["raw"], theirs["raw"])
    assert mine["grade"].tolist() == theirs["grade"].tolist()
    worked = fitted.score(WORKED_EXAMPLES)
    assert worked["raw"].tolist() == [200.0, 155.0, 85.0]
    assert worked["grade"].tolist() == ["A", "A", "D"]
