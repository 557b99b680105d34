"""What the pages read, checked against plain references: every queue page in rank order (an ORDER BY over the
whole queue), trends as GET /v1/leads/{id} computes them, marketing counts (pandas), latency quantiles (the
closed-form interpolation Prometheus' histogram_quantile uses), error shares (counted)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from leadops.config import Settings, load
from leadops.serving.lead_view import reading, trend
from leadops.serving.ui.marketing import marketing_view
from leadops.serving.ui.operations import _quantile, service_rates
from leadops.serving.ui.sales import Filters, PageParamError, queue_csv, queue_page
from leadops.warehouse import open_warehouse
from leadops.workspace import init_workspace

LEADS = 600


def _fill(settings: Settings) -> None:
    """Three published runs of LEADS leads; the last run's queue holds the even leads, its nurture the odd ones."""
    with open_warehouse(settings.warehouse.url, settings.workspace) as wh:
        wh.execute(
            "INSERT INTO leads (lead_id, region, lead_source, job_level, do_not_email, do_not_call) "
            "SELECT 'L' || lpad(CAST(i AS VARCHAR), 4, '0'), ['EMEA', 'APAC', 'LATAM'][i % 3 + 1], "
            "['Webinar', 'Referral'][i % 2 + 1], 'manager', i % 7 = 0, i % 5 = 0 FROM range(?) t(i)",
            [LEADS],
        )
        for k, day in enumerate(("2026-11-29", "2026-11-30", "2026-12-01")):
            run, as_of = f"run-{k}", f"{day} 06:00:00"
            wh.execute(
                "INSERT INTO score_runs (run_id, as_of, model_version, engine, status, config_hash, started_at, "
                "finished_at, published_at) VALUES (?, ?, 1, 'duckdb', 'published', 'x', ?, ?, ?)",
                [run, as_of, as_of, as_of, as_of],
            )
            wh.execute(
                "INSERT INTO lead_scores (run_id, lead_id, as_of, model_version, score, grade, score_rank, route, "
                "region, rep, do_not_email, do_not_call) SELECT ?, 'L' || lpad(CAST(i AS VARCHAR), 4, '0'), "
                "CAST(? AS TIMESTAMP), 1, (hash(i * 7 + ?) % 1000) / 10.0, ['A', 'B', 'C'][i % 3 + 1], 0, "
                "CASE WHEN i % 7 = 0 THEN 'suppressed' ELSE 'nurture' END, ['EMEA', 'APAC', 'LATAM'][i % 3 + 1], "
                "'REP-' || CAST(i % 4 AS VARCHAR), i % 7 = 0, i % 5 = 0 FROM range(?) t(i)",
                [run, as_of, k, LEADS],
            )
            wh.execute(
                "UPDATE lead_scores SET score_rank = r.k FROM (SELECT lead_id, row_number() OVER "
                "(ORDER BY score DESC, lead_id) AS k FROM lead_scores WHERE run_id = ?) r "
                "WHERE lead_scores.run_id = ? AND lead_scores.lead_id = r.lead_id",
                [run, run],
            )
        wh.execute(
            "INSERT INTO sales_queue (run_id, as_of, lead_id, region, rep, score, grade, score_rank, status, "
            "routed_at, reason_text) SELECT run_id, as_of, lead_id, region, rep, score, grade, score_rank, 'new', "
            "as_of - INTERVAL 2 DAY, 'a reason' FROM lead_scores WHERE run_id = 'run-2' "
            "AND CAST(substr(lead_id, 2) AS INTEGER) % 2 = 0"
        )
        wh.execute(
            "INSERT INTO nurture_queue (run_id, as_of, lead_id, region, score, grade, score_rank, channel, "
            "route_reason, recycled_at) SELECT run_id, as_of, lead_id, region, score, grade, score_rank, "
            "CASE WHEN do_not_email THEN 'no_email' ELSE 'email' END, "
            "CASE WHEN score > 80 THEN 'recycled to nurture: no Sales activity; x' ELSE 'below the MQL threshold' END, "
            "CASE WHEN score > 80 THEN as_of END FROM lead_scores WHERE run_id = 'run-2' "
            "AND CAST(substr(lead_id, 2) AS INTEGER) % 2 = 1"
        )


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    ws = tmp_path_factory.mktemp("pages") / "ws"
    init_workspace(ws)
    found = load(ws)
    _fill(found)
    return found


def _reference_queue(settings: Settings, where: str = "TRUE") -> pd.DataFrame:
    with reading(settings.warehouse.url, settings.workspace) as (wh, _):
        frame: pd.DataFrame = wh.df(f"SELECT * FROM current_sales_queue WHERE {where} ORDER BY score_rank")
    return frame


@pytest.mark.parametrize(
    ("filters", "where"),
    [
        (Filters(), "TRUE"),
        (Filters(rep="REP-2"), "rep = 'REP-2'"),
        (Filters(territory="APAC"), "region = 'APAC'"),
        (Filters(rep="REP-0", territory="EMEA"), "rep = 'REP-0' AND region = 'EMEA'"),
    ],
)
def test_the_pages_of_a_filtered_queue_are_the_whole_queue_in_rank_order(
    settings: Settings, filters: Filters, where: str
) -> None:
    expected = _reference_queue(settings, where)["lead_id"].tolist()
    seen: list[str] = []
    with reading(settings.warehouse.url, settings.workspace) as (wh, _):
        first = queue_page(wh, filters, 1, 7, trend_runs=5, trend_points=5.0)
        for page in range(1, first.pages + 1):
            found = queue_page(wh, filters, page, 7, trend_runs=5, trend_points=5.0)
            assert len(found.rows) == (7 if page < first.pages else len(expected) - 7 * (first.pages - 1))
            seen += [r.lead_id for r in found.rows]
        assert first.total == len(expected)
        with pytest.raises(PageParamError, match="page"):
            queue_page(wh, filters, first.pages + 1, 7, trend_runs=5, trend_points=5.0)
    assert seen == expected


