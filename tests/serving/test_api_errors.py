"""Every error the API answers has one shape, names the field, and is never a 500 for bad input; keys and roles."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from conftest import Keys
from leadops.serving.keys import KeyStore

SHAPE = {"ok", "error", "status", "detail"}


def assert_error(r: object, status: int) -> dict:  # type: ignore[type-arg]
    """The response is the one error shape with this status."""
    assert r.status_code == status, r.text  # type: ignore[attr-defined]
    body = r.json()  # type: ignore[attr-defined]
    assert set(body) == SHAPE and body["ok"] is False and body["status"] == status and isinstance(body["error"], str)
    assert isinstance(body["detail"], list)
    return body  # type: ignore[no-any-return]


def test_health_and_ready_need_no_key_and_everything_else_does(client: TestClient) -> None:
    assert client.get("/health").json() == {"ok": True, "status": "up"}
    ready = client.get("/ready").json()
    assert ready["ok"] is True and ready["model_version"] == 1 and ready["warehouse"] == "ok"
    for method, path in (("post", "/v1/score"), ("post", "/v1/explain"), ("get", "/metrics"), ("get", "/v1/model")):
        r = client.post(path, json={}) if method == "post" else client.get(path)
        body = assert_error(r, 401)
        assert "API key" in body["error"]


def test_an_unknown_key_and_a_revoked_key_are_401_a_role_too_low_is_403(
    client: TestClient, company: Path, company_keys: Keys
) -> None:
    lead = {"leads": [{"lead_id": "a"}]}
    assert_error(client.post("/v1/score", json=lead, headers={"X-API-Key": "lo_nope_nope"}), 401)
    body = assert_error(client.post("/v1/score", json=lead, headers={"X-API-Key": company_keys.viewer}), 403)
    assert "viewer" in body["error"] and "scorer" in body["error"]
    assert client.get("/v1/model", headers={"X-API-Key": company_keys.viewer}).status_code == 200
    assert_error(client.post("/v1/admin/reload", headers={"X-API-Key": company_keys.scorer}), 403)
    store = KeyStore.for_workspace(company)
    created = store.create("scorer", name="to revoke")
    assert client.post("/v1/score", json=lead, headers={"X-API-Key": created.key}).status_code == 200
    store.revoke(created.id)
    revoked = KeyStore.for_workspace(company)  # a fresh worker sees the revocation at once
    assert revoked.verify(created.key) is None


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        ({"leads": [{"lead_id": "a", "created_at": "yesterday"}]}, ["body", "leads", 0, "created_at"]),
        ({"leads": [{"lead_id": "a", "favourite_colour": "red"}]}, ["body", "leads", 0, "favourite_colour"]),
        ({"leads": [{"activities": [{"activity_type": "x"}]}]}, ["body", "leads", 0, "activities", 0, "occurred_at"]),
        ({"leads": []}, ["body", "leads"]),
        ({"lead": {}}, ["body", "leads"]),
        ({"leads": [{"account": {"employees": -3}}]}, ["body", "leads", 0, "account", "employees"]),
    ],
)
def test_a_bad_field_is_a_422_naming_its_path(
    client: TestClient,
    company_keys: Keys,
    body: dict,
    loc: list,  # type: ignore[type-arg]
) -> None:
    got = assert_error(client.post("/v1/score", json=body, headers={"X-API-Key": company_keys.scorer}), 422)
    assert loc in [d["loc"] for d in got["detail"]], got
    assert ".".join(str(p) for p in loc) in got["error"]


def test_not_json_wrong_method_unknown_route_are_the_same_shape(client: TestClient, company_keys: Keys) -> None:
    h = {"X-API-Key": company_keys.scorer, "content-type": "application/json"}
    assert_error(client.post("/v1/score", content=b"{not json", headers=h), 422)
    assert_error(client.get("/v1/score", headers=h), 405)
    assert_error(client.get("/v2/nothing", headers=h), 404)


def test_limits_on_body_size_and_batch_size_answer_413(client: TestClient, company_keys: Keys) -> None:
    h = {"X-API-Key": company_keys.scorer}
    limits = client.app.state.service.settings.serving  # type: ignore[attr-defined]
    many = {"leads": [{"lead_id": str(i)} for i in range(limits.max_batch + 1)]}
    body = assert_error(client.post("/v1/score", json=many, headers=h), 413)
    assert str(limits.max_batch) in body["error"]
    huge = {"leads": [{"lead_id": "x" * 400, "attributes": {"note": "y" * (limits.max_body_bytes + 10)}}]}
    assert_error(client.post("/v1/score", json=huge, headers=h), 413)


def test_an_unseen_category_is_scored_by_the_bundles_policy_not_refused(client: TestClient, company_keys: Keys) -> None:
    lead = {"lead_id": "n", "lead_source": "tiktok", "job_level": "wizard", "account": {"industry": "alchemy"}}
    r = client.post("/v1/score", json={"leads": [lead]}, headers={"X-API-Key": company_keys.scorer})
    assert r.status_code == 200, r.text


def test_personal_data_never_reaches_the_log(
    client: TestClient, company_keys: Keys, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("DEBUG")
    lead = {"lead_id": "p", "email": "ana.secret@example.com", "attributes": {"phone": "+1 555 0100"}}
    client.post("/v1/score", json={"leads": [lead]}, headers={"X-API-Key": company_keys.scorer})
    client.post(
        "/v1/score", json={"leads": [{**lead, "created_at": "bad"}]}, headers={"X-API-Key": company_keys.scorer}
    )
    text = caplog.text + "".join(str(r.args) for r in caplog.records)
    assert "ana.secret" not in text and "555 0100" not in text and company_keys.scorer not in text


def test_metrics_count_requests_per_route_template_scores_by_grade_and_errors(
    client: TestClient, company_keys: Keys
) -> None:
    h = {"X-API-Key": company_keys.scorer}
    client.post("/v1/score", json={"leads": [{"lead_id": "m1"}, {"lead_id": "m2"}]}, headers=h)
    client.post("/v1/score", json={"leads": [{"created_at": "bad"}]}, headers=h)
    text = client.get("/metrics", headers={"X-API-Key": company_keys.viewer}).text
    assert 'route="/v1/score"' in text and "m1" not in text
    assert "leadops_scores_total" in text or "scores_total" in text
    assert "validation" in text
    assert company_keys.scorer not in text
