"""The one-lead LightGBM path (serving/one_lead.py) answers exactly what the general path answers, piece by piece."""

from __future__ import annotations

import copy
import math
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fitted_models import served_models
from warehouse_leads import request_leads

from leadops.config import load
from leadops.scorers.frame import small_frame
from leadops.scorers.grades import GradeScale
from leadops.scorers.lightgbm_row import CONTRIB, RAW_SCORE
from leadops.scorers.lightgbm_scorer import _sigmoid
from leadops.serving import one_lead
from leadops.serving.model import ServedModel, built, records_of
from leadops.serving.schemas import LeadIn, Reason, ScoreResult
from leadops.warehouse.connection import open_warehouse

LIGHTGBM = {"type": "lightgbm", "n_estimators": 60, "num_threads": 1}
VARIANTS = {
    "platt": {**LIGHTGBM, "calibration": {"method": "platt"}},
    "isotonic": {**LIGHTGBM, "calibration": {"method": "isotonic"}},
    "uncalibrated, graded on raw": {
        **LIGHTGBM,
        "grades": {"top": {"A": 0.2, "B": 0.5}, "otherwise": "C", "basis": "raw"},
    },
}


@pytest.fixture(scope="module")
def models(company: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, ServedModel]]:
    """LightGBM fitted three ways (Platt, isotonic, no calibration with raw-value grades), loaded as the API does."""
    names = {f"variant{i}": name for i, name in enumerate(VARIANTS)}
    specs = {key: VARIANTS[name] for key, name in names.items()}
    fitted = served_models(company, list(names), tmp_path_factory.mktemp("one_lead"), specs)
    yield {names[key]: model for key, model in fitted.items()}


def _leads(ws: Path, n: int) -> list[Any]:
    """n warehouse leads as requests, scored at three times (their activities inside and outside the windows)."""
    settings = load(ws)
    with open_warehouse(settings.warehouse.url, settings.workspace, read_only=True, migrate=False) as wh:
        first: datetime = wh.rows("SELECT min(created_at) FROM leads")[0][0]
    out = []
    for days in (20, 90, 240):
        as_of = first + timedelta(days=days)
        out += [(records_of(LeadIn.model_validate(lead)), as_of) for lead in request_leads(ws, n, as_of)]
    return out


