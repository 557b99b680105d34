"""What auth and metrics add to every request: KeyStore.verify and observe_request, beside the plain way.

Each figure is measured in a fresh subprocess (multiprocess metrics need PROMETHEUS_MULTIPROC_DIR before
prometheus-client is imported), ours and the baseline interleaved, best of N rounds, in microseconds per call.
Baselines: prometheus-client's `labels(...)` on every call (the textbook instrumentation) and a key verified by
its PBKDF2 hash on every request (no cache).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]

_METRICS = textwrap.dedent(
    """
    import json, sys, time
    from leadops.serving import metrics as m
    from prometheus_client import Counter, Histogram
    m.observe_request("/v1/score", "POST", 200, 0.0004)
    h = Histogram("bench_latency", "x", ["route", "method"], buckets=m.LATENCY_BUCKETS)
    c = Counter("bench_requests", "x", ["route", "method", "status"])
    def ours():
        m.observe_request("/v1/score", "POST", 200, 0.0004)
    def baseline():
        h.labels("/v1/score", "POST").observe(0.0004)
        c.labels("/v1/score", "POST", "200").inc()
    n, rounds = int(sys.argv[1]), int(sys.argv[2])
    best = {"ours": float("inf"), "baseline": float("inf")}
    for _ in range(rounds):
        for name, fn in (("ours", ours), ("baseline", baseline)):
            started = time.perf_counter()
            for _ in range(n):
                fn()
            best[name] = min(best[name], (time.perf_counter() - started) / n)
    print(json.dumps(best))
    """
)

_KEYS = textwrap.dedent(
    """
    import json, sys, time
    from leadops.serving.keys import KeyStore, _matches
    store = KeyStore(sys.argv[3])
    key = store.create("scorer").key
    stored = store._fetch(key.split("_")[1])[1]
    store.verify(key)
    def ours():
        store.verify(key)
    def baseline():
        _matches(key, stored)
    n, rounds = int(sys.argv[1]), int(sys.argv[2])
    best = {"ours": float("inf"), "baseline": float("inf")}
    for _ in range(rounds):
        for name, fn, count in (("ours", ours, n), ("baseline", baseline, max(n // 500, 5))):
            started = time.perf_counter()
            for _ in range(count):
                fn()
            best[name] = min(best[name], (time.perf_counter() - started) / count)
    print(json.dumps(best))
    """
)


def _measure(code: str, args: list[str], env: dict[str, str]) -> dict[str, float]:
    done = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, env=env, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def _row(name: str, best: dict[str, float], goal: str, note: str) -> dict[str, Any]:
    ours, baseline = best["ours"] * 1e6, best["baseline"] * 1e6
    return {"name": name, "ours": round(ours, 2), "baseline": round(baseline, 2),
            "ratio": round(ours / baseline, 3), "goal": goal, "unit": "us", "note": note}  # fmt: skip


def run(quick: bool) -> list[dict[str, Any]]:
    """Three rows: observe_request in one process and in multiprocess mode, a cached key verify."""
    n, rounds = (5_000, 5) if quick else (50_000, 9)
    env = {**os.environ, "PYTHONPATH": f"{ROOT / 'src'}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    load = os.getloadavg()[0]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        single = _measure(_METRICS, [str(n), str(rounds)], env)
        rows.append(_row("observe_request, one process", single, "< 20 us", "baseline: labels() per call"))
        multi = _measure(_METRICS, [str(n), str(rounds)], {**env, "PROMETHEUS_MULTIPROC_DIR": tmp})
        rows.append(_row("observe_request, multiprocess mode", multi, "< 20 us", "baseline: labels() per call"))
        keys = _measure(_KEYS, [str(n), str(rounds), str(Path(tmp) / "keys.sqlite")], env)
        rows.append(_row("KeyStore.verify (cached)", keys, "< 20 us", "baseline: PBKDF2 check per request"))
    for row in rows:
        row["note"] += f"; load {load:.1f}"
    return rows
