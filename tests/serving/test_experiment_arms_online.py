"""The online service honours experiments: a lead in an arm is scored by that arm's version, the same arm the
nightly job logs for it (the salted hash), and a lead in no experiment by the champion."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from warehouse_leads import request_leads

from conftest import Keys, cli, make_keys  # at import: a name looked up later may find another folder's conftest
from leadops.config import load
from leadops.experiments.online import arm_of
from leadops.serving.app import create_app
from leadops.warehouse import open_warehouse


def test_leads_in_the_treatment_arm_are_scored_by_its_version_online(
    rivals: Path, rivals_keys: Keys, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = load(rivals)
    with open_warehouse(settings.warehouse.url, settings.workspace, read_only=True, migrate=False) as wh:
        as_of: datetime = wh.rows("SELECT max(created_at) FROM leads")[0][0]
    leads = request_leads(rivals, 12, as_of)
    body = {"leads": leads, "as_of": as_of.isoformat()}
    h = {"X-API-Key": rivals_keys.scorer}
    with TestClient(create_app(settings, follow=False)) as plain:
        answer = plain.post("/v1/score", json=body, headers=h)
        assert answer.status_code == 200, answer.text
        champion_only = answer.json()["results"]
    experiment = {
        "name": "online-ab",
        "start": "2000-01-01",
        "population": "open",
        "arms": [{"name": "control"}, {"name": "treatment", "model": "2"}],
    }
    monkeypatch.setenv("LEADOPS_EXPERIMENTS", json.dumps([experiment]))
    with_experiment = load(rivals)
    with TestClient(create_app(with_experiment, follow=False)) as client:
        response = client.post("/v1/score", json=body, headers=h)
    assert response.status_code == 200, response.text
    results = response.json()["results"]
    arms = [arm_of(with_experiment.experiments, lead["lead_id"], None, None, as_of) for lead in leads]
    assert all(a is not None for a in arms)
    treated = [i for i, a in enumerate(arms) if a is not None and a.arm.name == "treatment"]
    assert 0 < len(treated) < len(leads)
    for i, (result, plain_result) in enumerate(zip(results, champion_only, strict=True)):
        assert result["lead_id"] == leads[i]["lead_id"]
        if i in treated:
            assert result["model_version"] == 2
        else:
            assert result["model_version"] == 1 and result["score"] == plain_result["score"]
    assert any(results[i]["score"] != champion_only[i]["score"] for i in treated)


def test_a_lead_submitted_online_is_scored_by_its_arm_and_the_nightly_job_logs_the_same_arm(
    rivals: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import shutil

    from leadops.crm.intake_ledger import FILE as LEDGER_FILE
    from leadops.experiments import store

    ws = tmp_path / "ws"
    shutil.copytree(rivals, ws)
    (ws / ".leadops" / "registry.json").unlink(missing_ok=True)
    (ws / LEDGER_FILE).unlink(missing_ok=True)
    keys = make_keys(ws)
    experiment = {
        "name": "online-ab",
        "start": "2000-01-01",
        "arms": [{"name": "control"}, {"name": "treatment", "model": "2"}],
    }
    monkeypatch.setenv("LEADOPS_EXPERIMENTS", json.dumps([experiment]))
    settings = load(ws)
    now = datetime.now(UTC).replace(tzinfo=None)
    ids = [f"web-{i}" for i in range(40)]
    arms = {i: arm_of(settings.experiments, i, None, None, now) for i in ids}
    treated = next(i for i in ids if arms[i] is not None and arms[i].arm.name == "treatment")  # type: ignore[union-attr]
    control = next(i for i in ids if arms[i] is not None and arms[i].arm.name == "control")  # type: ignore[union-attr]
    h = {"X-API-Key": keys.scorer}
    with TestClient(create_app(settings, follow=False)) as client:
        got = {
            lead: client.post("/v1/leads", json={"lead_id": lead, "lead_source": "demo_form"}, headers=h)
            for lead in (treated, control)
        }
    assert all(r.status_code == 201 for r in got.values()), [r.text for r in got.values()]
    assert got[treated].json()["model_version"] == 2 and got[control].json()["model_version"] == 1
    later = datetime.now(UTC).replace(tzinfo=None)
    cli("score", "--workspace", str(ws), "--as-of", later.isoformat())
    with open_warehouse(settings.warehouse.url, settings.workspace, read_only=True, migrate=False) as wh:
        logged = store.logged_arms(wh, "online-ab", [treated, control])
    assert logged == {treated: "treatment", control: "control"}
