"""Change leadops.yaml's features and every version still compares with the champion on the same leads.

Through the CLI, as a user works: a champion, a new feature, a version trained with it, validate/evaluate/
compare/promote against the old champion; a worse version fails the champion gate and its refused promotion
is audited; removing features from leadops.yaml does not change a single score of the champion tonight.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from leadops.cli import app

runner = CliRunner()
AS_OF = "2026-06-01"
NEW_FEATURE = {
    "name": "form_submits_45d",
    "label": "forms submitted in the last 45 days",
    "kind": "activity",
    "types": ["form_submit"],
    "window_days": 45,
}


def call(*args: str, code: int = 0) -> dict[str, Any]:
    result = runner.invoke(app, [*args, "--json"])
    assert result.exit_code == code, result.output
    data: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    return data


def edit_config(workspace: Path, change: Any) -> None:
    path = workspace / "leadops.yaml"
    data = yaml.safe_load(path.read_text())
    change(data)
    path.write_text(yaml.safe_dump(data, sort_keys=False))


def scores_of(workspace: Path, run_id: str) -> dict[str, tuple[float, str]]:
    from leadops import config
    from leadops.warehouse import open_warehouse

    settings = config.load(workspace)
    wh = open_warehouse(settings.warehouse.url, settings.workspace)
    try:
        rows = wh.rows("SELECT lead_id, score, grade FROM lead_scores WHERE run_id = ?", [run_id])
    finally:
        wh.close()
    return {str(r[0]): (float(r[1]), str(r[2])) for r in rows}


def policy_promote(workspace: Path, ref: str) -> Any:
    from leadops import config
    from leadops.modeling.review import promote_ref
    from leadops.warehouse import open_warehouse

    settings = config.load(workspace)
    wh = open_warehouse(settings.warehouse.url, settings.workspace)
    try:
        return promote_ref(settings, wh, ref, first_champion="first champion of a new workspace")
    finally:
        wh.close()


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    ws = tmp_path_factory.mktemp("versions") / "ws"
    call("init", str(ws))
    call("simulate", "--workspace", str(ws), "--leads", "6000", "--seed", "11")
    call("ingest", "--workspace", str(ws))
    return ws


@pytest.mark.slow
def test_versions_with_other_features_compare_with_the_champion_and_a_worse_one_is_refused(workspace: Path) -> None:
    ws = str(workspace)
    v1 = call("train", "--model", "scorecard", "--workspace", ws)
    call("models", "promote", str(v1["version"]), "--workspace", ws, "--force", "--reason", "first champion")
    before = call("score", "--workspace", ws, "--as-of", AS_OF)
    assert before["model_version"] == v1["version"] and before["leads_scored"] > 0

    edit_config(workspace, lambda d: d["features"]["definitions"].append(NEW_FEATURE))
    v2 = call("train", "--model", "scorecard", "--workspace", ws)
    assert NEW_FEATURE["name"] in v2["features"] and NEW_FEATURE["name"] not in v1["features"]
    verdict = call("validate", str(v2["version"]), "--workspace", ws)
    assert verdict["champion_version"] == v1["version"]
    drop = verdict["gates"]["max_auc_drop"]
    assert drop["value"] is not None and drop["detail"] != "no champion", drop  # really compared
    old = call("evaluate", str(v1["version"]), "--workspace", ws)  # an earlier version still evaluates
    new = call("evaluate", str(v2["version"]), "--workspace", ws)
    assert old["test_rows"] == new["test_rows"] == v2["test_rows"]
    assert new["champion"]["auc"] == pytest.approx(old["auc"])  # the champion, measured on the same leads
    both = call("compare", str(v1["version"]), str(v2["version"]), "--workspace", ws)
    assert len(both["models"]) == 2 and both["test_rows"] == v2["test_rows"]
    assert both["models"][f"v{v1['version']} scorecard"]["auc"] == pytest.approx(old["auc"])

    def noise_only(d: dict[str, Any]) -> None:
        d["training"]["features"] = ["do_not_call"]
        d["gates"]["training"] = {"min_train_rows": 100, "min_train_conversions": 10}

    edit_config(workspace, noise_only)
    v3 = call("train", "--model", "scorecard", "--workspace", ws)
    assert v3["features"] == ["do_not_call"] and "max_auc_drop" in v3["failed_gates"]
    refused = runner.invoke(app, ["models", "promote", str(v3["version"]), "--workspace", ws, "--json"])
    assert refused.exit_code == 1 and "max_auc_drop" in refused.output
    kept = policy_promote(workspace, str(v3["version"]))  # the demo's policy keeps a champion the new one fails
    assert kept.promoted is False and kept.champion is not None and kept.champion["version"] == v1["version"]
    history = call("models", "history", "--workspace", ws)["entries"]
    assert [e["version"] for e in history if e["action"] == "promote_refused"] == [v3["version"]] * 2
    assert call("models", "show", "champion", "--workspace", ws)["version"] == v1["version"]

    def drop_features(d: dict[str, Any]) -> None:
        gone = {"engagement_recent", "lead_source", NEW_FEATURE["name"]}
        d["features"]["definitions"] = [f for f in d["features"]["definitions"] if f["name"] not in gone]
        d["training"].pop("features", None)
        d["scoring"]["top_reasons"] = 2  # a different run of the same night
        d["models"] = {"scorecard": d["models"]["scorecard"]}

    edit_config(workspace, drop_features)
    after = call("score", "--workspace", ws, "--as-of", AS_OF)
    assert after["run_id"] != before["run_id"] and after["model_version"] == v1["version"]
    assert scores_of(workspace, after["run_id"]) == scores_of(workspace, before["run_id"])
