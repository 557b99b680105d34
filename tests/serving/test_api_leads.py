"""POST /v1/leads and GET /v1/leads/{id}: contracts and quarantine, idempotency, online routing against today's Sales
capacity that the nightly run honours, the spool while DuckDB's writer is taken, trend and fresh score."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from conftest import Keys, cli, make_keys
from leadops.bundle import load_bundle
from leadops.config import load
from leadops.crm.intake_ledger import FILE as LEDGER_FILE
from leadops.registry.loading import load_artifact_dir
from leadops.serving.app import create_app
from leadops.warehouse.connection import open_warehouse

SHAPE = {"ok", "error", "status", "detail"}


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _naive(text: str) -> datetime:
    """A response time (RFC 3339, with its offset) as the warehouse's naive UTC."""
    value = datetime.fromisoformat(text)
    assert value.tzinfo is not None, text
    return value.astimezone(UTC).replace(tzinfo=None)


def _today() -> datetime:
    return _now().replace(hour=0, minute=0, second=0, microsecond=0)


@pytest.fixture
def ws(company: Path, tmp_path: Path) -> Path:
    """A private copy of the company workspace (these tests write leads, runs and a spool)."""
    target = tmp_path / "ws"
    shutil.copytree(company, target)
    (target / ".leadops" / "registry.json").unlink(missing_ok=True)  # its cache key names the original's path
    (target / LEDGER_FILE).unlink(missing_ok=True)
    return target


@pytest.fixture
def keys(ws: Path) -> Keys:
    """Keys of the copy."""
    return make_keys(ws)


def _client(ws: Path) -> TestClient:
    return TestClient(create_app(load(ws), follow=False))


@pytest.fixture
def api(ws: Path) -> Iterator[TestClient]:
    """The copy's app, in-process, no background threads (tests drain explicitly)."""
    with _client(ws) as c:
        yield c


def new_lead(lead_id: str, **fields: Any) -> dict[str, Any]:
    """A web-form lead of the fictional company's canonical values, active an hour ago."""
    now = _now()
    body: dict[str, Any] = {
        "lead_id": lead_id,
        "email": "dana.smith@northwind.com",
        "job_level": "vp",
        "department": "marketing",
        "lead_source": "demo_form",
        "account": {"account_id": f"acct-{lead_id}", "industry": "software", "employees": 420, "region": "EMEA"},
        "activities": [
            {"activity_type": "pricing_view", "occurred_at": (now - timedelta(hours=2)).isoformat() + "Z"},
            {"activity_type": "demo_request", "occurred_at": (now - timedelta(hours=1)).isoformat() + "Z"},
        ],
    }
    body.update(fields)
    return body


