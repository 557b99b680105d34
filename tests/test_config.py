"""leadops.yaml is validated on load; errors name the file and the key; LEADOPS_* variables override keys."""

from __future__ import annotations

from pathlib import Path

import pytest

from leadops import config
from leadops.errors import ConfigError, WorkspaceError
from leadops.workspace import init_workspace


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    init_workspace(tmp_path / "ws")
    return tmp_path / "ws"


def test_init_writes_a_config_that_validates_and_maps_the_fictional_company(workspace: Path) -> None:
    settings = config.load(workspace, environ={})
    tables = [s.table for s in settings.sources]
    assert tables == ["accounts", "leads", "activities", "outcomes"]
    assert settings.warehouse.url.startswith("duckdb://")
    text = (workspace / "leadops.yaml").read_text()
    assert text.count("#") >= 15, "the written config explains itself with comments"


def test_init_refuses_to_overwrite_without_force(workspace: Path) -> None:
    with pytest.raises(WorkspaceError, match="already exists"):
        init_workspace(workspace)
    init_workspace(workspace, force=True)


def test_env_variables_override_nested_keys(workspace: Path) -> None:
    settings = config.load(
        workspace, environ={"LEADOPS_WAREHOUSE__URL": "postgresql://u:p@h/db", "LEADOPS_SIMULATE__LEADS": "1234"}
    )
    assert settings.warehouse.url == "postgresql://u:p@h/db"
    assert settings.simulate.leads == 1234
    shown = config.effective(settings)
    assert "p@h" not in shown["warehouse"]["url"] and "***" in shown["warehouse"]["url"]


def test_invalid_value_error_names_file_key_and_what_came(workspace: Path) -> None:
    cfg = workspace / "leadops.yaml"
    cfg.write_text(cfg.read_text().replace("leads: 20000", "leads: lots"))
    with pytest.raises(ConfigError) as info:
        config.load(workspace, environ={})
    message = str(info.value)
    assert str(cfg) in message and "simulate.leads" in message and "'lots'" in message


def test_unknown_key_is_an_error_not_ignored(workspace: Path) -> None:
    cfg = workspace / "leadops.yaml"
    cfg.write_text(cfg.read_text().replace("  model_name: lead_score", "  model_nmae: lead_score"))
    with pytest.raises(ConfigError, match=r"registry\.model_nmae"):
        config.load(workspace, environ={})


def test_source_needs_exactly_one_origin(workspace: Path) -> None:
    cfg = workspace / "leadops.yaml"
    cfg.write_text(cfg.read_text().replace("    path: source/outcomes.csv\n", ""))
    with pytest.raises(ConfigError, match="exactly one of 'path' or 'query'"):
        config.load(workspace, environ={})


def test_missing_workspace_says_how_to_create_one(tmp_path: Path) -> None:
    with pytest.raises(WorkspaceError, match="leadops init"):
        config.load(tmp_path, environ={})


def test_broken_yaml_is_reported_with_the_file(workspace: Path) -> None:
    (workspace / "leadops.yaml").write_text("warehouse: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        config.load(workspace, environ={})