def test_an_unknown_rep_is_a_named_error(settings: Settings) -> None:
    with reading(settings.warehouse.url, settings.workspace) as (wh, _), pytest.raises(PageParamError, match="rep"):
        queue_page(wh, Filters(rep="nobody"), 1, 10, trend_runs=5, trend_points=5.0)


def test_queue_trends_and_time_in_queue_agree_with_the_lead_api(settings: Settings) -> None:
    with reading(settings.warehouse.url, settings.workspace) as (wh, _):
        page = queue_page(wh, Filters(), 2, 25, trend_runs=3, trend_points=5.0)
        for row in page.rows:
            reference = trend(wh, row.lead_id, 3, 5.0)
            assert (row.trend, row.change) == (reference.direction, reference.change), row.lead_id
            assert row.in_queue_days == pytest.approx(2.0)
        assert {r.trend for r in page.rows} - {"steady"}  # the data moves some leads


def test_the_csv_holds_the_whole_filtered_queue(settings: Settings) -> None:
    import io

    with reading(settings.warehouse.url, settings.workspace) as (wh, _):
        data, day = queue_csv(wh, Filters(territory="LATAM"))
    frame = pd.read_csv(io.BytesIO(data))
    expected = _reference_queue(settings, "region = 'LATAM'")
    assert day == "2026-12-01"
    assert frame["lead_id"].tolist() == expected["lead_id"].tolist()
    assert frame["score"].tolist() == pytest.approx(expected["score"].tolist())


def test_marketing_counts_match_pandas(settings: Settings) -> None:
    with reading(settings.warehouse.url, settings.workspace) as (wh, _):
        view = marketing_view(wh, "lead_source")
        nurture = wh.df("SELECT q.*, l.lead_source FROM current_nurture_queue q JOIN leads l USING (lead_id)")
        scores = wh.df("SELECT * FROM current_scores")
    expected = nurture.groupby(["lead_source", "grade"]).size()
    got = {(m["segment"], g): n for m in view.mix for g, n in m["counts"].items()}
    assert got == {k: int(v) for k, v in expected.items()}
    assert view.recycled_total == int(nurture["recycled_at"].notna().sum()) > 0
    assert view.suppressed == {
        "route suppressed": int((scores["route"] == "suppressed").sum()),
        "do not email": int(scores["do_not_email"].sum()),
        "do not call": int(scores["do_not_call"].sum()),
        "both": int((scores["do_not_email"] & scores["do_not_call"]).sum()),
    }


def _histogram_quantile(bounds: list[float], counts: list[float], q: float) -> float:
    """Prometheus' histogram_quantile, written out: linear inside the bucket holding rank q * total."""
    rank = q * counts[-1]
    for i, (bound, count) in enumerate(zip(bounds, counts, strict=True)):
        if count >= rank:
            lower, below = (0.0, 0.0) if i == 0 else (bounds[i - 1], counts[i - 1])
            return lower + (bound - lower) * (rank - below) / (count - below)
    raise AssertionError("rank beyond the last bucket")


def test_latency_quantiles_and_error_shares_from_the_metrics_text() -> None:
    from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest

    registry = CollectorRegistry()
    bounds = (0.001, 0.005, 0.01, 0.05, 0.1)
    latency = Histogram(
        "leadops_http_request_duration_seconds", "x", ["route", "method"], buckets=bounds, registry=registry
    )
    requests = Counter("leadops_http_requests", "x", ["route", "method", "status"], registry=registry)
    observed = [0.0005] * 10 + [0.003] * 50 + [0.007] * 30 + [0.02] * 8 + [0.08] * 2
    for value in observed:
        latency.labels("/v1/score", "POST").observe(value)
    requests.labels("/v1/score", "POST", "200").inc(90)
    requests.labels("/v1/score", "POST", "422").inc(7)
    requests.labels("/v1/score", "POST", "503").inc(3)
    (row,) = service_rates(generate_latest(registry).decode())
    cumulative = [float(sum(v <= b for v in observed)) for b in bounds]
    assert row["p50_ms"] == pytest.approx(1000 * _histogram_quantile(list(bounds), cumulative, 0.5))
    assert row["p95_ms"] == pytest.approx(1000 * _histogram_quantile(list(bounds), cumulative, 0.95))
    assert (row["requests"], row["client_errors"], row["server_errors"]) == (100, 0.07, 0.03)
    assert _quantile([], 0.5) is None


def test_an_empty_workspace_renders_empty_pages(tmp_path: Path) -> None:
    init_workspace(tmp_path / "empty")
    settings: Any = load(tmp_path / "empty")
    with open_warehouse(settings.warehouse.url, settings.workspace):
        pass
    with reading(settings.warehouse.url, settings.workspace) as (wh, _):
        page = queue_page(wh, Filters(), 1, 10, trend_runs=5, trend_points=5.0)
        assert (page.run_id, page.rows, page.total) == (None, [], 0)
        assert marketing_view(wh, "region").run_id is None
