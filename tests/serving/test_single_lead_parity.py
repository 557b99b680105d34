"""One lead at a time through ServedModel.score gets the nightly batch's numbers and words exactly, any scorer."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from fitted_models import served_models
from warehouse_leads import request_leads

from leadops.config import load
from leadops.scorers.frame import SmallFrame
from leadops.serving.model import ServedModel, records_of
from leadops.serving.schemas import LeadIn
from leadops.warehouse.connection import open_warehouse

N_LEADS = 200
BLEND = {
    "type": "blend",
    "components": {"fit": {"weight": 1, "scorer": "icp_fit"}, "tree": {"weight": 2, "scorer": "predictive"}},
}
MODELS = ("predictive", "scorecard", "points", "icp_fit", "engagement", "combined", "blend")


@pytest.fixture(scope="module")
def served(company: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, ServedModel]]:
    """Every configured scorer type (and a blend) fitted on the company's training set, loaded as the API loads it."""
    yield served_models(company, MODELS, tmp_path_factory.mktemp("parity"), {"blend": BLEND})


def _as_of(ws: Path) -> datetime:
    """A month after the last of the first N_LEADS leads came in: their recent activities are inside the windows
    (scored at the end of the history, the oldest leads' activity windows are empty and every grade is the same)."""
    settings = load(ws)
    with open_warehouse(settings.warehouse.url, settings.workspace, read_only=True, migrate=False) as wh:
        value: datetime = wh.rows(
            "SELECT max(created_at) FROM (SELECT created_at FROM leads ORDER BY lead_id LIMIT ?)", [N_LEADS]
        )[0][0]
    return value + timedelta(days=30)


def _same(a: float | None, b: float) -> bool:
    """Equal to the bit (a None stands for the batch's NaN)."""
    return (a is None and not math.isfinite(b)) or (a is not None and float(a).hex() == float(b).hex())


@pytest.mark.slow
@pytest.mark.parametrize("name", MODELS)
def test_one_lead_at_a_time_equals_the_nightly_batch_exactly(
    served: dict[str, ServedModel], company: Path, name: str
) -> None:
    model = served[name]
    as_of = _as_of(company)
    leads = [records_of(LeadIn.model_validate(lead)) for lead in request_leads(company, N_LEADS, as_of)]
    assert len(leads) == N_LEADS and sum(len(r.activities) for r in leads) > N_LEADS
    settings = load(company)
    with open_warehouse(settings.warehouse.url, settings.workspace, read_only=True, migrate=False) as wh:
        X = model.bundle.rows(wh, [str(r.lead["lead_id"]) for r in leads], as_of)  # the job's set-based rows
    batch = model.scorer.score(X)
    explained = model.scorer.explain_json(X, top_n=model.top_n)
    parts = model.scorer.component_scores(X)
    assert batch["grade"].nunique() > 1 and explained["reasons"].str.len().gt(2).any()
    for i, lead in enumerate(leads):
        got = model.score([lead], as_of)[0]
        assert _same(got.score, batch["score"].iat[i]), (name, i, got.score, batch["score"].iat[i])
        assert _same(got.probability, batch["probability"].iat[i]), (name, i)
        assert got.grade == batch["grade"].iat[i], (name, i)
        stored: list[dict[str, Any]] = json.loads(explained["reasons"].iat[i])
        assert [d.model_dump() for d in got.reason_details] == stored, (name, i)
        assert "; ".join(got.reasons) == explained["reason_text"].iat[i], (name, i)
        if parts is None:
            assert got.components is None
        else:
            assert got.components is not None
            assert _same(got.components.fit_score, parts["fit_score"].iat[i]), (name, i)
            assert _same(got.components.engagement_score, parts["engagement_score"].iat[i]), (name, i)
        reasons_json, reason_text = model.scorer.reasons(model.rows([lead], as_of), model.top_n)
        assert reasons_json[0] == explained["reasons"].iat[i]  # the JSON text itself, byte for byte
        assert reason_text[0] == explained["reason_text"].iat[i]


@pytest.mark.slow
def test_the_small_frame_holds_the_values_and_types_of_the_model_frame(
    served: dict[str, ServedModel], company: Path
) -> None:
    model = served["predictive"]
    as_of = _as_of(company)
    leads = [records_of(LeadIn.model_validate(lead)) for lead in request_leads(company, 50, as_of)]
    rows = model.rows(leads, as_of)
    assert isinstance(rows, SmallFrame) and rows.columns == model.columns and len(rows) == 50
    pd.testing.assert_frame_equal(rows.to_pandas(), model.frame(leads, as_of), check_exact=True)
    cats = set(model.spec.categorical())
    for name in model.columns:
        col = rows[name]
        if name in cats:
            assert col.dtype == object and all(v is None or isinstance(v, str) for v in col)
        else:
            assert col.dtype == np.float64
