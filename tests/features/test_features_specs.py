"""Feature specs validate as data: names, references, cycles, window shorthand, the shipped template."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from pydantic import ValidationError

from leadops.settings.features import ActivityFeature, FeaturesSpec, TrainingSpec

TEMPLATE = Path(__file__).parents[2] / "src" / "leadops" / "templates" / "features.yaml"


def _spec(*defs: dict[str, object]) -> FeaturesSpec:
    return FeaturesSpec.model_validate({"definitions": list(defs)})


def test_windows_shorthand_expands_to_one_feature_per_window() -> None:
    spec = _spec(
        {
            "name": "opens_{days}d",
            "label": "opens in {days} days",
            "kind": "activity",
            "types": ["email_open"],
            "windows": [7, 30],
        }
    )
    assert spec.names() == ["opens_7d", "opens_30d"]
    assert spec.labels()["opens_30d"] == "opens in 30 days"
    first = spec.definitions[0]
    assert isinstance(first, ActivityFeature) and first.window_us() == 7 * 86_400_000_000


@pytest.mark.parametrize(
    ("defs", "message"),
    [
        ([{"name": "x", "label": "x", "kind": "derived", "expression": "y + 1"}], "unknown feature 'y'"),
        (
            [
                {"name": "x", "label": "x", "kind": "derived", "expression": "y + 1"},
                {"name": "y", "label": "y", "kind": "derived", "expression": "x * 2"},
            ],
            "cycle",
        ),
        ([{"name": "Bad-Name", "label": "x", "column": "job_level"}], "lower-case"),
        (
            [
                {"name": "x", "label": "x", "column": "job_level"},
                {"name": "x", "label": "x", "column": "country"},
            ],
            "unique",
        ),
        ([{"name": "x", "label": "x", "column": "no_such_column"}], "not a lead column"),
        ([{"name": "x", "label": "x", "kind": "activity", "agg": "decayed_sum"}], "half_life_days"),
        ([{"name": "x", "label": "x", "column": "job_level", "colour": "red"}], "Extra inputs"),
        (
            [
                {"name": "c", "label": "c", "column": "job_level", "type": "categorical"},
                {"name": "d", "label": "d", "kind": "derived", "expression": "c + 1"},
            ],
            "categorical",
        ),
        ([{"name": "x", "label": "x", "kind": "derived", "expression": "__import__('os')"}], "not allowed"),
    ],
)
def test_invalid_specs_name_what_is_wrong(defs: list[dict[str, object]], message: str) -> None:
    with pytest.raises((ValidationError, ValueError)) as info:
        _spec(*defs)
    assert message in str(info.value)


def test_shipped_template_is_valid_yaml_and_valid_specs() -> None:
    data = yaml.safe_load(TEMPLATE.read_text(encoding="utf-8"))
    spec = FeaturesSpec.model_validate(data["features"])
    training = TrainingSpec.model_validate(data["training"])
    assert len(spec.names()) >= 30
    assert all(label.strip() for label in spec.labels().values())
    assert training.label.outcome == "converted"


def test_split_fractions_must_add_up() -> None:
    with pytest.raises(ValidationError, match="add up to 1"):
        TrainingSpec.model_validate({"split": {"train": 0.7, "validation": 0.2, "test": 0.2}})
