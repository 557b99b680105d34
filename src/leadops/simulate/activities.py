"""Activities: what leads do over time, driven by their hidden intent (and a little by who they are).

Each activity type has an expected lifetime count at intent 0 (`base`), an intent sensitivity (`beta`) and a
cap (`cap`): a lead's rate is base * exp(beta * s(intent)) * engagement, where s saturates intent
(INTENT_SATURATION * tanh(intent / INTENT_SATURATION): past a point more interest does not mean more clicks);
intent and engagement are normal on the log scale, so counts are heavy tailed across leads, and a drawn count
never exceeds the type's cap (nobody requests 100 demos; a CRM's web tracking dedupes reloads), so the counts
Sales reads in a reason look like a real CRM's. Activity times follow a mixture of an early burst
(60 %, exponential with a 5-day mean) and a long tail (exponential with a 60-day mean), truncated at the end
of the history or a year after creation: about 60 % of a lead's activity falls in its first 14 days, which
is where a point-in-time model can read intent from. Webinar attendance follows registration; unsubscribing
stops email opens and clicks; leads that opted out of email never open one. In the drift scenario, leads
created from drift_day on download content at twice the rate regardless of intent (a gated-content campaign),
so content_download stops signalling intent. In the concept scenario, leads created from drift_day on act on
another such lead's intent (people.LeadBlock.signal): the inputs keep their distributions, their meaning goes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from leadops.simulate.people import LeadBlock
from leadops.simulate.world import JOB_STUDENT, STREAM_ACTIVITIES, SimulationConfig, rng_for

ACTIVITY_TYPES: tuple[str, ...] = (
    "email_open",
    "email_click",
    "page_view",
    "pricing_view",
    "careers_view",
    "content_download",
    "webinar_registration",
    "webinar_attendance",
    "demo_request",
    "trial_start",
    "support_call",
    "event_attendance",
    "social_engagement",
    "form_submit",
    "unsubscribe",
    "sales_touch",
)
CHANNELS: tuple[str, ...] = ("Email", "Web", "Webinar", "Phone", "Event", "Social")


@dataclass(frozen=True)
class ActivitySpec:
    """How one activity type depends on intent."""

    name: str
    base: float  # expected lifetime count at intent 0 and engagement 1
    beta: float  # intent sensitivity of the log rate
    channel: int  # index into CHANNELS
    cap: int  # most of this type one lead does in its lifetime


SPECS: tuple[ActivitySpec, ...] = (
    ActivitySpec("email_open", 6.0, 0.65, 0, 80),
    ActivitySpec("email_click", 1.4, 1.10, 0, 30),
    ActivitySpec("page_view", 7.0, 0.95, 1, 150),
    ActivitySpec("pricing_view", 1.0, 1.30, 1, 25),
    ActivitySpec("careers_view", 0.35, -0.60, 1, 10),
    ActivitySpec("content_download", 1.1, 1.00, 1, 15),
    ActivitySpec("webinar_registration", 0.5, 0.90, 2, 8),
    ActivitySpec("webinar_attendance", 0.0, 0.0, 2, 8),  # derived from registrations
    ActivitySpec("demo_request", 0.14, 1.40, 1, 2),
    ActivitySpec("trial_start", 0.10, 1.40, 1, 1),
    ActivitySpec("support_call", 0.08, 0.40, 3, 6),
    ActivitySpec("event_attendance", 0.20, 0.70, 4, 5),
    ActivitySpec("social_engagement", 1.0, 0.30, 5, 25),
    ActivitySpec("form_submit", 0.6, 1.00, 1, 6),
    ActivitySpec("unsubscribe", 0.15, -0.80, 0, 1),
)
assert tuple(s.name for s in SPECS) == ACTIVITY_TYPES[: len(SPECS)]

T = {name: i for i, name in enumerate(ACTIVITY_TYPES)}
BASE = np.array([s.base for s in SPECS])
BETA = np.array([s.beta for s in SPECS])
CAP = np.array([s.cap for s in SPECS])
INTENT_SATURATION = 2.0
"""Intent past about this many standard deviations adds little more activity (tanh saturation)."""
TYPE_CHANNEL = np.array([s.channel for s in SPECS] + [3], dtype=np.int8)
EMAIL_TYPES = np.array([T["email_open"], T["email_click"], T["unsubscribe"]])

W_EARLY = 0.60
TAU_EARLY = 5.0
TAU_LATE = 60.0
MAX_LIFE_DAYS = 365.0
DRIFT_CONTENT_RATE = 2.0
SALES_SCORE_WINDOW_DAYS = 2.0
SALES_SCORE_WEIGHTS = np.zeros(len(ACTIVITY_TYPES))
for _name, _w in (
    ("demo_request", 5.0),
    ("trial_start", 4.0),
    ("pricing_view", 2.0),
    ("form_submit", 1.0),
    ("webinar_registration", 1.0),
    ("email_click", 0.5),
):
    SALES_SCORE_WEIGHTS[T[_name]] = _w


@dataclass
class ActivityBlock:
    """One chunk's activities as columns; `lead` indexes the chunk's LeadBlock."""

    lead: np.ndarray  # int64
    t: np.ndarray  # int64 UTC seconds
    kind: np.ndarray  # int8 index into ACTIVITY_TYPES
    channel: np.ndarray  # int8 index into CHANNELS
    value: np.ndarray  # float64, NaN = empty

    def __len__(self) -> int:
        return int(self.lead.shape[0])


def lifetime_days(cfg: SimulationConfig, block: LeadBlock) -> np.ndarray:
    """How long each lead can be active within the history (days, at most a year)."""
    return np.minimum((cfg.end_epoch - block.created) / 86_400.0, MAX_LIFE_DAYS)


def rates(block: LeadBlock) -> np.ndarray:
    """Expected lifetime count of each generated type per lead (n x types)."""
    felt = INTENT_SATURATION * np.tanh(block.signal / INTENT_SATURATION)
    rate = BASE[None, :] * np.exp(BETA[None, :] * felt[:, None]) * block.engagement[:, None]
    rate[:, T["careers_view"]] *= np.where(block.job == JOB_STUDENT, 4.0, 1.0)
    rate[:, EMAIL_TYPES] *= ~block.do_not_email[:, None]
    cd = T["content_download"]
    rate[:, cd] = np.where(block.post_drift, BASE[cd] * DRIFT_CONTENT_RATE * block.engagement, rate[:, cd])
    return rate


def draw_activities(
    cfg: SimulationConfig, block: LeadBlock, chunk: int, *, stream: int = STREAM_ACTIVITIES
) -> ActivityBlock:
    """Draw every intent-driven activity of one chunk of leads (the same draws on every call)."""
    rng = rng_for(cfg.seed, stream, chunk)
    n = len(block)
    life = lifetime_days(cfg, block)
    f_early = -np.expm1(-life / TAU_EARLY)
    f_late = -np.expm1(-life / TAU_LATE)
    f_all = W_EARLY * f_early + (1 - W_EARLY) * f_late
    counts = np.minimum(rng.poisson(rates(block) * f_all[:, None]), CAP[None, :])
    n_types = counts.shape[1]
    per_pair = counts.ravel()
    lead = np.repeat(np.arange(n * n_types, dtype=np.int64) // n_types, per_pair)
    kind = np.repeat(np.tile(np.arange(n_types, dtype=np.int8), n), per_pair)
    m = lead.size
    p_early = W_EARLY * f_early / np.maximum(f_all, 1e-12)
    early = rng.random(m) < p_early[lead]
    tau = np.where(early, TAU_EARLY, TAU_LATE)
    frac = np.where(early, f_early[lead], f_late[lead])
    age = -tau * np.log1p(-rng.random(m) * frac)

    # webinar attendance follows a registration by 1-10 days, more often for intent-rich leads
    reg = np.flatnonzero(kind == T["webinar_registration"])
    p_attend = 1.0 / (1.0 + np.exp(-(0.6 * block.signal[lead[reg]] - 0.2)))
    attend = reg[rng.random(reg.size) < p_attend]
    att_age = age[attend] + rng.uniform(1.0, 10.0, attend.size)
    ok = att_age < life[lead[attend]]
    ok &= _within_cap(lead[attend], ok, CAP[T["webinar_attendance"]])
    lead = np.concatenate([lead, lead[attend[ok]]])
    kind = np.concatenate([kind, np.full(int(ok.sum()), T["webinar_attendance"], dtype=np.int8)])
    age = np.concatenate([age, att_age[ok]])

    # after unsubscribing a lead no longer opens or clicks email
    unsub_age = np.full(n, np.inf)
    is_unsub = kind == T["unsubscribe"]
    unsub_age[lead[is_unsub]] = age[is_unsub]
    is_mail = (kind == T["email_open"]) | (kind == T["email_click"])
    keep = ~(is_mail & (age > unsub_age[lead]))
    lead, kind, age = lead[keep], kind[keep], age[keep]

    value = np.full(lead.size, np.nan)
    viewed = (kind == T["page_view"]) | (kind == T["pricing_view"]) | (kind == T["careers_view"])
    value[viewed] = np.round(np.exp(rng.normal(np.log(45.0), 0.8, int(viewed.sum()))))
    attended = kind == T["webinar_attendance"]
    value[attended] = rng.integers(5, 61, int(attended.sum()))
    t = block.created[lead] + np.floor(age * 86_400.0).astype(np.int64)
    return ActivityBlock(lead=lead, t=t, kind=kind, channel=TYPE_CHANNEL[kind], value=value)


def _within_cap(lead: np.ndarray, ok: np.ndarray, cap: int) -> np.ndarray:
    """Which of the kept derived events stay within the per-lead cap (the first `cap` of each lead, in order)."""
    keep = np.zeros(lead.size, dtype=bool)
    idx = np.flatnonzero(ok)
    if idx.size == 0:
        return keep
    ordered = idx[np.argsort(lead[idx], kind="stable")]
    leads = lead[ordered]
    starts = np.flatnonzero(np.r_[True, leads[1:] != leads[:-1]])
    rank = np.arange(leads.size) - np.repeat(starts, np.diff(np.r_[starts, leads.size]))
    keep[ordered[rank < cap]] = True
    return keep


def early_sales_score(block: LeadBlock, acts: ActivityBlock) -> np.ndarray:
    """The naive rule Sales ranks by: demo/trial requests, pricing views and clicks in the first two days."""
    early = (acts.t - block.created[acts.lead]) < SALES_SCORE_WINDOW_DAYS * 86_400
    return np.bincount(acts.lead[early], weights=SALES_SCORE_WEIGHTS[acts.kind[early]], minlength=len(block))


def merge_sorted(a: ActivityBlock, b: ActivityBlock) -> ActivityBlock:
    """Concatenate two activity blocks and order by time (then lead) for the export."""
    lead = np.concatenate([a.lead, b.lead])
    t = np.concatenate([a.t, b.t])
    order = np.lexsort((lead, t))
    return ActivityBlock(
        lead=lead[order],
        t=t[order],
        kind=np.concatenate([a.kind, b.kind])[order],
        channel=np.concatenate([a.channel, b.channel])[order],
        value=np.concatenate([a.value, b.value])[order],
    )
