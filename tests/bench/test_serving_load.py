"""The fixed-rate load generator of bench_serving counts what a server did, from each request's due time."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest

ROOT = Path(__file__).resolve().parents[2]


class _Handler(BaseHTTPRequestHandler):
    """Keep-alive JSON answers after `delay` seconds, with `status`; records the bodies it was sent."""

    protocol_version = "HTTP/1.1"
    delay = 0.0
    status = 200
    bodies: ClassVar[list[bytes]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).bodies.append(body)
        time.sleep(self.delay)
        payload = b'{"ok": true}'
        self.send_response(self.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: Any) -> None:
        return


@pytest.fixture
def serve(request: pytest.FixtureRequest) -> Iterator[tuple[str, type[_Handler]]]:
    """A local HTTP server whose handler takes (delay, status, idle timeout or None) from the test's parameter."""
    delay, status, idle = request.param
    handler = type("Handler", (_Handler,), {"delay": delay, "status": status, "bodies": [], "timeout": idle})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/v1/score", handler
    finally:
        httpd.shutdown()
        httpd.server_close()


def load(url: str, rate: float, seconds: float, tmp_path: Path, connections: int) -> dict[str, Any]:
    body = tmp_path / "body.json"
    body.write_text('{"leads": [{"lead_id": "L1"}]}')
    argv = [sys.executable, "-m", "benchmarks.serving_load", "--url", url, "--rate", str(rate)]
    argv += ["--seconds", str(seconds), "--body", str(body), "--connections", str(connections)]
    argv += ["--header", "Authorization: Bearer k"]
    done = subprocess.run(argv, capture_output=True, text=True, cwd=ROOT, timeout=60, check=True)
    result: dict[str, Any] = json.loads(done.stdout)
    return result


@pytest.mark.parametrize("serve", [(0.01, 200, None)], indirect=True)
def test_a_server_that_keeps_up_answers_every_due_request_at_its_own_latency(
    serve: tuple[str, type[_Handler]], tmp_path: Path
) -> None:
    url, handler = serve
    got = load(url, 100, 1.0, tmp_path, 8)
    assert got["due"] == got["sent"] == got["completed"] == got["ok"] == 100
    assert got["error_count"] == 0 and got["errors"] == {}
    assert 10.0 <= got["p50_ms"] < 200.0  # the handler's 10 ms, not the generator's pacing
    assert handler.bodies == [b'{"leads": [{"lead_id": "L1"}]}'] * 100


@pytest.mark.parametrize("serve", [(0.05, 200, None)], indirect=True)
def test_a_server_that_falls_behind_is_charged_for_the_queue_it_causes(
    serve: tuple[str, type[_Handler]], tmp_path: Path
) -> None:
    url, _ = serve
    # one connection, 50 ms per request, 40 due per second: the 40th request is due at 0.98 s but answered
    # at ~2 s; a closed-loop client would report ~50 ms for every request
    got = load(url, 40, 1.0, tmp_path, 1)
    assert got["completed"] == 40 and got["error_count"] == 0
    assert got["max_ms"] > 800.0
    assert got["p50_ms"] > 200.0
    assert got["achieved_rate"] < 25.0


@pytest.mark.parametrize("serve", [(0.0, 503, None)], indirect=True)
def test_error_answers_are_counted_by_status(serve: tuple[str, type[_Handler]], tmp_path: Path) -> None:
    url, _ = serve
    got = load(url, 50, 0.5, tmp_path, 4)
    assert got["completed"] == 25 and got["ok"] == 0
    assert got["errors"] == {"status 503": 25} and got["error_count"] == 25


@pytest.mark.parametrize("serve", [(0.0, 200, 0.2)], indirect=True)
def test_a_keep_alive_connection_the_server_closed_while_idle_is_reopened_not_an_error(
    serve: tuple[str, type[_Handler]], tmp_path: Path
) -> None:
    url, handler = serve
    # 0.5 s between requests on one connection, the server closes it after 0.2 s idle (uvicorn's keep-alive
    # timeout is 5 s; a slow fixed rate over many connections meets it)
    got = load(url, 2, 2.0, tmp_path, 1)
    assert got["completed"] == got["ok"] == 4 and got["errors"] == {}
    assert len(handler.bodies) == 4
