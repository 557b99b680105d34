"""Grade migration, MQL drops/adds and top-K overlap against hand counts."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import spearmanr

from leadops.evaluation import ChampionScores, EvaluationError, migration_matrix, stability
from leadops.evaluation.champion_stability import migration_frame


def test_migration_matrix_counts_by_hand() -> None:
    old = ["A", "A", "B", "B", "B", "C"]
    new = ["A", "B", "B", "A", "C", "C"]
    m = migration_matrix(old, new)
    assert list(m.index) == ["A", "B", "C"] and list(m.columns) == ["A", "B", "C"]
    assert m.to_numpy().tolist() == [[1, 1, 0], [1, 1, 1], [0, 0, 1]]
    assert m.to_numpy().sum() == 6


def test_migration_matrix_keeps_an_ordered_categorical_order_and_unused_grades() -> None:
    cat = pd.CategoricalDtype(["hot", "warm", "cold"], ordered=True)
    old = pd.Series(["cold", "warm", "warm"], dtype=cat)
    new = pd.Series(["warm", "warm", "cold"], dtype=cat)
    m = migration_matrix(old, new)
    assert list(m.index) == ["hot", "warm", "cold"]
    assert m.loc["warm", "cold"] == 1 and m.loc["cold", "warm"] == 1 and m.loc["hot"].sum() == 0


def test_migration_matrix_refuses_grades_outside_the_given_order() -> None:
    with pytest.raises(EvaluationError, match="also \\['Z'\\]"):
        migration_matrix(["A", "Z"], ["A", "A"], order=["A", "B"])


def test_mql_drops_and_adds_share_of_todays_mqls() -> None:
    champ = ChampionScores(score=[0.9, 0.8, 0.7, 0.2, 0.1], grade=["A", "A", "B", "C", "C"], mql_threshold=0.5)
    new = [0.9, 0.3, 0.7, 0.6, 0.65]
    st = stability(champ, new, challenger_grade=["A", "B", "B", "B", "B"], challenger_mql_threshold=0.5, capacity_k=2)
    mql = st["mql"]
    assert mql["champion_mqls"] == 3 and mql["challenger_mqls"] == 4
    assert mql["dropped"] == 1 and mql["added"] == 2 and mql["kept"] == 2
    assert mql["dropped_share"] == pytest.approx(1 / 3) and mql["added_share"] == pytest.approx(2 / 3)
    assert st["share_same_grade"] == pytest.approx(2 / 5)
    # champion's top 2 = rows 0, 1; challenger's = rows 0, 2 -> half overlap
    assert st["top_k_overlap"] == pytest.approx(0.5)
    frame = migration_frame(st)
    assert frame is not None and frame.loc["C", "B"] == 2 and frame.loc["A", "A"] == 1


def test_spearman_matches_scipy() -> None:
    rng = np.random.default_rng(0)
    a = np.round(rng.random(500), 1)
    b = a + rng.normal(0, 0.3, 500)
    st = stability(ChampionScores(score=a), b)
    assert st["spearman"] == pytest.approx(spearmanr(a, b).statistic, abs=1e-12)
    assert st["migration"] is None and st["mql"] is None


def test_stability_refuses_champion_scores_of_another_length() -> None:
    with pytest.raises(EvaluationError, match=r"champion.score: expected 3 values"):
        stability(ChampionScores(score=[0.1, 0.2]), [0.1, 0.2, 0.3])
