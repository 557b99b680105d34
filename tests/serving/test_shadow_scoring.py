"""Shadow scoring online: the challenger scores every request in the background, logged, never in the response."""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient
from live_server import serve_env
from warehouse_leads import request_leads

from conftest import Keys, cli
from leadops.bundle import load_bundle
from leadops.config import load
from leadops.registry.loading import load_artifact_dir
from leadops.serving.app import create_app
from leadops.serving.shadow import SCHEMA, ShadowLogError, ShadowScorer, shadow_log, shadow_path
from leadops.warehouse.connection import open_warehouse


def _max_created(ws: Path) -> datetime:
    settings = load(ws)
    with open_warehouse(settings.warehouse.url, settings.workspace, read_only=True, migrate=False) as wh:
        return wh.rows("SELECT max(created_at) FROM leads")[0][0]


@pytest.fixture
def shadowed(rivals: Path) -> Iterator[Path]:
    """The rivals workspace with v2 as challenger and an empty shadow log."""
    cli("models", "challenger", "2", "--workspace", str(rivals))
    for suffix in ("", "-wal", "-shm"):
        Path(str(shadow_path(load(rivals))) + suffix).unlink(missing_ok=True)
    yield rivals


def _client(ws: Path) -> TestClient:
    return TestClient(create_app(load(ws), follow=False))


def _scorer(client: TestClient) -> ShadowScorer:
    found = client.app.state.shadow  # type: ignore[attr-defined]
    assert isinstance(found, ShadowScorer)
    return found


def _challenger(client: TestClient) -> Any:
    (challenger,) = client.app.state.service.slot.models().challengers  # type: ignore[attr-defined]
    return challenger


def test_the_challenger_scores_every_request_with_its_own_score_and_the_response_is_unchanged(
    shadowed: Path, rivals_keys: Keys, monkeypatch: pytest.MonkeyPatch
) -> None:
    as_of = _max_created(shadowed)
    leads = request_leads(shadowed, 12, as_of)
    body = {"leads": leads, "as_of": as_of.isoformat()}
    h = {"X-API-Key": rivals_keys.scorer}
    with _client(shadowed) as client:
        assert [c["version"] for c in client.get("/v1/model", headers=h).json()["challengers"]] == [2]
        first = client.post("/v1/score", json=body, headers=h)
        second = client.post("/v1/score", json={"leads": leads[:5], "as_of": as_of.isoformat()}, headers=h)
        assert first.status_code == second.status_code == 200, first.text
        assert _scorer(client).flush()
        summary = client.get("/v1/shadow", headers={"X-API-Key": rivals_keys.viewer})
    monkeypatch.setenv("LEADOPS_SERVING__SHADOW", "false")
    with _client(shadowed) as plain:
        assert plain.app.state.shadow is None  # type: ignore[attr-defined]
        unshadowed = plain.post("/v1/score", json=body, headers=h)
    assert first.json() == unshadowed.json(), "shadow scoring must not change the response"
    assert first.json()["model_version"] == 1

    settings = load(shadowed)
    log = shadow_log(settings)
    assert log.schema == SCHEMA and log.num_rows == 12 + 5
    rows = log.to_pylist()
    assert len({r["request_id"] for r in rows}) == 2
    assert {r["champion_version"] for r in rows} == {1} and {r["challenger_version"] for r in rows} == {2}
    assert all(r["error"] is None and r["as_of"] == as_of for r in rows)
    firsts = [r for r in rows if r["request_id"] == rows[0]["request_id"]]
    assert [r["lead_id"] for r in firsts] == [lead["lead_id"] for lead in leads]
    assert [r["champion_score"] for r in firsts] == [res["score"] for res in first.json()["results"]]

    bundle = load_bundle(load_artifact_dir(settings, 2))
    with open_warehouse(settings.warehouse.url, settings.workspace, read_only=True, migrate=False) as wh:
        expected = bundle.scorer.score(bundle.rows(wh, [lead["lead_id"] for lead in leads], as_of))
    np.testing.assert_allclose(
        [r["challenger_score"] for r in firsts], expected.loc[[r["lead_id"] for r in firsts], "score"], atol=1e-9
    )
    assert [r["challenger_grade"] for r in firsts] == list(expected.loc[[r["lead_id"] for r in firsts], "grade"])
    champion_scores = np.array([r["champion_score"] for r in firsts])
    assert not np.allclose(champion_scores, [r["challenger_score"] for r in firsts]), "two different models"

    assert summary.status_code == 200, summary.text
    got = summary.json()
    assert got["enabled"] is True and got["champion_version"] == 1 and got["challenger_versions"] == [2]
    (pair,) = got["comparisons"]
    assert pair["leads"] == 17 and pair["requests"] == 2 and pair["errors"] == 0
    gaps = [r["challenger_score"] - r["champion_score"] for r in rows]
    assert pair["mean_score_difference"] == pytest.approx(np.mean(gaps))
    assert pair["mean_absolute_score_difference"] == pytest.approx(np.mean(np.abs(gaps)))
    agree = np.mean([r["challenger_grade"] == r["champion_grade"] for r in rows])
    assert pair["grade_agreement"] == pytest.approx(agree)
    since = shadow_log(settings, since=rows[-1]["scored_at"])
    assert 0 < since.num_rows <= 5 and shadow_log(settings, version=7).num_rows == 0


