"""The people who become leads: who they are, where they come from, and their hidden fit and intent.

Fit (how well the lead matches the ideal customer profile) is mostly a function of what the CRM records
(firmographics, job level, department, email domain, source) plus a little hidden budget/timing. Intent is
hidden: it depends on the source and a per-lead N(0, 1) draw, and shows itself only through activities.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from leadops.simulate.world import (
    CHUNK_SIZE,
    COUNTRY_REGION,
    DEPARTMENT_FIT,
    DEPARTMENT_SHARE,
    DOMAIN_FIT,
    DOMAIN_SHARE,
    DOMAIN_TYPES,
    EDU_DOMAINS,
    FIRST_NAMES,
    FREE_DOMAINS,
    GOV_DOMAINS,
    INDUSTRIES,
    INDUSTRY_SHARE,
    INDUSTRY_SHARE_DRIFT,
    JOB_FIT,
    JOB_SHARE,
    JOB_STUDENT,
    LAST_NAMES,
    REGION_OFFSET_MIN,
    SOURCE_FIT,
    SOURCE_INTENT,
    SOURCE_SHARE,
    SOURCE_SHARE_DRIFT,
    STREAM_CONCEPT,
    STREAM_LEADS,
    Accounts,
    SimulationConfig,
    rng_for,
)

INTENT_NOISE_SD = 1.0
ENGAGEMENT_SD = 0.15
"""Per-lead activity level unrelated to buying: makes intent harder (not impossible) to read from counts."""
LOGIT_NOISE_SD = 0.30
"""Unobservable per-lead noise in the conversion logit; kept modest so behaviour carries most signal."""
PERSON_FIT_SD = 0.10


@dataclass
class LeadBlock:
    """One chunk of leads as columns (numpy), in LeadId order."""

    index: np.ndarray  # int64 global lead index (LeadId number = index + 1)
    day: np.ndarray  # int32 creation day since start
    created: np.ndarray  # int64 UTC seconds
    account: np.ndarray  # int64 account index
    region: np.ndarray  # int8
    country: np.ndarray  # int16
    source: np.ndarray  # int8
    job: np.ndarray  # int8
    dept: np.ndarray  # int8
    domain_type: np.ndarray  # int8 index into DOMAIN_TYPES
    first: np.ndarray  # int16
    last: np.ndarray  # int16
    domain_pick: np.ndarray  # int16 index into the free/edu/gov domain list
    email_digits: np.ndarray  # int16, -1 = none
    do_not_email: np.ndarray  # bool
    do_not_call: np.ndarray  # bool
    fit: np.ndarray  # float64
    intent: np.ndarray  # float64
    engagement: np.ndarray  # float64 multiplier of every activity rate
    noise: np.ndarray  # float64 unobservable logit noise
    post_drift: np.ndarray  # bool
    signal: np.ndarray  # float64 intent that drives the lead's activities: its own, or (concept) another's

    def __len__(self) -> int:
        return int(self.index.shape[0])


def chunk_bounds(cfg: SimulationConfig, chunk: int) -> tuple[int, int]:
    """Global lead index range [lo, hi) of one chunk."""
    lo = chunk * CHUNK_SIZE
    return lo, min(cfg.leads, lo + CHUNK_SIZE)


def draw_leads(
    cfg: SimulationConfig, accounts: Accounts, days: np.ndarray, chunk: int, *, stream: int = STREAM_LEADS
) -> LeadBlock:
    """Draw one chunk of leads from the chunk's own random stream (the closed loop passes a stream of its own)."""
    rng = rng_for(cfg.seed, stream, chunk)
    lo, hi = chunk_bounds(cfg, chunk)
    n = hi - lo
    day = days[lo:hi]
    post = (day >= cfg.drift_day) if cfg.drift_active and cfg.drift_day is not None else np.zeros(n, dtype=bool)

    u_ind = rng.random(n)
    ind_pre = np.searchsorted(np.cumsum(INDUSTRY_SHARE / INDUSTRY_SHARE.sum()), u_ind, side="right")
    ind_post = np.searchsorted(np.cumsum(INDUSTRY_SHARE_DRIFT / INDUSTRY_SHARE_DRIFT.sum()), u_ind, side="right")
    industry = np.minimum(np.where(post, ind_post, ind_pre), len(INDUSTRIES) - 1)
    u_acc = rng.random(n)
    account = np.empty(n, dtype=np.int64)
    for k, members in enumerate(accounts.by_industry):
        sel = industry == k
        account[sel] = members[np.minimum((u_acc[sel] * members.size).astype(np.int64), members.size - 1)]

    region = accounts.region[account]
    country = accounts.country[account].copy()
    moved = rng.random(n) < 0.08
    other = rng.integers(0, COUNTRY_REGION.size, n)
    same_region = COUNTRY_REGION[other] == region
    country[moved & same_region] = other[moved & same_region]

    hour = np.clip(rng.normal(13.0, 2.8, n), 6.0, 22.9)
    local = cfg.start_epoch + day.astype(np.int64) * 86_400 + (hour * 3600).astype(np.int64)
    created = np.clip(local - REGION_OFFSET_MIN[region] * 60, cfg.start_epoch, cfg.end_epoch - 3_600)

    u_src = rng.random(n)
    src_pre = np.searchsorted(np.cumsum(SOURCE_SHARE / SOURCE_SHARE.sum()), u_src, side="right")
    src_post = np.searchsorted(np.cumsum(SOURCE_SHARE_DRIFT / SOURCE_SHARE_DRIFT.sum()), u_src, side="right")
    source = np.minimum(np.where(post, src_post, src_pre), SOURCE_SHARE.size - 1).astype(np.int8)

    domain_type = rng.choice(len(DOMAIN_TYPES), size=n, p=DOMAIN_SHARE).astype(np.int8)
    job = rng.choice(JOB_SHARE.size, size=n, p=JOB_SHARE).astype(np.int8)
    edu = domain_type == DOMAIN_TYPES.index("edu")
    job[edu & (rng.random(n) < 0.7)] = JOB_STUDENT
    corporate_student = (domain_type == 0) & (job == JOB_STUDENT) & (rng.random(n) < 0.7)
    job[corporate_student] = 1  # interns at companies are mostly recorded as individual contributors
    dept = rng.choice(DEPARTMENT_SHARE.size, size=n, p=DEPARTMENT_SHARE / DEPARTMENT_SHARE.sum()).astype(np.int8)

    first = rng.integers(0, len(FIRST_NAMES), n).astype(np.int16)
    last = rng.integers(0, len(LAST_NAMES), n).astype(np.int16)
    lists = max(len(FREE_DOMAINS), len(EDU_DOMAINS), len(GOV_DOMAINS))
    domain_pick = (rng.random(n) * lists).astype(np.int16)
    email_digits = np.where(rng.random(n) < 0.5, rng.integers(1, 100, n), -1).astype(np.int16)
    do_not_email = rng.random(n) < np.where(source == 7, 0.15, 0.06)
    do_not_call = rng.random(n) < 0.10

    person_fit = rng.normal(0.0, PERSON_FIT_SD, n)
    fit = (
        accounts.fit[account]
        + JOB_FIT[job]
        + DEPARTMENT_FIT[dept]
        + DOMAIN_FIT[domain_type]
        + SOURCE_FIT[source]
        + person_fit
    )
    senior = (job >= 3) & (job <= 4)
    intent = SOURCE_INTENT[source] + 0.15 * senior + rng.normal(0.0, INTENT_NOISE_SD, n)
    engagement = np.exp(rng.normal(0.0, ENGAGEMENT_SD, n))
    noise = rng.normal(0.0, LOGIT_NOISE_SD, n)
    return LeadBlock(
        index=np.arange(lo, hi, dtype=np.int64),
        day=day,
        created=created,
        account=account,
        region=region,
        country=country,
        source=source,
        job=job,
        dept=dept,
        domain_type=domain_type,
        first=first,
        last=last,
        domain_pick=domain_pick,
        email_digits=email_digits,
        do_not_email=do_not_email,
        do_not_call=do_not_call,
        fit=fit,
        intent=intent,
        engagement=engagement,
        noise=noise,
        post_drift=post,
        signal=_signal(cfg, day, intent, chunk),
    )


def _signal(cfg: SimulationConfig, day: np.ndarray, intent: np.ndarray, chunk: int) -> np.ndarray:
    """The intent behind each lead's activities: its own; in the concept scenario, from drift_day on, that of
    another post-onset lead of the chunk (a permutation: every activity distribution stays the same, their link
    to buying is gone), from a stream of its own so every other draw is the baseline's."""
    signal = intent.copy()
    if cfg.concept_active and cfg.drift_day is not None:
        late = np.flatnonzero(day >= cfg.drift_day)
        signal[late] = intent[late][rng_for(cfg.seed, STREAM_CONCEPT, chunk).permutation(late.size)]
    return signal
