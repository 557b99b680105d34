"""The nightly job honours experiments: sticky logged arms, each arm's model version scores its leads, and each
arm's leads are routed alone with its policy and a fair share of the Sales slots."""

from __future__ import annotations

from datetime import timedelta

import pytest
from jobs_fakes import AS_OF, FakeModels, make_settings

from leadops.experiments import store
from leadops.experiments.errors import ExperimentError
from leadops.jobs import score_job
from leadops.jobs.arms import split_capacity


def _settings(tmp_path, arms, **extra):
    experiment = {
        "name": "model-test",
        "start": AS_OF - timedelta(days=1),
        "population": "open",
        "arms": arms,
    } | extra
    return make_settings(
        tmp_path,
        scoring={"chunk_size": 70},
        business={"mql_threshold": 40, "capacity": {"per_day": 20}},
        experiments=[experiment],
    )


def test_treatment_leads_are_scored_by_their_arms_version_and_arms_never_change(wh, tmp_path, feats):
    settings = _settings(tmp_path, [{"name": "control"}, {"name": "treatment", "model": "challenger"}])
    models = FakeModels(tmp_path / "m", champion=1, challengers=[2])
    first = score_job(settings, wh, as_of=AS_OF, models=models, features=feats)
    logged = store.assignments(wh, "model-test")
    assert logged.num_rows == first.leads_scored
    arm_of = dict(zip(logged["lead_id"].to_pylist(), logged["arm"].to_pylist(), strict=True))
    rows = wh.rows(
        "SELECT s.lead_id, s.model_version, s.score, sh.score FROM lead_scores s JOIN shadow_scores sh "
        "ON sh.run_id = s.run_id AND sh.lead_id = s.lead_id AND sh.model_version = 2 WHERE s.run_id = ?",
        [first.run_id],
    )
    treated = [r for r in rows if arm_of[r[0]] == "treatment"]
    assert treated and all(r[1] == 2 and r[2] == pytest.approx(r[3]) for r in treated)
    control = [r for r in rows if arm_of[r[0]] == "control"]
    assert control and all(r[1] == 1 and r[2] != pytest.approx(r[3]) for r in control)
    # the next night reweighs nothing and keeps every lead's arm
    score_job(settings, wh, as_of=AS_OF + timedelta(days=1), models=models, features=feats)
    again = store.assignments(wh, "model-test")
    assert dict(zip(again["lead_id"].to_pylist(), again["arm"].to_pylist(), strict=True)) == arm_of


def test_each_arm_gets_its_share_of_sales_slots_and_its_own_policy(wh, tmp_path, feats):
    arms = [{"name": "control", "weight": 1}, {"name": "fill", "routing": "capacity", "weight": 1}]
    settings = _settings(tmp_path, arms)
    models = FakeModels(tmp_path / "m", champion=1)
    result = score_job(settings, wh, as_of=AS_OF, models=models, features=feats)
    new = dict(
        wh.rows(
            "SELECT a.arm, count(*) FROM lead_scores s JOIN experiment_assignments a ON a.lead_id = s.lead_id "
            "WHERE s.run_id = ? AND s.sales_status = 'new' GROUP BY a.arm",
            [result.run_id],
        )
    )
    assert sum(new.values()) <= 20
    # the capacity arm fills its whole share; the threshold arm takes only MQLs within its share
    assert new.get("fill", 0) >= new.get("control", 0)
    assert new.get("fill", 0) <= split_capacity(20, [1, 1])[0]


def test_an_arm_on_the_challenger_without_one_is_a_clear_error(wh, tmp_path, feats):
    settings = _settings(tmp_path, [{"name": "control"}, {"name": "treatment", "model": "challenger"}])
    with pytest.raises(ExperimentError, match="no challenger"):
        score_job(settings, wh, as_of=AS_OF, models=FakeModels(tmp_path / "m", champion=1), features=feats)


def test_split_capacity_sums_to_the_total_by_largest_remainder():
    assert split_capacity(7, [1, 1]) == [4, 3]
    assert split_capacity(10, [1, 2, 2]) == [2, 4, 4]
    assert split_capacity(0, [1, 1]) == [0, 0]


