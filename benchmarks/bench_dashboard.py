"""The dashboard's Sales queue page with 1M open leads: server-side time of GET /ui/sales (goal < 300 ms).

One DuckDB workspace holding two published nightly runs of N open leads each (lead_scores 2N rows) and a Sales
queue of all N leads tonight (the worst case: a queue as large as the open pipeline), 16 reps in 4 territories.
`ours` is the page as the app serves it (session check, read-only connection, one page by score_rank on the
current run, trends for the page's leads, HTML), timed in-process around the request. `baseline` is the
straightforward page a first version would render: count and page through the `current_sales_queue` view and
read each lead's trend from its whole score history by joining `published_runs`, no per-run cache. Both run
interleaved, best of N, in the same process.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path
from typing import Any

REPS = 16
TERRITORIES = ("North America", "EMEA", "APAC", "LATAM")


def _fill(settings: Any, leads: int) -> None:
    """Two published runs of `leads` scored leads, tonight's Sales queue holding every one of them."""
    from leadops.warehouse import open_warehouse

    with open_warehouse(settings.warehouse.url, settings.workspace) as wh:
        wh.execute("SET enable_progress_bar = false")  # a benchmark prints nothing itself
        for i, (run_id, as_of) in enumerate((("run-1", "2026-11-30 06:00:00"), ("run-2", "2026-12-01 06:00:00"))):
            wh.execute(
                "INSERT INTO score_runs (run_id, as_of, model_version, engine, status, config_hash, started_at, "
                "finished_at, published_at, leads_scored) VALUES (?, ?, 1, 'duckdb', 'published', 'bench', ?, ?, ?, ?)",
                [run_id, as_of, as_of, as_of, as_of, leads],
            )
            wh.execute(
                f"INSERT INTO lead_scores (run_id, lead_id, as_of, model_version, score, probability, grade, "
                f"score_rank, route, region, rep, reason_text) SELECT '{run_id}', "
                f"'L' || lpad(CAST(i AS VARCHAR), 8, '0'), TIMESTAMP '{as_of}', 1, (hash(i + {i}) % 10000) / 100.0, "
                f"0.1, 'B', i + 1, 'sales', ['North America', 'EMEA', 'APAC', 'LATAM'][i % 4 + 1], "
                f"'REP-' || lpad(CAST(i % {REPS} + 1 AS VARCHAR), 2, '0'), "
                "'Requested a demo 3 days ago (+12 points); Works in software (+4 points)' FROM range(?) t(i)",
                [leads],
            )
        wh.execute(
            "INSERT INTO sales_queue (run_id, as_of, lead_id, region, rep, score, grade, score_rank, status, "
            "routed_at, reason_text) SELECT run_id, as_of, lead_id, region, rep, score, grade, score_rank, 'kept', "
            "as_of - INTERVAL 3 DAY, reason_text FROM lead_scores WHERE run_id = 'run-2'"
        )


def _baseline(wh: Any, size: int) -> str:
    """The first page the straightforward way: the view, a count, the whole history per lead for its trend."""
    from leadops.serving.ui.render import environment

    total = wh.scalar("SELECT count(*) FROM current_sales_queue")
    rows = wh.rows(
        "SELECT lead_id, score, grade, score_rank, rep, region, status, routed_at, reason_text "
        "FROM current_sales_queue ORDER BY score_rank LIMIT ? OFFSET 0",
        [size],
    )
    ids = [r[0] for r in rows]
    history = wh.rows(
        f"SELECT s.lead_id, r.as_of, s.score FROM lead_scores s JOIN published_runs r ON r.run_id = s.run_id "
        f"WHERE s.lead_id IN ({', '.join('?' * len(ids))}) ORDER BY r.as_of",
        ids,
    )
    reps = wh.rows("SELECT DISTINCT rep FROM current_sales_queue ORDER BY 1")
    html = environment().from_string(
        "{% for r in rows %}<tr><td>{{ r[0] }}</td><td>{{ r[1] }}</td><td>{{ r[8] }}</td></tr>{% endfor %}"
        "{{ total }}{{ reps | length }}{{ history | length }}"
    )
    return html.render(rows=rows, total=total, reps=reps, history=history)


def run(quick: bool) -> list[dict[str, Any]]:
    """One row: server-side render of the Sales queue's first page with N open leads (1M; 100k when quick)."""
    from fastapi.testclient import TestClient

    from leadops.config import load
    from leadops.serving.app import create_app
    from leadops.serving.keys import KeyStore
    from leadops.serving.lead_view import reading
    from leadops.workspace import init_workspace

    leads = 100_000 if quick else 1_000_000
    repeats = 5 if quick else 9
    with tempfile.TemporaryDirectory() as tmp:
        ws = Path(tmp) / "dashboard"
        init_workspace(ws)
        settings = load(ws)
        _fill(settings, leads)
        key = KeyStore.for_workspace(ws).create("viewer", "bench").key
        ours: list[float] = []
        base: list[float] = []
        with TestClient(create_app(settings, follow=False)) as client:
            client.post("/ui/login", data={"key": key})
            assert client.get("/ui/sales").status_code == 200  # first call: templates compiled, run cached
            for _ in range(repeats):
                started = time.perf_counter()
                page = client.get(f"/ui/sales?page={leads // REPS // 100}&rep=REP-03")
                ours.append(time.perf_counter() - started)
                assert page.status_code == 200, page.text[-300:]
                started = time.perf_counter()
                with reading(settings.warehouse.url, settings.workspace) as (wh, _):
                    _baseline(wh, settings.serving.ui_page_size)
                base.append(time.perf_counter() - started)
            first = []
            for _ in range(repeats):
                started = time.perf_counter()
                client.get("/ui/sales")
                first.append(time.perf_counter() - started)
    load_avg = os.getloadavg()[0]
    best, best_first, best_base = min(ours), min(first), min(base)
    return [
        {
            "name": f"dashboard: Sales queue page, {leads:,} open leads (one rep, a middle page)",
            "ours": round(best * 1000, 1),
            "baseline": round(best_base * 1000, 1),
            "ratio": round(best / best_base, 3),
            "goal": "< 300 ms",
            "unit": "ms",
            "note": f"first page {best_first * 1000:.1f} ms; best of {repeats}, interleaved; load {load_avg:.2f}",
        }
    ]
