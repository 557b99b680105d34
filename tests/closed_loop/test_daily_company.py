"""The day-by-day company on its own: deterministic, common random numbers, contacts that lift as the truth says."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats
from sklearn.metrics import roc_auc_score

from leadops.simulate import simulate
from leadops.simulate.activities import ACTIVITY_TYPES, CAP
from leadops.simulate.daily import CONTACT_WINDOW_DAYS, DailyCompany
from leadops.simulate.world import make_accounts, make_config

START = date(2024, 3, 1)


def company(days: int = 60, per_day: float = 60.0, seed: int = 3) -> DailyCompany:
    """A company of its own accounts (as a 3,000-lead history would have), `days` days from START."""
    history = make_config(scenario="baseline", leads=3_000, days=60, seed=seed, start=date(2024, 1, 1),
                          fault_rate=0.0, drift_day=None)  # fmt: skip
    return DailyCompany(accounts=make_accounts(history), start=START, days=days, leads_per_day=per_day, seed=seed,
                        first_lead=3_000)  # fmt: skip


def run(c: DailyCompany, out: Path, pick: object = None) -> None:
    """Every day: Sales contacts whatever `pick(c, day)` returns, then the day closes."""
    for d in range(c.cfg.days):
        if pick is not None and c.is_business_day(d):
            idx = pick(c, d)  # type: ignore[operator]
            c.contact(np.asarray(idx, dtype=np.int64), d, after=c.day_start(d) + 5 * 3600)
        c.end_day(d, out / f"d{d:03d}")


def yesterday(c: DailyCompany, d: int) -> np.ndarray:
    """The leads created the day before (what tonight's queue would hold, unranked)."""
    created = c.block.created
    return np.flatnonzero((created >= c.day_start(d - 1)) & (created < c.day_start(d)))


def test_same_seed_and_contacts_write_the_same_days(tmp_path: Path) -> None:
    top = lambda c, d: yesterday(c, d)[:5]  # noqa: E731
    a, b = company(days=30), company(days=30)
    run(a, tmp_path / "a", top)
    run(b, tmp_path / "b", top)
    for day in sorted((tmp_path / "a").iterdir()):
        for f in day.iterdir():
            assert f.read_bytes() == (tmp_path / "b" / day.name / f.name).read_bytes()
    assert a.truth(tmp_path / "a.parquet", 29) and b.truth(tmp_path / "b.parquet", 29)
    assert pd.read_parquet(tmp_path / "a.parquet").equals(pd.read_parquet(tmp_path / "b.parquet"))
    other = company(days=30, seed=4)
    assert not np.array_equal(other.block.created, a.block.created)


def test_contacts_change_only_the_contacted_leads_fates_and_lift_as_the_truth_says(tmp_path: Path) -> None:
    none, everyone = company(days=90, per_day=80), company(days=90, per_day=80)
    run(none, tmp_path / "none")
    run(everyone, tmp_path / "all", yesterday)
    decided = none.decided & everyone.decided
    assert decided.sum() > 3000
    counted = everyone.counted() & decided
    untouched = decided & ~counted
    # common random numbers: a lead Sales did not reach has the same fate; a reached one can only gain
    assert np.array_equal(none.will_convert[untouched], everyone.will_convert[untouched])
    assert np.all(everyone.will_convert[counted] >= none.will_convert[counted])
    # conversion rates are the ground truth's probabilities (binomial test at 1 %)
    for world, p in ((none, none.p0), (everyone, np.where(everyone.counted(), everyone.p1, everyone.p0))):
        k, n = int(world.will_convert[decided].sum()), int(decided.sum())
        assert stats.binomtest(k, n, float(p[decided].mean())).pvalue > 0.01
    # a contact counts only within its window
    late = everyone.contacted_at - everyone.block.created >= CONTACT_WINDOW_DAYS * 86_400
    assert not np.any(everyone.counted() & late)


def test_per_lead_activity_counts_are_capped_like_a_real_crms(tmp_path: Path) -> None:
    simulate(tmp_path, leads=8_000, days=180, seed=11)
    acts = pd.read_csv(tmp_path / "source" / "activities.csv", usecols=["LeadId", "ActivityType"])
    counts = acts.groupby(["ActivityType", "LeadId"]).size()
    for k, name in enumerate(ACTIVITY_TYPES[: len(CAP)]):
        if name in counts.index.get_level_values(0):
            assert counts[name].max() <= CAP[k], name
    pricing = counts["pricing_view"]
    assert pricing.max() <= 25 and pricing.quantile(0.99) >= 5  # capped, still heavy tailed
    assert counts["demo_request"].max() <= 2 and counts["trial_start"].max() <= 1


def test_a_higher_auc_is_not_always_more_sales_when_rankings_differ_only_below_capacity(tmp_path: Path) -> None:
    """Sales takes the day's top 4: what a model does below that cut never sells, however much AUC it buys."""
    cap = 4
    rng = np.random.default_rng(0)
    worlds = {name: company(days=60, per_day=60) for name in ("top_only", "top_and_below", "bulk_only")}
    noise = rng.random(len(worlds["top_only"].block))

    def scores(c: DailyCompany, name: str) -> np.ndarray:
        p = c.p0  # the true ranking: who is likeliest to buy
        top = np.zeros(len(p), dtype=bool)
        for d in range(c.cfg.days):
            day = yesterday(c, d)
            top[day[np.argsort(-p[day])[:cap]]] = True
        if name == "top_only":  # the oracle on the leads Sales can take, random below the cut
            return np.where(top, 1.0 + p, noise)
        if name == "top_and_below":  # the oracle everywhere
            return p.copy()
        near = np.zeros(len(p), dtype=bool)  # right below the cut and the top itself shuffled, oracle elsewhere
        for d in range(c.cfg.days):
            day = yesterday(c, d)
            near[day[np.argsort(-p[day])[: 3 * cap]]] = True
        return np.where(near, 1.0 + noise, p)

    result = {}
    for name, c in worlds.items():
        s = scores(c, name)
        run(c, tmp_path / name, lambda c, d, s=s: (lambda day: day[np.argsort(-s[day], kind="stable")[:cap]])(
            yesterday(c, d)))  # fmt: skip
        released = c.released(c.cfg.days - 1)
        decided = c.decided[released]
        labels = c.will_convert[released][decided]
        result[name] = {
            "auc": roc_auc_score(labels, s[released][decided]),
            "true_auc": roc_auc_score(labels, c.p0[released][decided]),
            "expected": float(c.p_effective()[released].sum()),
            "contacts": int(c.counted().sum()),
        }
    top_only, both, bulk = result["top_only"], result["top_and_below"], result["bulk_only"]
    assert top_only["contacts"] == both["contacts"] == bulk["contacts"]
    # same leads above the cut: same contacts, same true sales, very different AUC
    assert both["auc"] > top_only["auc"] + 0.1
    assert both["expected"] == top_only["expected"]
    # better AUC, fewer sales: the bulk is ranked right, the few leads Sales can take are not
    assert bulk["auc"] > top_only["auc"] + 0.05
    assert bulk["expected"] < top_only["expected"] - 1.0