def test_a_treatment_leads_reasons_are_its_arms_version_alone_not_the_champions(wh, tmp_path, feats):
    import json

    from jobs_fakes import FEATURES, load_fake, write_fake_artifact

    # v2 reads no pricing views: where those drive the champion's reasons, v2's differ
    write_fake_artifact(tmp_path / "m" / "v2", shift=0.1, features=[f for f in FEATURES if f != "pricing_views"])
    experiment = {"name": "model-test", "start": AS_OF - timedelta(days=1), "population": "open",
                  "arms": [{"name": "control"}, {"name": "treatment", "model": "2"}]}  # fmt: skip
    settings = make_settings(  # every lead an MQL, Sales' 40 slots full; every reason with an effect shown
        tmp_path,
        scoring={"chunk_size": 70, "top_reasons": 5},
        business={"mql_threshold": 1, "capacity": {"per_day": 40, "by": "total"}},
        experiments=[experiment],
    )
    models = FakeModels(tmp_path / "m", champion=1, challengers=[2])
    result = score_job(settings, wh, as_of=AS_OF, models=models, features=feats)
    rows = wh.rows(
        "SELECT s.lead_id, a.arm, s.model_version, s.reasons, s.reason_text FROM lead_scores s "
        "JOIN experiment_assignments a ON a.lead_id = s.lead_id WHERE s.run_id = ? AND s.route = 'sales'",
        [result.run_id],
    )
    assert {r[1] for r in rows} == {"control", "treatment"}
    v1, v2 = load_fake(tmp_path / "m" / "v1"), load_fake(tmp_path / "m" / "v2")
    top_n = settings.scoring.top_reasons
    differ = 0
    for lead, arm, version, reasons, text in rows:
        alone = feats.build(AS_OF, [lead])  # the lead scored alone, by its arm's bundle
        model = v2 if arm == "treatment" else v1
        own = model.explain(alone[list(model.feature_names_in_)], top_n=top_n)
        assert version == (2 if arm == "treatment" else 1)
        assert text == own["reason_text"].iat[0], lead
        assert [r["feature"] for r in json.loads(reasons)] == [r["feature"] for r in own["reasons"].iat[0]]
        if arm == "treatment":
            champion = v1.explain(alone[list(v1.feature_names_in_)], top_n=top_n)["reason_text"].iat[0]
            differ += text != champion
            assert "pricing_views" not in text
    assert differ > 0


@pytest.mark.parametrize("how", ["hand", "config"])
def test_a_stopped_experiment_gives_tonights_new_leads_the_champion(wh, tmp_path, feats, how):
    stop_at = AS_OF - timedelta(hours=12)
    extra = {"stop": stop_at} if how == "config" else {}
    settings = _settings(tmp_path, [{"name": "control"}, {"name": "treatment", "model": "challenger"}], **extra)
    if how == "hand":
        store.sync(wh, settings.experiments, now=AS_OF - timedelta(days=1))
        store.stop(wh, "model-test", at=stop_at, reason="test", now=stop_at)
    models = FakeModels(tmp_path / "m", champion=1, challengers=[2])
    result = score_job(settings, wh, as_of=AS_OF, models=models, features=feats)
    assert store.assignments(wh, "model-test").num_rows == 0
    versions = wh.rows("SELECT DISTINCT model_version FROM lead_scores WHERE run_id = ?", [result.run_id])
    assert versions == [(1,)] and result.leads_scored > 0


def _capacity_run(wh, tmp_path, feats, capacity, weights, column):
    """One night with arms control and fill (both the capacity policy) under `capacity`: new Sales leads per
    (arm, `column`)."""
    arms = [{"name": "control", "weight": weights[0]}, {"name": "fill", "weight": weights[1]}]
    settings = make_settings(
        tmp_path,
        scoring={"chunk_size": 70},
        routing={"policy": "capacity", "fresh_days": None},
        business={"mql_threshold": 40, "capacity": capacity},
        experiments=[{"name": "model-test", "start": AS_OF - timedelta(days=1), "population": "open", "arms": arms}],
    )
    result = score_job(settings, wh, as_of=AS_OF, models=FakeModels(tmp_path / "m", champion=1), features=feats)
    rows = wh.rows(
        f"SELECT a.arm, s.{column}, count(*) FROM lead_scores s JOIN experiment_assignments a ON a.lead_id = s.lead_id "
        f"WHERE s.run_id = ? AND s.sales_status = 'new' GROUP BY a.arm, s.{column}",
        [result.run_id],
    )
    return {(arm, key): int(n) for arm, key, n in rows}


def test_arms_routed_alone_honour_each_territorys_capacity_across_arms(wh, tmp_path, feats):
    from leadops.jobs.arms import deal_slots

    capacity = {"per_day": 2, "by": "region", "regions": {"NA": 9, "EMEA": 3}}
    taken = _capacity_run(wh, tmp_path, feats, capacity, [1, 2], "region")
    # no territory over its capacity across the arms, every slot used, split by the weights (1:2) within one slot
    for region, limit in {"NA": 9, "EMEA": 3, "APAC": 2}.items():
        assert sum(n for (_, r), n in taken.items() if r == region) == limit, (region, taken)
    assert (taken[("control", "NA")], taken[("fill", "NA")]) == (3, 6)
    # dealing keeps each territory's slots split by the weights, within one slot
    dealt = deal_slots([("NA", None)] * 9 + [("EMEA", None)] * 3, [1, 2])
    assert [sum(s.region == "NA" for s in d) for d in dealt] == [3, 6]
    assert [sum(s.region == "EMEA" for s in d) for d in dealt] == [1, 2]
    assert [s.number for s in dealt[1] if s.region == "NA"] == [1, 2, 3, 4, 5, 6]


def test_arms_routed_alone_honour_each_reps_capacity_across_arms(wh, tmp_path, feats):
    capacity = {"per_day": 2, "by": "rep", "reps": {"NA": ["ana", "bo"], "EMEA": ["cy"]}}
    taken = _capacity_run(wh, tmp_path, feats, capacity, [1, 1], "rep")
    for rep in ("ana", "bo", "cy"):
        assert sum(n for (_, r), n in taken.items() if r == rep) == 2, (rep, taken)
    assert all(r in {"ana", "bo", "cy"} for (_, r) in taken), taken
