"""The whole chain on a PostgreSQL warehouse through the CLI, beside the same chain on DuckDB: init, simulate,
ingest, features, train, validate, promote, score; the analyst views then hold tonight's scores, as on DuckDB.
The PostgreSQL workspace keeps its registry in the same server too (MLflow's SQL store, a schema of its own)."""

from __future__ import annotations

import json
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from leadops.cli import app
from leadops.config import load
from leadops.registry.integrity import verify_artifact
from leadops.registry.loading import load_artifact_dir
from leadops.warehouse import Warehouse, open_warehouse

pytestmark = [pytest.mark.postgres, pytest.mark.slow]
runner = CliRunner()
TONIGHT = "2026-01-01"  # the simulated export ends here


def call(env: dict[str, str], *args: str) -> dict[str, Any]:
    result = runner.invoke(app, [*args, "--json"], env=env)
    assert result.exit_code == 0, result.output
    data: dict[str, Any] = json.loads(result.stdout)
    return data


def chain(workspace: Path, env: dict[str, str]) -> dict[str, dict[str, Any]]:
    """Every step of a first night, each through the CLI; returns each step's --json output."""
    ws = str(workspace)
    out = {"init": call(env, "init", ws)}
    out["simulate"] = call(env, "simulate", "--workspace", ws, "--leads", "2500", "--seed", "5")
    out["ingest"] = call(env, "ingest", "--workspace", ws)
    out["features"] = call(env, "features", "build", "--workspace", ws, "--as-of", TONIGHT)
    out["train"] = call(env, "train", "--model", "points", "--workspace", ws)
    version = str(out["train"]["version"])
    out["validate"] = call(env, "validate", version, "--workspace", ws)
    out["promote"] = call(env, "models", "promote", version, "--workspace", ws)
    out["score"] = call(env, "score", "--workspace", ws, "--as-of", TONIGHT)
    return out


@pytest.fixture(scope="module")
def registry_url(pg_schema_url: str) -> Iterator[str]:
    """The MLflow store in the test server, as a user writes it in leadops.yaml: `postgresql://...?schema=`."""
    base, _, _ = pg_schema_url.rpartition("schema=")
    schema = f"mlflow_{uuid.uuid4().hex[:10]}"
    try:
        yield f"{base}schema={schema}"
    finally:
        wh = Warehouse(pg_schema_url)
        wh.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        wh.close()


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory, pg_schema_url: str, registry_url: str) -> Iterator[dict[str, Any]]:
    """The chain on PostgreSQL (warehouse and registry, a schema each) and on DuckDB, from the same export."""
    url = pg_schema_url
    root = tmp_path_factory.mktemp("pgchain")
    env = {"LEADOPS_WAREHOUSE__URL": url, "LEADOPS_REGISTRY__URI": registry_url}
    pg = chain(root / "pg", env)
    duck = chain(root / "duck", {})
    pg_wh = open_warehouse(url, migrate=False)
    duck_wh = open_warehouse("duckdb:///warehouse.duckdb", root / "duck", read_only=True, migrate=False)
    try:
        yield {"pg": pg, "duck": duck, "pg_wh": pg_wh, "duck_wh": duck_wh, "root": root, "env": env}
    finally:
        duck_wh.close()
        pg_wh.close()


def test_the_analyst_views_on_postgres_hold_tonights_scores(runs: dict[str, Any]) -> None:
    wh: Warehouse = runs["pg_wh"]
    score = runs["pg"]["score"]
    assert score["status"] == "published" and score["leads_scored"] > 0 and score["routed_sales"] > 0
    assert runs["pg"]["validate"]["passed"] is True and runs["pg"]["promote"]["promoted"] is True
    assert runs["pg"]["features"]["rows"] == wh.scalar("SELECT count(*) FROM features_latest") > 0
    current = wh.rows("SELECT run_id, as_of, count(*), count(score), min(score_rank) FROM current_scores GROUP BY 1, 2")
    assert len(current) == 1
    run_id, as_of, n, scored, best = current[0]
    assert (run_id, as_of.date().isoformat(), n, scored, best) == (score["run_id"], TONIGHT, score["leads_scored"],
                                                                    score["leads_scored"], 1)  # fmt: skip
    queue = wh.rows("SELECT count(*), count(DISTINCT run_id), count(reason_text) FROM current_sales_queue")[0]
    assert queue == (score["routed_sales"], 1, score["routed_sales"])
    assert wh.scalar("SELECT status FROM score_runs WHERE run_id = ?", [score["run_id"]]) == "published"


