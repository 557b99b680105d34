"""Contract checks run against every registered scorer type (River-style): shapes, ranges, feature checks, artifacts.

The cases come from the scorer registry (scorers/base.py `_CLASSES`), not from a list kept here: a scorer
registered without a fixture spec in scorer_fixtures.ALL_SPECS fails the suite by name.
"""

from __future__ import annotations

import pickle
import re
import subprocess
import sys
import textwrap
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from scorer_fixtures import ALL_SPECS

from leadops.errors import ScorerError
from leadops.scorers import SCORE_COLUMNS, Scorer, build_scorer, load_scorer
from leadops.scorers.base import _CLASSES

ROOT = Path(__file__).resolve().parents[2]
NO_FIXTURE = "no-fixture:"


def contract_cases(registered: Iterable[str], specs: dict[str, dict[str, Any]]) -> list[Any]:
    """One case per fixture spec of every registered scorer type; a type without one is a case that fails."""
    cases: list[Any] = []
    for scorer_type in sorted(registered):
        names = sorted(n for n, spec in specs.items() if spec["type"] == scorer_type)
        cases += [pytest.param(n, id=n) for n in names] or [pytest.param(NO_FIXTURE + scorer_type, id=scorer_type)]
    return cases


@pytest.fixture(scope="module", params=contract_cases(_CLASSES, ALL_SPECS))
def fitted(request: pytest.FixtureRequest, leads: tuple[pd.DataFrame, pd.Series]) -> tuple[str, Scorer]:
    name = str(request.param)
    if name.startswith(NO_FIXTURE):
        pytest.fail(
            f"scorer type {name[len(NO_FIXTURE) :]!r} is registered in scorers/base.py but has no spec in "
            "tests/scorers/scorer_fixtures.py ALL_SPECS: add one so the contract checks run on it"
        )
    X, y = leads
    return name, build_scorer(ALL_SPECS[name]).fit(X, y)


def test_a_registered_scorer_without_a_fixture_becomes_a_failing_case() -> None:
    cases = contract_cases([*_CLASSES, "brand_new"], ALL_SPECS)
    ids = [c.id for c in cases]
    assert "brand_new" in ids and cases[ids.index("brand_new")].values == (NO_FIXTURE + "brand_new",)
    covered = {ALL_SPECS[c.values[0]]["type"] for c in cases if not str(c.values[0]).startswith(NO_FIXTURE)}
    assert covered == set(_CLASSES), "every registered scorer type has at least one fixture spec"
    assert {spec["type"] for spec in ALL_SPECS.values()} <= set(_CLASSES), "no fixture for an unknown type"


def test_score_frame_is_indexed_like_x_with_scores_in_0_100(
    fitted: tuple[str, Scorer], leads: tuple[pd.DataFrame, pd.Series]
) -> None:
    _, scorer = fitted
    X, _ = leads
    out = scorer.score(X)
    assert list(out.columns) == SCORE_COLUMNS
    assert out.index.equals(X.index)
    assert out["score"].between(0, 100).all()
    assert out["score"].nunique() > 1
    assert out["grade"].map(type).eq(str).all()
    prob = out["probability"]
    assert prob.isna().all() or prob.between(0, 1).all()
    assert np.isfinite(out["raw"]).all()


def test_explain_gives_signed_reasons_in_score_points_never_zero(
    fitted: tuple[str, Scorer], leads: tuple[pd.DataFrame, pd.Series]
) -> None:
    _, scorer = fitted
    X = leads[0].iloc[:200]
    ex = scorer.explain(X, top_n=2)
    assert list(ex.columns) == ["reasons", "reason_text"]
    assert ex.index.equals(X.index)
    n_reasons = ex["reasons"].map(len)
    assert (n_reasons <= 4).all() and n_reasons.sum() > 0
    for reasons, text in zip(ex["reasons"], ex["reason_text"], strict=True):
        assert text == "; ".join(r["text"] for r in reasons)
        pos = [r["points"] for r in reasons if r["points"] > 0]
        neg = [r["points"] for r in reasons if r["points"] < 0]
        assert len(pos) <= 2 and len(neg) <= 2
        assert [r["points"] for r in reasons] == sorted(pos, reverse=True) + sorted(neg)
        for r in reasons:
            assert set(r) == {"feature", "contribution", "points", "text"}
            assert abs(r["points"]) >= 0.05 and r["contribution"] != 0, "no zero contribution is a reason"
            assert np.sign(r["points"]) == np.sign(r["contribution"]) or scorer.scorer_type in {"blend", "matrix"}
            assert re.search(r" \([+-]\d+(\.\d)? points?\)$", r["text"]), r["text"]
            assert ("+" if r["points"] > 0 else "-") in r["text"]
            assert not re.search(r"\bis (1|0|1\.0|0\.0|True|False|unknown|nan)\b", r["text"]), r["text"]


def test_explain_scores_points_on_the_leads_own_scale(
    fitted: tuple[str, Scorer], leads: tuple[pd.DataFrame, pd.Series]
) -> None:
    _, scorer = fitted
    X = leads[0].iloc[:300]
    ex = scorer.explain(X, top_n=50)
    scores = scorer.score(X)["score"]
    for reasons, score in zip(ex["reasons"], scores, strict=True):
        total = sum(r["points"] for r in reasons)
        assert -100 - 1e-9 <= total <= 100 + 1e-9
        assert all(abs(r["points"]) <= 100 + 1e-9 for r in reasons)
        if scorer.scorer_type in {"lightgbm", "scorecard", "points", "engagement"} and reasons:
            assert abs(total) <= max(score, 100 - score) + 1e-6, "a lead's points add up to at most its distance"


