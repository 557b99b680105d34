"""The textbook tutorial at 2,000 leads: the book's file ingested, its rule table applied by leadops equal to the
book's on every row, its logistic regression and LightGBM trained, and the example's points model the preset."""

from __future__ import annotations

import csv
from pathlib import Path

import pandas as pd
import pytest
from examples_ws import settings_for, train

from leadops.features.training import build_training_set
from leadops.scorers import build_scorer, load_preset, load_scorer
from leadops.warehouse.connection import open_warehouse

WORKED_EXAMPLES = pd.DataFrame(
    {  # the worked examples of scorers/presets/tutorial_points.yaml
        "company_size": ["enterprise", "mid_market", "micro"],
        "industry": ["technology", "finance", "other"],
        "geography": ["tier1", "tier2", "international"],
        "job_level": ["c_level", "vp_director", "individual"],
        "website_visits_30d": [12, 5, 0],
        "email_opens": [8, 3, 0],
        "email_clicks": [4, 0, 0],
        "content_downloads": [3, 0, 0],
        "demo_requested": [True, False, False],
        "days_since_first_visit": [10.0, 20.0, 30.0],
        "page_views_per_visit": [2.0, 1.5, 1.0],
        "email_engagement": [2.0, 1.0, 0.0],
    }
)


def book_points(row: dict[str, str]) -> int:
    """The book's rule table in plain Python, written from the book (not from leadops' YAML)."""
    table = {
        "company_size": {"enterprise": 25, "mid_market": 15, "smb": 5, "micro": -10},
        "industry": {"technology": 20, "finance": 15, "healthcare": 10, "manufacturing": 5, "other": 0},
        "geography": {"tier1": 15, "tier2": 10, "tier3": 0, "international": -5},
        "job_level": {"c_level": 25, "vp_director": 20, "manager": 10, "individual": 0, "student": -20},
    }
    points = 100 + sum(table[col].get(row[col], 0) for col in table)
    visits, opens, clicks = int(row["website_visits_30d"]), int(row["email_opens"]), int(row["email_clicks"])
    points += 20 if visits >= 10 else 10 if visits >= 3 else 0 if visits >= 1 else -10
    points += 15 if clicks >= 1 else 5 if opens >= 1 else -5
    downloads = int(row["content_downloads"])
    points += 20 if downloads >= 3 else 10 if downloads >= 1 else 0
    points += 30 if row["demo_requested"] == "1" else 0
    return max(0, min(200, points))


def book_grade(points: int) -> str:
    return "A" if points >= 150 else "B" if points >= 120 else "C" if points >= 90 else "D" if points >= 60 else "F"


def test_leadops_points_and_grades_equal_the_books_on_every_row(tutorial: Path) -> None:
    with (tutorial / "source" / "tutorial_leads.csv").open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 2000 and "lead_id" not in rows[0]
    out = train(tutorial, "points")
    fitted = load_scorer(out["artifact"])
    settings = settings_for(tutorial)
    with open_warehouse(settings.warehouse.url, settings.workspace) as wh:
        ts = build_training_set(settings.features, settings.training, wh, sources=settings.sources)
    X = pd.concat([ts.X_train, ts.X_val, ts.X_test], ignore_index=True)
    X.index = pd.Index(pd.concat([ts.ids[s] for s in ("train", "validation", "test")]).tolist(), name="lead_id")
    scored = fitted.score(X)
    want = {f"tutorial:{i}": book_points(r) for i, r in enumerate(rows, start=1)}
    assert sorted(scored.index) == sorted(want), "every row of the file is a lead, id derived from its row"
    got = scored["raw"].to_dict()
    assert {k: got[k] for k in want} == {k: float(v) for k, v in want.items()}
    assert scored["grade"].to_dict() == {k: book_grade(v) for k, v in want.items()}
    assert set(scored["grade"]) == {"A", "B", "C"}, "the book's generous base puts every lead at C or better"


def test_tutorial_train_says_which_rules_match_no_lead(tutorial: Path) -> None:
    out = train(tutorial, "points")
    no_match = [w for w in out["warnings"] if "matches none" in w]
    assert len(no_match) == 1 and "job_level" in no_match[0] and "student" in no_match[0], out["warnings"]
    assert not [w for w in out["warnings"] if "became 'other'" in w]


def test_categories_that_miss_the_data_are_reported_by_train(tutorial: Path) -> None:
    env = {"LEADOPS_FEATURES__WARN_SHARE": "0.3"}
    settings = settings_for(tutorial, **env)
    defs = [d.model_dump() for d in settings.features.definitions]
    for d in defs:
        if d["name"] == "company_size":
            d["categories"] = ["1-10", "11-50", "51-200", "201-1000", "1000+"]
    spec = settings.features.model_validate({**settings.features.model_dump(), "definitions": defs})
    with open_warehouse(settings.warehouse.url, settings.workspace) as wh:
        ts = build_training_set(spec, settings.training, wh, sources=settings.sources)
    lines = [w for w in ts.warnings if w.startswith("feature 'company_size'")]
    assert len(lines) == 1 and "100% of the 2000 rows became 'other'" in lines[0] and "'micro'" in lines[0]


@pytest.mark.parametrize("model", ["points", "textbook", "predictive"])
def test_every_tutorial_model_trains_and_ranks(tutorial: Path, model: str) -> None:
    out = train(tutorial, model)
    print(f"tutorial 2,000 {model}: AUC {out['auc']:.4f} (observable oracle {out['observable_oracle_auc']:.4f})")
    assert (out["train_rows"], out["validation_rows"], out["test_rows"]) == (1200, 300, 500)
    assert out["leakage_flags"] == {}
    assert len(out["features"]) == 12
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
        ts = build_training_set(settings.features, settings.training, wh, sources=settings.sources)
    mine, theirs = fitted.score(ts.X_test), preset.fit(ts.X_train).score(ts.X_test)
    pd.testing.assert_series_equal(mine["raw"], theirs["raw"])
    assert mine["grade"].tolist() == theirs["grade"].tolist()
    worked = fitted.score(WORKED_EXAMPLES)
    assert worked["raw"].tolist() == [200.0, 175.0, 70.0]
    assert worked["grade"].tolist() == ["A", "A", "D"]
