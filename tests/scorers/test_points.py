"""Points scorer: the tutorial's rule table and worked examples, caps, decay, clamping, reason texts."""

from __future__ import annotations

import pandas as pd
import pytest
import yaml

from leadops.errors import ScorerError
from leadops.scorers import PointsSpec, build_scorer, load_preset, parse_scorer_spec


def tutorial_examples() -> pd.DataFrame:
    X = pd.DataFrame(
        {
            "company_size": ["enterprise", "mid_market", "micro"],
            "industry": ["technology", "finance", "other"],
            "geography": ["tier1", "tier2", "international"],
            "job_level": ["c_level", "vp_director", "individual"],
            "website_visits_30d": [12, 5, 0],
            "email_opens": [8, 3, 0],
            "email_clicks": [4, 0, 0],
            "content_downloads": [3, 0, 0],
            "demo_requested": [1, 0, 0],
        },
        index=pd.Index(["lead_a", "lead_b", "lead_c"], name="lead_id"),
    )
    clicked, opened = X["email_clicks"] >= 1, X["email_opens"] >= 1
    return X.assign(email_engagement=2.0 * clicked + (~clicked & opened))


def test_tutorial_examples_total_270_175_70_clamped_and_graded_a_a_d() -> None:
    X = tutorial_examples()
    scorer = build_scorer(load_preset("tutorial_points")).fit(X)
    out = scorer.score(X)
    assert out["raw"].tolist() == [200.0, 175.0, 70.0]
    assert out["grade"].tolist() == ["A", "A", "D"]
    assert out["score"].tolist() == [100.0, 87.5, 35.0]
    assert out["probability"].isna().all()


def test_tutorial_rule_table_is_the_books() -> None:
    spec = load_preset("tutorial_points")
    assert isinstance(spec, PointsSpec)
    assert spec.base == 100 and (spec.clamp.min, spec.clamp.max) == (0, 200)
    assert spec.grades.cutoffs == {"A": 150, "B": 120, "C": 90, "D": 60} and spec.grades.otherwise == "F"
    assert not spec.groups, "the book caps nothing but the total"
    table = {(r.feature, r.when.equals): r.points for r in spec.rules if r.when.equals is not None}
    assert table == {
        ("company_size", "enterprise"): 25, ("company_size", "mid_market"): 15, ("company_size", "smb"): 5,
        ("company_size", "micro"): -10, ("industry", "technology"): 20, ("industry", "finance"): 15,
        ("industry", "healthcare"): 10, ("industry", "manufacturing"): 5, ("industry", "other"): 0,
        ("geography", "tier1"): 15, ("geography", "tier2"): 10, ("geography", "tier3"): 0,
        ("geography", "international"): -5, ("job_level", "c_level"): 25, ("job_level", "vp_director"): 20,
        ("job_level", "manager"): 10, ("job_level", "individual"): 0, ("job_level", "student"): -20,
        ("website_visits_30d", 0): -10, ("email_engagement", 2): 15, ("email_engagement", 1): 5,
        ("email_engagement", 0): -5, ("content_downloads", 0): 0,
    }  # fmt: skip


def _one_rule(**rule: object) -> dict[str, object]:
    return {"type": "points", "base": 0, "clamp": {"min": -100, "max": 100}, "rules": [rule]}


@pytest.mark.parametrize(
    ("when", "values", "hits"),
    [
        ({"equals": "x"}, ["x", "y", None], [1, 0, 0]),
        ({"in": ["x", "y"]}, ["x", "y", "z"], [1, 1, 0]),
        ({"gte": 5}, [4, 5, None], [0, 1, 0]),
        ({"gt": 5}, [5, 6, 7], [0, 1, 1]),
        ({"lt": 5}, [4, 5, 6], [1, 0, 0]),
        ({"lte": 5}, [4, 5, 6], [1, 1, 0]),
        ({"between": [2, 4]}, [1, 2, 4], [0, 1, 1]),
        ({"is_true": True}, [True, False, True], [1, 0, 1]),
        ({"is_true": False}, ["yes", "no", "false"], [0, 1, 1]),
        ({"gte": 1, "lt": 3}, [0, 1, 3], [0, 1, 0]),
    ],
)
def test_conditions_match_the_rows_they_describe(
    when: dict[str, object], values: list[object], hits: list[int]
) -> None:
    X = pd.DataFrame({"f": values})
    scorer = build_scorer(_one_rule(feature="f", when=when, points=10)).fit(X)
    assert scorer.score(X)["raw"].tolist() == [10.0 * h for h in hits]


