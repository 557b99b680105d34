"""Ingest says when a value mapping or a category contract sends most of a column to missing or `other`."""

from __future__ import annotations

from typing import Any

from typer.testing import CliRunner

from conftest import Workspace
from leadops.cli import app
from leadops.crm import ingest
from leadops.crm.coverage import coverage_warnings


def _config(share: float = 0.3) -> dict[str, Any]:
    return {
        "sources": [
            {
                "name": "web",
                "table": "leads",
                "path": "source/web.csv",
                "columns": {"id": "lead_id", "level": "job_level", "src": "lead_source"},
                "values": {"job_level": {"Select": None, "VP": "vp"}},
            }
        ],
        "contracts": {
            "leads": {
                "required": ["lead_id"],
                "categories": {
                    "lead_source": {"allowed": ["webinar", "referral"], "unknown": "other"},
                    "job_level": {"allowed": ["vp", "manager"], "unknown": "quarantine"},
                },
            }
        },
        "features": {"warn_share": share},
    }


def _file(n: int, selects: int, tv: int) -> str:
    rows = [f"L{i},{'Select' if i < selects else 'VP'},{'tv' if i < tv else 'webinar'}" for i in range(n)]
    return "id,level,src\n" + "\n".join(rows) + "\n"


def test_a_mapping_that_empties_a_column_is_reported(workspace: Workspace) -> None:
    settings, wh = workspace(_config(), {"source/web.csv": _file(10, selects=8, tv=6)})
    report = ingest(settings, wh)
    assert report.rows_loaded == 10 and report.rows_quarantined == 0, "nothing lost: every row loads"
    lines = coverage_warnings(settings.sources, settings.contracts, wh, settings.features.warn_share)
    assert len(lines) == 2
    assert lines[0].startswith("leads.job_level: 80% of the 10 rows are missing after source 'web' values")
    assert lines[1].startswith("leads.lead_source: 60% of the 10 rows are missing or 'other' after contracts")


def test_a_mapping_that_fits_says_nothing_and_the_share_is_configurable(workspace: Workspace) -> None:
    settings, wh = workspace(_config(share=0.7), {"source/web.csv": _file(10, selects=2, tv=6)})
    ingest(settings, wh)
    assert coverage_warnings(settings.sources, settings.contracts, wh, settings.features.warn_share) == []


def test_ingest_prints_the_warning_and_puts_it_in_json(workspace: Workspace) -> None:
    settings, wh = workspace(_config(), {"source/web.csv": _file(10, selects=8, tv=0)})
    wh.close()
    runner = CliRunner()
    out = runner.invoke(app, ["ingest", "--workspace", str(settings.workspace), "--json"])
    assert out.exit_code == 0, out.output
    import json

    data = json.loads(out.stdout.strip().splitlines()[-1])
    assert [w.split(":")[0] for w in data["warnings"]] == ["leads.job_level"]
    again = runner.invoke(app, ["ingest", "--workspace", str(settings.workspace)])
    assert again.exit_code == 0 and "warning: leads.job_level: 80% of the 10 rows are missing" in again.output
