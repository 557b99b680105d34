"""The job end to end on fakes: idempotent reruns, atomic publish, clear errors, shadow scores, exports."""

from __future__ import annotations

import csv
import json
from datetime import timedelta

import numpy as np
import pyarrow.parquet as pq
import pytest
from jobs_fakes import AS_OF, FakeFeatures, FakeModels, expected_probability, make_settings

from leadops.jobs import checkpoints, score_job
from leadops.jobs.errors import FeatureSchemaError, NoChampionError

ROWS = "SELECT * EXCLUDE (run_id) FROM lead_scores WHERE run_id = ? ORDER BY lead_id"


def _settings(tmp_path, **routing):
    return make_settings(tmp_path, scoring={"chunk_size": 70}, routing=routing, business={"mql_threshold": 40})


def test_scores_match_the_model_and_open_leads_only(wh, tmp_path, feats, models):
    result = score_job(_settings(tmp_path), wh, as_of=AS_OF, models=models, features=feats)
    open_ids = {r[0] for r in wh.rows("SELECT lead_id FROM leads WHERE lead_id NOT IN (SELECT lead_id FROM outcomes)")}
    scored = wh.df("SELECT lead_id, probability, score, score_rank, percentile FROM current_scores ORDER BY lead_id")
    assert set(scored.lead_id) == open_ids and result.leads_scored == len(open_ids)
    X = feats.build(AS_OF, list(scored.lead_id))
    np.testing.assert_allclose(scored.probability, expected_probability(X), rtol=1e-12)
    by_rank = scored.sort_values("score_rank")
    assert list(by_rank.score_rank) == list(range(1, len(scored) + 1))
    assert by_rank.score.is_monotonic_decreasing
    ref = [100.0 * np.mean(scored.score <= s) for s in scored.score]  # closed-form cumulative distribution
    np.testing.assert_allclose(scored.percentile, ref)


def test_rerun_is_already_published_with_identical_rows_and_no_duplicates(wh, tmp_path, feats, models):
    settings = _settings(tmp_path)
    first = score_job(settings, wh, as_of=AS_OF, models=models, features=feats)
    rows = wh.rows(ROWS, [first.run_id])
    again = score_job(settings, wh, as_of=AS_OF, models=models, features=feats)
    assert first.status == "published" and again.status == "already published"
    assert again.run_id == first.run_id and again.to_dict()["leads_scored"] == first.leads_scored
    assert wh.rows(ROWS, [first.run_id]) == rows
    assert wh.scalar("SELECT count(*) FROM score_runs") == 1
    assert wh.scalar("SELECT count(*) FROM lead_scores") == first.leads_scored


def test_no_champion_is_a_clear_error_and_publishes_nothing(wh, tmp_path, feats):
    with pytest.raises(NoChampionError, match="no champion"):
        score_job(_settings(tmp_path), wh, as_of=AS_OF, models=FakeModels(tmp_path, champion=None), features=feats)
    assert wh.scalar("SELECT count(*) FROM score_runs") == 0
    assert wh.scalar("SELECT count(*) FROM current_scores") == 0


def test_feature_schema_mismatch_names_the_missing_feature_and_publishes_nothing(wh, tmp_path, models):
    previous = score_job(_settings(tmp_path), wh, as_of=AS_OF, models=models, features=FakeFeatures(wh))
    broken = FakeFeatures(wh, drop=["pricing_views"])
    with pytest.raises(FeatureSchemaError, match=r"missing \['pricing_views'\]"):
        score_job(_settings(tmp_path), wh, as_of=AS_OF + timedelta(days=1), models=models, features=broken)
    assert wh.scalar("SELECT DISTINCT run_id FROM current_scores") == previous.run_id
    failed = wh.rows("SELECT status, error FROM score_runs WHERE run_id <> ?", [previous.run_id])
    assert failed[0][0] == "failed" and "pricing_views" in failed[0][1]
    assert wh.scalar("SELECT count(*) FROM lead_scores WHERE run_id <> ?", [previous.run_id]) == 0


def test_readers_see_the_previous_run_or_the_new_one_never_half(wh, tmp_path, feats, models):
    first = score_job(_settings(tmp_path), wh, as_of=AS_OF, models=models, features=feats)
    reader = wh.duckdb().cursor()  # a second connection: sees only committed data
    seen: list[tuple[str, int]] = []

    def look(name: str) -> None:
        runs = reader.execute("SELECT run_id, count(*) FROM current_scores GROUP BY run_id").fetchall()
        assert len(runs) == 1, runs
        seen.append((runs[0][0], runs[0][1]))
        queue_run = reader.execute("SELECT DISTINCT run_id FROM current_sales_queue").fetchall()
        assert queue_run == [(runs[0][0],)]

    checkpoints.set_hook(look)
    second = score_job(_settings(tmp_path), wh, as_of=AS_OF + timedelta(days=1), models=models, features=feats)
    checkpoints.set_hook(None)
    assert {s[0] for s in seen[:-1]} == {first.run_id}  # up to the commit: the old run, whole
    assert seen[-1] == (second.run_id, second.leads_scored)  # after it: the new run, whole
    assert all(count == first.leads_scored for run, count in seen if run == first.run_id)