def test_behavioural_points_decay_five_percent_a_week() -> None:
    spec = _one_rule(
        feature="demo",
        when={"is_true": True},
        points=30,
        group="behavioural",
        reason="Requested a demo {days} days ago",
        decay={"days_feature": "days_since_demo", "rate_per_week": 0.05},
    )
    X = pd.DataFrame({"demo": [1, 1, 1], "days_since_demo": [0, 7, 14]})
    scorer = build_scorer(spec).fit(X)
    assert scorer.score(X)["raw"].tolist() == pytest.approx([30, 28.5, 30 * 0.95**2])
    assert scorer.explain(X)["reason_text"].tolist()[0] == "Requested a demo 0 days ago (+15 points)"


def test_group_caps_and_clamp_bound_the_total() -> None:
    spec = {
        "type": "points",
        "base": 50,
        "clamp": {"min": 0, "max": 100},
        "groups": {"behavioural": {"max": 20, "min": -10}},
        "rules": [
            {"feature": "a", "when": {"gte": 1}, "points": 15, "group": "behavioural"},
            {"feature": "b", "when": {"gte": 1}, "points": 15, "group": "behavioural"},
            {"feature": "c", "when": {"gte": 1}, "points": -40, "group": "behavioural"},
            {"feature": "d", "when": {"gte": 1}, "points": -90},
        ],
    }
    X = pd.DataFrame({"a": [1, 0, 1], "b": [1, 0, 0], "c": [0, 1, 0], "d": [0, 0, 1]})
    assert build_scorer(spec).fit(X).score(X)["raw"].tolist() == [70.0, 40.0, 0.0]


def test_rule_on_a_missing_feature_fails_at_fit_naming_it() -> None:
    with pytest.raises(ScorerError, match=r"\['nope'\]"):
        build_scorer(_one_rule(feature="nope", when={"gte": 1}, points=1)).fit(pd.DataFrame({"f": [1]}))


def test_spec_rejects_unknown_keys_and_bad_templates() -> None:
    with pytest.raises(ScorerError, match="pointz"):
        parse_scorer_spec({**_one_rule(feature="f", when={"gte": 1}, points=1), "pointz": 3})
    with pytest.raises(ScorerError, match="reason template"):
        build_scorer(_one_rule(feature="f", when={"gte": 1}, points=1, reason="{oops}"))
    with pytest.raises(ScorerError, match="at least one of"):
        parse_scorer_spec(_one_rule(feature="f", when={}, points=1))


def test_platt_probability_is_fitted_when_labels_are_given() -> None:
    X = pd.DataFrame({"f": [0, 1] * 50})
    y = pd.Series([0, 1] * 40 + [1, 0] * 10)
    spec = {**_one_rule(feature="f", when={"gte": 1}, points=10), "calibration": {"method": "platt"}}
    out = build_scorer(spec).fit(X, y).score(X)
    assert out["probability"].iloc[1] == pytest.approx(0.8, abs=1e-6)
    assert out["probability"].iloc[0] == pytest.approx(0.2, abs=1e-6)


def test_preset_yaml_round_trips_through_spec_dump() -> None:
    spec = load_preset("tutorial_points")
    again = parse_scorer_spec(yaml.safe_load(yaml.safe_dump(spec.model_dump(mode="json", by_alias=True))))
    assert again == spec
