"""POST /v1/score answered by FastScore gives FastAPI's route's bytes exactly, and hands every other request to it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from warehouse_leads import request_leads

from conftest import Keys
from leadops.config import load
from leadops.serving import fast_score
from leadops.serving.app import create_app
from leadops.serving.metrics import render_metrics
from leadops.serving.model import records_of
from leadops.serving.schemas import LeadIn

AS_OF = "2026-06-01T00:00:00Z"


@pytest.fixture(scope="module")
def both(company: Path) -> Iterator[tuple[TestClient, TestClient]]:
    """The company's app with the fast path (as served) and without it (FastAPI answers everything)."""
    fast = load(company)
    slow = load(company, environ={"LEADOPS_SERVING__FAST_PATH": "false"})
    assert fast.serving.fast_path and not slow.serving.fast_path
    apps = create_app(fast, follow=False), create_app(slow, follow=False)
    for app in apps:  # a key stays in memory for the whole module: on a loaded machine 2 s pass between requests
        app.state.service.keys.cache_seconds = 3600.0
    with TestClient(apps[0]) as a, TestClient(apps[1]) as b:
        yield a, b


def _post(client: TestClient, body: bytes, headers: dict[str, str]) -> tuple[int, bytes, str | None]:
    r = client.post("/v1/score", content=body, headers=headers)
    return r.status_code, r.content, r.headers.get("content-type")


def test_the_fast_path_answers_exactly_the_routes_bytes_for_warehouse_leads(
    both: tuple[TestClient, TestClient], company: Path, company_keys: Keys, monkeypatch: pytest.MonkeyPatch
) -> None:
    fast, slow = both
    answered: list[int] = []
    scored = fast_score.FastScore._scored

    async def counting(self: fast_score.FastScore, body: bytes, record: Any, served: Any) -> bytes | None:
        out = await scored(self, body, record, served)
        answered.append(out is not None)
        return out

    monkeypatch.setattr(fast_score.FastScore, "_scored", counting)
    leads = request_leads(company, 12, datetime(2026, 6, 1))
    headers = {"Authorization": f"Bearer {company_keys.scorer}", "Content-Type": "application/json"}
    bodies = [{"leads": [lead], "as_of": AS_OF} for lead in leads] + [{"leads": leads, "as_of": AS_OF}]
    # a key not yet in the worker's memory is read from the store by FastAPI's route (in a thread): once
    assert fast.post("/v1/score", content=json.dumps(bodies[0]).encode(), headers=headers).status_code == 200
    answered.clear()
    for body in bodies:
        raw = json.dumps(body).encode()
        got, want = _post(fast, raw, headers), _post(slow, raw, headers)
        assert got[0] == 200 and got == want
    assert answered == [True] * len(bodies)  # every one of them answered by the fast path itself


@pytest.mark.parametrize(
    ("case", "body", "headers"),
    [
        ("no key", {"leads": [{"lead_id": "a"}]}, {}),
        ("unknown key", {"leads": [{"lead_id": "a"}]}, {"X-API-Key": "lo_000000000000_nope"}),
        ("viewer key", {"leads": [{"lead_id": "a"}]}, {"role": "viewer"}),
        ("unknown field", {"leads": [{"lead_id": "a", "colour": "red"}]}, {"role": "scorer"}),
        ("no leads", {"leads": []}, {"role": "scorer"}),
        ("a number as a time", {"leads": [{"lead_id": "a", "created_at": 1700000000}]}, {"role": "scorer"}),
        ("a string as a flag", {"leads": [{"lead_id": "a", "do_not_call": "yes"}]}, {"role": "scorer"}),
        ("too many activities", {"leads": [{"lead_id": "a", "activities": []}]}, {"role": "scorer", "many": "1"}),
        ("a whole float", {"leads": [{"lead_id": "a", "account": {"employees": 420.0}}]}, {"role": "scorer"}),
        ("utc offset", {"leads": [{"lead_id": "a"}], "as_of": "2026-06-01T02:00:00+02:00"}, {"role": "scorer"}),
    ],
)
def test_every_other_request_gets_the_same_answer_either_way(
    both: tuple[TestClient, TestClient],
    company_keys: Keys,
    case: str,
    body: dict[str, Any],
    headers: dict[str, str],
) -> None:
    fast, slow = both
    sent = {"Content-Type": "application/json"}
    role = headers.pop("role", None) if "role" in headers else None
    if role is not None:
        sent["X-API-Key"] = getattr(company_keys, role)
    sent.update(headers)
    if sent.pop("many", None):
        activity = {"activity_type": "page_view", "occurred_at": "2026-05-01T00:00:00Z"}
        body["leads"][0]["activities"] = [activity] * 5_001
    body.setdefault("as_of", AS_OF)
    raw = json.dumps(body).encode()
    got, want = _post(fast, raw, sent), _post(slow, raw, sent)
    assert got == want, case


def test_bodies_json_parsers_read_differently_still_match(
    both: tuple[TestClient, TestClient], company_keys: Keys
) -> None:
    fast, slow = both
    sent = {"Content-Type": "application/json", "X-API-Key": company_keys.scorer}
    bodies = [
        b'{"leads": [{"lead_id": "a", "activities": [{"activity_type": "page_view", '
        b'"occurred_at": "2026-05-01T00:00:00Z", "value": NaN}]}], "as_of": "2026-06-01T00:00:00Z"}',
        b'{"leads": [{"lead_id": "a"}], "leads": [{"lead_id": "b"}], "as_of": "2026-06-01T00:00:00Z"}',
        b'\xef\xbb\xbf{"leads": [{"lead_id": "a"}], "as_of": "2026-06-01T00:00:00Z"}',
        b'{"leads": [{"lead_id": "a\\ud800"}], "as_of": "2026-06-01T00:00:00Z"}',
        b"not json",
        b"",
    ]
    for raw in bodies:
        assert _post(fast, raw, sent) == _post(slow, raw, sent), raw
    text = {"Content-Type": "text/plain", "X-API-Key": company_keys.scorer}
    good = b'{"leads": [{"lead_id": "a"}], "as_of": "2026-06-01T00:00:00Z"}'
    assert _post(fast, good, text) == _post(slow, good, text)


def test_fast_path_requests_are_counted_under_their_route_in_metrics(
    both: tuple[TestClient, TestClient], company_keys: Keys
) -> None:
    fast, _ = both
    wanted = 'leadops_http_requests_total{method="POST",route="/v1/score",status="200"}'

    def count() -> float:
        lines = [ln for ln in render_metrics()[0].decode().splitlines() if ln.startswith(wanted)]
        return float(lines[0].rsplit(" ", 1)[1]) if lines else 0.0

    before = count()
    body = {"leads": [{"lead_id": "m"}], "as_of": AS_OF}
    for _ in range(3):
        assert fast.post("/v1/score", json=body, headers={"X-API-Key": company_keys.scorer}).status_code == 200
    assert count() == before + 3


def test_records_of_reads_the_same_records_model_dump_gives(company: Path) -> None:
    for raw in request_leads(company, 20, datetime(2026, 6, 1)):
        lead = LeadIn.model_validate(raw)
        got = records_of(lead)
        want = lead.model_dump(exclude={"account", "activities", "email"})
        assert got.lead == want
        assert got.activities == [a.model_dump() for a in lead.activities]
        if lead.account is not None:
            account = lead.account.model_dump()
            account["account_id"] = account["account_id"] or lead.account_id
            assert got.account == account
