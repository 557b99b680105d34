"""One config hash and one feature-spec hash: stable for equal content, different for any change."""

from __future__ import annotations

from pathlib import Path

from leadops.config import Settings
from leadops.hashing import config_hash, content_hash, feature_spec_hash
from leadops.settings.features import FeaturesSpec


def test_config_hash_ignores_the_workspace_path_and_sees_every_setting(tmp_path: Path) -> None:
    a, b = Settings.model_validate({}), Settings.model_validate({})
    a.workspace, b.workspace = tmp_path / "one", tmp_path / "two"
    assert config_hash(a) == config_hash(b) and len(config_hash(a)) == 64
    c = Settings.model_validate({"registry": {"model_name": "other_score"}})
    assert config_hash(c) != config_hash(a)


def test_feature_spec_hash_changes_with_a_learned_vocabulary() -> None:
    spec = FeaturesSpec.model_validate(
        {"definitions": [{"name": "src", "label": "lead source", "column": "lead_source", "type": "categorical"}]}
    )
    assert feature_spec_hash(spec) == feature_spec_hash(FeaturesSpec.model_validate(spec.model_dump(mode="json")))
    assert feature_spec_hash(spec.with_categories({"src": ["webinar"]})) != feature_spec_hash(spec)
    assert content_hash({"b": 1, "a": [1, 2]}) == content_hash({"a": [1, 2], "b": 1})
