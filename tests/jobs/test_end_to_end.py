"""The job with the real parts: leadops.features builds the features, a real LightGBM scorer artifact scores."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest
import yaml
from jobs_fakes import AS_OF, JobSettings

from leadops.jobs import score_job
from leadops.jobs.model import ModelRef, model_ref
from leadops.jobs.scoring import model_matrix

TEMPLATES = Path(__file__).resolve().parents[2] / "src" / "leadops" / "templates"


def _real_parts_present() -> str | None:
    for module in ("leadops.features.build", "leadops.scorers.base", "leadops.scorers.lightgbm_scorer"):
        if importlib.util.find_spec(module) is None:
            return f"{module} is not there yet"
    if not (TEMPLATES / "features.yaml").exists():
        return "templates/features.yaml is not there yet"
    return None


class OneModel:
    def __init__(self, ref: ModelRef) -> None:
        self.ref = ref

    def champion(self) -> ModelRef:
        return self.ref

    def challengers(self) -> list[ModelRef]:
        return []


@pytest.mark.skipif(_real_parts_present() is not None, reason=str(_real_parts_present()))
def test_real_features_and_lightgbm_scorer_publish_scores_equal_to_scoring_directly(wh, tmp_path):
    from leadops.bundle import save_bundle
    from leadops.features.build import build_features
    from leadops.scorers.base import build_scorer, load_scorer

    sections = yaml.safe_load((TEMPLATES / "features.yaml").read_text()) or {}
    settings = JobSettings.model_validate(
        {
            "features": sections.get("features", sections),
            "scoring": {"chunk_size": 100},
            "business": {"mql_threshold": 50},
        }
    )
    settings.workspace = tmp_path
    X = build_features(settings.features, wh, as_of=AS_OF, as_pandas=True).set_index("lead_id")
    y = (np.random.default_rng(3).random(len(X)) < 0.3).astype(int)
    scorer = build_scorer({"type": "lightgbm", "n_estimators": 20}).fit(X, y)
    path = save_bundle(tmp_path / "model", scorer, settings.features)
    ref = model_ref(1, "lightgbm", path, role="champion")
    result = score_job(settings, wh, as_of=AS_OF, models=OneModel(ref))
    assert result.status == "published" and result.leads_scored > 0
    scored = wh.df("SELECT lead_id, score, grade FROM current_scores ORDER BY lead_id").set_index("lead_id")
    direct = load_scorer(path).score(model_matrix(ref, X.loc[scored.index]))
    np.testing.assert_allclose(scored.score.to_numpy(), direct.score.to_numpy())
    assert list(scored.grade) == list(direct.grade)
    mql = wh.scalar("SELECT count(*) FROM current_scores WHERE route = 'sales' AND reason_text IS NULL")
    assert mql == 0
