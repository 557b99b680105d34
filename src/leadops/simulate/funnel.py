"""What happens after the lead: the baseline Sales policy, conversion, the funnel stages and deal values.

Conversion: logit p_no_contact = ALPHA + 1.1 fit + 0.9 intent + noise (noise ~ N(0, 0.3), unobservable); a Sales
contact adds CONTACT_LIFT to the logit. One uniform draw per lead decides conversion under both (common random
numbers), so p_convert is exactly the probability that drew the outcome. A conversion (Closed Won) arrives
15 + LogNormal(ln 30, 0.6) days after creation (median ~45 days, rarely after 135), preceded by SQL and
Opportunity; deal values grow with company size (~ employees^0.55). Non-converters sometimes reach SQL and a
lost opportunity, and are sometimes disqualified (more often after a Sales contact, and students/competitors).
Stages dated after the end of the history are not exported (immature leads stay open).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from leadops.simulate.activities import CHANNELS, ActivityBlock, T
from leadops.simulate.people import LeadBlock
from leadops.simulate.world import JOB_STUDENT, REGION_OFFSET_MIN, Accounts, SimulationConfig

ALPHA = -3.55
"""Intercept chosen so that about 8 % of baseline leads convert."""
CONTACT_LIFT = 0.55
FIT_WEIGHT = 1.1
INTENT_WEIGHT = 0.9
SALES_SHARE = 0.12
"""Sales can contact about this share of all leads (capacity per weekday = share x leads/day x 7/5)."""
SALES_ELIGIBLE_AFTER_DAYS = 2
SALES_QUEUE_DAYS = 5
LAG_MIN_DAYS = 15.0
LAG_MEDIAN_EXTRA_DAYS = 30.0
LAG_SIGMA = 0.6
STAGES: tuple[str, ...] = ("SQL", "Opportunity", "Closed Won", "Closed Lost", "Disqualified")
SQL, OPP, WON, LOST, DISQ = range(5)


def sigmoid(x: np.ndarray) -> np.ndarray:
    """Logistic function."""
    return 1.0 / (1.0 + np.exp(-x))


def sales_capacity(cfg: SimulationConfig) -> int:
    """Leads Sales can contact per weekday: `business.capacity` when the workspace declares it, else ~12 % of leads."""
    if cfg.sales_capacity is not None:
        return cfg.sales_capacity
    return max(1, round(SALES_SHARE * cfg.leads / cfg.days * 7 / 5))


def sales_policy(cfg: SimulationConfig, day: np.ndarray, score: np.ndarray) -> np.ndarray:
    """Baseline Sales: each weekday contact the top-K queued leads by the naive score, newest first on ties.

    A lead joins the queue two days after creation and leaves it after five; only leads with a positive
    naive score are worth a call. Returns each lead's contact day (-1 = never contacted).
    """
    contact = np.full(day.size, -1, dtype=np.int32)
    k = sales_capacity(cfg)
    first_weekday = cfg.start.weekday()
    for d in range(cfg.days):
        if (first_weekday + d) % 7 >= 5:
            continue
        lo = np.searchsorted(day, d - SALES_ELIGIBLE_AFTER_DAYS - SALES_QUEUE_DAYS + 1, side="left")
        hi = np.searchsorted(day, d - SALES_ELIGIBLE_AFTER_DAYS, side="right")
        if hi <= lo:
            continue
        cand = np.arange(lo, hi)
        cand = cand[(contact[cand] < 0) & (score[cand] > 0)]
        if cand.size == 0:
            continue
        order = np.lexsort((-day[cand], -score[cand]))
        contact[cand[order[:k]]] = d
    return contact


def sales_touches(
    cfg: SimulationConfig, block: LeadBlock, contact_day: np.ndarray, rng: np.random.Generator
) -> tuple[ActivityBlock, np.ndarray]:
    """The sales_touch activities of contacted leads (a call, sometimes a follow-up) and the first touch time."""
    idx = np.flatnonzero(contact_day >= 0)
    hour = rng.uniform(9.0, 17.0, idx.size)
    local = cfg.start_epoch + contact_day[idx].astype(np.int64) * 86_400 + (hour * 3600).astype(np.int64)
    first = np.clip(local - REGION_OFFSET_MIN[block.region[idx]] * 60, block.created[idx] + 60, cfg.end_epoch - 1)
    follow = rng.random(idx.size) < 0.5
    second = first + (rng.uniform(2.0, 5.0, idx.size) * 86_400).astype(np.int64)
    follow &= second < cfg.end_epoch
    lead = np.concatenate([idx, idx[follow]])
    t = np.concatenate([first, second[follow]])
    channel = np.where(block.do_not_call[lead], CHANNELS.index("Email"), CHANNELS.index("Phone")).astype(np.int8)
    value = np.where(channel == CHANNELS.index("Phone"), rng.integers(2, 31, lead.size), np.nan)
    touch_time = np.full(len(block), -1, dtype=np.int64)
    touch_time[idx] = first
    acts = ActivityBlock(
        lead=lead.astype(np.int64),
        t=t,
        kind=np.full(lead.size, T["sales_touch"], dtype=np.int8),
        channel=channel,
        value=value.astype(np.float64),
    )
    return acts, touch_time


@dataclass
class Funnel:
    """Each lead's probabilities and fate, plus the outcome rows to export."""

    p_no_contact: np.ndarray
    p: np.ndarray
    will_convert: np.ndarray  # bool: the world drew a conversion (maybe after the end of the history)
    converted: np.ndarray  # bool: converted within the history
    converted_at: np.ndarray  # int64 UTC seconds, -1 = none (set whenever will_convert)
    deal_value: np.ndarray  # float64, NaN unless will_convert
    out_lead: np.ndarray  # outcome rows: chunk lead index
    out_t: np.ndarray
    out_stage: np.ndarray  # int8 index into STAGES
    out_amount: np.ndarray  # float64, NaN = empty


