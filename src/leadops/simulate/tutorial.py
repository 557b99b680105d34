"""The textbook tutorial's flat data set: one row per lead with firmographics, engagement and `converted`.

We do not have the textbook, so the distributions are chosen to be plausible and are documented here:

- company_size: 1-10 (22 %), 11-50 (28 %), 51-200 (24 %), 201-1000 (16 %), 1000+ (10 %);
  logit effect -0.6, -0.2, +0.2, +0.4, +0.3.
- industry: Technology 28 %, Finance 18 %, Healthcare 16 %, Retail 14 %, Manufacturing 14 %, Education 10 %;
  effect +0.35, +0.25, +0.10, -0.15, 0, -0.45.
- geography: North America 45 %, Europe 30 %, APAC 15 %, LATAM 10 %; effect +0.10, 0, -0.05, -0.15.
- job_level: C-Level 6 %, VP 9 %, Director 15 %, Manager 25 %, Individual Contributor 35 %, Student 10 %;
  effect +0.50, +0.55, +0.45, +0.20, -0.20, -1.20.
- a latent engagement e ~ N(0, 1) drives behaviour: website_visits_30d ~ Poisson(exp(1.2 + 0.6 e)),
  email_opens ~ Poisson(exp(1.0 + 0.4 e)), email_clicks ~ Binomial(email_opens, sigmoid(-1.5 + 0.5 e)),
  content_downloads ~ Poisson(exp(-0.8 + 0.6 e)), demo_requested ~ Bernoulli(sigmoid(-2.6 + e)),
  days_since_first_visit = round(LogNormal(ln 20, 0.9)) capped at 365,
  page_views_per_visit = 0 without visits, else round(1 + Gamma(2, 0.8) x exp(0.2 e), 1).
- observable_logit = b0 + the effects above + 0.06 visits + 0.05 opens + 0.25 clicks + 0.20 downloads
  + 1.40 demo_requested - 0.012 days_since_first_visit + 0.15 page_views_per_visit, with b0 solved (bisection
  on the drawn leads) so that the mean probability is 21 %; p_convert = sigmoid(observable_logit + noise),
  noise ~ N(0, 0.5) per lead; converted ~ Bernoulli(p_convert).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from leadops.simulate.export import lead_ids, number_text, pick
from leadops.simulate.world import STREAM_TUTORIAL, SimulationConfig, rng_for

TUTORIAL_DEFAULT_LEADS = 2_000
TARGET_RATE = 0.21
NOISE_SD = 0.5
COLUMNS: tuple[str, ...] = (
    "lead_id",
    "company_size",
    "industry",
    "geography",
    "job_level",
    "website_visits_30d",
    "email_opens",
    "email_clicks",
    "content_downloads",
    "demo_requested",
    "days_since_first_visit",
    "page_views_per_visit",
    "converted",
)
SIZES = (("1-10", 0.22, -0.6), ("11-50", 0.28, -0.2), ("51-200", 0.24, 0.2), ("201-1000", 0.16, 0.4),
         ("1000+", 0.10, 0.3))  # fmt: skip
INDUSTRIES = (("Technology", 0.28, 0.35), ("Finance", 0.18, 0.25), ("Healthcare", 0.16, 0.10),
              ("Retail", 0.14, -0.15), ("Manufacturing", 0.14, 0.0), ("Education", 0.10, -0.45))  # fmt: skip
GEOGRAPHIES = (("North America", 0.45, 0.10), ("Europe", 0.30, 0.0), ("APAC", 0.15, -0.05),
               ("LATAM", 0.10, -0.15))  # fmt: skip
JOB_LEVELS = (("C-Level", 0.06, 0.50), ("VP", 0.09, 0.55), ("Director", 0.15, 0.45), ("Manager", 0.25, 0.20),
              ("Individual Contributor", 0.35, -0.20), ("Student", 0.10, -1.20))  # fmt: skip
WEIGHTS = {
    "website_visits_30d": 0.06,
    "email_opens": 0.05,
    "email_clicks": 0.25,
    "content_downloads": 0.20,
    "demo_requested": 1.40,
    "days_since_first_visit": -0.012,
    "page_views_per_visit": 0.15,
}


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _category(
    rng: np.random.Generator, spec: tuple[tuple[str, float, float], ...], n: int
) -> tuple[np.ndarray, np.ndarray]:
    """Draw a categorical column; returns (codes, logit effects)."""
    share = np.array([s[1] for s in spec])
    codes = rng.choice(len(spec), size=n, p=share / share.sum())
    return codes, np.array([s[2] for s in spec])[codes]


@dataclass
class TutorialData:
    """The flat file's columns and the ground truth behind them."""

    table: pa.Table
    truth: dict[str, np.ndarray]


