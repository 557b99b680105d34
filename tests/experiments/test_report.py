"""`experiment report` end to end on a warehouse: units read point in time, KPI windows, SRM, CUPED, ship/keep."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
from scipy import stats as sps

from leadops.experiments import store
from leadops.experiments.report import experiment_report, unit_frame
from leadops.plots import network_references, plotly_js, read_figures
from leadops.settings.business import BusinessSettings
from leadops.settings.experiments import ExperimentSpec
from leadops.warehouse import Warehouse

START = datetime(2026, 3, 1)
SALES = ["sales_touch"]


def _spec(**changes: object) -> ExperimentSpec:
    body: dict[str, object] = {
        "name": "exp",
        "arms": [{"name": "control"}, {"name": "treatment", "model": "5"}],
        "start": START,
        "stop": START + timedelta(days=20),
        "population": "open",
        "primary_kpi": {"metric": "conversion_within_days", "window_days": 30},
        "guardrails": {"sales_queue_max_increase": None, "unsubscribe_max_increase": None},
        "sequential": False,
        "mde": 0.3,
    }
    body.update(changes)
    return ExperimentSpec.model_validate(body)


def _company(
    warehouse: Warehouse,
    spec: ExperimentSpec,
    n: int,
    lift: float,
    seed: int = 0,
    late_outcome_share: float = 0.0,
    slope: float = 0.025,
) -> dict[str, np.ndarray]:
    """n leads assigned over 20 days; pre-assignment activity drives conversion; treatment multiplies it."""
    rng = np.random.default_rng(seed)
    ids = [f"L{i:06d}" for i in range(n)]
    days = rng.integers(0, 20, n)
    created = [START + timedelta(days=int(d)) for d in days]
    store.register(warehouse, spec, now=START)
    for d in range(20):
        pick = [i for i in range(n) if days[i] == d]
        leads = pa.table({"lead_id": [ids[i] for i in pick]})
        store.assign(warehouse, spec, leads, at=START + timedelta(days=d, hours=5))
    arms = store.assignments(warehouse, spec.name)
    arm_of = dict(zip(arms["lead_id"].to_pylist(), arms["arm"].to_pylist(), strict=True))
    treated = np.array([arm_of[i] == "treatment" for i in ids])
    pre = rng.poisson(2.0, n)
    p = np.clip(0.04 + slope * pre, 0, 0.9) * np.where(treated, 1 + lift, 1.0)
    converted = rng.random(n) < p
    lag = rng.integers(1, 25, n)
    lag = np.where(rng.random(n) < late_outcome_share, 45, lag)  # outside the 30-day window
    act_rows = {"activity_id": [], "lead_id": [], "occurred_at": [], "activity_type": []}
    k = 0
    for i in range(n):
        for j in range(int(pre[i])):
            act_rows["activity_id"].append(f"A{k}")
            act_rows["lead_id"].append(ids[i])
            act_rows["occurred_at"].append(created[i] + timedelta(hours=-1 - j))
            act_rows["activity_type"].append("page_view")
            k += 1
    warehouse.insert("activities", pa.table(act_rows))
    out = [i for i in range(n) if converted[i]]
    warehouse.insert(
        "outcomes",
        pa.table(
            {
                "outcome_id": [f"O{i}" for i in out],
                "lead_id": [ids[i] for i in out],
                "occurred_at": [created[i] + timedelta(days=int(lag[i]), hours=6) for i in out],
                "outcome": ["converted"] * len(out),
                "deal_value": [1000.0] * len(out),
            }
        ),
    )
    return {"treated": treated, "converted": converted & (lag < 30), "pre": pre}


def test_readout_waits_for_the_kpi_window_and_says_so(warehouse: Warehouse) -> None:
    spec = _spec()
    _company(warehouse, spec, 600, lift=0.0)
    early = experiment_report(warehouse, spec, BusinessSettings(), sales_types=SALES, as_of=START + timedelta(days=25))
    assert early.readout["mature"] is False
    first = early.readout["comparisons"][0]
    assert first["recommendation"] == "inconclusive"
    assert "mature" in first["reason"]
    assert early.readout["mature_on"].startswith("2026-04-19")


def test_readout_matches_scipy_on_the_same_units_and_recommends_ship(warehouse: Warehouse, tmp_path: Path) -> None:
    spec = _spec(cuped=False)
    truth = _company(warehouse, spec, 4_000, lift=0.8, late_outcome_share=0.1)
    as_of = START + timedelta(days=60)
    result = experiment_report(warehouse, spec, BusinessSettings(), sales_types=SALES, as_of=as_of, html_dir=tmp_path)
    r = result.to_dict()
    arms = {a["name"]: a for a in r["arms"]}
    t, c = truth["treated"], truth["converted"]
    assert arms["treatment"]["units"] == int(t.sum())
    assert arms["treatment"]["kpi"] == pytest.approx(c[t].mean())  # outcomes after the window are not counted
    assert arms["control"]["kpi"] == pytest.approx(c[~t].mean())
    from statsmodels.stats.proportion import proportions_ztest

    _, p = proportions_ztest([c[t].sum(), c[~t].sum()], [t.sum(), (~t).sum()])
    assert r["comparisons"][0]["p_value"] == pytest.approx(p, rel=1e-9)
    assert r["srm_p"] == pytest.approx(sps.chisquare([(~t).sum(), t.sum()]).pvalue, rel=1e-9)
    assert r["recommendation"] == "ship", r["reason"]
    assert r["lift"]["low"] < r["lift"]["value"] < r["lift"]["high"]
    assert r["business"]["incremental_revenue_per_year"] > 0
    assert result.html is not None
    html = result.html.read_text(encoding="utf-8")
    assert network_references(html) == [] and html.count(plotly_js()) == 1
    cost = r["business"]["incremental_contact_cost_per_year"]
    said = f"contact cost saved {-cost:,.0f}" if cost < 0 else f"contact cost {cost:,.0f}"
    assert said in " ".join(html.split()), "the readout says what shipping costs (or saves) in Sales contacts"
    figures = read_figures(html)
    forest = figures["arms"]["data"][0]
    assert forest["y"] == ["control (control)", "treatment"]
    assert forest["x"] == pytest.approx([arms["control"]["kpi"], arms["treatment"]["kpi"]])
    assert forest["x"][1] + forest["error_x"]["array"][1] == pytest.approx(arms["treatment"]["kpi_high"])
    assert forest["x"][1] - forest["error_x"]["arrayminus"][1] == pytest.approx(arms["treatment"]["kpi_low"])
    lift = figures["lift"]["data"][0]
    comp = r["comparisons"][0]
    assert lift["x"][-1] == as_of.date().isoformat() and lift["y"][-1] == pytest.approx(comp["lift"])
    assert lift["y"][-1] + lift["error_y"]["array"][-1] == pytest.approx(comp["lift_high"])
    kpi = {t["name"]: t["y"][-1] for t in figures["kpi"]["data"]}
    assert kpi == pytest.approx({"control (control)": c[~t].mean(), "treatment": c[t].mean()})
    units = {u["name"]: u["y"][-1] for u in figures["units"]["data"]}
    assert units == {"control": int((~t).sum()), "treatment": int(t.sum())}
    stored = store.readouts(warehouse, "exp")
    assert stored[0]["recommendation"] == "ship" and stored[0]["readout"]["kpi"] == "conversion_within_days"


def test_cuped_shrinks_the_interval_by_sqrt_one_minus_rho_squared(warehouse: Warehouse) -> None:
    spec = _spec(cuped=True)
    _company(warehouse, spec, 4_000, lift=0.0, seed=3, slope=0.1)
    r = experiment_report(
        warehouse, spec, BusinessSettings(), sales_types=SALES, as_of=START + timedelta(days=60)
    ).readout
    comp = r["comparisons"][0]
    predicted = r["cuped"]["predicted_sd_ratio"]
    assert r["cuped"]["rho"] > 0.2
    assert comp["cuped"]["interval_ratio"] == pytest.approx(predicted, abs=0.02)


def test_broken_assignment_blocks_the_readout(warehouse: Warehouse) -> None:
    spec = _spec()
    store.register(warehouse, spec, now=START)
    store.assign(warehouse, spec, pa.table({"lead_id": [f"L{i}" for i in range(2_000)]}), at=START)
    # a bug logs 300 extra treatment units
    extra = store.new_assignments(
        spec, [f"X{i}" for i in range(300)], [f"X{i}" for i in range(300)], at=START, source="bug"
    )
    rows = extra.set_column(4, "arm", pa.array(["treatment"] * 300))
    warehouse.insert("experiment_assignments", rows)
    r = experiment_report(warehouse, spec, BusinessSettings(), sales_types=SALES, as_of=START + timedelta(days=60))
    d = r.to_dict()
    assert d["srm_p"] < 0.001 and d["srm_blocked"] is True
    assert d["recommendation"] == "inconclusive" and "sample ratio mismatch" in d["reason"]


def test_unit_frame_counts_only_what_the_warehouse_held_at_as_of(warehouse: Warehouse) -> None:
    spec = _spec()
    _company(warehouse, spec, 300, lift=0.0, seed=5)
    late = unit_frame(warehouse, spec, as_of=START + timedelta(days=60), sales_types=SALES, value_per_conversion=1.0)
    early = unit_frame(warehouse, spec, as_of=START + timedelta(days=10), sales_types=SALES, value_per_conversion=1.0)
    assert len(early) < len(late)
    assert early["converted"].sum() < late["converted"].sum()
    assert not early["mature"].any() and late["mature"].all()


def test_an_experiment_with_no_mature_units_renders_its_waiting_readout(warehouse: Warehouse, tmp_path: Path) -> None:
    spec = _spec()
    _company(warehouse, spec, 200, lift=0.0)
    result = experiment_report(
        warehouse, spec, BusinessSettings(), sales_types=SALES, as_of=START + timedelta(days=5), html_dir=tmp_path
    )
    assert result.readout["mature_units"] == 0
    assert result.to_dict()["recommendation"] == "inconclusive"
    assert result.html is not None and "waiting" in result.html.read_text(encoding="utf-8")


def test_a_readout_with_no_lift_says_n_a_instead_of_failing() -> None:
    from leadops.experiments.analysis import _decide

    out = {"diff": 0.01, "guardrails": [], "p_value": 0.5, "sequential_p": 0.5, "lift": None, "lift_low": None,
           "lift_high": None}  # fmt: skip
    decided = _decide(out, _spec(sequential=True), srm_p=0.5, finished=False, all_mature=True, mature_on=None,
                      mature_n=100)  # fmt: skip
    assert decided["recommendation"] == "inconclusive" and "lift n/a" in decided["reason"]
    ended = _decide({**out, "p_value": None}, _spec(), srm_p=0.5, finished=True, all_mature=True, mature_on=None,
                    mature_n=100)  # fmt: skip
    assert ended["recommendation"] == "keep" and "p = n/a" in ended["reason"]


def test_the_html_readout_renders_without_cuped(warehouse: Warehouse, tmp_path: Path) -> None:
    spec = _spec(cuped=False)
    _company(warehouse, spec, 2000, lift=0.2)
    result = experiment_report(
        warehouse, spec, BusinessSettings(), sales_types=SALES, as_of=START + timedelta(days=60), html_dir=tmp_path
    )
    assert result.html is not None
    text = result.html.read_text(encoding="utf-8")
    assert "CUPED on pre-assignment" not in text and "treatment" in text and "difference (raw)" not in text
