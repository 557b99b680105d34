"""`evaluate` in one call: every key present, JSON-able, consistent with the parts it is made of."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from evaluation_fixtures import business_kwargs, group_scenario
from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score

from leadops.evaluation import (
    ChampionScores,
    EvaluationError,
    EvaluationReport,
    UndefinedMetricError,
    at_capacity,
    evaluate,
)

REQUIRED = {
    "auc", "pr_auc", "brier", "log_loss", "ece", "reliability", "gains", "lift", "captured_at_capacity",
    "revenue_at_capacity", "mql", "expected_value", "best_k", "groups", "oracle", "stability",
}  # fmt: skip


def _full_report() -> tuple[EvaluationReport, object]:
    sc = group_scenario()
    grade = pd.cut(sc.challenger, [0, 0.2, 0.5, 1], labels=["C", "B", "A"], include_lowest=True)
    champ_grade = np.where(sc.champion > 0.5, "A", np.where(sc.champion > 0.2, "B", "C"))
    rep = evaluate(
        sc.y,
        sc.challenger,
        grade=grade,
        deal_value=np.where(sc.y == 1, 2000.0, np.nan),
        groups=sc.groups,
        oracle=sc.true_p,
        champion=ChampionScores(score=sc.champion, grade=champ_grade, mql_threshold=0.5),
        **business_kwargs(),  # type: ignore[arg-type]
    )
    return rep, sc


def test_evaluate_has_every_key_and_is_json() -> None:
    rep, sc = _full_report()
    d = rep.to_dict()
    assert set(d) >= REQUIRED
    text = json.dumps(d, allow_nan=False)
    back = EvaluationReport.from_dict(json.loads(text))
    assert back.to_dict() == d
    assert d["auc"] == pytest.approx(roc_auc_score(sc.y, sc.challenger))
    assert d["pr_auc"] == pytest.approx(average_precision_score(sc.y, sc.challenger))
    assert d["brier"] == pytest.approx(brier_score_loss(sc.y, sc.challenger))
    assert d["captured_at_capacity"] == pytest.approx(at_capacity(sc.y, sc.challenger, 500).captured)
    assert d["revenue_at_capacity"] == pytest.approx(2000 * at_capacity(sc.y, sc.challenger, 500).conversions)
    assert d["mql"]["n_mql"] == int((sc.challenger >= 0.5).sum())
    assert set(d["groups"]) == {"lead_source", "region"}
    assert d["stability"]["migration"] is not None
    assert sum(map(sum, d["stability"]["migration"])) == len(sc.y)
    assert [g["grade"] for g in d["grades"]] == ["C", "B", "A"]
    assert sum(g["n"] for g in d["grades"]) == len(sc.y)
    assert d["oracle"]["lift_ratio"] is not None
    assert len(d["gains"]) == 10 and d["lift"]["top_decile"] == d["gains"][0]["lift"]


def test_from_dict_refuses_unknown_keys() -> None:
    rep, _ = _full_report()
    d = rep.to_dict()
    d["acu"] = 0.9
    with pytest.raises(EvaluationError, match="unexpected keys \\['acu'\\]"):
        EvaluationReport.from_dict(d)


def test_a_points_score_is_ranked_but_has_no_probability_metrics() -> None:
    sc = group_scenario(n=3000)
    points = np.round(sc.champion * 100)
    rep = evaluate(sc.y, points, **business_kwargs(mql_threshold=50))  # type: ignore[arg-type]
    assert rep.is_probability is False
    assert rep.brier is None and rep.ece is None and rep.reliability is None
    assert rep.auc == pytest.approx(roc_auc_score(sc.y, points))
    assert rep.mql is not None and rep.mql["n_mql"] == int((points >= 50).sum())


def test_a_separate_ranking_score_drives_the_ranking_figures() -> None:
    sc = group_scenario(n=3000)
    score = -sc.challenger  # deliberately reversed, to prove which one is used
    rep = evaluate(sc.y, sc.challenger, score=score, **business_kwargs())  # type: ignore[arg-type]
    assert rep.auc == pytest.approx(roc_auc_score(sc.y, score))
    assert rep.brier == pytest.approx(brier_score_loss(sc.y, sc.challenger))
    assert rep.settings["ranked_by"] == "score"


def test_evaluate_refuses_one_class_and_bad_inputs() -> None:
    with pytest.raises(UndefinedMetricError, match="evaluate: undefined"):
        evaluate([0, 0, 0], [0.1, 0.2, 0.3], **business_kwargs())  # type: ignore[arg-type]
    with pytest.raises(EvaluationError, match="is_probability=True"):
        evaluate([0, 1], [3.0, 5.0], is_probability=True, **business_kwargs())  # type: ignore[arg-type]
    with pytest.raises(EvaluationError, match="capacity_k"):
        evaluate([0, 1], [0.3, 0.5], **business_kwargs(capacity_k=0))  # type: ignore[arg-type]


def test_evaluate_runs_fast_on_a_large_holdout() -> None:
    import time

    rng = np.random.default_rng(0)
    n = 200_000
    p = rng.random(n)
    y = (rng.random(n) < p * 0.3).astype(int)
    groups = pd.DataFrame({"src": rng.choice(list("abcdefgh"), n), "size": rng.choice(list("SML"), n)})
    t0 = time.perf_counter()
    rep = evaluate(y, p, groups=groups, oracle=p, **business_kwargs(capacity_k=5000))  # type: ignore[arg-type]
    assert time.perf_counter() - t0 < 8.0  # ~0.7 s measured; catches anything quadratic
    assert rep.n == n
