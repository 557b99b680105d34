"""Unseen categories follow their policy (keep / other / error) on both paths; vocabularies are cut."""

from __future__ import annotations

from datetime import datetime

import pyarrow as pa
import pytest

from leadops.errors import FeatureError
from leadops.features.build import build_features
from leadops.features.online import online_vector
from leadops.features.training import _learn_categories
from leadops.settings.features import FeaturesSpec
from leadops.warehouse import Warehouse

AS_OF = datetime(2025, 6, 1)


def _spec(policy: str) -> FeaturesSpec:
    return FeaturesSpec.model_validate(
        {
            "definitions": [
                {
                    "name": "source",
                    "label": "lead source",
                    "column": "lead_source",
                    "type": "categorical",
                    "categories": ["webinar", "referral"],
                    "unseen": policy,
                },
                {"name": "level", "label": "job level", "key": "level", "type": "categorical"},
            ]
        }
    )


def _load(warehouse: Warehouse) -> None:
    warehouse.insert(
        "leads",
        pa.table(
            {
                "lead_id": ["a", "b", "c"],
                "created_at": pa.array([datetime(2025, 1, 1)] * 3, pa.timestamp("us")),
                "lead_source": ["webinar", "trade_show", None],
                "attributes": ['{"level": "vp"}', '{"level": true}', "{}"],
            }
        ),
    )


@pytest.mark.parametrize(("policy", "expected"), [("keep", "trade_show"), ("other", "other")])
def test_unseen_value_is_kept_or_mapped_to_other_on_both_paths(
    warehouse: Warehouse, policy: str, expected: str
) -> None:
    _load(warehouse)
    spec = _spec(policy)
    rows = build_features(spec, warehouse, as_of=AS_OF).to_pylist()  # type: ignore[union-attr]
    assert [r["source"] for r in rows] == ["webinar", expected, None]
    assert [r["level"] for r in rows] == ["vp", "true", None]
    lead = {"lead_id": "b", "lead_source": "trade_show", "attributes": {"level": True}}
    assert online_vector(spec, lead, None, [], AS_OF) == {"source": expected, "level": "true"}


def test_unseen_value_with_policy_error_raises_naming_lead_and_value(warehouse: Warehouse) -> None:
    _load(warehouse)
    spec = _spec("error")
    with pytest.raises(FeatureError, match=r"'b' has category 'trade_show'"):
        build_features(spec, warehouse, as_of=AS_OF)
    with pytest.raises(FeatureError, match=r"'b' has category 'trade_show'"):
        online_vector(spec, {"lead_id": "b", "lead_source": "trade_show"}, None, [], AS_OF)
    assert online_vector(spec, {"lead_id": "a", "lead_source": "referral"}, None, [], AS_OF)["source"] == "referral"


def test_learned_vocabulary_keeps_the_most_frequent_values() -> None:
    import pandas as pd

    spec = FeaturesSpec.model_validate(
        {
            "max_categories": 2,
            "definitions": [{"name": "level", "label": "job level", "column": "job_level", "type": "categorical"}],
        }
    )
    train = pd.DataFrame({"level": ["vp"] * 5 + ["manager"] * 3 + ["student"] * 1 + [None]})
    learned = _learn_categories(spec, train)
    assert learned.definitions[0].categories == ["vp", "manager"]  # type: ignore[union-attr]
    assert online_vector(learned, {"job_level": "student"}, None, [], AS_OF) == {"level": "other"}


def test_training_set_learns_vocabularies_and_maps_the_rest_to_other(warehouse: Warehouse) -> None:
    from features_synth import load_world, make_world

    from leadops.features.training import build_training_set
    from leadops.settings.features import TrainingSpec

    load_world(warehouse, make_world(1_500, seed=12))
    spec = FeaturesSpec.model_validate(
        {
            "definitions": [
                {
                    "name": "source",
                    "label": "lead source",
                    "column": "lead_source",
                    "type": "categorical",
                    "max_categories": 2,
                },
                {"name": "opens", "label": "email opens", "kind": "activity", "types": ["email_open"]},
            ]
        }
    )
    training = TrainingSpec.model_validate({"label": {"window_days": 60}, "leakage": {"enabled": False}})
    result = build_training_set(spec, training, warehouse)
    learned = result.spec.definitions[0].categories  # type: ignore[union-attr]
    assert learned is not None and len(learned) == 2
    for X in (result.X_train, result.X_val, result.X_test):
        assert set(X["source"].dropna()) <= {*learned, "other"}
    assert (result.X_test["source"] == "other").any()
