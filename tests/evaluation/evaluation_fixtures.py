"""Synthetic evaluation data shared by the evaluation tests (deterministic seeds)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd


@dataclass
class GroupScenario:
    """Leads where the challenger beats the champion overall but is much worse for webinar leads."""

    y: np.ndarray
    true_p: np.ndarray
    champion: np.ndarray
    challenger: np.ndarray
    groups: pd.DataFrame


def sigmoid(x: np.ndarray) -> np.ndarray:
    """Logistic function."""
    return 1.0 / (1.0 + np.exp(-x))


def group_scenario(n: int = 12000, seed: int = 7) -> GroupScenario:
    """Champion: true logit + noise (sd 1.5) everywhere; challenger: sharper (sd 0.2) except for webinar
    leads, whose challenger score is pure noise near the middle. Also a tiny 'partner' group where the
    challenger is inverted."""
    rng = np.random.default_rng(seed)
    source = rng.choice(["organic", "paid", "webinar", "partner"], size=n, p=[0.45, 0.4, 0.14, 0.01])
    logit = rng.normal(-1.5, 1.3, n)
    p = sigmoid(logit)
    y = (rng.random(n) < p).astype(int)
    champion = logit + rng.normal(0, 1.5, n)
    challenger = logit + rng.normal(0, 0.2, n)
    web = source == "webinar"
    challenger[web] = rng.normal(-1.5, 0.5, web.sum())
    part = source == "partner"
    challenger[part] = -logit[part]
    region = rng.choice(["emea", "amer"], size=n)
    return GroupScenario(
        y=y,
        true_p=p,
        champion=sigmoid(champion),
        challenger=sigmoid(challenger),
        groups=pd.DataFrame({"lead_source": source, "region": region}),
    )


def business_kwargs(**over: float) -> dict[str, float]:
    """The business settings most tests use."""
    kw: dict[str, float] = {
        "capacity_k": 500,
        "mql_threshold": 0.5,
        "value_per_conversion": 1000.0,
        "cost_per_contact": 50.0,
    }
    kw.update(over)
    return kw
