"""The flat export's ordered split: rows keep the file's order (the number ending lead_id), random stays default."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from examples_ws import settings_for
from pydantic import ValidationError

from leadops.errors import FeatureError
from leadops.features.training import build_training_set, ordered_split, row_order
from leadops.settings.features import SplitSpec, TrainingSpec
from leadops.warehouse.connection import open_warehouse


def test_random_stays_the_default_split_method() -> None:
    assert SplitSpec().method == "random"
    assert TrainingSpec().split.method == "random"


def test_unknown_split_method_is_rejected_naming_the_choices() -> None:
    with pytest.raises(ValidationError, match="'random' or 'ordered'"):
        SplitSpec.model_validate({"method": "by_time"})


def test_row_order_sorts_by_the_trailing_number_not_the_text() -> None:
    ids = pd.Series(["src:10", "src:2", "src:1", "src:100", "src:9"])
    assert ids.iloc[row_order(ids)].tolist() == ["src:1", "src:2", "src:9", "src:10", "src:100"]


def test_row_order_breaks_ties_between_sources_by_lead_id() -> None:
    ids = pd.Series(["b:2", "a:2", "b:1", "a:1"])
    assert ids.iloc[row_order(ids)].tolist() == ["a:1", "b:1", "a:2", "b:2"]


def test_ordered_split_gives_the_first_rows_to_train_and_the_last_to_test() -> None:
    n = 1000
    rng = np.random.default_rng(0)
    ids = pd.Series([f"bank_marketing:{i}" for i in rng.permutation(np.arange(1, n + 1))])
    split = ordered_split(ids, SplitSpec(method="ordered", train=0.6, validation=0.15, test=0.25))
    row = ids.str.split(":").str[1].astype(int).to_numpy()
    assert (split == "train").sum() == 600 and (split == "validation").sum() == 150 and (split == "test").sum() == 250
    assert row[split == "train"].max() == 600
    assert row[split == "validation"].min() == 601 and row[split == "validation"].max() == 750
    assert row[split == "test"].min() == 751


def test_ordered_split_without_validation_puts_nothing_there() -> None:
    ids = pd.Series([f"s:{i}" for i in range(1, 101)])
    split = ordered_split(ids, SplitSpec(method="ordered", train=0.75, validation=0.0, test=0.25))
    assert (split == "validation").sum() == 0 and (split[:75] == "train").all() and (split[75:] == "test").all()


def test_ordered_split_refuses_ids_without_a_row_number_naming_one() -> None:
    ids = pd.Series(["s:1", "s:2", "customer-abc"])
    with pytest.raises(FeatureError, match="lead_id 'customer-abc' does not end in a row number"):
        ordered_split(ids, SplitSpec(method="ordered"))


def test_tutorial_ordered_split_trains_on_the_first_leads_and_tests_on_the_last(tutorial: Path) -> None:
    ordered = "{method: ordered, train: 0.6, validation: 0.15, test: 0.25}"
    settings = settings_for(tutorial, LEADOPS_TRAINING__SPLIT=ordered)
    with open_warehouse(settings.warehouse.url, settings.workspace) as wh:
        ts = build_training_set(settings.features, settings.training, wh, sources=settings.sources)
        other = settings_for(tutorial)
        again = build_training_set(other.features, other.training, wh, sources=other.sources)
    number = {s: ts.ids[s].str.extract(r"(\d+)$", expand=False).astype(int) for s in ts.ids}
    assert (len(number["train"]), len(number["validation"]), len(number["test"])) == (1200, 300, 500)
    assert number["train"].max() == 1200 and number["validation"].min() == 1201
    assert number["validation"].max() == 1500 and number["test"].min() == 1501
    assert any("ordered by row" in w for w in ts.warnings)
    # the default (random, stratified) split mixes early and late leads into the test part
    assert again.ids["test"].str.extract(r"(\d+)$", expand=False).astype(int).min() < 1200
    assert ts.digest != again.digest
