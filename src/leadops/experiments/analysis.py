"""One readout from one frame of units (pure: frame in, dict out): per arm the KPI with its interval; per
treatment the difference and relative lift with intervals, CUPED, the always-valid sequential p-value, the
sample-ratio check, guardrails, the revenue and ROI of shipping at the observed effect, and a recommendation.

The frame has one row per lead: arm, unit_id, assigned_at, mature (its KPI window has closed), converted,
revenue, contacts, unsubscribed, routed_sales, pre_engagement. With unit `account` leads are first averaged
per account, so the analysed units are the randomised ones (independent, as the tests assume).

Intervals: difference by Wald (proportions) or Welch (means); lift by the delta method on log(T / C);
conversions per contact by the delta method for a ratio of means. Several treatments share alpha by Bonferroni.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

import numpy as np
import pandas as pd

from leadops.experiments import stats
from leadops.settings.business import BusinessSettings
from leadops.settings.experiments import ExperimentSpec

Recommendation = Literal["ship", "keep", "inconclusive"]
SRM_BLOCK_P = 0.001
"""A sample-ratio p-value below this blocks the readout: the assignment is broken, no effect can be trusted."""

UNIT_COLUMNS = (
    "arm",
    "unit_id",
    "assigned_at",
    "mature",
    "converted",
    "revenue",
    "contacts",
    "unsubscribed",
    "routed_sales",
    "pre_engagement",
)


@dataclass(frozen=True)
class ArmMetric:
    """One arm's KPI summary: units, mean, sample variance, interval (normal approximation)."""

    n: int
    mean: float
    var: float
    low: float
    high: float


def _f(x: Any) -> float | None:
    """A float fit for JSON (None for NaN / inf)."""
    if x is None:
        return None
    value = float(x)
    return value if np.isfinite(value) else None


def _units(frame: pd.DataFrame, unit: str) -> pd.DataFrame:
    """Leads -> analysed units: per lead as they are, per account the mean of its leads (sums for contacts)."""
    cols = ["converted", "revenue", "contacts", "unsubscribed", "routed_sales", "pre_engagement"]
    data = frame.astype({c: float for c in cols})
    if unit == "lead":
        return data
    grouped = data.groupby(["arm", "unit_id"], sort=False)
    means = grouped[cols].mean()
    means["assigned_at"] = grouped["assigned_at"].min()
    means["mature"] = grouped["mature"].all()
    return means.reset_index()


def _kpi_values(units: pd.DataFrame, metric: str) -> tuple[np.ndarray, np.ndarray | None]:
    """The KPI per unit (numerator) and, for a ratio KPI, its denominator per unit."""
    if metric == "conversion_within_days":
        return units["converted"].to_numpy(float), None
    if metric == "revenue_per_lead":
        return units["revenue"].to_numpy(float), None
    return units["converted"].to_numpy(float), units["contacts"].to_numpy(float)


def ratio_of_means(y: np.ndarray, x: np.ndarray) -> tuple[float, float]:
    """sum(y) / sum(x) and the per-unit variance of its delta-method linearisation (y - R x) / mean(x), so that
    var(R) = that / n (units are independent; y and x measured on the same unit)."""
    mx = float(x.mean())
    if mx <= 0:
        return float("nan"), float("nan")
    r = float(y.sum() / x.sum())
    return r, float(np.var((y - r * x) / mx, ddof=1)) if y.size > 1 else float("nan")


def _summary(y: np.ndarray, x: np.ndarray | None, z: float) -> ArmMetric:
    n = int(y.size)
    if n == 0:
        return ArmMetric(0, float("nan"), float("nan"), float("nan"), float("nan"))
    if x is None:
        mean, var = float(y.mean()), float(np.var(y, ddof=1)) if n > 1 else float("nan")
    else:
        mean, var = ratio_of_means(y, x)
    half = z * np.sqrt(var / n) if n > 1 else float("nan")
    return ArmMetric(n, mean, var, mean - half, mean + half)


def _rate(values: np.ndarray) -> float:
    return float(values.mean()) if values.size else float("nan")


