"""A real `leadops serve --workers 2`: promote and roll back under steady load, start, answer and stop cleanly."""

from __future__ import annotations

import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from live_server import LiveServer, free_port, live_server, serve_argv, serve_env
from prometheus_client.parser import text_string_to_metric_families

from conftest import Keys, cli

pytestmark = pytest.mark.slow

RELOAD = 0.5
MARGIN = 8.0
"""Seconds after a promote returns by which every worker serves the new version (reload_seconds + load time)."""
ENV = {"LEADOPS_SERVING__RELOAD_SECONDS": str(RELOAD)}
BODY = {
    "leads": [
        {"lead_id": "hs-1", "lead_source": "demo_form", "job_level": "vp"},
        {"lead_id": "hs-2", "email_domain_type": "free"},
        {"lead_id": "hs-3", "account": {"industry": "software", "employees": 400}},
    ],
    "as_of": "2026-06-01T00:00:00",
}


@dataclass
class Answer:
    """One request of the load: when it was sent and came back, and what it said."""

    sent: float
    done: float
    status: int | None
    version: int | None
    result_versions: set[int]
    error: str | None = None


def _load(url: str, key: str, stop: threading.Event, into: list[Answer]) -> None:
    with httpx.Client(base_url=url, headers={"X-API-Key": key}, timeout=10) as client:
        while not stop.is_set():
            sent = time.monotonic()
            try:
                r = client.post("/v1/score", json=BODY)
                body = r.json() if r.status_code == 200 else {}
                into.append(
                    Answer(
                        sent,
                        time.monotonic(),
                        r.status_code,
                        body.get("model_version"),
                        {res["model_version"] for res in body.get("results", [])},
                        None if r.status_code == 200 else r.text[:300],
                    )
                )
            except httpx.HTTPError as exc:
                into.append(Answer(sent, time.monotonic(), None, None, set(), f"{type(exc).__name__}: {exc}"))
            time.sleep(0.01)


def _workers_serving(server: LiveServer, key: str) -> dict[str, float]:
    """Workers per served version, from the live-summed model-version gauge of /metrics."""
    text = httpx.get(f"{server.url}/metrics", headers={"X-API-Key": key}, timeout=10).text
    found: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "leadops_model_version" and sample.value:
                found[sample.labels["version"]] = sample.value
    return found


def _wait_for(check: object, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not check():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {seconds} s: {what}")
        time.sleep(0.2)


def test_promote_and_rollback_under_load_fail_no_request_and_mix_no_versions(
    rivals: Path, rivals_keys: Keys, tmp_path: Path
) -> None:
    with live_server(rivals, tmp_path, workers=2, env=ENV) as server:
        _wait_for(lambda: _workers_serving(server, rivals_keys.viewer) == {"1": 2.0}, 120, "both workers serve v1")
        answers: list[Answer] = []
        stop = threading.Event()
        load = [threading.Thread(target=_load, args=(server.url, rivals_keys.scorer, stop, answers)) for _ in range(2)]
        for t in load:
            t.start()
        try:  # a worker's first request takes 1-3 s (see the closing note): promote once answers flow
            _wait_for(lambda: len(answers) >= 20, 60, "the load's first 20 answers")
            cli("models", "promote", "2", "--workspace", str(rivals), "--force", "--reason", "hot-swap test")
            promoted = time.monotonic()
            _wait_for(lambda: _workers_serving(server, rivals_keys.viewer) == {"2": 2.0}, MARGIN, "both serve v2")
            swapped = time.monotonic()
            time.sleep(3)
            rolling_back = time.monotonic()
            cli("models", "rollback", "--workspace", str(rivals), "--reason", "hot-swap test")
            _wait_for(lambda: _workers_serving(server, rivals_keys.viewer) == {"1": 2.0}, MARGIN, "both serve v1")
            restored = time.monotonic()
            time.sleep(3)
        finally:
            stop.set()
            for t in load:
                t.join(30)
        code = server.stop()
    failed = [a for a in answers if a.status != 200]
    assert not failed, f"{len(failed)} of {len(answers)} requests failed, first: {failed[0]}"
    assert len(answers) > 50, "a steady load, not a handful of requests"
    for a in answers:
        assert a.version in (1, 2) and a.result_versions == {a.version}, a
    before = [a.version for a in answers if a.done < promoted]
    after_promote = [a.version for a in answers if swapped < a.sent and a.done < rolling_back]
    after_rollback = [a.version for a in answers if a.sent > restored]
    assert 2 in {a.version for a in answers if promoted < a.sent < swapped + 1} or after_promote
    assert before and set(before) == {1}
    assert after_promote and set(after_promote) == {2}
    assert after_rollback and set(after_rollback) == {1}
    assert code == 0 and "Traceback" not in server.log()


def test_the_served_process_answers_health_ready_and_score_and_stops_cleanly_on_sigterm(
    rivals: Path, rivals_keys: Keys, tmp_path: Path
) -> None:
    with live_server(rivals, tmp_path, workers=1, env=ENV) as server:
        assert httpx.get(f"{server.url}/health", timeout=10).json() == {"ok": True, "status": "up"}
        ready = httpx.get(f"{server.url}/ready", timeout=10)
        assert ready.status_code == 200 and ready.json()["model_loaded"] is True, ready.text
        scored = httpx.post(f"{server.url}/v1/score", json=BODY, headers={"X-API-Key": rivals_keys.scorer}, timeout=10)
        assert scored.status_code == 200 and len(scored.json()["results"]) == 3, scored.text
        assert httpx.post(f"{server.url}/v1/score", json=BODY, timeout=10).status_code == 401
        started = time.monotonic()
        code = server.stop()
        log = server.log()
    assert code == 0, log[-2000:]
    assert "Traceback" not in log and "Error" not in log, log[-2000:]
    assert time.monotonic() - started < 20


def test_serve_on_a_workspace_with_no_champion_exits_with_one_line_before_listening(tmp_path: Path) -> None:
    ws = tmp_path / "empty"
    cli("init", str(ws))
    port = free_port()
    done = subprocess.run(serve_argv(ws, port, 2), env=serve_env(ENV), capture_output=True, timeout=120, check=False)
    err = done.stderr.decode(errors="replace").strip()
    assert done.returncode == 30, err
    assert len(err.splitlines()) == 1 and "champion" in err and "Traceback" not in err, err
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"http://127.0.0.1:{port}/health", timeout=2)
