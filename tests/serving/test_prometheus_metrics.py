"""Prometheus metrics: the right values under the right labels, summed across worker processes, cheap per call."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from leadops.errors import ConfigError
from leadops.serving.metrics import (
    ENV,
    MAX_VALUES,
    observe_error,
    observe_request,
    observe_score,
    observe_shadow,
    prepare_multiprocess_dir,
    render_metrics,
    set_model_version,
)

SRC = Path(__file__).resolve().parents[2] / "src"


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of an exposition text by (name, sorted labels)."""
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def _value(text: str, name: str, **labels: str) -> float:
    return _samples(text).get((name, tuple(sorted(labels.items()))), 0.0)


@pytest.fixture(autouse=True)
def _single_process(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV, raising=False)


def test_a_request_appears_in_the_latency_histogram_and_the_request_count() -> None:
    before, _ = render_metrics()
    observe_request("/t/a/{lead_id}", "post", 200, 0.0003)
    observe_request("/t/a/{lead_id}", "POST", 200, 0.0009)
    observe_request("/t/a/{lead_id}", "POST", 422, 0.004)
    body, content_type = render_metrics()
    assert content_type.startswith("text/plain") and "version=" in content_type
    text, old = body.decode(), before.decode()
    hist = "leadops_http_request_duration_seconds"

    def delta(name: str, **labels: str) -> float:
        return _value(text, name, **labels) - _value(old, name, **labels)

    route = {"route": "/t/a/{lead_id}", "method": "POST"}
    assert delta(f"{hist}_count", **route) == 3
    assert delta(f"{hist}_sum", **route) == pytest.approx(0.0052)
    assert delta(f"{hist}_bucket", **route, le="0.00025") == 0
    assert delta(f"{hist}_bucket", **route, le="0.0005") == 1, "sub-millisecond requests have buckets of their own"
    assert delta(f"{hist}_bucket", **route, le="0.001") == 2
    assert delta(f"{hist}_bucket", **route, le="0.005") == 3
    assert delta(f"{hist}_bucket", **route, le="+Inf") == 3
    assert delta("leadops_http_requests_total", **route, status="200") == 2
    assert delta("leadops_http_requests_total", **route, status="422") == 1


def test_errors_scores_shadow_scores_and_the_model_version_have_their_labels() -> None:
    observe_error("t_validation")
    observe_error("t_validation")
    observe_error("t_unauthorized")
    observe_score("A", "t7")
    observe_score("A", "t7")
    observe_score("C", "t7", count=5)
    observe_shadow("t8")
    set_model_version("t7")
    text = render_metrics()[0].decode()
    assert _value(text, "leadops_errors_total", kind="t_validation") == 2
    assert _value(text, "leadops_errors_total", kind="t_unauthorized") == 1
    assert _value(text, "leadops_scores_total", grade="A", model_version="t7") == 2
    assert _value(text, "leadops_scores_total", grade="C", model_version="t7") == 5
    assert _value(text, "leadops_shadow_scores_total", version="t8") == 1
    assert _value(text, "leadops_model_version", version="t7") == 1
    set_model_version("t9")
    text = render_metrics()[0].decode()
    assert _value(text, "leadops_model_version", version="t7") == 0, "the version no longer served drops to 0"
    assert _value(text, "leadops_model_version", version="t9") == 1


@pytest.fixture
def fresh_route_labels() -> Iterator[None]:
    """This test fills the route label's bound; later tests in the process get their routes back."""
    from leadops.serving.metrics import _metrics

    seen = _metrics().seen
    before = {name: set(values) for name, values in seen.items()}
    yield
    seen.clear()
    seen.update(before)


def test_labels_stay_bounded_and_never_hold_an_email_or_a_query_string(fresh_route_labels: None) -> None:
    observe_request("/t/b?email=jane@example.com", "GET", 200, 0.001)
    observe_error("jane.doe@example.com")
    observe_request("/t/b", "BREW", 999, 0.001)
    for i in range(MAX_VALUES + 20):
        observe_request(f"/t/raw/{i}", "GET", 404, 0.001)
    text = render_metrics()[0].decode()
    assert "@" not in text and "example.com" not in text
    assert _value(text, "leadops_http_requests_total", route="/t/b", method="GET", status="200") == 1
    assert _value(text, "leadops_http_requests_total", route="/t/b", method="OTHER", status="other") == 1
    routes = {labels for name, labels in _samples(text) if name == "leadops_http_requests_total"}
    assert len({dict(labels)["route"] for labels in routes}) <= MAX_VALUES + 1
    assert any(dict(labels)["route"] == "other" for labels in routes), "routes past the bound count as other"


def test_observing_a_request_costs_a_few_microseconds() -> None:
    observe_request("/t/speed", "POST", 200, 0.0004)
    best = float("inf")
    for _ in range(5):
        started = time.perf_counter()
        for _ in range(5000):
            observe_request("/t/speed", "POST", 200, 0.0004)
        best = min(best, (time.perf_counter() - started) / 5000)
    assert best < 20e-6, f"observe_request took {best * 1e6:.1f} us"


