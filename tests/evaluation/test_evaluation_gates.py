"""Gates: config validation, the gate table, and the acceptance scenario (better overall, worse in a group)"""

from __future__ import annotations

import pytest
from evaluation_fixtures import business_kwargs, group_scenario
from pydantic import ValidationError

from leadops.errors import GateFailedError
from leadops.evaluation import EvaluationReport, GatesConfig, check_gates, evaluate
from leadops.evaluation.gates import NO_CHAMPION


def _pair() -> tuple[EvaluationReport, EvaluationReport]:
    sc = group_scenario()
    kw = business_kwargs()
    champion = evaluate(sc.y, sc.champion, groups=sc.groups, **kw)  # type: ignore[arg-type]
    challenger = evaluate(sc.y, sc.challenger, groups=sc.groups, **kw)  # type: ignore[arg-type]
    return challenger, champion


def test_challenger_better_overall_but_worse_for_one_group_is_refused() -> None:
    challenger, champion = _pair()
    # the premise: better overall, on statistics and on the business measure
    assert challenger.auc > champion.auc + 0.02
    assert challenger.captured_at_capacity > champion.captured_at_capacity
    web_new = challenger.groups["lead_source"]["webinar"]["auc"]
    web_old = champion.groups["lead_source"]["webinar"]["auc"]
    assert web_old - web_new > 0.1

    gates = GatesConfig.model_validate(
        {
            "champion": {"max_auc_drop": 0.01},
            "groups": {"columns": ["lead_source"], "max_group_auc_drop": 0.03},
        }
    )
    result = check_gates(challenger, champion, train_rows=50_000, train_conversions=4_000, gates=gates)
    assert result.passed is False
    assert result.failed == ["max_group_auc_drop:lead_source"]
    g = result.gates["max_group_auc_drop:lead_source"]
    assert "lead_source=webinar" in g.detail and g.value == pytest.approx(web_old - web_new)
    assert result.gates["max_auc_drop"].passed is True
    with pytest.raises(GateFailedError, match="max_group_auc_drop:lead_source"):
        result.raise_if_failed("challenger")


def test_small_groups_do_not_trip_the_group_gate() -> None:
    challenger, champion = _pair()
    part = challenger.groups["lead_source"]["partner"]
    assert part["small"] is True
    assert champion.groups["lead_source"]["partner"]["auc"] - part["auc"] > 0.3  # inverted, yet small
    g = check_gates(challenger, champion, 50_000, 4_000, GatesConfig()).gates["max_group_auc_drop:lead_source"]
    assert "partner" not in g.detail


def test_the_same_challenger_passes_when_webinar_is_not_gated() -> None:
    challenger, champion = _pair()
    gates = GatesConfig.model_validate({"groups": {"columns": ["region"]}})
    result = check_gates(challenger, champion, 50_000, 4_000, gates)
    assert result.passed, result.to_dict()


def test_gate_table_reports_value_bound_and_detail() -> None:
    challenger, champion = _pair()
    gates = GatesConfig.model_validate(
        {
            "absolute": {"min_auc": 0.99, "min_captured_at_capacity": 0.05, "max_brier": 0.5},
            "calibration": {"max_ece": 0.5, "max_calibration_in_the_large": 0.0001},
            "training": {"min_train_rows": 1000, "min_train_conversions": 120},
            "groups": {"columns": ["region"]},
        }
    )
    res = check_gates(challenger, champion, train_rows=999, train_conversions=500, gates=gates)
    d = res.to_dict()
    assert d["passed"] is False
    assert d["gates"]["min_auc"] == {
        "passed": False,
        "value": pytest.approx(challenger.auc),
        "bound": 0.99,
        "detail": f"auc {challenger.auc:.4f} not >= 0.9900",
    }
    assert d["gates"]["min_captured_at_capacity"]["passed"] is True
    assert d["gates"]["max_brier"]["passed"] is True
    assert d["gates"]["max_ece"]["passed"] is True
    assert d["gates"]["max_calibration_in_the_large"]["passed"] is False
    assert d["gates"]["min_train_rows"]["passed"] is False and d["gates"]["min_train_rows"]["value"] == 999
    assert d["gates"]["min_train_conversions"]["passed"] is True
    assert set(res.failed) == {"min_auc", "max_calibration_in_the_large", "min_train_rows"}


