"""Alerts reach the webhook once per problem and day, retried with backoff when it fails, never failing the run."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import datetime
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest

from leadops.monitoring.alerts import Alert, deliver, post_json
from leadops.settings.monitoring import WebhookSpec
from leadops.warehouse.connection import Warehouse, open_warehouse

AS_OF = datetime(2025, 9, 8)


def _alert(feature: str, severity: str = "warning") -> Alert:
    return Alert(
        f"run-1:feature_drift:{feature}", "feature_drift", feature, severity, "psi", 0.41, 0.2, f"{feature} moved"
    )


class Hook:
    """A real HTTP endpoint on loopback that fails its first `fail` requests with 503."""

    def __init__(self, fail: int = 0) -> None:
        self.fail, self.bodies = fail, []  # type: ignore[var-annotated]
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["content-length"]))
                hook.bodies.append(json.loads(body))
                code = 503 if len(hook.bodies) <= hook.fail else 200
                self.send_response(code)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                return None

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"


@pytest.fixture
def wh(tmp_path: Path) -> Iterator[Warehouse]:
    warehouse = open_warehouse(f"duckdb:///{tmp_path / 'wh.duckdb'}")
    yield warehouse
    warehouse.close()


def test_an_alert_is_posted_once_per_problem_and_day(wh: Warehouse) -> None:
    hook = Hook()
    spec = WebhookSpec(url=hook.url, backoff_seconds=0)
    first = deliver(wh, [_alert("visits"), _alert("source")], spec, run_id="run-1", as_of=AS_OF)
    assert [d.status for d in first] == ["delivered", "delivered"]
    again = deliver(wh, [_alert("visits")], spec, run_id="run-2", as_of=AS_OF.replace(hour=12))
    assert [d.status for d in again] == ["duplicate"]
    next_day = deliver(wh, [_alert("visits")], spec, run_id="run-3", as_of=datetime(2025, 9, 9))
    assert [d.status for d in next_day] == ["delivered"]
    assert len(hook.bodies) == 3
    body = hook.bodies[0]
    assert body["severity"] == "warning" and body["value"] == 0.41 and body["threshold"] == 0.2
    assert body["feature"] == "visits" and body["run_id"] == "run-1" and "visits moved" in body["text"]


def test_a_failing_webhook_is_retried_with_doubling_backoff_then_recorded_as_failed(wh: Warehouse) -> None:
    hook, waits = Hook(fail=2), []  # type: ignore[var-annotated]
    spec = WebhookSpec(url=hook.url, retries=3, backoff_seconds=0.5)
    (got,) = deliver(wh, [_alert("visits")], spec, run_id="r", as_of=AS_OF, sleep=waits.append)
    assert got.status == "delivered" and got.attempts == 3 and waits == [0.5, 1.0]
    down = WebhookSpec(url="http://127.0.0.1:9/none", retries=2, backoff_seconds=0.1, timeout_seconds=0.5)
    waits.clear()
    (failed,) = deliver(wh, [_alert("source")], down, run_id="r", as_of=AS_OF, sleep=waits.append)
    assert failed.status == "failed" and failed.attempts == 3 and waits == pytest.approx([0.1, 0.2])
    assert "Connection" in (failed.error or "") or "refused" in (failed.error or "")
    hook2 = Hook()
    (retried,) = deliver(wh, [_alert("source")], WebhookSpec(url=hook2.url), run_id="r2", as_of=AS_OF)
    assert retried.status == "delivered"  # a failed delivery is tried again by the next run


def test_below_the_bar_and_without_a_url_nothing_is_posted(wh: Warehouse, caplog: pytest.LogCaptureFixture) -> None:
    hook = Hook()
    (low,) = deliver(
        wh, [_alert("visits")], WebhookSpec(url=hook.url, min_severity="critical"), run_id="r", as_of=AS_OF
    )
    assert low.status == "below_min_severity" and hook.bodies == []
    caplog.set_level("WARNING")
    assert deliver(wh, [_alert("x", "critical")], WebhookSpec(), run_id="r", as_of=AS_OF) == []
    assert "x moved" in caplog.text


def test_post_json_raises_for_an_error_status_which_deliver_counts_as_a_failure() -> None:
    hook = Hook(fail=1)
    with pytest.raises(Exception, match="503"):
        post_json(hook.url, b"{}", 2.0)