def test_challengers_are_scored_in_shadow_and_never_routed(wh, tmp_path, feats):
    models = FakeModels(tmp_path / "m", champion=1, challengers=[2, 3])
    result = score_job(_settings(tmp_path), wh, as_of=AS_OF, models=models, features=feats)
    assert result.shadow == [2, 3]
    counts = dict(wh.rows("SELECT model_version, count(*) FROM current_shadow_scores GROUP BY 1"))
    assert counts == {2: result.leads_scored, 3: result.leads_scored}
    assert wh.scalar("SELECT DISTINCT model_version FROM current_scores") == 1
    diff = wh.scalar(
        "SELECT max(abs(s.score - c.score)) FROM current_shadow_scores s JOIN current_scores c USING (lead_id) "
        "WHERE s.model_version = 3"
    )
    assert diff > 0  # a different model, really scored


def test_exports_hold_the_published_rows_with_reasons_for_every_mql(wh, tmp_path, feats, models):
    result = score_job(_settings(tmp_path), wh, as_of=AS_OF, models=models, features=feats)
    assert result.export_csv and result.export_csv.endswith("exports/2026-03-10/lead_scores.csv")
    with open(result.export_csv, newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == result.leads_scored
    assert list(rows[0]) == [
        "lead_id",
        "score",
        "grade",
        "rank",
        "percentile",
        "route",
        "rep",
        "reasons",
        "route_reason",
        "model_version",
    ]
    mqls = [r for r in rows if r["route"] == "sales"]
    assert mqls and all(r["reasons"] for r in mqls)
    others = [r for r in rows if r["route"] != "sales"]
    assert others and not any(r["reasons"] for r in others), "reasons are computed for the Sales queue only"
    queue = wh.rows("SELECT count(*), count(reason_text) FROM current_sales_queue")[0]
    assert queue[0] == len(mqls) and queue[1] == queue[0], "the Sales queue carries the reasons to call"
    table = pq.read_table(result.export_parquet)
    assert table.num_rows == result.leads_scored
    first = json.loads(next(r for r in table.column("reasons_json").to_pylist() if r))
    assert {"feature", "contribution", "text"} <= set(first[0])
    assert not list((tmp_path / "exports" / "2026-03-10").glob(".*tmp"))


def test_progress_reports_every_lead(wh, tmp_path, feats, models):
    calls: list[tuple[str, int, int]] = []
    result = score_job(
        _settings(tmp_path), wh, as_of=AS_OF, models=models, features=feats, progress=lambda *a: calls.append(a)
    )
    scored = [c for c in calls if c[0] == "score"]
    assert scored[0][1] == 0 and scored[-1][1:] == (result.leads_scored, result.leads_scored)
    assert len(scored) == 1 + -(-result.leads_scored // 70)


class KeepingModels(FakeModels):
    """A model source that keeps its loaded scorers between nights (what the closed loop's CachedModels does)."""

    def __init__(self, root, **kw):
        super().__init__(root, **kw)
        self.loads: list[int] = []
        self.kept: dict[int, object] = {}

    def loaded(self, ref):
        from leadops.jobs.model import load_model

        if ref.version not in self.kept:
            self.loads.append(ref.version)
            self.kept[ref.version] = load_model(ref)
        return self.kept[ref.version]


def test_a_source_that_keeps_its_scorers_loads_each_once_and_publishes_the_same_rows(wh, tmp_path, feats):
    settings = _settings(tmp_path)
    keeping = KeepingModels(tmp_path / "kept", challengers=[2])
    plain = FakeModels(tmp_path / "plain", challengers=[2])
    nights = [AS_OF + timedelta(days=d) for d in range(3)]
    kept_rows = []
    for night in nights:
        run = score_job(settings, wh, as_of=night, models=keeping, features=feats)
        kept_rows.append(wh.rows(ROWS, [run.run_id]))
    assert keeping.loads == [1, 2]  # champion and challenger loaded once for three nights
    wh.execute("DELETE FROM lead_scores")
    wh.execute("DELETE FROM shadow_scores")
    wh.execute("DELETE FROM score_runs")
    for night, rows in zip(nights, kept_rows, strict=True):
        run = score_job(settings, wh, as_of=night, models=plain, features=feats)
        assert wh.rows(ROWS, [run.run_id]) == rows