def analyse(
    frame: pd.DataFrame,
    spec: ExperimentSpec,
    business: BusinessSettings,
    *,
    as_of: datetime,
    expected_shares: dict[str, float],
    previous_sequential_p: dict[str, float] | None = None,
) -> dict[str, Any]:
    """The readout of `spec` at `as_of` from its units (see the module docstring for the frame's columns)."""
    metric = spec.primary_kpi.metric
    window = spec.primary_kpi.window_days
    control = spec.control_arm()
    treatments = [a.name for a in spec.arms if a.name != control]
    alpha = spec.alpha / max(1, len(treatments))
    z = float(stats.sps.norm.ppf(1 - alpha / 2))
    missing = [c for c in UNIT_COLUMNS if c not in frame.columns]
    if missing:
        raise ValueError(f"readout frame lacks columns {missing}")

    units_all = _units(frame, spec.unit)
    counts = [int((units_all["arm"] == a.name).sum()) for a in spec.arms]
    shares = [expected_shares[a.name] for a in spec.arms]
    srm_p = stats.srm_p_value(counts, shares) if sum(counts) > 0 else 1.0
    mature_units = units_all[units_all["mature"].astype(bool)]
    all_mature = bool(len(units_all) > 0 and units_all["mature"].all())
    stopped = spec.stop is not None and as_of >= spec.stop
    finished = stopped and all_mature
    if len(units_all):
        last = pd.Timestamp(units_all["assigned_at"].max()).to_pydatetime()
        mature_on = last + timedelta(days=window)
    else:
        mature_on = None

    cuped_x = mature_units["pre_engagement"].to_numpy(float)
    y_all, d_all = _kpi_values(mature_units, metric)
    adjust = None
    if spec.cuped and d_all is None and len(mature_units) > 2 and np.var(cuped_x) > 0:
        adjust = stats.cuped(y_all, cuped_x)

    arms: list[dict[str, Any]] = []
    summaries: dict[str, ArmMetric] = {}
    adjusted: dict[str, ArmMetric] = {}
    for arm in spec.arms:
        mask = (mature_units["arm"] == arm.name).to_numpy()
        y, d = y_all[mask], None if d_all is None else d_all[mask]
        s = _summary(y, d, z)
        summaries[arm.name] = s
        if adjust is not None:
            adjusted[arm.name] = _summary(adjust.adjusted[mask], None, z)
        every = units_all[units_all["arm"] == arm.name]
        part = mature_units[mask]
        arms.append(
            {
                "name": arm.name,
                "control": arm.name == control,
                "model": arm.model,
                "routing": arm.routing,
                "units": len(every),
                "mature_units": s.n,
                "expected_share": expected_shares[arm.name],
                "kpi": _f(s.mean),
                "kpi_low": _f(s.low),
                "kpi_high": _f(s.high),
                "conversion_rate": _f(_rate(part["converted"].to_numpy(float))),
                "revenue_per_unit": _f(_rate(part["revenue"].to_numpy(float))),
                "contacts_per_unit": _f(_rate(part["contacts"].to_numpy(float))),
                "sales_share": _f(_rate(part["routed_sales"].to_numpy(float))),
                "unsubscribe_rate": _f(_rate(part["unsubscribed"].to_numpy(float))),
            }
        )

    c = summaries[control]
    comparisons: list[dict[str, Any]] = []
    for name in treatments:
        t = summaries[name]
        comparisons.append(
            _compare(
                name,
                c,
                t,
                adjusted.get(control),
                adjusted.get(name),
                mature_units,
                control,
                spec,
                business,
                alpha=alpha,
                as_of=as_of,
                units_all=units_all,
                proportion=metric == "conversion_within_days" and spec.unit == "lead",
                previous_p=(previous_sequential_p or {}).get(name),
                srm_p=srm_p,
                finished=finished,
                all_mature=all_mature,
                mature_on=mature_on,
            )
        )
    return {
        "experiment": spec.name,
        "as_of": as_of.isoformat(),
        "kpi": metric,
        "window_days": window,
        "unit": spec.unit,
        "control": control,
        "alpha": spec.alpha,
        "alpha_per_comparison": alpha,
        "sequential": spec.sequential,
        "units": len(units_all),
        "mature_units": len(mature_units),
        "mature": all_mature,
        "stopped": stopped,
        "mature_on": mature_on.isoformat() if mature_on else None,
        "srm_p": _f(srm_p),
        "srm_blocked": bool(srm_p < SRM_BLOCK_P),
        "cuped": None
        if adjust is None
        else {"theta": adjust.theta, "rho": adjust.rho, "predicted_sd_ratio": adjust.predicted_sd_ratio},
        "arms": arms,
        "comparisons": comparisons,
    }


