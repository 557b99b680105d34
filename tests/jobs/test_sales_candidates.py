"""The Sales leads' reasons come from the rows the scoring pass kept, equal to a fresh build, with a fallback."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pandas as pd
import pyarrow as pa
from jobs_fakes import AS_OF, make_settings

from leadops.jobs import candidates, score_job
from leadops.jobs.candidates import SalesCandidates
from leadops.jobs.model import load_model
from leadops.jobs.scoring import explain_rows

REASONS = "SELECT lead_id, reasons, reason_text FROM lead_scores WHERE run_id = ? AND route = 'sales' ORDER BY 1"


def _settings(tmp_path):
    return make_settings(tmp_path, scoring={"chunk_size": 70}, business={"mql_threshold": 40})


def _fresh_reasons(wh, feats, models, run_id):
    """Reference: the Sales leads' reasons from a feature build of exactly those leads (what the job did before)."""
    ids = [r[0] for r in wh.rows(REASONS, [run_id])]
    ref = models.champion()
    explained = explain_rows(load_model(ref), ref, feats.build(AS_OF, ids), 3)
    return [(i, explained.loc[i, "reasons"], explained.loc[i, "reason_text"]) for i in ids]


def test_sales_reasons_use_the_scored_rows_without_a_second_feature_build(wh, tmp_path, feats, models):
    result = score_job(_settings(tmp_path), wh, as_of=AS_OF, models=models, features=feats)
    chunks = -(-result.leads_scored // 70)
    assert result.routed_sales > 0
    assert feats.calls == chunks, "one build per chunk, none for the reasons"
    got = wh.rows(REASONS, [result.run_id])
    assert all(r[2] for r in got)
    assert got == _fresh_reasons(wh, feats, models, result.run_id)


def test_sales_leads_the_cache_missed_are_built_again_with_the_same_reasons(wh, tmp_path, feats, models, monkeypatch):
    monkeypatch.setattr("leadops.jobs.run.candidate_limit", lambda capacity: 1)
    result = score_job(_settings(tmp_path), wh, as_of=AS_OF, models=models, features=feats)
    chunks = -(-result.leads_scored // 70)
    assert result.routed_sales > 1
    assert feats.calls == chunks + 1, "the Sales leads outside the one kept were built in one more batch"
    got = wh.rows(REASONS, [result.run_id])
    assert all(r[2] for r in got)
    assert got == _fresh_reasons(wh, feats, models, result.run_id)


def test_leads_already_with_sales_are_kept_whatever_their_score(wh, tmp_path, feats, models, monkeypatch):
    settings = _settings(tmp_path)
    first = score_job(settings, wh, as_of=AS_OF, models=models, features=feats)
    queued = {r[0] for r in wh.rows("SELECT lead_id FROM sales_queue WHERE run_id = ?", [first.run_id])}
    seen: list[SalesCandidates] = []
    real = candidates.SalesCandidates

    def spy(limit, always):
        made = real(0, always)  # nothing by score: only the pinned leads
        seen.append(made)
        return made

    monkeypatch.setattr("leadops.jobs.run.SalesCandidates", spy)
    calls = feats.calls
    again = score_job(settings, wh, as_of=AS_OF + timedelta(days=1), models=models, features=feats)
    assert queued and set(seen[0].always) == queued
    held, missing = seen[0].rows_for(sorted(queued))
    assert not missing and sorted(i for f in held for i in f.index) == sorted(queued)
    got = wh.rows(REASONS, [again.run_id])
    assert all(r[2] for r in got)
    assert feats.calls - calls == -(-again.leads_scored // 70) + (again.new_to_sales > 0)


def _chunk(rng, n, start):
    ids = [f"L{start + i:05d}" for i in range(n)]
    X = pd.DataFrame({"a": rng.normal(size=n)}, index=pd.Index(ids, name="lead_id"))
    score = np.round(rng.uniform(0, 100, n), 0)  # ties in score, broken by raw
    raw = rng.normal(size=n)
    raw[rng.random(n) < 0.05] = np.nan
    return X, pa.table({"score": score, "raw": pa.array(raw, from_pandas=True)})


def test_candidates_are_the_best_scores_of_all_chunks_plus_the_pinned_leads():
    rng = np.random.default_rng(3)
    parts = [_chunk(rng, n, 1000 * k) for k, n in enumerate([300, 17, 0, 450, 120])]
    pinned = ["L00005", "L03100", "L04119"]
    kept = SalesCandidates(40, pinned)
    for X, rows in parts:
        kept.add(X, rows)
    frame = pd.concat([X.assign(score=r.column("score").to_numpy(), raw=r.column("raw").to_pandas().to_numpy())
                       for X, r in parts])  # fmt: skip
    frame["raw"] = frame["raw"].fillna(-np.inf)
    best = frame.sort_values(["score", "raw"], ascending=False).index[:40]  # reference: sort everything at once
    expected = set(best) | set(pinned)
    assert len(kept) == len(expected)
    every = list(frame.index)
    held, missing = kept.rows_for(every)
    assert {i for f in held for i in f.index} == expected
    assert set(missing) == set(every) - expected
    for f in held:
        np.testing.assert_array_equal(f["a"].to_numpy(), frame.loc[f.index, "a"].to_numpy())


def test_best_picks_exactly_the_rows_a_full_stable_sort_picks():
    rng = np.random.default_rng(5)
    for n, limit in ((1, 1), (10, 3), (5_000, 1_000), (20_000, 4_000), (300, 300), (300, 1_000), (50, 0)):
        score = np.round(rng.uniform(0, 100, n), 0)  # whole scores: many ties at the cut
        raw = np.round(rng.normal(size=n), 1)  # and ties in raw among them
        score[rng.random(n) < 0.05] = -np.inf  # missing scores (NULL) come last
        got = candidates.best(score, raw, limit)
        assert got.tolist() == np.lexsort((-raw, -score))[:limit].tolist()