def test_a_challenger_that_raises_is_logged_as_an_error_and_never_touches_the_response(
    shadowed: Path, rivals_keys: Keys
) -> None:
    body = {"leads": [{"lead_id": "x1", "lead_source": "demo_form"}, {"lead_id": "x2"}], "as_of": "2026-06-01T00:00:00"}
    h = {"X-API-Key": rivals_keys.scorer}
    with _client(shadowed) as client:
        good = client.post("/v1/score", json=body, headers=h).json()
        assert _scorer(client).flush()

        def broken(*args: Any, **kwargs: Any) -> Any:
            raise RuntimeError("challenger exploded")

        _challenger(client).score = broken
        r = client.post("/v1/score", json=body, headers=h)
        assert r.status_code == 200 and r.json() == good
        assert _scorer(client).flush()
        metrics_text = client.get("/metrics", headers={"X-API-Key": rivals_keys.viewer}).text
    rows = shadow_log(load(shadowed)).to_pylist()
    assert len(rows) == 4
    ok, failed = rows[:2], rows[2:]
    assert all(r["error"] is None and r["challenger_score"] is not None for r in ok)
    assert all(r["error"] == "RuntimeError: challenger exploded" for r in failed)
    assert all(r["challenger_score"] is None and r["challenger_grade"] is None for r in failed)
    assert [r["champion_score"] for r in failed] == [res["score"] for res in good["results"]]
    assert 'leadops_shadow_errors_total{version="2"}' in metrics_text


def test_the_response_never_waits_for_the_challenger_and_a_full_queue_drops_and_counts(
    shadowed: Path, rivals_keys: Keys, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LEADOPS_SERVING__SHADOW_QUEUE", "1")
    body = {"leads": [{"lead_id": "q1"}], "as_of": "2026-06-01T00:00:00"}
    h = {"X-API-Key": rivals_keys.scorer}
    entered, release = threading.Event(), threading.Event()
    with _client(shadowed) as client:
        challenger = _challenger(client)
        real = challenger.score

        def slow(*args: Any, **kwargs: Any) -> Any:
            entered.set()
            assert release.wait(30)
            return real(*args, **kwargs)

        challenger.score = slow
        answers = [client.post("/v1/score", json=body, headers=h)]
        assert entered.wait(10), "the challenger was never called"
        answers += [client.post("/v1/score", json=body, headers=h) for _ in range(3)]
        assert not release.is_set(), "every response came while the challenger was still busy"
        assert [a.status_code for a in answers] == [200] * 4
        assert len({a.text for a in answers}) == 1
        scorer = _scorer(client)
        assert scorer.dropped == 2 and scorer.pending == 1  # one being scored, one queued, two dropped
        release.set()
        assert scorer.flush()
        metrics_text = client.get("/metrics", headers={"X-API-Key": rivals_keys.viewer}).text
        summary = client.get("/v1/shadow", headers={"X-API-Key": rivals_keys.viewer}).json()
    assert shadow_log(load(shadowed)).num_rows == 2
    assert summary["worker"]["dropped"] == 2 and summary["comparisons"][0]["requests"] == 2
    assert "leadops_shadow_dropped_total" in metrics_text


def test_the_shadow_log_of_a_workspace_never_shadowed_is_empty_and_a_damaged_one_is_an_error(
    tmp_path: Path, rivals: Path
) -> None:
    settings = load(rivals).model_copy(update={"workspace": tmp_path})
    assert shadow_log(settings).num_rows == 0 and shadow_log(settings).schema == SCHEMA
    shadow_path(settings).parent.mkdir(parents=True)
    shadow_path(settings).write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(ShadowLogError, match=r"shadow\.sqlite"):
        shadow_log(settings)


WRITER = """
import sys
from datetime import datetime
from types import SimpleNamespace
from leadops.config import load
from leadops.serving.model import LeadRecords
from leadops.serving.shadow import ShadowScorer
from leadops.serving.slot import Models

class Echo:
    version = 9
    def score(self, records, as_of):
        return [SimpleNamespace(score=float(len(r.lead["lead_id"])), grade="B", probability=0.5) for r in records]

shadow = ShadowScorer(load(sys.argv[1]), maxsize=10_000)
leads = [LeadRecords({"lead_id": f"{sys.argv[2]}-{i}"}, None, []) for i in range(5)]
champion = [SimpleNamespace(lead_id=r.lead["lead_id"], model_version=1, score=1.0, grade="C") for r in leads]
for _ in range(int(sys.argv[3])):
    shadow.submit(Models(object(), (Echo(),)), leads, datetime(2026, 6, 1), champion)
assert shadow.flush(120), "not flushed"
shadow.stop()
assert shadow.failed_writes == 0 and shadow.dropped == 0, (shadow.failed_writes, shadow.dropped)
"""


def test_worker_processes_writing_at_once_lose_no_row(tmp_path: Path, rivals: Path) -> None:

    ws = tmp_path / "ws"
    ws.mkdir()
    for name in ("leadops.yaml",):
        (ws / name).write_bytes((rivals / name).read_bytes())
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, str(ws), f"w{i}", "300"], env=serve_env(), stderr=subprocess.PIPE
        )
        for i in range(3)
    ]
    errors = [p.communicate(timeout=300)[1].decode() for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0], errors
    log = shadow_log(load(ws))
    assert log.num_rows == 3 * 300 * 5
    assert len(set(log.column("request_id").to_pylist())) == 900
    assert set(log.column("challenger_version").to_pylist()) == {9}