@pytest.mark.slow
@pytest.mark.parametrize("variant", list(VARIANTS))
def test_one_lead_answers_the_general_paths_bytes_for_many_leads(
    models: dict[str, ServedModel], company: Path, variant: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    model = models[variant]
    path = model.one
    assert path is not None  # a LightGBM model gets the path
    taken: list[bool] = []
    score = one_lead.OneLead.score

    def counting(self: one_lead.OneLead, vector: Any, lead_id: str) -> one_lead.OneScore | None:
        out = score(self, vector, lead_id)
        taken.append(out is not None)
        return out

    monkeypatch.setattr(one_lead.OneLead, "score", counting)
    leads = _leads(company, 150)
    grades, reasons = set(), 0
    for lead, as_of in leads:
        model.one = path
        got = model.score([lead], as_of)[0]
        model.one = None
        want = model.score([lead], as_of)[0]
        assert got.model_dump_json() == want.model_dump_json(), (variant, lead.lead["lead_id"], as_of)
        grades.add(got.grade)
        reasons += len(got.reasons)
    model.one = path
    assert taken == [True] * len(leads)  # every lead went the one-lead way, none fell back
    assert len(grades) > 1 and reasons > 2 * len(leads)  # the leads differ, and they have reasons to compare


def test_a_value_the_path_does_not_cover_falls_back_to_the_general_path(models: dict[str, ServedModel]) -> None:
    path = models["platt"].one
    assert path is not None
    numeric = next(name for name in path.columns if name not in path.text_columns)
    text = next(iter(path.text_columns))
    assert path.cells({numeric: "12"}) is None  # text in a numeric feature: pandas' parser, the general path's
    assert path.cells({text: 3.0}) is None  # a number in a text feature: str() of it, the general path's
    assert path.cells({numeric: 12, text: None}) is not None


def test_only_a_lightgbm_model_whose_frame_it_builds_gets_the_path(models: dict[str, ServedModel]) -> None:
    model = models["platt"]
    assert one_lead.OneLead.of(object(), model.columns, model.categorical, 3) is None
    assert one_lead.OneLead.of(model.scorer, list(reversed(model.columns)), model.categorical, 3) is None
    assert one_lead.OneLead.of(model.scorer, model.columns, model.categorical, 0) is None
    assert one_lead.OneLead.of(model.scorer, model.columns, model.categorical, 3) is not None


def test_both_c_calls_at_once_equal_the_single_row_predicts(models: dict[str, ServedModel]) -> None:
    scorer = models["platt"].scorer
    single = scorer.single_row()
    rng = np.random.default_rng(3)
    n = len(scorer.columns_)
    for _ in range(300):
        row = rng.normal(0, 30, n)
        row[rng.random(n) < 0.2] = np.nan
        raw, contrib = single.raw_and_contributions(row.tolist())
        assert raw == single.predict(row, RAW_SCORE)[0]
        assert contrib.tobytes() == single.predict(row, CONTRIB).tobytes()
    with pytest.raises(ValueError, match="expected"):
        single.raw_and_contributions([1.0])


def test_the_scalar_numbers_are_numpys(models: dict[str, ServedModel]) -> None:
    special = [0.0, -0.0, 1e-300, 5e-324, 99.99999999, 100.0, 100.00000001, -3.0, 1e308, math.inf, -math.inf, math.nan]
    rng = np.random.default_rng(5)
    values = special + rng.normal(0, 40, 2000).tolist()
    for x in values:
        for low, high in ((0.0, 100.0), (-500.0, 500.0)):
            want = float(np.clip(np.array([x]), low, high)[0])
            got = one_lead._clip(x, low, high)
            assert (math.isnan(got) and math.isnan(want)) or got.hex() == want.hex(), (x, got, want)
        if math.isfinite(x):
            assert one_lead._sigmoid(x).hex() == float(_sigmoid(np.array([x]))[0]).hex()
    path = models["uncalibrated, graded on raw"].one
    assert path is not None
    scale = path.scorer.grades_
    for x in [*values, *(t for _, t in scale.thresholds)]:
        assert path._grade(x) == scale.assign(np.array([x]))[0], x
    for name, model in models.items():
        one = model.one
        assert one is not None
        for x in rng.normal(-2, 2, 300).tolist():
            want = model.scorer._score_of_raw(np.array([x]))[0]
            assert one._score_of(x).hex() == float(want).hex(), (name, x)


def test_unsorted_or_single_grade_cutoffs_grade_as_searchsorted(models: dict[str, ServedModel]) -> None:
    shared = models["platt"].one
    assert shared is not None
    path = copy.copy(shared)  # its grade table replaced below: not the fixture's
    for scale in (GradeScale((("A", 10.0), ("B", 50.0), ("C", 30.0)), "D"), GradeScale((("A", 5.0),), "B")):
        path._labels = [scale.otherwise, *(g for g, _ in reversed(scale.thresholds))]
        path._cutoffs = [t for _, t in reversed(scale.thresholds)]
        for x in [*np.linspace(-5, 60, 131).tolist(), math.nan]:
            assert path._grade(x) == scale.assign(np.array([x]))[0], (scale, x)


CELLS: list[Any] = [
    None, math.nan, 0.0, -0.0, 1.0, 2.0, 0.4, 0.6, 1.4, 1.6, 2.5, 3.5, 7.25, 12.0, 1113.0, 1e4, 2.5e6, 3.2e9, -4.0,
    0.02, 1e15, 1e17, 1e300, math.inf, -math.inf, "software", "financial_services", "vp_director", "c_level",
    "other", "unknown", "", "corporate", "edu", "0a1b2c3d4e5f", "Came in, twice",
]  # fmt: skip


def test_every_features_sentence_is_the_texts_of_a_one_lead_frame(models: dict[str, ServedModel]) -> None:
    model = models["platt"]
    path = model.one
    assert path is not None
    book, texts = path.book, path.text_columns
    base: dict[str, Any] = {n: (None if n in texts else 3.0) for n in path.columns}
    checked = 0
    for name in path.columns:
        for value in CELLS:
            if (name in texts) != (value is None or isinstance(value, str)):
                continue
            for neighbours in (3.0, 0.0, math.nan):  # what templated sentences read of the other features
                row = {n: (v if n in texts else neighbours) for n, v in base.items()} | {name: value}
                got = book.sentence(name, row, texts)
                frame = small_frame([row], ["x"], path.columns, texts)
                want = book.texts(name, frame, np.zeros(1, dtype=np.intp))[0]
                if got is not None:
                    assert got == want, (name, value, neighbours)
                    checked += 1
                elif value is not None and not isinstance(value, str) and math.isfinite(value) and abs(value) < 1e17:
                    pytest.fail(f"{name}={value!r}: a plain value the scalar words should cover fell back")
    assert checked > 20 * len(path.columns)


def test_built_models_are_model_constructs() -> None:
    values = {"feature": "employees", "contribution": 0.25, "points": 1.5, "text": "Works at a company (+1.5 points)"}
    a, b = built(Reason, dict(values)), Reason.model_construct(**values)
    assert a == b and a.model_fields_set == b.model_fields_set and a.model_dump_json() == b.model_dump_json()
    result = {
        "lead_id": "L1", "probability": 0.1, "score": 10.0, "grade": "C", "reasons": [a.text], "reason_details": [a],
        "components": None, "route": "nurture", "route_reason": "below the MQL bar", "model_version": 3,
    }  # fmt: skip
    x, y = built(ScoreResult, dict(result)), ScoreResult.model_construct(**result)
    assert x == y and x.model_dump_json() == y.model_dump_json()
    partial = built(Reason, {"feature": "f", "contribution": None, "text": "t"})  # a field left out: model_construct
    assert partial.points is None and partial.model_fields_set == {"feature", "contribution", "text"}