def run_funnel(
    cfg: SimulationConfig,
    block: LeadBlock,
    accounts: Accounts,
    touch_time: np.ndarray,
    rng: np.random.Generator,
) -> Funnel:
    """Draw conversions and the stage history of one chunk of leads."""
    n = len(block)
    contacted = touch_time >= 0
    logit0 = ALPHA + FIT_WEIGHT * block.fit + INTENT_WEIGHT * block.intent + block.noise
    p0 = sigmoid(logit0)
    p = sigmoid(logit0 + CONTACT_LIFT * contacted)
    u = rng.random(n)
    will = u < p
    lag = LAG_MIN_DAYS + np.minimum(np.exp(rng.normal(np.log(LAG_MEDIAN_EXTRA_DAYS), LAG_SIGMA, n)), 330.0)
    day_s = 86_400.0
    won_t = block.created + (lag * day_s).astype(np.int64)
    employees = accounts.employees[block.account].astype(np.float64)
    value = np.round(np.exp(np.log(300.0) + 0.55 * np.log(employees) + rng.normal(0.0, 0.35, n)), 2)
    sql_t_conv = block.created + (np.maximum(1.0, lag * rng.uniform(0.15, 0.35, n)) * day_s).astype(np.int64)
    opp_t_conv = block.created + (lag * rng.uniform(0.45, 0.7, n) * day_s).astype(np.int64)

    # non-converters: some are accepted by Sales, some of those get an opportunity that is lost
    q_sql = 0.8 * sigmoid(logit0 + CONTACT_LIFT * contacted + 0.3)
    sql_other = ~will & (rng.random(n) < q_sql)
    base_t = np.where(contacted, touch_time, block.created)
    sql_t_other = base_t + (rng.uniform(1.0, 30.0, n) * day_s).astype(np.int64)
    opp_other = sql_other & (rng.random(n) < 0.45)
    opp_t_other = sql_t_other + (rng.uniform(5.0, 30.0, n) * day_s).astype(np.int64)
    lost_t = opp_t_other + (rng.uniform(10.0, 90.0, n) * day_s).astype(np.int64)
    junk = (block.job == JOB_STUDENT) | accounts.competitor[block.account]
    u_dq = rng.random(n)
    disq = ~will & ~sql_other & ((contacted & (u_dq < 0.4)) | (junk & (u_dq < 0.3)) | (u_dq < 0.03))
    disq_t = base_t + (rng.uniform(0.5, 20.0, n) * day_s).astype(np.int64)

    parts = (
        (will, sql_t_conv, SQL),
        (will, opp_t_conv, OPP),
        (will, won_t, WON),
        (sql_other, sql_t_other, SQL),
        (opp_other, opp_t_other, OPP),
        (opp_other, lost_t, LOST),
        (disq, disq_t, DISQ),
    )
    leads_l, t_l, stage_l, amount_l = [], [], [], []
    for mask, times, stage in parts:
        sel = np.flatnonzero(mask & (times < cfg.end_epoch))
        leads_l.append(sel)
        t_l.append(times[sel])
        stage_l.append(np.full(sel.size, stage, dtype=np.int8))
        amount_l.append(value[sel] if stage == WON else np.full(sel.size, np.nan))
    out_lead = np.concatenate(leads_l)
    out_t = np.concatenate(t_l)
    order = np.lexsort((out_lead, out_t))
    converted = will & (won_t < cfg.end_epoch)
    return Funnel(
        p_no_contact=p0,
        p=p,
        will_convert=will,
        converted=converted,
        converted_at=np.where(will, won_t, -1),
        deal_value=np.where(will, value, np.nan),
        out_lead=out_lead[order],
        out_t=out_t[order],
        out_stage=np.concatenate(stage_l)[order],
        out_amount=np.concatenate(amount_l)[order],
    )
