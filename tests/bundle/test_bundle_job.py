"""The nightly job scores a champion with its bundle's own vocabulary and says when tonight's data leaves it."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pyarrow as pa
from bundle_fixtures import Trained
from features_synth import load_world

from leadops.config import Settings
from leadops.jobs.model import ModelRef, model_ref
from leadops.jobs.run import score_job
from leadops.warehouse import open_warehouse


class OneModel:
    """A ModelSource holding only the bundle as champion."""

    def __init__(self, ref: ModelRef) -> None:
        self.ref = ref

    def champion(self) -> ModelRef:
        return self.ref

    def challengers(self) -> list[ModelRef]:
        return []


def test_a_flood_of_unseen_values_is_scored_as_other_and_warned_about(trained: Trained, tmp_path: Path) -> None:
    wh = open_warehouse(f"duckdb:///{tmp_path / 'night.duckdb'}")
    try:
        load_world(wh, trained.world)
        n = 3_000
        accounts = trained.world.accounts["account_id"].to_pylist()
        created = trained.world.end - timedelta(days=2)
        wh.insert(
            "leads",
            pa.table(
                {
                    "lead_id": [f"NEW{i:05d}" for i in range(n)],
                    "created_at": pa.array([created] * n, pa.timestamp("us")),
                    "account_id": [accounts[i % len(accounts)] for i in range(n)],
                    "lead_source": ["referral"] * n,
                    "job_level": ["chief_wizard"] * n,  # a value no lead had in training
                }
            ),
        )
        settings = Settings.model_validate({})
        settings.workspace = tmp_path
        ref = model_ref(1, "lightgbm", trained.bundle.path, role="champion")
        result = score_job(settings, wh, as_of=trained.world.end + timedelta(hours=5), models=OneModel(ref))
        assert result.status == "published" and result.leads_scored > n
        flagged = [w for w in result.warnings if "'job_level'" in w]
        assert len(flagged) == 1 and "outside its vocabulary" in flagged[0] and "model v1" in flagged[0]
        assert not [w for w in result.warnings if "'industry'" in w], "columns the model knows are not flagged"
        assert "warnings" in result.to_dict()
        scored = wh.df("SELECT lead_id, score FROM current_scores WHERE lead_id LIKE 'NEW%' ORDER BY lead_id")
        X = trained.bundle.rows(wh, scored["lead_id"].tolist(), trained.world.end + timedelta(hours=5))
        assert set(X["job_level"]) == {"other"}
        expected = trained.bundle.scorer.score(X)["score"].to_numpy()
        assert (scored["score"].to_numpy() == expected).all()
    finally:
        wh.close()
