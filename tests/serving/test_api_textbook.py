"""The textbook's own API on the tutorial workspace: /health, /score_lead (400 on a missing field), /batch_score."""

from __future__ import annotations

from fastapi.testclient import TestClient
from test_api_errors import assert_error

from conftest import Keys
from leadops.serving.routes_score import TEXTBOOK_LEAD


def test_score_lead_takes_the_books_fields_and_answers_score_grade_and_version(
    book_client: TestClient, tutorial_keys: Keys
) -> None:
    r = book_client.post("/score_lead", json=TEXTBOOK_LEAD, headers={"X-API-Key": tutorial_keys.scorer})
    assert r.status_code == 200, r.text
    body = r.json()
    assert {"score", "grade", "model_version"} <= set(body) and body["model_version"] == 1
    assert 0 <= body["score"] <= 100 and 0 < body["conversion_probability"] < 1
    hot = {
        **TEXTBOOK_LEAD,
        "demo_requested": 1,
        "email_clicks": 5,
        "company_size": "enterprise",
        "job_level": "c_level",
    }
    cold = {**TEXTBOOK_LEAD, "demo_requested": 0, "email_clicks": 0, "company_size": "micro", "job_level": "individual"}
    scores = [
        book_client.post("/score_lead", json=x, headers={"X-API-Key": tutorial_keys.scorer}).json()["score"]
        for x in (hot, cold)
    ]
    assert scores[0] > scores[1]


def test_score_lead_without_a_field_the_model_reads_is_400_naming_it(
    book_client: TestClient, tutorial_keys: Keys
) -> None:
    lead = {k: v for k, v in TEXTBOOK_LEAD.items() if k != "email_opens"}
    body = assert_error(book_client.post("/score_lead", json=lead, headers={"X-API-Key": tutorial_keys.scorer}), 400)
    assert "email_opens" in body["error"] and body["detail"][0]["loc"] == ["lead", "email_opens"]
    nested = {**TEXTBOOK_LEAD, "industry": {"name": "tech"}}
    assert_error(book_client.post("/score_lead", json=nested, headers={"X-API-Key": tutorial_keys.scorer}), 422)


def test_batch_score_scores_every_lead_with_one_version(book_client: TestClient, tutorial_keys: Keys) -> None:
    leads = [{**TEXTBOOK_LEAD, "lead_id": f"b{i}", "website_visits_30d": i} for i in range(20)]
    r = book_client.post("/batch_score", json={"leads": leads}, headers={"X-API-Key": tutorial_keys.scorer})
    assert r.status_code == 200, r.text
    results = r.json()["results"]
    assert [x["lead_id"] for x in results] == [f"b{i}" for i in range(20)]
    single = book_client.post("/score_lead", json=leads[7], headers={"X-API-Key": tutorial_keys.scorer}).json()
    assert results[7]["score"] == single["score"] and {x["model_version"] for x in results} == {1}
    missing = [*leads[:3], {k: v for k, v in TEXTBOOK_LEAD.items() if k != "geography"}]
    body = assert_error(
        book_client.post("/batch_score", json={"leads": missing}, headers={"X-API-Key": tutorial_keys.scorer}), 400
    )
    assert body["detail"][0]["loc"] == ["leads.3", "geography"]
    assert book_client.get("/health").json()["ok"] is True