def test_postgres_trains_and_scores_exactly_as_duckdb(runs: dict[str, Any]) -> None:
    pg, duck = runs["pg"], runs["duck"]
    for key in ("train_rows", "test_rows", "auc", "training_digest", "features"):
        assert pg["train"][key] == duck["train"][key], key
    keep = ("run_id", "leads_scored", "routed_sales", "routed_marketing", "new_to_sales", "suppressed", "routing")
    assert {k: pg["score"][k] for k in keep} == {k: duck["score"][k] for k in keep}
    for view, cols in (
        ("current_scores", "lead_id, score, probability, grade, score_rank, percentile, route, route_reason, rep"),
        ("current_sales_queue", "lead_id, rep, score, grade, score_rank, status, routed_at, reason_text"),
        ("current_nurture_queue", "lead_id, channel, route_reason, recycled_at"),
    ):
        sql = f"SELECT {cols} FROM {view} ORDER BY lead_id"
        left, right = runs["duck_wh"].rows(sql), runs["pg_wh"].rows(sql)
        assert len(left) > 0 and left == right, view


def test_the_registry_lives_in_postgres_with_artifacts_in_the_workspace(runs: dict[str, Any]) -> None:
    root: Path = runs["root"]
    version = runs["pg"]["train"]["version"]
    schema = runs["env"]["LEADOPS_REGISTRY__URI"].rsplit("schema=", 1)[1]
    wh: Warehouse = runs["pg_wh"]
    stored = wh.rows(f'SELECT name, version, run_id FROM "{schema}".model_versions')
    assert [(n, int(v)) for n, v, _ in stored] == [("lead_score", version)]
    run_id = stored[0][2]
    location = wh.scalar(f'SELECT artifact_uri FROM "{schema}".runs WHERE run_uuid = ?', [run_id])
    assert str(location).startswith(str((root / "pg" / "mlartifacts").resolve()))  # not ./mlruns of the cwd
    assert (root / "pg" / "mlartifacts" / run_id / "artifacts" / "scorer" / "manifest.json").is_file()
    assert wh.scalar(f'SELECT alias FROM "{schema}".registered_model_aliases WHERE version = ?', [version]) == (
        "champion"
    )
    assert not (root / "pg" / "mlflow.db").exists()


def test_a_copied_postgres_workspace_loads_its_champion_from_its_own_folder(runs: dict[str, Any]) -> None:
    root: Path = runs["root"]
    env: dict[str, str] = runs["env"]
    version = runs["pg"]["train"]["version"]
    moved = root / "elsewhere" / "ws"
    shutil.copytree(root / "pg", moved)
    shutil.rmtree(moved / ".leadops")  # no cached copy: the version's files come from the copy's own store
    aside = root / "pg-aside"
    (root / "pg").rename(aside)  # the store's recorded artifact paths now name a folder that is gone
    try:
        listed = call(env, "models", "list", "--workspace", str(moved))
        assert [(v["version"], v["aliases"]) for v in listed["versions"]] == [(version, ["champion"])]
        local = load_artifact_dir(load(moved, env), "champion")
        assert local == moved / ".leadops" / "models" / "lead_score" / str(version)
        verify_artifact(local)
        assert not (root / "pg").exists()  # nothing was written back under the old place
    finally:
        aside.rename(root / "pg")
