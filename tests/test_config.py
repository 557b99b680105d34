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


@pytest.mark.parametrize(
    ("section", "key", "value", "moved_to"),
    [
        ("evaluation", "mql_threshold", "30", "business.mql_threshold"),
        ("evaluation", "capacity_per_day", "40", "business.capacity.per_day"),
        ("evaluation", "value_per_conversion", "100", "business.value_per_conversion"),
        ("routing", "threshold", "70", "business.mql_threshold"),
        ("routing", "capacity", "{per_day: 5}", "business.capacity"),
    ],
)
def test_a_key_that_moved_to_business_is_a_one_line_error_saying_where(
    workspace: Path, section: str, key: str, value: str, moved_to: str
) -> None:
    cfg = workspace / "leadops.yaml"
    text = cfg.read_text()
    assert f"\n{section}:\n" in text
    cfg.write_text(text.replace(f"\n{section}:\n", f"\n{section}:\n  {key}: {value}\n", 1))
    with pytest.raises(ConfigError) as info:
        config.load(workspace, environ={})
    message = str(info.value)
    assert f"key '{section}.{key}' moved to '{moved_to}'" in message and "\n" not in message


def test_a_moved_key_given_as_an_environment_variable_is_refused_too(workspace: Path) -> None:
    with pytest.raises(ConfigError, match=r"key 'routing\.threshold' moved to 'business\.mql_threshold'"):
        config.load(workspace, environ={"LEADOPS_ROUTING__THRESHOLD": "70"})


def test_the_business_section_is_read_once_by_every_part(workspace: Path) -> None:
    settings = config.load(
        workspace, environ={"LEADOPS_BUSINESS__MQL_THRESHOLD": "42", "LEADOPS_BUSINESS__COST_PER_CONTACT": "9"}
    )
    from leadops.jobs.run import job_operations

    ops = job_operations(settings)
    assert ops.business.mql_threshold == 42 == settings.business.mql_threshold
    assert ops.business.cost_per_contact == 9
    assert settings.business.capacity.total_per_day() == 40, "the template's four territories: 18 + 12 + 6 + 4"
    assert settings.business.declared_capacity() == 40
    assert config.Settings().business.declared_capacity() is None, "undeclared: the simulator keeps its own team"
