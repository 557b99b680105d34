"""What schemathesis found, pinned: requests are taken only as documented, answers are what the document says."""

from __future__ import annotations

from fastapi.testclient import TestClient

from conftest import Keys
from leadops.serving.inputs import lead_inputs


def test_a_time_must_be_iso_text_and_answers_carry_their_offset(client: TestClient, company_keys: Keys) -> None:
    h = {"X-API-Key": company_keys.scorer}
    for bad in (0, "0.5", "2026-06-01", True):
        r = client.post("/v1/score", json={"leads": [{}], "as_of": bad}, headers=h)
        assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "as_of"], (bad, r.text)
    r = client.post("/v1/score", json={"leads": [{}], "as_of": "2026-06-01T00:00:00"}, headers=h)
    assert r.status_code == 200 and r.json()["as_of"] == "2026-06-01T00:00:00Z"
    v = client.get("/v1/shadow", params={"since": "1.5"}, headers={"X-API-Key": company_keys.viewer})
    assert v.status_code == 422 and v.json()["detail"][0]["loc"] == ["query", "since"]


def test_no_type_is_coerced_but_an_integral_number_is_an_integer(client: TestClient, company_keys: Keys) -> None:
    h = {"X-API-Key": company_keys.scorer}
    for lead, loc in (
        ({"do_not_email": 1}, ["body", "leads", 0, "do_not_email"]),
        ({"do_not_call": "true"}, ["body", "leads", 0, "do_not_call"]),
        ({"activities": [{"activity_type": "x", "occurred_at": "2026-01-01T00:00:00", "value": "2"}]}, None),
        ({"account": {"employees": 420.5}}, ["body", "leads", 0, "account", "employees"]),
    ):
        r = client.post("/v1/score", json={"leads": [lead]}, headers=h)
        assert r.status_code == 422, (lead, r.text)
        if loc is not None:
            assert loc in [d["loc"] for d in r.json()["detail"]], r.text
    whole = client.post("/v1/score", json={"leads": [{"account": {"employees": 420.0}}]}, headers=h)
    exact = client.post("/v1/score", json={"leads": [{"account": {"employees": 420}}]}, headers=h)
    assert whole.status_code == 200 and whole.json()["results"] == exact.json()["results"]


def test_the_document_names_the_key_and_the_fields_the_served_model_reads(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    assert set(spec["components"]["securitySchemes"]) == {"apiKey", "bearer"}
    assert "security" not in spec["paths"]["/health"]["get"] and spec["paths"]["/v1/score"]["post"]["security"]
    body = spec["paths"]["/score_lead"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    champion = client.app.state.service.slot.models().champion  # type: ignore[attr-defined]
    assert body["required"] == lead_inputs(champion) and body["required"]
    batch = spec["paths"]["/batch_score"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert batch["properties"]["leads"]["items"]["required"] == body["required"]
    metrics = spec["paths"]["/metrics"]["get"]["responses"]
    assert list(metrics["200"]["content"]) == ["text/plain"] and list(metrics["401"]["content"]) == ["application/json"]
    ready = spec["paths"]["/ready"]["get"]["responses"]["503"]["content"]["application/json"]["schema"]
    assert ready["$ref"].endswith("/Ready")


def test_the_books_example_lead_for_the_served_model_scores(client: TestClient, company_keys: Keys) -> None:
    spec = client.get("/openapi.json").json()
    body = spec["paths"]["/score_lead"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    r = client.post("/score_lead", json=body["examples"][0], headers={"X-API-Key": company_keys.scorer})
    assert r.status_code == 200, r.text
    missing = {k: v for k, v in body["examples"][0].items() if k != body["required"][0]}
    assert client.post("/score_lead", json=missing, headers={"X-API-Key": company_keys.scorer}).status_code == 400
