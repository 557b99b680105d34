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
from leadops.config import Settings, load
from leadops.experiments.online import arm_of
from leadops.serving.app import create_app
from leadops.serving.lead_view import fresh_score
from leadops.serving.model import ServedModel, records_of
from leadops.serving.schemas import LeadIn
from leadops.warehouse import open_warehouse


def _served(settings: Settings, version: int) -> ServedModel:
    """One registered version loaded on its own, as the service loads it (the reference for its reasons)."""
    from leadops.jobs.routing import plan
    from leadops.registry.loading import load_artifact_dir

    routing = plan(settings.routing, settings.business, None, ())
    path = load_artifact_dir(settings, version)
    return ServedModel(version, path, routing, top_n=settings.scoring.top_reasons, verified=True)


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
    # a treatment lead's reasons are its version's, as that version gives them for the lead scored alone
    v2 = _served(with_experiment, 2)
    for i in treated:
        (alone,) = v2.score([records_of(LeadIn.model_validate(leads[i]))], as_of)
        assert results[i]["reasons"] == alone.reasons and results[i]["reasons"]
    assert any(results[i]["reasons"] != champion_only[i]["reasons"] for i in treated)


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


def test_a_treatment_leads_reasons_are_its_versions_in_the_nightly_queue_the_api_and_its_page(
    rivals: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import shutil
    from datetime import timedelta

    ws = tmp_path / "ws"
    shutil.copytree(rivals, ws)
    keys = make_keys(ws)
    experiment = {
        "name": "reasons-ab",
        "start": "2000-01-01",
        "population": "open",
        "arms": [
            {"name": "control", "routing": "capacity"},
            {"name": "treatment", "model": "2", "routing": "capacity"},
        ],
    }
    monkeypatch.setenv("LEADOPS_EXPERIMENTS", json.dumps([experiment]))
    settings = load(ws)
    with open_warehouse(settings.warehouse.url, settings.workspace, read_only=True, migrate=False) as wh:
        as_of: datetime = wh.rows("SELECT max(created_at) FROM leads")[0][0] + timedelta(days=1)
    cli("score", "--workspace", str(ws), "--as-of", as_of.isoformat())
    v1, v2 = _served(settings, 1), _served(settings, 2)
    with open_warehouse(settings.warehouse.url, settings.workspace, read_only=True, migrate=False) as wh:
        rows = wh.rows(
            "SELECT s.lead_id, a.arm, s.model_version, s.reasons, s.reason_text FROM current_scores s "
            "JOIN experiment_assignments a ON a.lead_id = s.lead_id WHERE s.route = 'sales' ORDER BY s.lead_id"
        )
        treated = [r for r in rows if r[1] == "treatment"]
        control = [r for r in rows if r[1] == "control"]
        assert treated and control
        differ = 0
        for lead, _, version, reasons, text in treated:
            alone = fresh_score(v2, wh, {"lead_id": lead}, as_of)  # v2's bundle, this lead alone
            champion = fresh_score(v1, wh, {"lead_id": lead}, as_of)
            assert version == 2 and text and "champion" not in text
            assert [r["text"] for r in json.loads(reasons)] == alone.reasons, lead
            differ += alone.reasons != champion.reasons
        assert differ > 0
        for lead, _, version, reasons, _ in control:
            assert (
                version == 1
                and [r["text"] for r in json.loads(reasons)] == fresh_score(v1, wh, {"lead_id": lead}, as_of).reasons
            )
    lead, control_lead = treated[0][0], control[0][0]
    with TestClient(create_app(settings, follow=False)) as client:
        seen = client.get(f"/v1/leads/{lead}", headers={"X-API-Key": keys.viewer})
        other = client.get(f"/v1/leads/{control_lead}", headers={"X-API-Key": keys.viewer})
        client.post("/ui/login", data={"key": keys.viewer})
        page = client.get(f"/ui/leads/{lead}")
    assert seen.status_code == 200, seen.text
    view = seen.json()
    assert view["published"]["reason_text"] == treated[0][4] and view["published"]["model_version"] == 2
    assert view["fresh"]["model_version"] == 2 and other.json()["fresh"]["model_version"] == 1
    assert page.status_code == 200 and "on today's data (v2)" in page.text
    first = json.loads(treated[0][3])[0]["text"]
    assert first.replace("'", "&#39;") in page.text