def _compare(
    name: str,
    c: ArmMetric,
    t: ArmMetric,
    c_adj: ArmMetric | None,
    t_adj: ArmMetric | None,
    mature_units: pd.DataFrame,
    control: str,
    spec: ExperimentSpec,
    business: BusinessSettings,
    *,
    alpha: float,
    as_of: datetime,
    units_all: pd.DataFrame,
    proportion: bool,
    previous_p: float | None,
    srm_p: float,
    finished: bool,
    all_mature: bool,
    mature_on: datetime | None,
) -> dict[str, Any]:
    """Treatment `name` against the control: raw and CUPED effects, sequential test, guardrails, money, decision."""
    enough = c.n >= 2 and t.n >= 2 and np.isfinite(c.mean) and np.isfinite(t.mean)
    out: dict[str, Any] = {"treatment": name, "control": control}
    if not enough:
        out |= {"diff": None, "diff_low": None, "diff_high": None, "lift": None, "lift_low": None, "lift_high": None}
        out |= {"raw_diff": None, "raw_diff_low": None, "raw_diff_high": None, "confidence_sequence": None}
        out |= {"p_value": None, "sequential_p": previous_p, "cuped": None, "guardrails": [], "business": None}
        out |= _decide(out, spec, srm_p, finished, all_mature, mature_on, c.n + t.n)
        return out
    if proportion:
        x_c, x_t = round(c.mean * c.n), round(t.mean * t.n)
        raw = stats.two_proportion_z(x_c, c.n, x_t, t.n, alpha)
    else:
        raw = stats.welch_t(c, t, alpha)
    raw_lift = stats.relative_lift(c, t, alpha)
    use = raw
    lift = raw_lift
    cuped_out = None
    if c_adj is not None and t_adj is not None:
        adj = stats.welch_t(c_adj, t_adj, alpha)
        adj_lift = stats.relative_lift(c_adj, t_adj, alpha)
        width_raw = float(raw.high - raw.low)
        cuped_out = {
            "diff": _f(adj.diff),
            "diff_low": _f(adj.low),
            "diff_high": _f(adj.high),
            "p_value": _f(adj.p_value),
            "interval_ratio": _f((adj.high - adj.low) / width_raw) if width_raw > 0 else None,
        }
        use, lift = adj, adj_lift
    tau = (spec.mde or 0.10) * abs(c.mean) if c.mean else float(use.se)
    seq = stats.msprt(use.diff, use.se, max(tau, 1e-12), alpha)
    sequential_p = float(min(float(seq.p_value), previous_p if previous_p is not None else 1.0))
    out |= {
        "diff": _f(use.diff),
        "diff_low": _f(use.low),
        "diff_high": _f(use.high),
        "raw_diff": _f(raw.diff),
        "raw_diff_low": _f(raw.low),
        "raw_diff_high": _f(raw.high),
        "lift": _f(lift.lift),
        "lift_low": _f(lift.low),
        "lift_high": _f(lift.high),
        "p_value": _f(use.p_value),
        "sequential_p": _f(sequential_p),
        "confidence_sequence": [_f(seq.low), _f(seq.high)],
        "cuped": cuped_out,
        "guardrails": _guardrails(mature_units, control, name, spec, alpha),
        "business": _business(mature_units, units_all, control, name, business, as_of),
    }
    out |= _decide(out, spec, srm_p, finished, all_mature, mature_on, c.n + t.n)
    return out


def _guardrails(
    units: pd.DataFrame, control: str, name: str, spec: ExperimentSpec, alpha: float
) -> list[dict[str, Any]]:
    """Sales queue share (relative increase) and unsubscribe rate (absolute, significant) against their limits."""
    c = units[units["arm"] == control]
    t = units[units["arm"] == name]
    found: list[dict[str, Any]] = []
    limit = spec.guardrails.sales_queue_max_increase
    if limit is not None:
        sc, st = _rate(c["routed_sales"].to_numpy(float)), _rate(t["routed_sales"].to_numpy(float))
        change = (st - sc) / sc if sc > 0 else (0.0 if st == 0 else float("inf"))
        found.append(
            {
                "name": "sales_queue",
                "control": _f(sc),
                "treatment": _f(st),
                "change": _f(change),
                "limit": limit,
                "breached": bool(change > limit),
            }
        )
    limit = spec.guardrails.unsubscribe_max_increase
    if limit is not None:
        uc, ut = c["unsubscribed"].to_numpy(float), t["unsubscribed"].to_numpy(float)
        test = stats.welch_t(stats.Summary.of(uc), stats.Summary.of(ut), alpha)
        diff = float(test.diff)
        low = float(test.low) if np.isfinite(test.low) else diff
        found.append(
            {
                "name": "unsubscribes",
                "control": _f(uc.mean()),
                "treatment": _f(ut.mean()),
                "change": _f(diff),
                "limit": limit,
                "breached": bool(low > limit),
            }
        )
    return found


