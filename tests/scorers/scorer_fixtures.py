"""Synthetic leads with a known conversion model and one spec per scorer type, for the contract checks."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

INDUSTRIES = ["Technology", "Finance", "Healthcare", "Retail", "Education"]
LEVELS = ["c_level", "vp", "director", "manager", "individual_contributor", "student"]


def make_leads(n: int, seed: int = 0) -> tuple[pd.DataFrame, pd.Series]:
    """Leads with firmographics and activity counts; conversion drawn from a known logistic model."""
    rng = np.random.default_rng(seed)
    industry = rng.choice(INDUSTRIES, n, p=[0.3, 0.2, 0.2, 0.15, 0.15])
    level = rng.choice(LEVELS, n)
    employees = np.round(np.exp(rng.normal(5, 1.5, n))).astype(int)
    clicks = rng.poisson(1.5, n)
    demos = rng.binomial(1, 0.15, n)
    days = rng.integers(0, 90, n).astype(float)
    competitor = rng.random(n) < 0.05
    logit = (
        -2.2
        + 0.8 * (industry == "Technology")
        - 0.6 * (industry == "Education")
        + 0.5 * np.isin(level, ["c_level", "vp"])
        - 1.0 * (level == "student")
        + 0.25 * np.log1p(employees)
        + 0.3 * clicks
        + 1.4 * demos
        - 0.012 * days
        - 2.0 * competitor
    )
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    idx = pd.Index([f"L{i:05d}" for i in range(n)], name="lead_id")
    X = pd.DataFrame(
        {
            "industry": pd.Series(industry, dtype="str"),
            "job_level": pd.Series(level, dtype="str"),
            "employees": employees,
            "email_clicks_30d": clicks,
            "demo_requests_30d": demos,
            "days_since_last_activity": days,
            "is_competitor": competitor,
        }
    )
    X.index = idx
    return X, pd.Series(y, index=idx, name="converted")


LABELS = {
    "email_clicks_30d": "email clicks in the last 30 days",
    "demo_requests_30d": "demo requests in the last 30 days",
    "is_competitor": "works for a competitor",
}

POINTS: dict[str, Any] = {
    "type": "points",
    "base": 10,
    "clamp": {"min": 0, "max": 100},
    "groups": {"behavioural": {"max": 50}},
    "feature_labels": LABELS,
    "rules": [
        {
            "feature": "industry",
            "when": {"equals": "Technology"},
            "points": 20,
            "reason": "Industry is {value}",
        },
        {"feature": "job_level", "when": {"in": ["c_level", "vp"]}, "points": 15},
        {"feature": "employees", "when": {"gte": 200}, "points": 10, "reason": "{value} employees"},
        {
            "feature": "is_competitor",
            "when": {"is_true": True},
            "points": -50,
            "reason": "Works for a competitor",
        },
        {
            "feature": "demo_requests_30d",
            "group": "behavioural",
            "when": {"gte": 1},
            "points": 30,
            "reason": "Requested a demo {days} days ago",
            "decay": {"days_feature": "days_since_last_activity", "rate_per_week": 0.05},
        },
        {"feature": "email_clicks_30d", "group": "behavioural", "when": {"between": [1, 100]}, "points": 10},
    ],
    "calibration": {"method": "platt"},
}
ICP: dict[str, Any] = {
    "type": "icp_fit",
    "attributes": [
        {"feature": "industry", "weight": 3, "values": ["Technology", "Finance"]},
        {"feature": "job_level", "weight": 2, "values": {"c_level": 1.0, "vp": 1.0, "director": 0.5}},
        {"feature": "employees", "weight": 2, "range": {"min": 200, "max": 100000}},
        {"feature": "is_competitor", "weight": 1, "values": [False]},
    ],
}
ICP_LEARNED: dict[str, Any] = {
    "type": "icp_fit",
    "learn": True,
    "attributes": [{"feature": f} for f in ["industry", "job_level", "employees", "is_competitor"]],
    "calibration": {"method": "isotonic"},
}
ENGAGEMENT: dict[str, Any] = {
    "type": "engagement",
    "feature_labels": LABELS,
    "activities": [
        {"feature": "email_clicks_30d", "weight": 5, "days_since_feature": "days_since_last_activity"},
        {"feature": "demo_requests_30d", "weight": 30, "days_since_feature": "days_since_last_activity"},
    ],
    "half_life_days": 30,
    "scale": 30,
}
ENGAGEMENT_LEARNED: dict[str, Any] = {**ENGAGEMENT, "learn_weights": True}
SCORECARD: dict[str, Any] = {"type": "scorecard", "feature_labels": LABELS, "class_weight": "balanced"}
LIGHTGBM: dict[str, Any] = {
    "type": "lightgbm",
    "n_estimators": 60,
    "num_threads": 1,
    "feature_labels": LABELS,
    "calibration": {"method": "isotonic", "cv": 2},
}
MATRIX: dict[str, Any] = {"type": "matrix", "fit": ICP, "engagement": ENGAGEMENT}
BLEND: dict[str, Any] = {
    "type": "blend",
    "components": {"rules": {"weight": 1, "scorer": POINTS}, "model": {"weight": 2, "scorer": SCORECARD}},
}

ALL_SPECS: dict[str, dict[str, Any]] = {
    "points": POINTS,
    "icp_fit": ICP,
    "icp_fit_learned": ICP_LEARNED,
    "engagement": ENGAGEMENT,
    "engagement_learned": ENGAGEMENT_LEARNED,
    "scorecard": SCORECARD,
    "lightgbm": LIGHTGBM,
    "matrix": MATRIX,
    "blend": BLEND,
}
