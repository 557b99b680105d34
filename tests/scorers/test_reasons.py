"""Vectorised reason codes: the same picks, numbers and words as the row-by-row reference, for every scorer."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pandas as pd
import pytest
from scorer_fixtures import ALL_SPECS, make_leads

from leadops.scorers import Scorer, build_scorer
from leadops.scorers.encoding import category_codes
from leadops.scorers.phrases import Levels, Phrasebook, meanings_of
from leadops.scorers.reasons import (
    ReasonMatrix,
    format_log_odds,
    format_log_odds_array,
    format_points,
    format_points_array,
    format_value,
    format_values,
    select_reasons,
    template_texts,
)
from leadops.settings.models import FeatureMeaning


@pytest.fixture(scope="module", params=sorted(ALL_SPECS))
def fitted(request: pytest.FixtureRequest, leads: tuple[pd.DataFrame, pd.Series]) -> Scorer:
    X, y = leads
    return build_scorer(ALL_SPECS[request.param]).fit(X, y)


def _reference_picks(c: np.ndarray, top_n: int, eps: float = 1e-12) -> list[list[tuple[int, float]]]:
    """The row-by-row definition: stable argsort each way, cut to top_n, keep |c| > eps."""
    k = c.shape[1]
    top = max(0, min(top_n, k))
    out = []
    for row in c:
        pos = [int(j) for j in np.argsort(-row, kind="stable")[:top] if row[j] > eps]
        neg = [int(j) for j in np.argsort(row, kind="stable")[:top] if row[j] < -eps]
        out.append([(j, float(row[j])) for j in pos + neg])
    return out


@pytest.mark.parametrize("top_n", [1, 2, 3, 7, 20])
def test_top_picks_equal_a_stable_argsort_even_with_many_ties_and_nan(top_n: int) -> None:
    rng = np.random.default_rng(top_n)
    c = rng.choice([-10.0, -5.0, 0.0, 5.0, 10.0, 2.5], size=(400, 9))
    c[rng.random(c.shape) < 0.05] = np.nan
    c[:50] = rng.normal(size=(50, 9))
    m = ReasonMatrix(c, [f"f{j}" for j in range(9)], lambda j, rows, v: np.full(len(rows), f"f{j}", dtype=object))
    top = select_reasons(m, top_n)
    got = [
        [(int(n[1:]), v) for n, v, ok in zip(rn, rv, rok, strict=True) if ok]
        for rn, rv, rok in zip(top.names.tolist(), top.values.tolist(), top.ok.tolist(), strict=True)
    ]
    assert got == _reference_picks(c, top_n)


def test_explain_text_and_json_are_explain_in_other_shapes(fitted: Scorer, leads: tuple[pd.DataFrame, Any]) -> None:
    X = leads[0].iloc[:300]
    ex = fitted.explain(X, top_n=3)
    text = fitted.explain_text(X, top_n=3)
    assert text.index.equals(X.index)
    assert text.tolist() == ex["reason_text"].tolist()
    assert text.tolist() == ["; ".join(r["text"] for r in rs) for rs in ex["reasons"]]
    js = fitted.explain_json(X, top_n=3)
    want = [
        json.dumps(
            [
                {
                    "feature": r["feature"],
                    "contribution": round(r["contribution"], 6),
                    "points": round(r["points"], 2),
                    "text": r["text"],
                }
                for r in rs
            ],
            separators=(",", ":"),
            ensure_ascii=False,
        )
        for rs in ex["reasons"]
    ]
    assert js["reasons"].tolist() == want
    assert js["reason_text"].tolist() == ex["reason_text"].tolist()


def test_explain_of_no_rows_is_an_empty_frame(fitted: Scorer, leads: tuple[pd.DataFrame, Any]) -> None:
    X = leads[0].iloc[:0]
    assert list(fitted.explain(X).columns) == ["reasons", "reason_text"]
    assert len(fitted.explain_json(X)) == 0 and len(fitted.explain_text(X)) == 0


@pytest.mark.parametrize(
    "series",
    [
        pd.Series([1.0, 2.5, np.nan, 1e16, -0.0, 0.123456, 3.0, np.inf, -7.25e-5]),
        pd.Series([1, 2, -3], dtype="int64"),
        pd.Series([1, None, 3], dtype="Int64"),
        pd.Series([True, False, True]),
        pd.Series([True, None, False], dtype="boolean"),
        pd.Series(["a", None, "b c"], dtype="str"),
        pd.Series(["a", None, 3, 2.0, True], dtype=object),
        pd.Series(["x", "y", None], dtype="category"),
        pd.Series([2, 3, None], dtype="category"),
        pd.Series(np.array([1.5, 2.0, np.nan], dtype=np.float32)),
    ],
)
def test_format_values_writes_what_format_value_writes(series: pd.Series) -> None:
    want = [format_value(v) for v in series.to_numpy(dtype=object)]
    assert format_values(series).tolist() == want


def test_number_arrays_format_like_the_scalar_functions() -> None:
    x = np.array([0.0, 0.04, -0.06, 2.5, -49.96, 30.0, 1e-9, -1e-9, 0.6931, -3.2, 12.345, 0.005, -0.005])
    assert format_points_array(x).tolist() == [format_points(v) for v in x]
    assert format_log_odds_array(x).tolist() == [format_log_odds(v) for v in x]


def test_templates_fill_like_str_format_including_odd_ones() -> None:
    values = np.array(["3", "x{y}"], dtype=object)
    for tmpl in ["{value} employees", "{label} is {value} ({days}d)", "{{literal}} {value}", "{value:>4}!", "plain"]:
        got = template_texts(tmpl, {"value": values, "days": "?", "label": "L"}, 2).tolist()
        assert got == [tmpl.format(value=v, days="?", label="L") for v in values]


def test_category_codes_match_the_string_comparison_for_every_column_kind() -> None:
    cats = ["1", "a", "b"]
    for s in [
        pd.Series(["a", None, "b", "z", "1"], dtype="str"),
        pd.Series(["a", np.nan, "b", "z", "1"], dtype=object),
        pd.Series(["a", None, "b", "z", "1"], dtype="category"),
        pd.Series([1, 2, None, 1, 3], dtype=object),
        pd.Series([None, None], dtype=object),
    ]:
        want = [np.nan if pd.isna(v) else float(cats.index(str(v))) if str(v) in cats else np.nan for v in s]
        np.testing.assert_array_equal(category_codes(s, cats), np.array(want, dtype=float))


def test_lightgbm_duplicate_rows_are_explained_once_with_identical_shap(leads: tuple[pd.DataFrame, Any]) -> None:
    X, y = leads
    scorer = build_scorer(ALL_SPECS["lightgbm"]).fit(X, y)
    repeated = pd.concat([X.iloc[:40]] * 5)
    repeated.index = pd.Index([f"R{i}" for i in range(len(repeated))], name="lead_id")
    direct = scorer.booster_.predict(scorer.matrix(repeated), pred_contrib=True)  # type: ignore[attr-defined]
    got = scorer.contributions(repeated)  # type: ignore[attr-defined]
    np.testing.assert_array_equal(got.to_numpy()[:, :-1], direct[:, :-1])
    ex = scorer.explain(repeated)
    assert ex["reason_text"].iloc[:40].tolist() == ex["reason_text"].iloc[160:].tolist()


# ---------------------------------------------------------------- words a salesperson reads

PRICING = FeatureMeaning(kind="activity", agg="count", types=["pricing_view"], window_days=30)
DEMO_AGO = FeatureMeaning(kind="activity", agg="recency", types=["demo_request"])
ENGAGED = FeatureMeaning(kind="activity", agg="decayed_sum", types=["page_view", "email_click"], half_life_days=14)


def _say(meaning: FeatureMeaning | None, values: list[Any], levels: Levels | None = None, **other: Any) -> list[str]:
    X = pd.DataFrame({"f": values, **other})
    book = Phrasebook({"f": meaning} if meaning else {}, {"f": "the f"}, {"f": levels} if levels else {})
    return book.texts("f", X, np.arange(len(X))).tolist()


def test_activity_reasons_say_what_the_lead_did_when() -> None:
    assert _say(PRICING, [5.0, 1.0, 0.0]) == [
        "Viewed the pricing page 5 times in the last 30 days",
        "Viewed the pricing page once in the last 30 days",
        "Did not view the pricing page in the last 30 days",
    ]
    assert _say(DEMO_AGO, [3.2, 0.2, 1.0, np.nan]) == [
        "Requested a demo 3 days ago",
        "Requested a demo today",
        "Requested a demo yesterday",
        "Never requested a demo",
    ]
    trial = FeatureMeaning(kind="activity", agg="exists", types=["trial_start"])
    assert _say(trial, [1.0, 0.0]) == ["Started a trial", "Did not start a trial"]
    webinars = FeatureMeaning(kind="activity", agg="count", types=["webinar_attendance", "event_attendance"])
    assert _say(webinars, [2.0, 0.0]) == ["2 the f", "No the f"]


def test_decayed_engagement_is_a_level_against_the_training_leads_not_a_raw_sum() -> None:
    got = _say(ENGAGED, [955.0, 40.0, 3.0, 0.0], Levels(p50=10.0, p90=200.0, binary=False))
    assert got == [
        "Very active in the last 2 weeks",
        "Active in the last 2 weeks",
        "Little activity in the last 2 weeks",
        "No activity in the last 2 weeks",
    ]
    assert not any("955" in t for t in got)


def test_attribute_reasons_read_as_sentences_never_as_raw_flags() -> None:
    opted = FeatureMeaning(value_type="boolean", column="do_not_email")
    assert _say(opted, [True, False]) == ["Opted out of email", "Accepts email"]
    size = FeatureMeaning(value_type="numeric", column="employees")
    assert _say(size, [1500.0, 1.0]) == ["Works at a company of 1,500 employees", "Works at a one-person company"]
    industry = FeatureMeaning(value_type="categorical", column="industry")
    assert _say(industry, ["financial_services"]) == ["Works in financial services"]
    domain = FeatureMeaning(value_type="categorical", column="email_domain_type")
    assert _say(domain, ["edu", "free"]) == ["Uses an edu email address", "Uses a free email address"]
    flag = FeatureMeaning(kind="derived")
    assert _say(flag, [1.0, 0.0], Levels(0.0, 1.0, binary=True)) == ["The f", "The f: no"]
    age = FeatureMeaning(kind="builtin", builtin="days_since_created")
    assert _say(age, [12.0]) == ["Became a lead 12 days ago"]


def test_a_phrase_template_words_what_cannot_be_derived() -> None:
    visits = FeatureMeaning(phrase="Visited the website {value} times in 30 days", phrase_none="No website visit")
    assert _say(visits, [12.0, 0.0]) == ["Visited the website 12 times in 30 days", "No website visit"]
    size = FeatureMeaning(kind="derived", phrase="Works at a company of {employees} employees")
    assert _say(size, [7.3, 5.1], employees=[1500, 164]) == [
        "Works at a company of 1500 employees",
        "Works at a company of 164 employees",
    ]


def test_unknown_other_and_id_like_values_are_never_reasons() -> None:
    book = Phrasebook({"page": FeatureMeaning(value_type="categorical")}, {}, {})
    s = pd.Series(["pricing", None, "unknown", "other", "40dec9f3a1b2c3d4", "a1b2c3d4e5f6a7b8c9d0", "blog post"])
    assert book.usable("page", s).tolist() == [True, False, False, False, False, False, True]
    never = Phrasebook({"f": DEMO_AGO}, {}, {})
    assert never.usable("f", pd.Series([np.nan, 2.0])).tolist() == [True, True], "never is a fact, not unknown"


def test_scorecard_points_share_the_leads_rise_over_the_base_exactly() -> None:
    X, y = make_leads(2000, seed=3)
    X = X.assign(landing_page=[f"{i * 2654435761 % 2**32:08x}" for i in range(len(X))])
    meanings = {"is_competitor": {"value_type": "boolean", "column": "is_competitor"}}
    spec = {"type": "scorecard", "categorical": ["industry", "job_level", "landing_page"], "feature_meanings": meanings}
    scorer = build_scorer(spec).fit(X, y)
    Xs = X.iloc[:200]
    ex = scorer.explain(Xs, top_n=50)
    contrib = scorer.contributions(Xs)  # type: ignore[attr-defined]
    base = float(contrib["bias"].iloc[0])
    score = scorer.score(Xs)["score"].to_numpy()
    for i, reasons in enumerate(ex["reasons"]):
        assert all(r["feature"] != "landing_page" for r in reasons), "a hash is never a reason"
        raw = float(contrib.iloc[i].sum())
        slope = (score[i] - 100 / (1 + np.exp(-base))) / (raw - base)
        shown = {r["feature"]: r["points"] for r in reasons}
        for f, p in shown.items():
            assert p == pytest.approx(float(contrib[f].iloc[i]) * slope, rel=1e-9, abs=1e-9)
        hidden = [f for f in contrib.columns[:-1] if f not in shown and f != "landing_page"]
        assert all(abs(float(contrib[f].iloc[i]) * slope) < 0.05 for f in hidden)
        texts = " ".join(r["text"] for r in reasons)
        assert "is_competitor" not in texts and " is 1" not in texts and "unknown" not in texts


def test_points_of_a_clamped_rule_table_share_what_is_left_above_the_base() -> None:
    X = pd.DataFrame({"demo": [1, 0], "size": [300, 10]})
    spec = {
        "type": "points",
        "base": 100,
        "clamp": {"min": 0, "max": 200},
        "rules": [
            {"feature": "demo", "when": {"is_true": True}, "points": 90, "reason": "Requested a demo"},
            {"feature": "size", "when": {"gte": 200}, "points": 30, "reason": "Big company"},
            {"feature": "size", "when": {"lt": 50}, "points": -20, "reason": "Tiny company"},
        ],
    }
    ex = build_scorer(spec).fit(X).explain(X)
    # 100 + 90 + 30 = 220, clamped to 200: the 50 score points above the base's 50 split 90 : 30
    assert [(r["text"], round(r["points"], 4)) for r in ex["reasons"].iloc[0]] == [
        ("Requested a demo (+37.5 points)", 37.5),
        ("Big company (+12.5 points)", 12.5),
    ]
    assert ex["reason_text"].iloc[1] == "Tiny company (-10 points)"


def test_training_feature_spec_gives_every_feature_its_meaning() -> None:
    from leadops.settings.features import FeaturesSpec

    spec = FeaturesSpec.model_validate(
        {
            "definitions": [
                {"name": "pricing_{days}d", "label": "pricing views ({days} days)", "kind": "activity",
                 "types": ["pricing_view"], "windows": [7, 30], "phrase": "Pricing x{value} in {days}"},
                {"name": "do_not_email", "label": "opted out", "column": "do_not_email", "type": "boolean"},
                {"name": "age", "label": "age", "kind": "builtin"},
                {"name": "ratio", "label": "ratio", "kind": "derived", "expression": "pricing_7d / (pricing_30d + 1)"},
            ]
        }
    )  # fmt: skip
    got = meanings_of(spec)
    assert got["pricing_30d"] == {
        "kind": "activity", "agg": "count", "types": ["pricing_view"], "window_days": 30.0,
        "phrase": "Pricing x{value} in 30",
    }  # fmt: skip
    assert got["do_not_email"] == {"kind": "attribute", "value_type": "boolean", "column": "do_not_email"}
    assert got["age"]["kind"] == "builtin" and got["ratio"] == {"kind": "derived"}
    for m in got.values():
        FeatureMeaning.model_validate(m)
