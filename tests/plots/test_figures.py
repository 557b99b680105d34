"""The figure builders: numbers in, the same numbers out as plotly data; JSON that cannot break out of its block."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from scipy import stats as sps

from leadops.plots import (
    Figure,
    figure_json,
    leads,
    line,
    network_references,
    offline_scripts,
    plotly_js,
    read_figures,
    with_figures,
)
from leadops.plots import evaluation as ev
from leadops.plots import experiments as ex
from leadops.plots import operations as ops
from leadops.plots.figure import errors
from leadops.plots.offline import MARK


def test_figure_json_escapes_markup_and_turns_nan_into_gaps() -> None:
    fig = line(["a", "b"], {"</script><b>": [1.0, math.nan]}, title="t & <u>")
    text = figure_json(fig.spec())
    assert "<" not in text and ">" not in text and "&" not in text
    spec = json.loads(text)
    assert spec["data"][0]["y"] == [1.0, None] and spec["data"][0]["name"] == "</script><b>"
    assert spec["layout"]["title"]["text"] == "t & <u>" and spec["config"]["displaylogo"] is False


def test_error_bars_reach_the_interval_bounds() -> None:
    bars = errors([0.5, 0.7, None], [0.4, None, 0.1], [0.65, 0.9, 0.2])
    assert bars["array"][:2] == pytest.approx([0.15, 0.2])
    assert bars["arrayminus"][0] == pytest.approx(0.1) and bars["arrayminus"][1] is None
    assert bars["array"][2] is None and bars["arrayminus"][2] is None


def test_calibration_interval_is_the_wilson_interval_it_was_given() -> None:
    n, k = 200, 30
    low, high = sps.binomtest(k, n).proportion_ci(method="wilson")
    bins = [{"mean_predicted": 0.16, "observed_rate": k / n, "ci_low": low, "ci_high": high, "n": n}]
    fig = ev.calibration({"m": bins, "rules": None})
    assert fig is not None and [t["name"] for t in fig.data] == ["m"]
    trace = fig.data[0]
    assert trace["y"][0] + trace["error_y"]["array"][0] == pytest.approx(high)
    assert trace["y"][0] - trace["error_y"]["arrayminus"][0] == pytest.approx(low)
    assert ev.calibration({"rules": None}) is None


def test_score_distribution_bars_are_shares_at_bin_centres() -> None:
    rng = np.random.default_rng(1)
    pos, neg = rng.uniform(0.3, 1, 80), rng.uniform(0, 0.7, 400)
    edges = np.linspace(0, 1, 11)
    dist = {"edges": edges.tolist(), "positives": np.histogram(pos, edges)[0].tolist(),
            "negatives": np.histogram(neg, edges)[0].tolist()}  # fmt: skip
    fig = ev.score_distribution(dist)
    assert fig.data[0]["x"] == pytest.approx((edges[:-1] + edges[1:]) / 2)
    assert fig.data[0]["y"] == pytest.approx(np.histogram(pos, edges)[0] / 80)
    assert sum(fig.data[1]["y"]) == pytest.approx(1.0)


def test_group_auc_marks_small_groups_and_keeps_every_value_of_every_model() -> None:
    per = {"web": {"auc": 0.71, "auc_ci": [0.65, 0.77], "small": False, "n": 900, "positives": 90},
           "event": {"auc": 0.6, "auc_ci": [0.4, 0.8], "small": True, "n": 40, "positives": 3}}  # fmt: skip
    other = {"web": {**per["web"], "auc": 0.68}}
    fig = ev.group_auc("lead_source", {"new": per, "old": other})
    assert fig.data[0]["y"] == ["web", "event (small)"] and fig.data[1]["x"] == [0.68, None]
    assert fig.data[0]["x"][1] + fig.data[0]["error_x"]["array"][1] == pytest.approx(0.8)


def test_run_labels_tell_two_runs_of_one_day_apart_and_drift_scale_starts_at_a_large_shift() -> None:
    assert ops.run_labels(["2026-03-01", "2026-03-01", "2026-03-08"]) == ["2026-03-01", "2026-03-01 #2", "2026-03-08"]
    calm = ops.drift_heatmap(["r1"], ["a"], [[0.01]])
    assert calm.data[0]["zmax"] == ops.PSI_LARGE
    loud = ops.drift_heatmap(["r1", "r2"], ["a", "b"], [[0.01, None], [0.6, math.inf]])
    assert loud.data[0]["zmax"] == 0.6 and loud.data[0]["z"][1] == [0.6, None]


def test_experiment_history_puts_each_arm_on_its_day() -> None:
    history = [
        {"as_of": "2026-05-01T06:00:00", "control_arm": "c", "treatment_arm": "t", "control_kpi": 0.1,
         "treatment_kpi": 0.12, "lift": 0.2, "lift_low": -0.1, "lift_high": 0.5},
        {"as_of": "2026-05-08T06:00:00", "control_arm": "c", "treatment_arm": "t", "control_kpi": 0.11,
         "treatment_kpi": 0.14, "lift": 0.27, "lift_low": 0.02, "lift_high": 0.52},
        {"as_of": "2026-05-08T06:00:00", "control_arm": "c", "treatment_arm": "u", "control_kpi": 0.11,
         "treatment_kpi": 0.09, "lift": -0.18, "lift_low": -0.4, "lift_high": 0.04},
    ]  # fmt: skip
    kpi = {t["name"]: t["y"] for t in ex.kpi_over_time(history, kpi="conversion").data}
    assert kpi == {"c (control)": [0.1, 0.11], "t": [0.12, 0.14], "u": [None, 0.09]}
    lift = ex.lift_over_time(history).data
    assert lift[1]["x"] == ["2026-05-01", "2026-05-08"] and lift[1]["y"] == [None, -0.18]
    assert lift[0]["y"][1] - lift[0]["error_y"]["arrayminus"][1] == pytest.approx(0.02)


def test_versus_draws_only_known_metrics() -> None:
    assert leads.versus({"v1": {"mql_threshold": 40.0}}) is None
    fig = leads.versus({"v1": {"auc": 0.7, "ece": 0.02}, "v2": {"auc": 0.74}})
    assert fig is not None and fig.data[0]["x"] == ["auc", "ece"] and fig.data[1]["y"] == [0.74, None]


def test_offline_scripts_round_trip_and_reference_nothing() -> None:
    figs = {"a": Figure([{"type": "bar", "x": [1], "y": [2]}]), "b": leads.score_history(["d1"], [55])}
    html = f"<html><body>{offline_scripts(figs)}</body></html>"
    assert {k: v["data"] for k, v in read_figures(html).items()} == {k: f.spec()["data"] for k, f in figs.items()}
    assert network_references(html) == []
    assert network_references('<script src="https://cdn.plot.ly/plotly.min.js"></script>') != []
    assert offline_scripts({}) == ""


def test_with_figures_puts_the_scripts_where_the_page_marks_them() -> None:
    figs = {"a": leads.score_history(["d1"], [55])}
    page = f"<html><body><p>x</p>{MARK}</body></html>"
    html = with_figures(page, figs)
    assert MARK not in html and html.endswith("</script></body></html>") and html.count(plotly_js()) == 1
    assert html.index("<p>x</p>") < html.index('id="fig-a"') < html.index(plotly_js())
    assert with_figures(page, {}) == "<html><body><p>x</p></body></html>"
    assert with_figures("<p>no mark</p>", figs).startswith("<p>no mark</p>")
