"""The textbook tutorial's flat data set, drawn exactly as the book draws it (issue 8, Build 7).

The book seeds NumPy's legacy global generator (`np.random.seed(42)`) and draws, in this order, for n rows:
company_size, industry, geography, job_level (np.random.choice with the shares below), website_visits_30d =
poisson(5), email_opens = poisson(3), email_clicks = poisson(1), content_downloads = poisson(2),
demo_requested = choice([0, 1], p=[.85, .15]), days_since_first_visit = exponential(30),
page_views_per_visit = gamma(2, 2), then the noise normal(0, .3) of the logit and converted =
binomial(1, sigmoid(logit)). A `RandomState(seed)` yields the very same stream without touching the
process-wide generator. At n = 2,000 and seed 42 exactly 20.85 % convert, as the book reports.

The file has exactly the book's columns (no lead id: the example's mapping derives one from the row, so a
lead's id is `tutorial:<row>`, which is how the ground truth names it).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from leadops.simulate.export import number_text
from leadops.simulate.world import SimulationConfig

TUTORIAL_DEFAULT_LEADS = 2_000
TUTORIAL_SOURCE = "tutorial"  # the example's source name: ids are f"{TUTORIAL_SOURCE}:{row}"
INTERCEPT = -2.5
NOISE_SD = 0.3
COLUMNS: tuple[str, ...] = (
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
# (values, shares, logit effect of each value) in the book's order
COMPANY_SIZE = (("micro", "smb", "mid_market", "enterprise"), (0.4, 0.3, 0.2, 0.1), (0.0, 0.3, 0.6, 0.8))
INDUSTRY = (
    ("technology", "finance", "healthcare", "manufacturing", "other"),
    (0.25, 0.2, 0.2, 0.2, 0.15),
    (0.4, 0.3, 0.0, 0.0, 0.0),
)
GEOGRAPHY = (("tier1", "tier2", "tier3", "international"), (0.3, 0.3, 0.3, 0.1), (0.0, 0.0, 0.0, 0.0))
JOB_LEVEL = (("individual", "manager", "vp_director", "c_level"), (0.4, 0.3, 0.2, 0.1), (0.0, 0.3, 0.5, 0.7))


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


Choice = tuple[tuple[str, ...], tuple[float, ...], tuple[float, ...]]


def _choice(rs: np.random.RandomState, spec: Choice, n: int) -> tuple[np.ndarray, np.ndarray]:
    """np.random.choice over the value names (the book's call), and each row's logit effect."""
    values = rs.choice(list(spec[0]), n, p=list(spec[1]))
    effect = dict(zip(spec[0], spec[2], strict=True))
    return values, np.array([effect[v] for v in values.tolist()], dtype=float)


@dataclass
class TutorialData:
    """The flat file's columns and the ground truth behind them."""

    table: pa.Table
    truth: dict[str, np.ndarray]


def tutorial_ids(n: int) -> np.ndarray:
    """The lead ids ingest derives from the rows (`id_from_row` on the source named `tutorial`)."""
    return np.array([f"{TUTORIAL_SOURCE}:{i}" for i in range(1, n + 1)], dtype=object)


def make_tutorial(cfg: SimulationConfig) -> TutorialData:
    """Draw the book's data set for cfg.leads leads with the book's generator seeded by cfg.seed."""
    rs = np.random.RandomState(cfg.seed)
    n = cfg.leads
    size, e_size = _choice(rs, COMPANY_SIZE, n)
    industry, e_ind = _choice(rs, INDUSTRY, n)
    geography, _ = _choice(rs, GEOGRAPHY, n)
    job, e_job = _choice(rs, JOB_LEVEL, n)
    visits = rs.poisson(5, n)
    opens = rs.poisson(3, n)
    clicks = rs.poisson(1, n)
    downloads = rs.poisson(2, n)
    demo = rs.choice([0, 1], n, p=[0.85, 0.15])
    days = rs.exponential(30, n)
    ppv = rs.gamma(2, 2, n)
    fit = e_size + e_job + e_ind
    intent = 0.05 * np.log1p(visits) + 0.1 * np.log1p(clicks) + 1.2 * demo + 0.02 * np.log1p(downloads)
    noise = rs.normal(0, NOISE_SD, n)
    observable = INTERCEPT + fit + intent
    p = _sigmoid(observable + noise)
    converted = rs.binomial(1, p)
    arrays = [
        pa.array(size.tolist(), pa.string()),
        pa.array(industry.tolist(), pa.string()),
        pa.array(geography.tolist(), pa.string()),
        pa.array(job.tolist(), pa.string()),
        *[number_text(v) for v in (visits, opens, clicks, downloads, demo)],
        pa.array([repr(float(v)) for v in days.tolist()], pa.string()),
        pa.array([repr(float(v)) for v in ppv.tolist()], pa.string()),
        number_text(converted.astype(np.int64)),
    ]
    table = pa.table(dict(zip(COLUMNS, arrays, strict=True)))
    truth = {
        "lead_id": tutorial_ids(n),
        "fit": fit,
        "intent": intent,
        "p_convert": p,
        "p_convert_no_contact": p,
        "contacted_by_sales": np.zeros(n, dtype=bool),
        "converted": converted.astype(bool),
        "observable_logit": observable,
        "noise": noise,
        "intercept": np.full(n, INTERCEPT),
    }
    return TutorialData(table=table, truth=truth)
