"""`leadops monitor` on PostgreSQL: the same export, champion and nightly runs give the same drift, new-lead
population, volumes and cohorts as on DuckDB (the monitor's SQL runs on both engines)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from typer.testing import CliRunner

from leadops.cli import app

pytestmark = [pytest.mark.postgres, pytest.mark.slow]
runner = CliRunner()
NIGHTS = ("2025-09-01", "2025-09-08", "2025-09-15")
THREADS = {"LEADOPS_MODELS__PREDICTIVE__NUM_THREADS": "2", "LEADOPS_MONITORING__NEW_LEADS__MIN_ROWS": "40"}


def call(env: dict[str, str], *args: str) -> dict[str, Any]:
    result = runner.invoke(app, [*args, "--json"], env={**THREADS, **env})
    assert result.exit_code == 0, result.output
    data: dict[str, Any] = json.loads(result.stdout)
    return data


@pytest.fixture(scope="module")
def monitored(tmp_path_factory: pytest.TempPathFactory, pg_schema_url: str) -> dict[str, list[dict[str, Any]]]:
    """One export and one champion; the same three weekly runs scored and monitored on each engine."""
    ws = str(tmp_path_factory.mktemp("monitor-pg") / "ws")
    duck: dict[str, str] = {}
    pg = {"LEADOPS_WAREHOUSE__URL": pg_schema_url, "LEADOPS_MONITORING__SAMPLE_DIR": "monitoring/samples-pg"}
    call(duck, "init", ws)
    call(duck, "simulate", "--workspace", ws, "--leads", "3000", "--seed", "21")
    for env in (duck, pg):
        call(env, "ingest", "--workspace", ws)
    trained = call(duck, "train", "--model", "predictive", "--workspace", ws)
    call(duck, "models", "promote", str(trained["version"]), "--workspace", ws, "--force", "--reason", "tests")
    out: dict[str, list[dict[str, Any]]] = {"duckdb": [], "postgres": []}
    for name, env in (("duckdb", duck), ("postgres", pg)):
        for night in NIGHTS:
            call(env, "score", "--workspace", ws, "--as-of", night)
            out[name].append(call(env, "monitor", "--workspace", ws, "--as-of", night))
    return out


def _stats(found: dict[str, Any]) -> dict[tuple[str, str], tuple[float | None, bool]]:
    return {(f, s): (v["value"], v["drifted"]) for f, d in found.items() for s, v in d["stats"].items()}


def test_postgres_monitoring_matches_duckdb_on_the_same_runs(monitored: dict[str, list[dict[str, Any]]]) -> None:
    for night, (duck, pg) in enumerate(zip(monitored["duckdb"], monitored["postgres"], strict=True)):
        assert pg["as_of"] == duck["as_of"] and pg["model_version"] == duck["model_version"]
        for key in ("run_leads", "sample_rows", "reference_rows", "drifted"):
            assert pg[key] == duck[key], key
        assert duck["new_leads"]["leads"] > 0  # the first night has no earlier run of the same weekday to compare
        assert len(duck["new_leads"]["drift"]) == (len(duck["drift"]) if night else 0)
        assert {k: pg["new_leads"][k] for k in ("since", "leads", "sample_rows", "reference_rows", "drifted")} == {
            k: duck["new_leads"][k] for k in ("since", "leads", "sample_rows", "reference_rows", "drifted")
        }
        for found_pg, found_duck in (
            (pg["drift"], duck["drift"]),
            (pg["new_leads"]["drift"], duck["new_leads"]["drift"]),
        ):
            got, want = _stats(found_pg), _stats(found_duck)
            assert got.keys() == want.keys()
            for key, (value, drifted) in want.items():
                assert got[key][1] == drifted, key
                assert (got[key][0] is None) == (value is None), key
                if value is not None:
                    assert got[key][0] == pytest.approx(value, rel=1e-6, abs=1e-9), key
        assert pg["new_leads"]["volume"] == duck["new_leads"]["volume"]
        assert sorted((a["kind"], a["feature"]) for a in pg["alerts"]) == sorted(
            (a["kind"], a["feature"]) for a in duck["alerts"]
        )
        cohorts = [(c["week"], c["leads"], c["mature"]) for c in duck["performance"]]
        assert [(c["week"], c["leads"], c["mature"]) for c in pg["performance"]] == cohorts
        for c_pg, c_duck in zip(pg["performance"], duck["performance"], strict=True):
            assert c_pg["estimated"]["conversion_rate"] == pytest.approx(c_duck["estimated"]["conversion_rate"])