def make_tutorial(cfg: SimulationConfig) -> TutorialData:
    """Draw the flat tutorial data set for cfg.leads leads."""
    rng = rng_for(cfg.seed, STREAM_TUTORIAL)
    n = cfg.leads
    size, e_size = _category(rng, SIZES, n)
    industry, e_ind = _category(rng, INDUSTRIES, n)
    geo, e_geo = _category(rng, GEOGRAPHIES, n)
    job, e_job = _category(rng, JOB_LEVELS, n)
    e = rng.normal(0.0, 1.0, n)
    cols: dict[str, np.ndarray] = {}
    cols["website_visits_30d"] = rng.poisson(np.exp(1.2 + 0.6 * e))
    cols["email_opens"] = rng.poisson(np.exp(1.0 + 0.4 * e))
    cols["email_clicks"] = rng.binomial(cols["email_opens"], _sigmoid(-1.5 + 0.5 * e))
    cols["content_downloads"] = rng.poisson(np.exp(-0.8 + 0.6 * e))
    cols["demo_requested"] = (rng.random(n) < _sigmoid(-2.6 + e)).astype(np.int64)
    cols["days_since_first_visit"] = np.minimum(np.round(np.exp(rng.normal(np.log(20.0), 0.9, n))), 365).astype(
        np.int64
    )
    ppv = np.round(1.0 + rng.gamma(2.0, 0.8, n) * np.exp(0.2 * e), 1)
    cols["page_views_per_visit"] = np.where(cols["website_visits_30d"] > 0, ppv, 0.0)
    noise = rng.normal(0.0, NOISE_SD, n)
    fit = e_size + e_ind + e_geo + e_job
    behaviour = sum((w * cols[c] for c, w in WEIGHTS.items()), np.zeros(n))
    lo, hi = -15.0, 15.0
    for _ in range(80):  # bisection for the intercept giving the target mean probability
        mid = (lo + hi) / 2
        if float(np.mean(_sigmoid(mid + fit + behaviour + noise))) < TARGET_RATE:
            lo = mid
        else:
            hi = mid
    b0 = (lo + hi) / 2
    observable = b0 + fit + behaviour
    p = _sigmoid(observable + noise)
    converted = rng.random(n) < p
    ids = lead_ids(np.arange(n))
    arrays = [
        ids,
        pick(tuple(s[0] for s in SIZES), size),
        pick(tuple(s[0] for s in INDUSTRIES), industry),
        pick(tuple(s[0] for s in GEOGRAPHIES), geo),
        pick(tuple(s[0] for s in JOB_LEVELS), job),
        *[number_text(cols[c].astype(np.float64) if c == "page_views_per_visit" else cols[c]) for c in COLUMNS[5:12]],
        number_text(converted.astype(np.int64)),
    ]
    table = pa.table(dict(zip(COLUMNS, arrays, strict=True)))
    truth = {
        "lead_id": np.asarray(ids.to_pylist(), dtype=object),
        "fit": fit,
        "intent": behaviour,
        "p_convert": p,
        "p_convert_no_contact": p,
        "contacted_by_sales": np.zeros(n, dtype=bool),
        "converted": converted,
        "observable_logit": observable,
        "noise": noise,
        "intercept": np.full(n, b0),
    }
    return TutorialData(table=table, truth=truth)
