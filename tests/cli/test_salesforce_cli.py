"""`leadops init/simulate --export-format salesforce`: the relational export and its mapping, from the CLI alone."""

from __future__ import annotations

import json
import re
from pathlib import Path

import yaml
from typer.testing import CliRunner

from leadops.cli import app
from leadops.settings.crm import SourceSpec

runner = CliRunner()


def _json(*args: str) -> dict:  # type: ignore[type-arg]
    result = runner.invoke(app, [*args, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_init_and_simulate_salesforce_then_ingest_loads_every_table_and_filters_the_rest(tmp_path: Path) -> None:
    ws = tmp_path / "sf"
    assert _json("init", str(ws), "--export-format", "salesforce")["export_format"] == "salesforce"
    config = yaml.safe_load((ws / "leadops.yaml").read_text(encoding="utf-8"))
    assert config["simulate"]["export_format"] == "salesforce"
    assert [s["name"] for s in config["sources"]][:3] == ["sf_accounts", "sf_leads", "sf_contacts"]
    summary = _json("simulate", "--workspace", str(ws), "--leads", "400", "--days", "45")
    assert summary["export_format"] == "salesforce" and "Opportunity" in summary["files"]
    report = _json("ingest", "--workspace", str(ws))
    assert report["status"] == "succeeded" and report["rows_quarantined"] == 0
    assert report["rows_read"] == report["rows_loaded"] + report["rows_unchanged"] + report["rows_filtered"]
    assert report["tables"]["leads"] == 400 and report["rows_filtered"] > 0


def test_an_unknown_export_format_is_one_line_naming_the_choices(tmp_path: Path) -> None:
    result = runner.invoke(app, ["init", str(tmp_path / "x"), "--export-format", "sap"])
    assert result.exit_code != 0
    assert "export format 'sap' is unknown; expected one of flat, salesforce" in result.output
    assert "Traceback" not in result.output


def test_the_relational_mapping_example_in_the_contracts_page_is_a_valid_source() -> None:
    page = (Path(__file__).parents[2] / "docs" / "CONTRACTS.md").read_text(encoding="utf-8")
    block = re.search(r"## Relational mapping.*?```yaml\n(.*?)```", page, re.S)
    assert block is not None
    (source,) = yaml.safe_load(block.group(1))
    spec = SourceSpec.model_validate(source)
    assert [s.name for s in spec.expanded()] == ["sf_opportunities", "sf_opportunities.closed"]