def _business(
    units: pd.DataFrame,
    units_all: pd.DataFrame,
    control: str,
    name: str,
    business: BusinessSettings,
    as_of: datetime,
) -> dict[str, Any]:
    """What shipping the treatment is worth a year at the observed effect: units a year (as observed) times the
    per-unit differences in revenue and Sales contacts; ROI = (revenue - contact cost) / contact cost."""
    c = units[units["arm"] == control]
    t = units[units["arm"] == name]
    first = pd.Timestamp(units_all["assigned_at"].min()).to_pydatetime()
    days = max(1.0, (min(as_of, pd.Timestamp(units_all["assigned_at"].max()).to_pydatetime()) - first).days + 1)
    per_year = len(units_all) / days * 365.0
    d_rev = _rate(t["revenue"].to_numpy(float)) - _rate(c["revenue"].to_numpy(float))
    d_conv = _rate(t["converted"].to_numpy(float)) - _rate(c["converted"].to_numpy(float))
    d_contacts = _rate(t["contacts"].to_numpy(float)) - _rate(c["contacts"].to_numpy(float))
    revenue = d_rev * per_year
    cost = d_contacts * business.cost_per_contact * per_year
    net = revenue - cost
    return {
        "units_per_year": _f(per_year),
        "incremental_conversions_per_year": _f(d_conv * per_year),
        "incremental_revenue_per_year": _f(revenue),
        "incremental_contact_cost_per_year": _f(cost),
        "net_value_per_year": _f(net),
        "roi": _f(net / cost) if cost > 0 else None,
        "cost_per_contact": business.cost_per_contact,
    }


def _pct(value: float | None) -> str:
    """A signed percentage, or "n/a" where it has no value (a control arm with no conversions has no lift)."""
    return "n/a" if value is None else f"{value:+.1%}"


def _g(value: float | None) -> str:
    """A p-value to three figures, or "n/a" where the test has none."""
    return "n/a" if value is None else f"{value:.3g}"


def _decide(
    out: dict[str, Any],
    spec: ExperimentSpec,
    srm_p: float,
    finished: bool,
    all_mature: bool,
    mature_on: datetime | None,
    mature_n: int,
) -> dict[str, Any]:
    """ship / keep / inconclusive with the reason, in order: broken assignment, immature KPI, guardrails, effect."""
    rec: Recommendation
    if srm_p < SRM_BLOCK_P:
        rec, reason = (
            "inconclusive",
            (
                f"sample ratio mismatch (chi-square p = {srm_p:.2g} < {SRM_BLOCK_P}): the assignment is broken, the "
                "readout is blocked; find why one arm got more units before trusting any effect"
            ),
        )
        return {"recommendation": rec, "reason": reason, "blocked": True}
    if out.get("diff") is None:
        when = f"; every unit so far is mature on {mature_on:%Y-%m-%d}" if mature_on else ""
        rec, reason = (
            "inconclusive",
            (
                f"waiting for the {spec.primary_kpi.window_days}-day KPI window to mature: {mature_n} mature units "
                f"are too few to compare{when}"
            ),
        )
        return {"recommendation": rec, "reason": reason, "blocked": False}
    breached = [g["name"] for g in out["guardrails"] if g["breached"]]
    if breached:
        return {
            "recommendation": "keep",
            "reason": f"guardrail breached: {', '.join(breached)}; keep the control whatever the KPI did",
            "blocked": False,
        }
    p = out["sequential_p"] if spec.sequential else out["p_value"]
    test = "always-valid (mSPRT) p" if spec.sequential else "p"
    alpha = spec.alpha / max(1, len(spec.arms) - 1)
    lift = out["lift"]
    waiting = (
        f"; {spec.primary_kpi.window_days}-day window not yet mature for every unit (all mature on "
        f"{mature_on:%Y-%m-%d})"
        if not all_mature and mature_on
        else ""
    )
    may_decide = spec.sequential or finished
    if p is not None and p < alpha and may_decide:
        if out["diff"] > 0:
            return {
                "recommendation": "ship",
                "reason": f"{test} = {p:.3g} < {alpha:.3g}: lift {_pct(lift)} "
                f"[{_pct(out['lift_low'])}, {_pct(out['lift_high'])}]",
                "blocked": False,
            }
        return {
            "recommendation": "keep",
            "reason": f"{test} = {p:.3g} < {alpha:.3g}: the treatment is worse, lift {_pct(lift)}",
            "blocked": False,
        }
    if finished:
        return {
            "recommendation": "keep",
            "reason": f"the experiment ended with {test} = {_g(p)} >= {alpha:.3g}: no evidence the treatment "
            "beats the control; keep the control",
            "blocked": False,
        }
    return {
        "recommendation": "inconclusive",
        "reason": f"{test} = {_g(p)} >= {alpha:.3g} so far (lift {_pct(lift)}); keep collecting{waiting}"
        if may_decide
        else f"fixed-horizon test: decided only once the experiment has stopped and every unit is mature{waiting}",
        "blocked": False,
    }