def test_missing_or_extra_columns_raise_scorer_error_naming_them(
    fitted: tuple[str, Scorer], leads: tuple[pd.DataFrame, pd.Series]
) -> None:
    _, scorer = fitted
    X = leads[0].iloc[:10]
    with pytest.raises(ScorerError, match=r"missing \['employees'\].*expected"):
        scorer.score(X.drop(columns=["employees"]))
    with pytest.raises(ScorerError, match=r"unexpected \['surprise'\]"):
        scorer.explain(X.assign(surprise=1))
    shuffled = X[list(reversed(X.columns))]
    pd.testing.assert_frame_equal(scorer.score(shuffled), scorer.score(X))


def test_unfitted_scorer_refuses_to_score(leads: tuple[pd.DataFrame, pd.Series]) -> None:
    for spec in ALL_SPECS.values():
        with pytest.raises(ScorerError, match="not fitted"):
            build_scorer(spec).score(leads[0])


_FRESH = textwrap.dedent(
    """
    import sys

    def refuse(event, args):
        if event.startswith("pickle."):
            raise RuntimeError("pickle used while loading: " + event)

    sys.addaudithook(refuse)
    import pandas as pd
    from leadops.scorers import load_scorer

    scorer = load_scorer(sys.argv[1])
    X = pd.read_parquet(sys.argv[2])
    scorer.score(X).join(scorer.explain_json(X)).to_parquet(sys.argv[3])
    """
)


def test_saved_artifact_scores_identically_in_a_fresh_process(
    fitted: tuple[str, Scorer], leads: tuple[pd.DataFrame, pd.Series], tmp_path: Path
) -> None:
    _, scorer = fitted
    X = leads[0].iloc[:500]
    art = scorer.save(tmp_path / "model")
    X.to_parquet(tmp_path / "X.parquet")
    proc = subprocess.run(
        [sys.executable, "-c", _FRESH, str(art), str(tmp_path / "X.parquet"), str(tmp_path / "out.parquet")],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    got = pd.read_parquet(tmp_path / "out.parquet")
    want = scorer.score(X)
    np.testing.assert_array_equal(got["score"].to_numpy(), want["score"].to_numpy())
    np.testing.assert_array_equal(got["raw"].to_numpy(), want["raw"].to_numpy())
    np.testing.assert_array_equal(got["probability"].to_numpy(), want["probability"].to_numpy())
    assert got["grade"].tolist() == want["grade"].tolist()
    assert got.index.tolist() == want.index.tolist()
    explained = scorer.explain_json(X)
    assert got["reasons"].tolist() == explained["reasons"].tolist()
    assert got["reason_text"].tolist() == explained["reason_text"].tolist()


def test_load_executes_no_pickle(
    fitted: tuple[str, Scorer], leads: tuple[pd.DataFrame, pd.Series], tmp_path: Path, monkeypatch: Any
) -> None:
    _, scorer = fitted
    art = scorer.save(tmp_path / "model")

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("pickle used on the load path")

    monkeypatch.setattr(pickle, "load", refuse)
    monkeypatch.setattr(pickle, "loads", refuse)
    monkeypatch.setattr(pickle, "Unpickler", refuse)
    import joblib

    monkeypatch.setattr(joblib, "load", refuse)
    loaded = load_scorer(art)
    X = leads[0].iloc[:50]
    pd.testing.assert_frame_equal(loaded.score(X), scorer.score(X))
    pd.testing.assert_frame_equal(loaded.explain(X), scorer.explain(X))
    assert not any(p.suffix in {".pkl", ".pickle", ".joblib"} for p in art.rglob("*"))


def test_tampered_artifact_is_refused(fitted: tuple[str, Scorer], tmp_path: Path) -> None:
    _, scorer = fitted
    art = scorer.save(tmp_path / "model")
    state = art / "state.json"
    state.write_text(state.read_text().replace("\n", "\n "), encoding="utf-8")
    with pytest.raises(ScorerError, match=r"state\.json failed its hash check"):
        load_scorer(art)
    (art / "state.json").unlink()
    with pytest.raises(ScorerError, match="missing"):
        load_scorer(art)


def test_unlisted_file_and_save_over_existing_are_refused(fitted: tuple[str, Scorer], tmp_path: Path) -> None:
    _, scorer = fitted
    art = scorer.save(tmp_path / "model")
    with pytest.raises(ScorerError, match="not empty"):
        scorer.save(art)
    scorer.save(art, overwrite=True)
    (art / "evil.pkl").write_bytes(b"x")
    with pytest.raises(ScorerError, match="not listed"):
        load_scorer(art)


def test_manifest_lists_type_features_dtypes_version_and_hashes(
    fitted: tuple[str, Scorer], leads: tuple[pd.DataFrame, pd.Series], tmp_path: Path
) -> None:
    import hashlib
    import json

    name, scorer = fitted
    art = scorer.save(tmp_path / "model")
    manifest = json.loads((art / "manifest.json").read_text())
    assert manifest["scorer_type"] == ALL_SPECS[name]["type"]
    assert manifest["feature_names"] == list(leads[0].columns)
    assert manifest["feature_dtypes"]["employees"] == str(leads[0]["employees"].dtype)
    assert manifest["leadops_version"]
    assert {"spec.yaml", "state.json"} <= set(manifest["files"])
    for rel, digest in manifest["files"].items():
        assert hashlib.sha256((art / rel).read_bytes()).hexdigest() == digest