def test_prepare_empties_only_the_metric_files_and_sets_the_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(ENV, "restored after the test")
    folder = tmp_path / "metrics"
    folder.mkdir()
    (folder / "counter_123.db").write_bytes(b"old")
    (folder / "README").write_text("keep me")
    assert prepare_multiprocess_dir(folder) == folder.resolve()
    assert os.environ[ENV] == str(folder.resolve())
    assert sorted(p.name for p in folder.iterdir()) == ["README"]
    assert prepare_multiprocess_dir(tmp_path / "new" / "dir").is_dir()
    (tmp_path / "afile").write_text("x")
    with pytest.raises(ConfigError, match="afile: expected a directory"):
        prepare_multiprocess_dir(tmp_path / "afile")


_WORKER = textwrap.dedent(
    """
    import json, sys, time
    from leadops.serving import metrics as m
    n, version = int(sys.argv[1]), sys.argv[2]
    m.set_model_version(version)
    for i in range(n):
        m.observe_request("/v1/score", "POST", 200, 0.0004)
    m.observe_request("/v1/leads/{lead_id}", "GET", 404, 0.002)
    m.observe_score("B", version, count=n)
    m.observe_error("not_found")
    best = float("inf")
    for _ in range(5):
        started = time.perf_counter()
        for _ in range(2000):
            m.observe_request("/bench", "GET", 200, 0.0001)
        best = min(best, (time.perf_counter() - started) / 2000)
    print(json.dumps({"seconds_per_observe": best}), flush=True)
    if sys.argv[3] == "stay":
        sys.stdin.readline()  # a live worker until the test has scraped
    """
)
_SCRAPE = (
    "from leadops.serving.metrics import render_metrics; import sys; sys.stdout.write(render_metrics()[0].decode())"
)


def test_multiprocess_mode_adds_up_two_workers_and_forgets_a_dead_ones_version(tmp_path: Path) -> None:
    folder = tmp_path / "prom"
    env = {**os.environ, "PYTHONPATH": f"{SRC}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    env.pop(ENV, None)
    prepare = "import sys; from leadops.serving.metrics import prepare_multiprocess_dir as p; p(sys.argv[1])"
    subprocess.run([sys.executable, "-c", prepare, str(folder)], check=True, env=env)
    env[ENV] = str(folder)
    dead = subprocess.run(
        [sys.executable, "-c", _WORKER, "30", "v4", "exit"], capture_output=True, text=True, env=env, check=True
    )
    alive = subprocess.Popen(
        [sys.executable, "-c", _WORKER, "12", "v5", "stay"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert alive.stdout is not None
        alive_report = json.loads(alive.stdout.readline())
        text = subprocess.run(
            [sys.executable, "-c", _SCRAPE], capture_output=True, text=True, env=env, check=True
        ).stdout
    finally:
        assert alive.stdin is not None
        alive.stdin.write("\n")
        alive.stdin.flush()
        alive.wait(timeout=30)
    route = {"route": "/v1/score", "method": "POST"}
    assert _value(text, "leadops_http_requests_total", **route, status="200") == 42
    assert _value(text, "leadops_http_request_duration_seconds_count", **route) == 42
    assert _value(text, "leadops_http_request_duration_seconds_bucket", **route, le="0.0005") == 42
    assert _value(text, "leadops_http_request_duration_seconds_bucket", **route, le="0.00025") == 0
    lead_route = {"route": "/v1/leads/{lead_id}", "method": "GET", "status": "404"}
    assert _value(text, "leadops_http_requests_total", **lead_route) == 2
    assert _value(text, "leadops_scores_total", grade="B", model_version="v4") == 30
    assert _value(text, "leadops_scores_total", grade="B", model_version="v5") == 12
    assert _value(text, "leadops_errors_total", kind="not_found") == 2
    assert _value(text, "leadops_model_version", version="v5") == 1, "the live worker serves v5"
    assert ("leadops_model_version", (("version", "v4"),)) not in _samples(text), "a dead worker's version is gone"
    for report in (json.loads(dead.stdout.strip().splitlines()[-1]), alive_report):
        assert report["seconds_per_observe"] < 20e-6, report


_LATE = textwrap.dedent(
    """
    import sys
    import prometheus_client  # imported before the folder is set, as a --workers 1 server may do
    from leadops.serving import metrics as m
    m.prepare_multiprocess_dir(sys.argv[1])
    m.observe_request("/v1/score", "POST", 201, 0.001)
    sys.stdout.write(m.render_metrics()[0].decode())
    """
)


def test_a_single_worker_that_imported_prometheus_first_still_writes_to_the_folder(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": f"{SRC}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    env.pop(ENV, None)
    folder = tmp_path / "prom"
    done = subprocess.run([sys.executable, "-c", _LATE, str(folder)], capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr
    assert _value(done.stdout, "leadops_http_requests_total", route="/v1/score", method="POST", status="201") == 1
    assert any(folder.glob("counter_*.db")), "the values live in the folder other workers' scrapes read"
