"""`make demo` end to end at a small size: tonight's queue is published with reasons, in the database."""

from __future__ import annotations

from pathlib import Path

import pytest

from leadops.demo import run_demo


@pytest.mark.slow
def test_demo_publishes_tonights_queue_with_reasons_and_the_business_figures(tmp_path: Path) -> None:
    result = run_demo(tmp_path / "demo", leads=8000, seed=5)
    run = result["run"]
    assert run["status"] == "published"
    assert run["routed_sales"] > 0 and run["routed_marketing"] > 0
    assert Path(run["export_csv"]).exists()
    trained = result["trained"]
    assert set(trained) == {"points", "predictive"}
    for figures in trained.values():
        assert 0.5 < figures["auc"] < 1 and figures["captured_at_capacity"] is not None

    import duckdb

    con = duckdb.connect(str(tmp_path / "demo" / "warehouse.duckdb"), read_only=True)
    queue = con.sql("SELECT count(*), count(reason_text) FROM current_sales_queue").fetchall()[0]
    audit = con.sql("SELECT action FROM registry_audit ORDER BY seq").fetchall()
    con.close()
    assert queue[0] == run["routed_sales"] and queue[1] == queue[0]
    assert ("promote",) in audit or ("force_promote",) in audit
