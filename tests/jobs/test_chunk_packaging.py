"""One chunk in, Arrow rows out: the column-wise packing keeps ids, NULLs and reasons as the row-wise one did."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
from jobs_fakes import FakeScorer, load_fake, write_fake_artifact

from leadops.jobs.model import model_ref
from leadops.jobs.scoring import STAGE_SCHEMA, explain_rows, score_chunk, shadow_chunk, with_run_id
from leadops.scorers import build_scorer


def _features(n: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(
        {
            "page_views": rng.poisson(3, n).astype(float),
            "pricing_views": rng.poisson(1, n).astype(float),
            "email_clicks": rng.poisson(2, n).astype(float),
            "days_since_created": rng.integers(0, 200, n).astype(float),
            "job_level": pd.Series(rng.choice(["vp", "manager", "student", None], n), dtype=object),
        }
    )
    X.index = pd.Index([f"L{i:05d}" for i in range(n)], name="lead_id")
    return X


def _row_wise_json(reasons: Any) -> str:
    cleaned = [
        {
            "feature": str(r["feature"]),
            "contribution": None if not math.isfinite(r["contribution"]) else round(float(r["contribution"]), 6),
            "points": None if not math.isfinite(r["points"]) else round(float(r["points"]), 2),
            "text": str(r["text"]),
        }
        for r in reasons
    ]
    return json.dumps(cleaned, separators=(",", ":"), ensure_ascii=False)


def test_score_chunk_packs_ids_scores_grades_and_nulls_column_wise(tmp_path: Path) -> None:
    ref = model_ref(1, "fake", write_fake_artifact(tmp_path / "m"), role="champion", loader="jobs_fakes:load_fake")
    model: FakeScorer = load_fake(ref.path)
    X = _features(500)
    table = score_chunk(model, ref, X)
    assert table.schema == STAGE_SCHEMA
    want = model.score(X)
    assert table.column("lead_id").to_pylist() == list(X.index)
    np.testing.assert_array_equal(table.column("score").to_numpy(), want["score"].to_numpy())
    assert table.column("grade").to_pylist() == want["grade"].tolist()
    assert table.column("fit_score").null_count == 500 and table.column("reason_text").null_count == 500
    staged = with_run_id(table, "run-1")
    assert staged.column("run_id").to_pylist() == ["run-1"] * 500
    shadow = shadow_chunk(model, ref, X)
    assert shadow.column("model_version").to_pylist() == [1] * 500
    empty = score_chunk(model, ref, X.iloc[:0])
    assert empty.num_rows == 0 and empty.schema == STAGE_SCHEMA


def test_integer_lead_ids_are_written_as_their_str(tmp_path: Path) -> None:
    ref = model_ref(1, "fake", write_fake_artifact(tmp_path / "m"), role="champion", loader="jobs_fakes:load_fake")
    X = _features(5).reset_index(drop=True)
    X.index = pd.Index([10, 11, 12, 13, 14])
    assert score_chunk(load_fake(ref.path), ref, X).column("lead_id").to_pylist() == ["10", "11", "12", "13", "14"]


def test_scorer_reasons_json_fast_path_equals_the_row_wise_encoding(tmp_path: Path) -> None:
    X = _features(2000, seed=1)
    y = (np.random.default_rng(2).random(len(X)) < 0.2 + 0.1 * (X["pricing_views"] > 1)).astype(int)
    scorer = build_scorer({"type": "lightgbm", "n_estimators": 20, "num_threads": 1}).fit(X, y)
    art = scorer.save(tmp_path / "model")
    ref = model_ref(1, "lightgbm", art, role="champion")
    fast = explain_rows(scorer, ref, X.iloc[:300], 3)
    slow = scorer.explain(X.iloc[:300], top_n=3)
    assert fast.index.equals(X.index[:300])
    assert fast["reasons"].tolist() == [_row_wise_json(r) for r in slow["reasons"]]
    assert fast["reason_text"].tolist() == slow["reason_text"].tolist()
    table = score_chunk(scorer, ref, X.iloc[:300], with_reasons=True)
    assert table.column("reasons").to_pylist() == fast["reasons"].tolist()
    assert pa.types.is_string(table.schema.field("reason_text").type)