def _rows(ws: Path, sql: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
    settings = load(ws)
    with open_warehouse(settings.warehouse.url, settings.workspace, read_only=True, migrate=False) as wh:
        return wh.rows(sql, params or [])


def _score(ws: Path, as_of: datetime) -> dict[str, Any]:
    return cli("score", "--workspace", str(ws), "--as-of", as_of.isoformat())  # type: ignore[no-any-return]


def test_a_lead_breaking_a_contract_is_a_422_naming_each_field_and_is_quarantined_with_personal_data_masked(
    api: TestClient, ws: Path, keys: Keys
) -> None:
    body = new_lead("web-bad", job_level="ceo", attributes={"phone": "+1 555 123 4567", "plan": "pro"})
    body["activities"][0]["value"] = -5
    r = api.post("/v1/leads", json=body, headers={"X-API-Key": keys.scorer, "Idempotency-Key": "form-bad-1"})
    assert r.status_code == 422, r.text
    err = r.json()
    assert set(err) == SHAPE and err["ok"] is False and err["status"] == 422
    found = {tuple(d["loc"]): d["type"] for d in err["detail"]}
    assert found == {("body", "job_level"): "unknown_category", ("body", "activities", 0, "value"): "out_of_range"}
    assert "job_level" in err["error"] and "activities.0.value" in err["error"]
    assert _rows(ws, "SELECT count(*) FROM leads WHERE lead_id = 'web-bad'") == [(0,)]
    assert _rows(ws, "SELECT count(*) FROM intake_leads") == [(0,)]
    got = _rows(
        ws,
        "SELECT target_table, row_number, field, reason, detail, raw FROM quarantine "
        "WHERE source = 'api:/v1/leads' ORDER BY target_table",
    )
    assert [(g[0], g[1], g[2], g[3]) for g in got] == [
        ("activities", 1, "value", "out_of_range"),
        ("leads", 1, "job_level", "unknown_category"),
    ]
    assert "'ceo'" in got[1][4]
    raw = json.loads(got[1][5])
    assert raw["request_id"] == "form-bad-1" and raw["lead"]["job_level"] == "ceo"
    assert raw["lead"]["email"] == "***@northwind.com"  # masked as ingest masks it (keep_email: false)
    assert raw["lead"]["attributes"] == {"phone": "***", "plan": "pro"}
    again = api.post("/v1/leads", json=body, headers={"X-API-Key": keys.scorer, "Idempotency-Key": "form-bad-1"})
    assert again.status_code == 422
    assert _rows(ws, "SELECT count(*) FROM quarantine WHERE source = 'api:/v1/leads'") == [(2,)]  # deduplicated
    fixed = api.post(
        "/v1/leads", json=new_lead("web-bad"), headers={"X-API-Key": keys.scorer, "Idempotency-Key": "form-bad-1"}
    )
    assert fixed.status_code == 201, fixed.text  # a refused request id may be used by the corrected retry


def test_an_accepted_lead_is_stored_and_scored_exactly_as_the_nightly_features_read_it(
    api: TestClient, ws: Path, keys: Keys
) -> None:
    body = new_lead("web-ok", lead_source="tiktok_ads")  # lead_source: unknown values become 'other' by contract
    r = api.post("/v1/leads", json=body, headers={"X-API-Key": keys.scorer})
    assert r.status_code == 201, r.text
    got = r.json()
    assert got["stored"] == "stored" and got["lead_id"] == "web-ok" and got["model_version"] == 1
    assert got["route"] in ("sales", "nurture", "suppressed") and got["route_reason"] and got["reasons"]
    lead = _rows(ws, "SELECT lead_source, email_domain_type, email, account_id FROM leads WHERE lead_id = 'web-ok'")
    assert lead == [("other", "corporate", None, "acct-web-ok")]
    assert _rows(ws, "SELECT industry, employees, region FROM accounts WHERE account_id = 'acct-web-ok'") == [
        ("software", 420, "EMEA")
    ]
    assert _rows(ws, "SELECT count(*) FROM activities WHERE lead_id = 'web-ok'") == [(2,)]
    (row,) = _rows(
        ws, "SELECT received_at, score, grade, route, via FROM intake_leads WHERE request_id = ?", [got["request_id"]]
    )
    assert row[1] == pytest.approx(got["score"], abs=1e-12) and row[2] == got["grade"] and row[3] == got["route"]
    assert row[4] == "api"
    settings = load(ws)
    bundle = load_bundle(load_artifact_dir(settings, "champion"))
    with open_warehouse(settings.warehouse.url, settings.workspace, read_only=True, migrate=False) as wh:
        X = bundle.rows(wh, ["web-ok"], row[0])
    expected = bundle.scorer.score(X)
    assert float(expected["score"].iloc[0]) == pytest.approx(got["score"], abs=1e-9)
    assert str(expected["grade"].iloc[0]) == got["grade"]


def test_the_same_request_id_returns_the_first_answer_and_stores_nothing_new_a_different_body_is_409(
    api: TestClient, ws: Path, keys: Keys
) -> None:
    h = {"X-API-Key": keys.scorer, "Idempotency-Key": "crm-evt-42"}
    body = new_lead("web-idem")
    first = api.post("/v1/leads", json=body, headers=h)
    assert first.status_code == 201, first.text
    second = api.post("/v1/leads", json=body, headers=h)
    assert second.status_code == 201 and second.json() == first.json()
    assert second.headers["idempotent-replayed"] == "true"
    in_body = api.post("/v1/leads", json={**body, "request_id": "crm-evt-42"}, headers={"X-API-Key": keys.scorer})
    assert in_body.status_code == 201 and in_body.json() == first.json()
    assert _rows(ws, "SELECT count(*) FROM intake_leads WHERE lead_id = 'web-idem'") == [(1,)]
    assert _rows(ws, "SELECT count(*) FROM activities WHERE lead_id = 'web-idem'") == [(2,)]
    other = api.post("/v1/leads", json={**body, "job_level": "manager"}, headers=h)
    assert other.status_code == 409 and set(other.json()) == SHAPE and "crm-evt-42" in other.json()["error"]
    clash = api.post("/v1/leads", json={**body, "request_id": "something-else"}, headers=h)
    assert clash.status_code == 422 and clash.json()["detail"][0]["loc"] == ["body", "request_id"]
    viewer = api.post("/v1/leads", json=body, headers={"X-API-Key": keys.viewer})
    assert viewer.status_code == 403


def test_a_lead_routed_online_counts_against_capacity_and_the_nightly_run_keeps_it_with_sales_not_twice(
    ws: Path, keys: Keys, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LEADOPS_BUSINESS__CAPACITY__BY", "total")
    monkeypatch.setenv("LEADOPS_BUSINESS__CAPACITY__PER_DAY", "4")
    monkeypatch.setenv("LEADOPS_ROUTING__FRESH_DAYS", "100000")  # the simulated leads are from 2025
    h = {"X-API-Key": keys.scorer}
    yesterday = (_today() - timedelta(days=1)).isoformat()
    with _client(ws) as api:
        b = api.post("/v1/leads", json=new_lead("web-b", created_at=yesterday), headers=h)
        assert b.status_code == 201, b.text
        got = b.json()
        assert got["mql"] is True and got["route"] == "sales", got
        assert "within today's Sales capacity (1 of 4)" in got["route_reason"]
        routed_at = _naive(got["routed_to_sales_at"])

        run = _score(ws, _today())  # today's run: 4 a day, one already given online
        assert run["routed_sales"] == 4 and run["new_to_sales"] == 3, run
        kept = _rows(
            ws,
            "SELECT route, sales_status, with_sales_since FROM lead_scores WHERE run_id = ? AND lead_id = 'web-b'",
            [run["run_id"]],
        )
        assert kept == [("sales", "kept", routed_at)]
        assert _rows(
            ws, "SELECT count(*) FROM sales_queue WHERE run_id = ? AND lead_id = 'web-b'", [run["run_id"]]
        ) == [(1,)]

        c = api.post("/v1/leads", json=new_lead("web-c", created_at=yesterday), headers=h)
        assert c.status_code == 201, c.text
        assert c.json()["mql"] is True and c.json()["route"] == "nurture"
        assert "over today's Sales capacity (4 of 4" in c.json()["route_reason"]  # 3 by the run + 1 online
        assert c.json()["routed_to_sales_at"] is None

    tomorrow = _score(ws, _today() + timedelta(days=1))
    again = _rows(
        ws,
        "SELECT route, sales_status, with_sales_since FROM lead_scores WHERE run_id = ? AND lead_id = 'web-b'",
        [tomorrow["run_id"]],
    )
    assert again == [("sales", "kept", routed_at)]  # still the moment the API routed it, never re-routed


def _hold_writer(path: Path) -> subprocess.Popen[str]:
    """Another process holding DuckDB's read-write connection (what the nightly job does for minutes)."""
    code = "import duckdb, sys; c = duckdb.connect(sys.argv[1]); print('held', flush=True); sys.stdin.read()"
    holder = subprocess.Popen(
        [sys.executable, "-c", code, str(path)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
    return holder


def _release(holder: subprocess.Popen[str]) -> None:
    assert holder.stdin is not None
    holder.stdin.close()
    holder.wait(timeout=30)


def test_a_locked_warehouse_gets_202_queued_then_the_spool_drains_once_and_the_nightly_job_drains_it_too(
    api: TestClient, ws: Path, keys: Keys
) -> None:
    h = {"X-API-Key": keys.scorer, "Idempotency-Key": "form-locked-1"}
    body = new_lead("web-q")
    holder = _hold_writer(ws / "warehouse.duckdb")
    try:
        r = api.post("/v1/leads", json=body, headers=h)
        assert r.status_code == 202, r.text
        queued = r.json()
        assert queued["stored"] == "queued" and 0 <= queued["score"] <= 100 and queued["model_version"] == 1
        assert "the warehouse is busy" in queued["route_reason"] and queued["routed_to_sales_at"] is None
        replay = api.post("/v1/leads", json=body, headers=h)
        assert replay.status_code == 202 and replay.json() == queued and replay.headers["idempotent-replayed"] == "true"
        bad = api.post("/v1/leads", json=new_lead("web-qbad", job_level="ceo"), headers={"X-API-Key": keys.scorer})
        assert bad.status_code == 422
        busy = api.get("/v1/leads/web-q", headers={"X-API-Key": keys.viewer})
        assert busy.status_code == 503 and busy.headers["retry-after"] == "30" and set(busy.json()) == SHAPE
    finally:
        _release(holder)
    ledger = sqlite3.connect(ws / LEDGER_FILE)
    payload = ledger.execute("SELECT payload FROM spool WHERE kind = 'lead'").fetchone()[0]
    service = api.app.state.intake  # type: ignore[attr-defined]
    report = service.drain_now()
    assert report is not None and report["stored"] == 1 and report["quarantined"] == 1 and report["left"] == 0
    assert _rows(ws, "SELECT via, route FROM intake_leads WHERE lead_id = 'web-q'") == [("spool", queued["route"])]
    assert _rows(ws, "SELECT count(*) FROM quarantine WHERE source = 'api:/v1/leads' AND field = 'job_level'") == [(1,)]
    # the drain's commit happened but the spool never heard (a crash in between): draining again writes nothing
    ledger.execute("INSERT INTO spool (kind, request_id, payload, queued_at) VALUES ('lead', 'form-locked-1', ?, ?)",
                   [payload, _now().isoformat()])  # fmt: skip
    ledger.commit()
    report = service.drain_now()
    assert report is not None and report["duplicates"] == 1 and report["stored"] == 0
    assert _rows(ws, "SELECT count(*) FROM leads WHERE lead_id = 'web-q'") == [(1,)]
    assert _rows(ws, "SELECT count(*) FROM activities WHERE lead_id = 'web-q'") == [(2,)]
    assert _rows(ws, "SELECT count(*) FROM intake_leads WHERE lead_id = 'web-q'") == [(1,)]
    assert service.drain_now() is None  # nothing left
    # the same id after the drain still gets its first answer, and nothing is stored again
    after = api.post("/v1/leads", json=body, headers=h)
    assert after.status_code == 202 and after.json() == queued

    holder = _hold_writer(ws / "warehouse.duckdb")
    try:
        r = api.post("/v1/leads", json=new_lead("web-night"), headers={"X-API-Key": keys.scorer})
        assert r.status_code == 202, r.text
    finally:
        _release(holder)
    run = _score(ws, _today())
    assert run["intake"]["stored"] == 1 and run["intake"]["left"] == 0
    assert _rows(ws, "SELECT count(*) FROM intake_leads WHERE lead_id = 'web-night'") == [(1,)]
    ledger.close()


def test_get_a_lead_gives_the_published_score_a_trend_over_two_runs_and_a_fresh_score(
    api: TestClient, ws: Path, keys: Keys
) -> None:
    first = _score(ws, datetime(2025, 11, 1))
    second = _score(ws, datetime(2025, 12, 31))
    (lead_id, s1, s2) = _rows(
        ws,
        "SELECT a.lead_id, a.score, b.score FROM lead_scores a JOIN lead_scores b ON b.lead_id = a.lead_id "
        "WHERE a.run_id = ? AND b.run_id = ? ORDER BY abs(b.score - a.score) DESC, a.lead_id LIMIT 1",
        [first["run_id"], second["run_id"]],
    )[0]
    r = api.get(f"/v1/leads/{lead_id}", headers={"X-API-Key": keys.viewer})
    assert r.status_code == 200, r.text
    view = r.json()
    assert view["published"]["run_id"] == second["run_id"]
    assert view["published"]["score"] == pytest.approx(s2, abs=1e-12)
    points = view["trend"]["points"]
    assert [p["run_id"] for p in points] == [first["run_id"], second["run_id"]]
    assert [p["as_of"][:10] for p in points] == ["2025-11-01", "2025-12-31"]
    change = s2 - s1
    assert view["trend"]["change"] == pytest.approx(change, abs=1e-6)
    expected = "improving" if change >= 5 else "declining" if change <= -5 else "steady"
    assert abs(change) >= 5 and view["trend"]["direction"] == expected
    assert "5 published scores" in view["trend"]["rule"]
    settings = load(ws)
    bundle = load_bundle(load_artifact_dir(settings, "champion"))
    as_of = _naive(view["as_of"])
    with open_warehouse(settings.warehouse.url, settings.workspace, read_only=True, migrate=False) as wh:
        fresh = bundle.scorer.score(bundle.rows(wh, [lead_id], as_of))
    assert view["fresh"]["score"] == pytest.approx(float(fresh["score"].iloc[0]), abs=1e-9)
    assert view["fresh"]["model_version"] == 1 and view["fresh"]["reasons"]


def test_while_the_job_holds_the_warehouse_get_a_lead_answers_from_the_analysts_copy_of_the_last_run(
    api: TestClient, ws: Path, keys: Keys
) -> None:
    _score(ws, datetime(2025, 11, 1))
    second = _score(ws, datetime(2025, 12, 31))
    assert second["analytics_copy"] == str(ws / "analytics.duckdb")
    lead_id = _rows(ws, "SELECT min(lead_id) FROM current_scores")[0][0]
    h = {"X-API-Key": keys.viewer}
    free = api.get(f"/v1/leads/{lead_id}", headers=h).json()
    holder = _hold_writer(ws / "warehouse.duckdb")
    try:
        r = api.get(f"/v1/leads/{lead_id}", headers=h)
        assert r.status_code == 200, r.text
        busy = r.json()
        assert busy["published"] == free["published"] and busy["published"]["run_id"] == second["run_id"]
        assert busy["trend"] == free["trend"]
        assert busy["fresh"]["score"] == pytest.approx(free["fresh"]["score"], abs=1.0)  # a moment later
        unknown = api.get("/v1/leads/web-not-in-the-copy", headers=h)  # perhaps in the warehouse: not a 404
        assert unknown.status_code == 503 and unknown.headers["retry-after"] == "30" and set(unknown.json()) == SHAPE
    finally:
        _release(holder)


def test_get_an_unknown_lead_is_a_404_in_the_error_shape(api: TestClient, keys: Keys) -> None:
    r = api.get("/v1/leads/no-such-lead", headers={"X-API-Key": keys.viewer})
    assert r.status_code == 404 and set(r.json()) == SHAPE and "no-such-lead" in r.json()["error"]
    assert api.get("/v1/leads/no-such-lead").status_code == 401


@pytest.mark.postgres
def test_on_postgresql_leads_are_written_directly_idempotent_quarantined_and_read_back(
    ws: Path, keys: Keys, monkeypatch: pytest.MonkeyPatch
) -> None:
    base = os.environ.get("LEADOPS_TEST_PG_URL")
    if not base:
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail("LEADOPS_TEST_PG_URL is not set in CI: PostgreSQL tests must run there, not skip")
        pytest.skip("PostgreSQL not configured (set LEADOPS_TEST_PG_URL)")
    schema = f"t_{uuid.uuid4().hex[:12]}"
    url = f"{base}{'&' if '?' in base else '?'}schema={schema}"
    monkeypatch.setenv("LEADOPS_WAREHOUSE__URL", url)
    try:
        cli("ingest", "--workspace", str(ws))
        h = {"X-API-Key": keys.scorer, "Idempotency-Key": "pg-1"}
        with _client(ws) as api:
            body = new_lead("web-pg")
            r = api.post("/v1/leads", json=body, headers=h)
            assert r.status_code == 201, r.text
            assert r.json()["stored"] == "stored"
            assert api.post("/v1/leads", json=body, headers=h).json() == r.json()
            assert api.post("/v1/leads", json={**body, "job_level": "manager"}, headers=h).status_code == 409
            bad = api.post("/v1/leads", json=new_lead("web-pgbad", job_level="ceo"), headers={"X-API-Key": keys.scorer})
            assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["body", "job_level"]
            view = api.get("/v1/leads/web-pg", headers={"X-API-Key": keys.viewer}).json()
            same = api.post(
                "/v1/score", json={"leads": [body], "as_of": view["as_of"]}, headers={"X-API-Key": keys.scorer}
            ).json()["results"][0]
            assert view["fresh"]["score"] == pytest.approx(same["score"], abs=1e-9)  # the warehouse round trip
            assert view["published"] is None and view["trend"]["direction"] == "unknown"
        assert _rows(ws, "SELECT count(*) FROM intake_leads WHERE lead_id = 'web-pg'") == [(1,)]
        assert _rows(ws, "SELECT count(*) FROM activities WHERE lead_id = 'web-pg'") == [(2,)]
        assert _rows(ws, "SELECT field, reason FROM quarantine WHERE source = 'api:/v1/leads'") == [
            ("job_level", "unknown_category")
        ]
    finally:
        with open_warehouse(url, migrate=False) as wh:
            wh.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
