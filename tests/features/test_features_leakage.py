"""The leakage guard flags outcome proxies for a stated reason and leaves honest features alone."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from leadops.features.leakage import check_leakage, rank_auc, single_feature_auc
from leadops.settings.features import LeakageSpec

BANK = Path(__file__).parents[2] / ".." / "shared" / "data" / "bank-additional-full.csv"


def test_rank_auc_matches_scikit_learn_with_ties() -> None:
    rng = np.random.default_rng(0)
    y = rng.random(2000) < 0.2
    score = np.round(rng.normal(y * 0.7, 1), 1)
    assert rank_auc(score, y) == pytest.approx(roc_auc_score(y, score), abs=1e-12)


def test_single_feature_auc_is_direction_free() -> None:
    rng = np.random.default_rng(1)
    y = (rng.random(3000) < 0.3).astype(int)
    x = pd.Series(rng.normal(-y * 1.0, 1))
    fit = rng.random(3000) < 0.7
    assert single_feature_auc(x, y, categorical=False, fit=fit) == pytest.approx(1 - roc_auc_score(y, x), abs=1e-12)


def _synthetic(n: int = 6000, seed: int = 2) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    z = rng.normal(0, 1, (n, 4))
    y = (rng.random(n) < 1 / (1 + np.exp(-(-1.5 + z @ np.array([0.8, 0.6, 0.5, 0.4]))))).astype(int)
    X = pd.DataFrame({f"x{i}": z[:, i] + rng.normal(0, 0.3, n) for i in range(4)})
    X["segment"] = np.where(z[:, 0] > 0, "a", "b")
    return X, y


def test_honest_features_are_not_flagged() -> None:
    X, y = _synthetic()
    report = check_leakage(X, y, categorical=["segment"])
    assert report.flagged == [], report.reasons()


def test_near_perfect_separator_is_flagged_by_threshold_and_excluded() -> None:
    X, y = _synthetic()
    rng = np.random.default_rng(3)
    X["stage_code"] = y * 10 + rng.normal(0, 1, len(y))  # recorded once the deal was decided
    report = check_leakage(X, y, categorical=["segment"])
    assert report.flagged == ["stage_code"] and report.excluded == ["stage_code"]
    assert "almost perfectly" in report.reasons()["stage_code"]


def test_allow_list_keeps_a_flagged_feature_and_says_so() -> None:
    X, y = _synthetic()
    X["stage_code"] = y * 10.0
    report = check_leakage(X, y, spec=LeakageSpec(allow=["stage_code"]), categorical=["segment"])
    assert report.flagged == ["stage_code"] and report.excluded == []
    assert "leakage.allow" in report.reasons()["stage_code"]


def test_two_copies_of_a_proxy_do_not_hide_each_other() -> None:
    X, y = _synthetic(seed=4)
    rng = np.random.default_rng(5)
    proxy = np.where(y == 1, rng.normal(1.3, 1, len(y)), rng.normal(0, 1, len(y)))
    X["call_minutes"] = proxy
    X["call_seconds"] = proxy * 60 + rng.normal(0, 0.01, len(y))
    report = check_leakage(X, y, categorical=["segment"])
    assert {"call_minutes", "call_seconds"} <= set(report.flagged)


@pytest.mark.slow
@pytest.mark.skipif(not BANK.exists(), reason="shared bank-marketing data not present")
def test_bank_marketing_duration_is_flagged_by_dominance_and_nothing_else() -> None:
    data = pd.read_csv(BANK, sep=";")
    y = (data.pop("y") == "yes").astype(int).to_numpy()
    categorical = [c for c in data.columns if not pd.api.types.is_numeric_dtype(data[c])]
    report = check_leakage(data, y, categorical=categorical)
    assert report.flagged == ["duration"], report.reasons()
    check = next(c for c in report.checks if c.name == "duration")
    # below the 0.95 separation threshold: only the dominance rule can catch it
    assert 0.78 < check.auc < 0.95
    assert check.rest_auc is not None and check.auc > check.rest_auc
    assert check.auc == pytest.approx(roc_auc_score(y, data["duration"]), abs=1e-3)


def test_a_dominant_point_in_time_activity_feature_is_a_signal_not_a_leak() -> None:
    """Dominance flags a static field that outranks the whole record, but not an as-of activity count."""
    from leadops.features.leakage import check_leakage
    from leadops.settings.features import LeakageSpec

    rng = np.random.default_rng(5)
    n = 6000
    intent = rng.normal(size=n)
    y = (rng.random(n) < 1 / (1 + np.exp(-(2.5 * intent - 2)))).astype(int)
    X = pd.DataFrame(
        {
            "pricing_views_30d": rng.poisson(np.exp(0.8 * intent)).astype(float),
            "noise_a": rng.normal(size=n),
            "noise_b": rng.normal(size=n),
        }
    )
    spec = LeakageSpec(dominance_floor=0.6)
    static = check_leakage(X, y, spec=spec, seed=1)
    assert "pricing_views_30d" in static.flagged
    timed = check_leakage(X, y, spec=spec, seed=1, time_safe={"pricing_views_30d"})
    assert "pricing_views_30d" not in timed.flagged


def _record_with_leaks(n: int = 12_000, seed: int = 7) -> tuple[pd.DataFrame, np.ndarray]:
    """Six honest views of two latent traits, plus two post-outcome fields that hide each other."""
    rng = np.random.default_rng(seed)
    fit, intent = rng.normal(size=n), rng.normal(size=n)
    y = (rng.random(n) < 1 / (1 + np.exp(-(-2.2 + 0.6 * fit + 0.8 * intent)))).astype(int)
    X = pd.DataFrame(
        {
            "employees": np.exp(3 + fit + rng.normal(0, 0.8, n)).round(),
            "seniority": fit + rng.normal(0, 1.2, n),
            "visits": rng.poisson(np.exp(0.5 + 0.5 * intent)).astype(float),
            "opens": rng.poisson(np.exp(0.3 + 0.4 * intent)).astype(float),
            "downloads": rng.poisson(np.exp(-0.5 + 0.5 * intent)).astype(float),
            "trials": rng.poisson(np.exp(-2.0 + 1.6 * intent)).astype(float),
            "region": rng.choice(["emea", "amer", "apac"], n),
        }
    )
    # a rep's tag and a quality rating, both written once the deal was decided: strong and medium
    X["rep_tag"] = np.where(rng.random(n) < np.where(y == 1, 0.75, 0.15), "hot", "cold")
    X["rating"] = np.clip(np.round(1.0 * y + rng.normal(1.5, 0.8, n)), 0, 4)
    return X, y


def test_two_leaks_that_hide_each_other_are_both_flagged_and_honest_features_are_not() -> None:
    X, y = _record_with_leaks()
    report = check_leakage(X, y, categorical=["region", "rep_tag"])
    assert sorted(report.flagged) == ["rating", "rep_tag"], report.reasons()
    checks = {c.name: c for c in report.checks}
    # each leak alone is weaker than everything else together, the other leak included ...
    from leadops.features.leakage import _Guard

    guard = _Guard(X.reset_index(drop=True), y.astype(np.int8), {"region", "rep_tag"}, LeakageSpec(), 0)
    for leak in ("rep_tag", "rating"):
        everything_else = guard.rest_model("label", [c for c in X.columns if c != leak], guard.y[guard.model_rows])
        assert checks[leak].auc < everything_else, (leak, checks[leak].auc, everything_else)
    # ... so the old rule (every other feature in "the rest") flags neither; with suspects set aside both are
    old_rule = check_leakage(X, y, categorical=["region", "rep_tag"], spec=LeakageSpec(max_suspects=0))
    assert old_rule.flagged == []
    assert {checks[c].test for c in ("rep_tag", "rating")} == {"dominance"}
    assert "leaving out" in report.reasons()["rating"] and "leaving out" in report.reasons()["rep_tag"]


def test_a_field_filled_mostly_for_converts_is_flagged_but_one_missing_by_design_is_not() -> None:
    X, y = _record_with_leaks(seed=8)
    X = X.drop(columns=["rep_tag", "rating"])
    rng = np.random.default_rng(9)
    filled = rng.random(len(y)) < np.where(y == 1, 0.45, 0.15)
    X["last_activity"] = pd.Series(np.where(filled, rng.choice(["call", "email"], len(y)), None), dtype=object)
    # recency is missing exactly when there was no trial: its missingness predicts the label, the record (the
    # trial count) explains it
    has = X["trials"].to_numpy() > 0
    X["days_since_trial"] = np.where(has, rng.integers(0, 30, len(y)).astype(float), np.nan)
    spec = LeakageSpec(missing_floor=0.55)
    report = check_leakage(X, y, categorical=["region", "last_activity"], spec=spec)
    assert report.flagged == ["last_activity"], report.reasons()
    check = next(c for c in report.checks if c.name == "last_activity")
    assert check.test == "filled_after_outcome" and "of converts" in check.reason
    # the figure is the AUC of "is filled" for the label, as scikit-learn computes it
    assert check.figure == pytest.approx(roc_auc_score(y, filled), abs=1e-4)
    assert check.fill_converted == pytest.approx(filled[y == 1].mean(), abs=1e-4)
    assert max(roc_auc_score(y, has), 1 - roc_auc_score(y, has)) >= spec.missing_floor  # the fill test looks
    recency = next(c for c in report.checks if c.name == "days_since_trial")
    assert not recency.flagged and recency.fill_rest_auc is not None and recency.fill_rest_auc > 0.9


def test_single_feature_aucs_match_scikit_learn() -> None:
    X, y = _record_with_leaks(n=4000)
    report = check_leakage(X, y, categorical=["region", "rep_tag"])
    for c in report.checks:
        if c.name in ("employees", "visits", "rating"):
            expected = roc_auc_score(y, X[c.name])
            assert c.auc == pytest.approx(max(expected, 1 - expected), abs=1e-4)


def test_flags_are_structured_for_json() -> None:
    X, y = _synthetic()
    X["stage_code"] = y * 10.0
    report = check_leakage(X, y, categorical=["segment"])
    report.declared = {"notes": "notes reads crm.Notes, declared post_outcome in the mapping: never trained on"}
    flags = {f["feature"]: f for f in report.flags()}
    assert set(flags) == {"stage_code", "notes"}
    assert flags["stage_code"]["test"] == "separation" and flags["stage_code"]["action"] == "excluded"
    assert flags["stage_code"]["figure"] == 1.0 and flags["stage_code"]["against"] == 0.95
    assert flags["notes"]["test"] == "declared" and set(flags["notes"]) == set(flags["stage_code"])


def test_a_kept_flag_says_why_it_was_kept() -> None:
    X, y = _synthetic()
    X["stage_code"] = y * 10.0
    report = check_leakage(X, y, spec=LeakageSpec(action="warn"), categorical=["segment"])
    assert report.kept_flagged == ["stage_code"] and report.excluded == []
    assert report.reasons()["stage_code"].endswith("[kept: leakage.action is warn]")


def test_the_guard_subsamples_deterministically() -> None:
    X, y = _record_with_leaks(n=6000)
    spec = LeakageSpec(max_rows=3000, model_rows=2000)
    a = check_leakage(X, y, categorical=["region", "rep_tag"], spec=spec, seed=4)
    b = check_leakage(X, y, categorical=["region", "rep_tag"], spec=spec, seed=4)
    assert a.rows == 3000 and [c.auc for c in a.checks] == [c.auc for c in b.checks]
    assert a.flagged == b.flagged


def test_declared_post_outcome_columns_map_to_the_features_that_read_them() -> None:
    from leadops.features.leakage import declared_post_outcome
    from leadops.settings.crm import SourceSpec
    from leadops.settings.features import FeaturesSpec

    features = FeaturesSpec.model_validate(
        {
            "definitions": [
                {"name": "tags", "label": "tag", "key": "Tags", "type": "categorical"},
                {"name": "score", "label": "rep score", "key": "RepScore"},
                {"name": "score_sq", "label": "rep score squared", "kind": "derived", "expression": "score * score"},
                {"name": "visits", "label": "visits", "key": "Visits"},
                {"name": "department", "label": "department", "column": "department", "type": "categorical"},
                {"name": "industry", "label": "industry", "source": "account", "column": "industry"},
            ]
        }
    )
    leads = SourceSpec.model_validate(
        {
            "name": "crm",
            "table": "leads",
            "path": "leads.csv",
            "columns": {"LeadId": "lead_id", "Dept": "department"},
            "attributes": "rest",
            "post_outcome": ["Tags", "RepScore", "Dept"],
        }
    )
    accounts = SourceSpec.model_validate({"name": "acc", "table": "accounts", "path": "a.csv", "post_outcome": []})
    declared = declared_post_outcome(features, [leads, accounts])
    assert sorted(declared) == ["department", "score", "score_sq", "tags"]
    routed = SourceSpec.model_validate(  # an opportunity file that also feeds lead attributes through a route
        {
            "name": "opps",
            "table": "activities",
            "path": "o.csv",
            "columns": {"Id": "activity_id", "LeadId": "lead_id", "Created": "occurred_at"},
            "routes": [{"name": "lead", "table": "leads", "columns": {"LeadId": "lead_id"}, "attributes": ["Visits"]}],
            "post_outcome": ["Visits"],
        }
    )
    assert "opps.lead.Visits" in declared_post_outcome(features, [routed])["visits"]
    assert "crm.Tags" in declared["tags"] and "crm.Dept" in declared["department"]
    assert "built on the post-outcome feature(s) score" in declared["score_sq"]


def test_a_version_keeps_the_flags_its_training_recorded() -> None:
    from leadops.modeling.review import recorded_leakage

    assert recorded_leakage({"leakage_flags_used": '["tags"]'}) == {
        "tags": "flagged by the leakage guard when this version was trained"
    }
    assert recorded_leakage({"leakage_flags_used": ["tags"]}).keys() == {"tags"}
    assert recorded_leakage({}) == {} and recorded_leakage({"leakage_flags_used": "not json"}) == {}
