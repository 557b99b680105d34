"""The four HTML reports leadops writes (evaluation, comparison, monitoring, experiment), as their commands wrote
them: each carries the figures of its own numbers, draws them from disk with the network blocked, and is reached
from the dashboard, where it draws too."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
import pytest
from live_server import LiveServer
from ui_browser import Company, Watch

from leadops.plots import network_references, plotly_js, read_figures

pytestmark = pytest.mark.slow
TIMEOUT_MS = 120_000
LOCAL = ("file://", "data:", "blob:", "about:")
"""What a report may load: itself and what its own scripts make in memory."""


def _reports(company: Company) -> dict[str, Path]:
    """One report file of each kind, as the commands named them."""
    out = company.outputs
    return {
        "evaluation": Path(out["train"][2]["report"]),
        "comparison": Path(out["compare"]["report"]),
        "monitoring": Path(out["monitor"]["report"]),
        "experiment": Path(out["experiment"]["html"]),
    }


def _html(path: Path) -> tuple[str, dict[str, dict[str, Any]]]:
    html = path.read_text(encoding="utf-8")
    assert network_references(html) == [], path.name  # no CDN, no link, no URL outside plotly.js itself
    assert html.count(plotly_js()) == 1, path.name  # plotly.js inlined: the file needs nothing beside it
    figures = read_figures(html)
    assert set(re.findall(r'data-fig="([^"]+)"', html)) == set(figures), path.name
    return html, figures


def _traces(figure: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {t["name"]: t for t in figure["data"]}


def test_the_evaluation_report_draws_the_gains_and_calibration_evaluate_prints(company: Company) -> None:
    _, figures = _html(_reports(company)["evaluation"])
    report = company.outputs["evaluate"][2]["report"]
    gains = figures["gains"]["data"][0]
    assert gains["x"] == pytest.approx(report["gains_curve"]["share_leads"])
    assert gains["y"] == pytest.approx(report["gains_curve"]["share_conversions"])
    roc = figures["roc"]["data"][0]
    assert roc["x"] == pytest.approx(report["roc"]["fpr"]) and f"AUC {report['auc']:.3f}" in roc["name"]
    lift = figures["lift"]["data"]
    assert lift[0]["y"] == pytest.approx([g["lift"] for g in report["gains"]])
    assert lift[1]["y"] == pytest.approx(report["lift"]["cumulative"])
    if report["reliability"]:
        cal = figures["calibration"]["data"][0]
        assert cal["y"] == pytest.approx([b["observed_rate"] for b in report["reliability"]])
    for i, (column, per) in enumerate(report["groups"].items()):
        group = figures[f"groups-{i}"]
        assert column in group["layout"]["title"]["text"]
        assert group["data"][0]["x"] == pytest.approx([m["auc"] for m in per.values()], nan_ok=True)


def test_the_comparison_draws_each_version_on_the_same_leads(company: Company) -> None:
    _, figures = _html(_reports(company)["comparison"])
    models = company.outputs["compare"]["models"]
    gains = figures["gains"]["data"]
    assert [t["name"] for t in gains] == list(models)
    for trace, version in zip(gains, (1, 2), strict=True):
        evaluated = company.outputs["evaluate"][version]["report"]["gains_curve"]
        assert trace["y"] == pytest.approx(evaluated["share_conversions"])
    names = [t["name"] for t in figures["roc"]["data"]]
    assert names == [f"{name} (AUC {m['auc']:.3f})" for name, m in models.items()]


def test_the_monitoring_report_draws_the_drift_monitor_prints(company: Company) -> None:
    _, figures = _html(_reports(company)["monitoring"])
    out = company.outputs["monitor"]
    heat = figures["drift"]["data"][0]
    assert len(heat["x"]) == len(company.runs)  # every monitored run of the version, oldest first
    for feature, found in out["drift"].items():
        assert heat["z"][heat["y"].index(feature)][-1] == pytest.approx(found["stats"]["psi"]["value"]), feature
    assert {"drifted", "score", "cohorts"} <= set(figures)


def test_the_experiment_report_draws_the_readout_it_printed(company: Company) -> None:
    _, figures = _html(_reports(company)["experiment"])
    out = company.outputs["experiment"]
    forest = figures["arms"]["data"][0]
    assert forest["x"] == pytest.approx([a["kpi"] for a in out["arms"]], nan_ok=True)
    lift = figures["lift"]["data"][0]
    if out["lift"]["value"] is not None:
        assert lift["y"][-1] == pytest.approx(out["lift"]["value"])
    units = _traces(figures["units"])
    assert {name: t["y"][-1] for name, t in units.items()} == {a["name"]: a["units"] for a in out["arms"]}


def _open_offline(context: Any, path: Path, watch: Watch, outside: list[str]) -> Any:
    """Open a report from disk with every request that leaves the file refused and recorded."""

    def refuse(route: Any) -> None:
        outside.append(route.request.url)
        route.abort()

    context.route(re.compile(r"^(?!file:|data:|blob:|about:).*"), refuse)
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    watch.attach(page)
    page.on("request", lambda r: outside.append(r.url) if not r.url.startswith(LOCAL) else None)
    page.goto(path.resolve().as_uri(), wait_until="load", timeout=TIMEOUT_MS)
    return page


def test_each_report_draws_its_plots_from_disk_with_the_network_blocked(
    chromium_browser: Any, company: Company, tmp_path: Path, shots: list[Path]
) -> None:
    for kind, path in _reports(company).items():
        _, figures = _html(path)
        context = chromium_browser.new_context(viewport={"width": 1366, "height": 900}, offline=True)
        watch, outside = Watch(), []
        try:
            page = _open_offline(context, path, watch, outside)
            page.wait_for_function(
                "n => document.querySelectorAll('.js-plotly-plot .main-svg').length >= n", arg=len(figures)
            )
            for name in figures:
                assert page.locator(f'[data-fig="{name}"] .plot-container .main-svg').count() >= 1, f"{kind}: {name}"
            folder = tmp_path / "screenshots"
            folder.mkdir(exist_ok=True)
            shot = folder / f"report-{kind}.png"
            page.screenshot(path=str(shot), full_page=True)
            shots.append(shot)
        finally:
            context.close()
        assert watch.problems == [], kind
        assert outside == [], kind


def test_every_kind_of_report_is_linked_from_its_page_and_draws_inside_the_dashboard(
    chromium_browser: Any, server: LiveServer, company: Company
) -> None:
    names = {kind: path.name for kind, path in _reports(company).items()}
    with httpx.Client(base_url=server.url) as client:
        client.post("/ui/login", data={"key": company.viewer})
        pages = {slug: client.get(f"/ui/{slug}").text for slug in ("models", "operations", "experiments")}
    linked = {slug: set(re.findall(r'href="/ui/reports/([^"]+)"', text)) for slug, text in pages.items()}
    assert {names["evaluation"], names["comparison"], names["monitoring"], names["experiment"]} <= linked["models"]
    assert names["monitoring"] in linked["operations"]
    assert names["experiment"] in linked["experiments"]
    context = chromium_browser.new_context(viewport={"width": 1366, "height": 900})
    try:
        watch = Watch()
        page = context.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        watch.attach(page)
        page.goto(f"{server.url}/ui/login")
        page.fill("#key", company.viewer)
        page.click("button[type=submit]")
        page.wait_for_url(f"{server.url}/ui/sales")
        for kind, name in names.items():
            _, figures = _html(_reports(company)[kind])
            page.goto(f"{server.url}/ui/reports/{name}", wait_until="load", timeout=TIMEOUT_MS)
            page.wait_for_function(
                "n => document.querySelectorAll('.js-plotly-plot .main-svg').length >= n", arg=len(figures)
            )
        assert watch.problems == []
    finally:
        context.close()
