"""Flat exports (one row per lead, a converted column, no event times) ingest with a mapping alone."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from leadops.config import load
from leadops.crm import ingest
from leadops.warehouse.connection import open_warehouse

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT.parent / "shared" / "data"


def _example(tmp_path: Path, example: str, data_file: str) -> Path:
    """A copy of an example workspace whose source/ holds a link to the shared data file."""
    source = DATA / data_file
    if not source.exists():
        pytest.skip(f"{source} is not available")
    ws = tmp_path / example
    (ws / "source").mkdir(parents=True)
    shutil.copy(ROOT / "examples" / example / "leadops.yaml", ws / "leadops.yaml")
    (ws / "source" / data_file).symlink_to(source)
    return ws


@pytest.mark.slow
def test_bank_marketing_loads_every_row_with_typed_attributes_and_converted_outcomes(tmp_path: Path) -> None:
    ws = _example(tmp_path, "bank-marketing", "bank-additional-full.csv")
    settings = load(ws, environ={})
    with open_warehouse(settings.warehouse.url, settings.workspace) as wh:
        report = ingest(settings, wh)
        # id_from_row: the 12 identical rows are 12 different clients' rows, not duplicate keys; all load
        assert report.rows_read == 41_188
        assert report.rows_loaded == 41_188 and report.rows_quarantined == 0
        assert wh.counts() == {"accounts": 0, "leads": 41_188, "activities": 0, "outcomes": 4_640}
        assert wh.scalar("SELECT count(*) FROM leads WHERE created_at IS NULL") == 41_188
        raw = wh.scalar("SELECT attributes FROM leads WHERE lead_id = 'bank_marketing:1'")
        first = json.loads(raw) if isinstance(raw, str) else raw
        assert first["age"] == 56 and first["duration"] == 261 and first["emp.var.rate"] == 1.1
        assert first["job"] == "housemaid" and first["default"] == "no"
        raw = wh.scalar("SELECT attributes FROM leads WHERE lead_id = 'bank_marketing:2'")
        second = json.loads(raw) if isinstance(raw, str) else raw
        assert second["default"] is None  # "unknown" means missing
        assert "y" not in first
        outcome = wh.rows("SELECT outcome, occurred_at, lead_id = outcome_id FROM outcomes LIMIT 1")
        assert outcome == [("converted", None, True)]
        report = ingest(settings, wh)
        assert wh.counts()["leads"] == 41_188 and wh.counts()["outcomes"] == 4_640
        assert wh.scalar("SELECT count(*) FROM quarantine") == 0


def test_online_shoppers_loads_sessions_with_revenue_as_conversion(tmp_path: Path) -> None:
    ws = _example(tmp_path, "online-shoppers", "online_shoppers_intention.csv")
    settings = load(ws, environ={})
    with open_warehouse(settings.warehouse.url, settings.workspace) as wh:
        report = ingest(settings, wh)
        assert report.rows_read == 12_330 and report.rows_loaded == 12_330
        assert wh.counts()["outcomes"] == 1_908
        raw = wh.scalar("SELECT attributes FROM leads WHERE lead_id = 'online_shoppers:1'")
        first = json.loads(raw) if isinstance(raw, str) else raw
        assert first["Weekend"] is False and first["BounceRates"] == 0.2 and first["Month"] == "Feb"
        assert "Revenue" not in first
