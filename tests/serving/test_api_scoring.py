"""POST /v1/score and /v1/explain: the nightly job's numbers for the same leads, with reasons and routes."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient
from warehouse_leads import request_leads

from conftest import Keys
from leadops.bundle import load_bundle
from leadops.config import load
from leadops.registry.loading import load_artifact_dir
from leadops.warehouse.connection import open_warehouse

AS_OF = "2026-06-01T00:00:00"


def _max_created(ws: Path) -> datetime:
    settings = load(ws)
    with open_warehouse(settings.warehouse.url, settings.workspace, read_only=True, migrate=False) as wh:
        return wh.rows("SELECT max(created_at) FROM leads")[0][0]


def test_a_lead_scored_online_gets_exactly_the_score_the_nightly_job_computes(
    client: TestClient, company: Path, company_keys: Keys
) -> None:
    as_of = _max_created(company)
    leads = request_leads(company, 25, as_of)
    assert sum(len(lead["activities"]) for lead in leads) > 25
    r = client.post(
        "/v1/score", json={"leads": leads, "as_of": as_of.isoformat()}, headers={"X-API-Key": company_keys.scorer}
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["model_version"] == 1 and len(body["results"]) == 25
    settings = load(company)
    bundle = load_bundle(load_artifact_dir(settings, "champion"))
    with open_warehouse(settings.warehouse.url, settings.workspace, read_only=True, migrate=False) as wh:
        rows = bundle.rows(wh, [lead["lead_id"] for lead in leads], as_of)
    expected = bundle.scorer.score(rows)
    got = {res["lead_id"]: res for res in body["results"]}
    assert list(got) == [lead["lead_id"] for lead in leads]  # the request's order
    np.testing.assert_allclose([got[i]["score"] for i in expected.index], expected["score"], rtol=0, atol=1e-9)
    assert [got[i]["grade"] for i in expected.index] == list(expected["grade"])
    for res in body["results"]:
        assert res["model_version"] == 1 and res["route"] in ("sales", "nurture", "suppressed")
        assert res["reasons"] and all(isinstance(t, str) and t for t in res["reasons"])
        assert [d["text"] for d in res["reason_details"]] == res["reasons"]
        assert res["route_reason"]


def test_bearer_and_x_api_key_both_authenticate(client: TestClient, company_keys: Keys) -> None:
    body = {"leads": [{"lead_id": "w1", "lead_source": "demo_form"}]}
    a = client.post("/v1/score", json=body, headers={"Authorization": f"Bearer {company_keys.scorer}"})
    b = client.post("/v1/score", json=body, headers={"X-API-Key": company_keys.scorer})
    assert a.status_code == b.status_code == 200
    assert a.json()["results"][0]["score"] == b.json()["results"][0]["score"]


def test_a_lead_with_no_id_and_no_activity_still_scores(client: TestClient, company_keys: Keys) -> None:
    r = client.post("/v1/score", json={"leads": [{}], "as_of": AS_OF}, headers={"X-API-Key": company_keys.scorer})
    assert r.status_code == 200, r.text
    res = r.json()["results"][0]
    assert res["lead_id"] is None and 0 <= res["score"] <= 100


def test_explain_lists_every_feature_and_the_contributions_add_up_to_the_raw_score(
    client: TestClient, company: Path, company_keys: Keys
) -> None:
    as_of = _max_created(company)
    lead = request_leads(company, 1, as_of)[0]
    r = client.post(
        "/v1/explain", json={"lead": lead, "as_of": as_of.isoformat()}, headers={"X-API-Key": company_keys.scorer}
    )
    assert r.status_code == 200, r.text
    body = r.json()
    settings = load(company)
    bundle = load_bundle(load_artifact_dir(settings, "champion"))
    assert sorted(c["feature"] for c in body["contributions"]) == sorted(bundle.feature_names)
    assert body["unit"] == "log-odds"
    with open_warehouse(settings.warehouse.url, settings.workspace, read_only=True, migrate=False) as wh:
        row = bundle.rows(wh, [lead["lead_id"]], as_of)
    shap = bundle.scorer.contributions(row)  # type: ignore[attr-defined]
    total = sum(c["contribution"] for c in body["contributions"]) + float(shap["bias"].iloc[0])
    raw = float(bundle.scorer.score(row)["raw"].iloc[0])
    assert total == pytest.approx(raw, abs=1e-5)
    effects = [abs(c["points"]) for c in body["contributions"]]
    assert effects == sorted(effects, reverse=True)
    assert body["result"]["score"] == pytest.approx(float(bundle.scorer.score(row)["score"].iloc[0]), abs=1e-9)
