"""A model is handed the same row on every path: training, the nightly job, comparisons and the single lead."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
from bundle_fixtures import Trained

from leadops.jobs.inputs import bundle_sources
from leadops.jobs.model import model_ref
from leadops.jobs.scoring import model_matrix, score_chunk
from leadops.settings.features import OTHER, AttributeFeature


def assert_same_rows(got: pd.DataFrame, expected: pd.DataFrame) -> None:
    """Column by column, to the bit, whatever the dtype spelling (NaN equals NaN)."""
    assert list(got.columns) == list(expected.columns)
    pd.testing.assert_frame_equal(
        got.reset_index(drop=True), expected.reset_index(drop=True), check_dtype=False, check_exact=True
    )


def _records(world: Any) -> tuple[dict[str, Any], dict[str, Any], dict[str, list[dict[str, Any]]]]:
    leads = {r["lead_id"]: r for r in world.leads.to_pylist()}
    accounts = {r["account_id"]: r for r in world.accounts.to_pylist()}
    acts: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for a in world.activities.select(["lead_id", "occurred_at", "activity_type", "value"]).to_pylist():
        acts[a["lead_id"]].append(a)
    return leads, accounts, acts


def test_training_row_equals_the_nightly_job_row_and_the_single_lead_row(trained: Trained) -> None:
    training, bundle, wh = trained.training, trained.bundle, trained.warehouse
    ids, times, X_test = training.ids["test"], training.times["test"], training.X_test
    assert len(X_test) > 200 and times.nunique() >= 1
    ref = model_ref(1, "lightgbm", bundle.path, role="champion")
    sources, _, problems = bundle_sources([ref], wh)
    assert not problems
    leads, accounts, acts = _records(trained.world)
    online_checked = 0
    for as_of, positions in times.groupby(times).groups.items():
        rows = X_test.loc[positions]
        lead_ids = ids.loc[positions].tolist()
        nightly = sources[1].build(as_of.to_pydatetime(), lead_ids)  # what the job builds for these leads tonight
        assert_same_rows(model_matrix(ref, nightly), rows)
        staged = score_chunk(bundle.scorer, ref, nightly).to_pandas()
        np.testing.assert_array_equal(staged["score"], bundle.scorer.score(rows)["score"])
        for lead_id, (_, row) in list(zip(lead_ids, rows.iterrows(), strict=True))[:40]:
            lead = leads[lead_id]
            single = bundle.online_row(lead, accounts.get(lead["account_id"]), acts[lead_id], as_of.to_pydatetime())
            assert_same_rows(single, row.to_frame().T)
            online_checked += 1
    assert online_checked >= 40
    assert_same_rows(bundle.rows_at(wh, ids, times), X_test)


def test_max_categories_below_the_vocabulary_hands_the_model_exactly_its_vocabulary(trained: Trained) -> None:
    training, bundle, wh = trained.training, trained.bundle, trained.warehouse
    raw = set(trained.world.leads["lead_source"].to_pylist())
    source = next(f for f in bundle.spec.of_kind(AttributeFeature) if f.name == "lead_source")
    assert source.categories is not None and len(source.categories) == 3 < len(raw)
    top = pd.Series(training.X_train["lead_source"]).value_counts()
    assert set(source.categories) == set(top.drop(OTHER, errors="ignore").index[:3])
    vocabulary = {*source.categories, OTHER}
    assert set(training.X_train["lead_source"].dropna()) == vocabulary
    tonight = bundle.rows(wh, trained.world.leads["lead_id"].to_pylist(), trained.world.end)
    assert set(tonight["lead_source"].dropna()) == vocabulary  # never a raw unseen value
    assert tonight["lead_source"].isin(list(raw - set(source.categories))).sum() == 0


def test_a_value_new_to_the_crm_reaches_the_model_as_other_on_both_paths(trained: Trained) -> None:
    bundle = trained.bundle
    lead = {"lead_id": "N1", "lead_source": "tiktok", "job_level": "wizard", "created_at": trained.world.end}
    single = bundle.online_row(lead, None, [], trained.world.end)
    assert single.loc["N1", "lead_source"] == OTHER
    learned = next(f for f in bundle.spec.of_kind(AttributeFeature) if f.name == "job_level").categories
    assert single.loc["N1", "job_level"] == (OTHER if "wizard" not in (learned or []) else "wizard")
    wh = trained.warehouse
    wh.insert(
        "leads",
        pa.table(
            {
                "lead_id": ["N1"],
                "created_at": pa.array([trained.world.end], pa.timestamp("us")),
                "lead_source": ["tiktok"],
                "job_level": ["wizard"],
            }
        ),
    )
    nightly = bundle.rows(wh, ["N1"], trained.world.end)
    assert_same_rows(nightly, single)


def test_rows_without_snapshot_times_are_the_rows_as_of_now_in_the_given_order(trained: Trained) -> None:
    import pytest

    from leadops.errors import FeatureError

    bundle, wh = trained.bundle, trained.warehouse
    ids = pd.Series(["L0000003", "L0000001", "L0000003"])
    flat = bundle.rows_at(wh, ids, pd.Series([pd.NaT] * 3))
    now = bundle.rows(wh, ["L0000003", "L0000001"], pd.Timestamp.now("UTC").tz_localize(None).to_pydatetime())
    assert_same_rows(
        flat.drop(columns=["age", "opens_per_day", "last_seen", "heat", "opens_30d"]),
        now.loc[ids.tolist()].drop(columns=["age", "opens_per_day", "last_seen", "heat", "opens_30d"]),
    )
    with pytest.raises(FeatureError, match="some snapshot times are missing"):
        bundle.rows_at(wh, ids, pd.Series([pd.Timestamp("2025-05-01"), pd.NaT, pd.NaT]))