def test_relative_gates_pass_with_no_champion() -> None:
    challenger, _ = _pair()
    res = check_gates(challenger, None, 50_000, 4_000, GatesConfig.model_validate({"groups": {"columns": ["x"]}}))
    for name in ("max_auc_drop", "max_captured_at_capacity_drop", "max_group_auc_drop:x"):
        assert res.gates[name].passed and res.gates[name].detail == NO_CHAMPION
    assert res.passed


def test_relative_gates_fail_with_the_reason_when_a_champion_exists_but_was_not_measured() -> None:
    challenger, _ = _pair()
    why = "champion v3 could not be scored on the same test leads: its bundle failed its hash check"
    gates = GatesConfig.model_validate({"groups": {"columns": ["x"]}})
    res = check_gates(challenger, None, 50_000, 4_000, gates, champion_problem=why)
    for name in ("max_auc_drop", "max_captured_at_capacity_drop", "max_group_auc_drop:x"):
        assert not res.gates[name].passed and res.gates[name].detail == why
    assert not res.passed


def test_overall_drop_beyond_the_bound_fails() -> None:
    challenger, champion = _pair()
    res = check_gates(champion, challenger, 50_000, 4_000, GatesConfig())  # swap: the worse model challenges
    assert res.gates["max_auc_drop"].passed is False
    assert res.gates["max_auc_drop"].value == pytest.approx(challenger.auc - champion.auc)


def test_a_gated_group_column_that_was_not_evaluated_fails() -> None:
    challenger, champion = _pair()
    res = check_gates(
        challenger, champion, 50_000, 4_000, GatesConfig.model_validate({"groups": {"columns": ["industry"]}})
    )
    assert res.gates["max_group_auc_drop:industry"].passed is False
    assert "not evaluated" in res.gates["max_group_auc_drop:industry"].detail


def test_calibration_gate_fails_for_a_score_without_probabilities() -> None:
    sc = group_scenario(n=3000)
    rep = evaluate(sc.y, sc.champion * 100, **business_kwargs(mql_threshold=50))  # type: ignore[arg-type]
    res = check_gates(rep, None, 5000, 500, GatesConfig.model_validate({"calibration": {"max_ece": 0.1}}))
    assert res.gates["max_ece"].passed is False and "not available" in res.gates["max_ece"].detail


def test_gate_config_forbids_unknown_keys_and_bad_bounds() -> None:
    with pytest.raises(ValidationError, match="max_auc_dorp"):
        GatesConfig.model_validate({"champion": {"max_auc_dorp": 0.01}})
    with pytest.raises(ValidationError):
        GatesConfig.model_validate({"absolute": {"min_auc": 1.5}})
    with pytest.raises(ValidationError):
        GatesConfig.model_validate({"colour": "red"})
    assert GatesConfig().training.min_train_rows == 1000
    assert GatesConfig().training.min_train_conversions == 120


def test_no_leakage_fails_when_the_model_uses_a_flagged_feature_and_says_how_to_override() -> None:
    from leadops.evaluation.gates import LeakageEvidence

    challenger, _ = _pair()
    kept = LeakageEvidence(used={"tags": "tags alone ranks outcomes better ..."}, excluded=("lead_quality",))
    res = check_gates(challenger, None, 50_000, 4_000, GatesConfig(), kept)
    gate = res.gates["no_leakage"]
    assert not res.passed and res.failed == ["no_leakage"] and gate.value == 1.0
    assert "tags" in gate.detail and "--force --reason" in gate.detail
    with pytest.raises(GateFailedError, match="no_leakage"):
        res.raise_if_failed("v3")
    clean = check_gates(challenger, None, 50_000, 4_000, GatesConfig(), LeakageEvidence(excluded=("tags",)))
    assert clean.passed and "tags left out of training" in clean.gates["no_leakage"].detail
    skipped = check_gates(challenger, None, 50_000, 4_000, GatesConfig(), LeakageEvidence(skipped="too few rows"))
    assert skipped.gates["no_leakage"].passed and "did not run" in skipped.gates["no_leakage"].detail
