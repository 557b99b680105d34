"""End to end: the fictional company's faults export ingests with exactly its broken rows quarantined."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
import yaml

from conftest import Workspace, crm_config
from leadops.crm import ingest

simulate_module = pytest.importorskip("leadops.simulate")
if not hasattr(simulate_module, "simulate"):  # pragma: no cover - only while the simulator is being written
    pytest.skip("leadops.simulate has no simulate() yet", allow_module_level=True)

FILE_OF = {"crm_accounts": "accounts.csv", "crm_leads": "leads.csv", "crm_activities": "activities.csv",
           "crm_outcomes": "outcomes.csv"}  # fmt: skip
EXPECTED = {
    "duplicate_id": {"duplicate_key"},
    "missing_required": {"missing_required"},
    "wrong_type": {"wrong_type", "unparseable_timestamp"},
    "unknown_category": {"unknown_category"},
    "absurd_value": {"out_of_range"},
    "dangling_reference": {"dangling_reference"},
    "future_timestamp": {"future_timestamp"},
    "bad_encoding": {"bad_encoding"},
    "outcome_before_lead": {"outcome_before_lead"},
}
INDUSTRIES = ["Software", "Financial Services", "Healthcare", "Manufacturing", "Retail", "Education", "Government",
              "Telecom", "Media", "Energy", "Professional Services", "Logistics"]  # fmt: skip


def _config() -> dict[str, object]:
    """The template's mapping; the export spells industries as labels, so map them (see the crm report)."""
    config = crm_config()
    accounts = next(s for s in config["sources"] if s["name"] == "crm_accounts")
    accounts.setdefault("values", {})["industry"] = {n: n.lower().replace(" ", "_") for n in INDUSTRIES}
    return config


@pytest.mark.slow
def test_faults_export_quarantines_exactly_the_broken_rows(workspace: Workspace, tmp_path: Path) -> None:
    settings, wh = workspace(_config())
    simulate_module.simulate(settings.workspace, scenario="faults", leads=400, days=45, seed=7, fault_rate=0.05)
    report = ingest(settings, wh)
    truth = settings.workspace / "ground_truth" / "faults.csv"
    with open(truth, newline="", encoding="utf-8") as handle:
        faults = {(r["file"], int(r["row_number"])): r["fault_kind"] for r in csv.DictReader(handle)}
    got = {(FILE_OF[s], int(n)): r for s, n, r in wh.rows("SELECT source, row_number, reason FROM quarantine")}
    assert set(got) == set(faults), (sorted(set(got) - set(faults))[:5], sorted(set(faults) - set(got))[:5])
    wrong = {k: (faults[k], got[k]) for k in faults if got[k] not in EXPECTED[faults[k]]}
    assert not wrong, list(wrong.items())[:10]
    assert report.rows_quarantined == len(faults)
    assert report.rows_loaded == report.rows_read - len(faults)

    counts = wh.counts()
    quarantined = wh.scalar("SELECT count(*) FROM quarantine")
    ingest(settings, wh)
    assert wh.counts() == counts
    assert wh.scalar("SELECT count(*) FROM quarantine") == quarantined


def test_template_mapping_is_valid_yaml_for_the_export() -> None:
    assert yaml.safe_dump(_config())
