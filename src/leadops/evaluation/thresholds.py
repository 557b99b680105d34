"""The MQL threshold chosen from data: the score at which the expected MQLs match Sales' capacity.

Pure and label-free: the threshold is the score of the k-th best lead of a reference sample (the validation
split), where k is what Sales can take over the sample's span (capacity per business day x business days, or
the capacity share of the rows when leads carry no dates). Routing a new day's leads at that score then sends
Sales, on average, what it can work: no empty queue on a low-base-rate company, no flood on a high one.
When Sales could take more than the lead flow, the threshold never falls below the expected-value
break-even: the lowest score whose calibrated probability x value per conversion covers the cost of a contact.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd

from leadops.evaluation.errors import EvaluationError
from leadops.settings.business import BusinessSettings

METHOD = "capacity"
"""How the threshold was chosen: the score where expected MQLs match Sales capacity (or "break_even")."""


def capacity_k(business: BusinessSettings, n: int, times: pd.Series | None) -> int:
    """Leads Sales can take over a sample of n leads: per business day x business days spanned, or a share of n."""
    if n <= 0:
        return 0
    cap = business.capacity
    if times is not None and len(times) == n and bool(pd.notna(times).all()):
        stamps = pd.to_datetime(times)
        days = pd.bdate_range(stamps.min().normalize(), stamps.max().normalize())
        k = cap.total_per_day() * max(len(days), 1)
    else:
        k = round(cap.share * n)
    return int(min(max(k, 1), n))


def capacity_threshold(scores: np.ndarray | pd.Series, k: int) -> float:
    """The score of the k-th highest lead: routing at `score >= it` sends about k of these leads to Sales."""
    values = np.asarray(scores, dtype=float)
    values = values[np.isfinite(values)]
    if values.size == 0:
        raise EvaluationError("capacity_threshold: expected at least one finite score, got none")
    if k < 1:
        raise EvaluationError(f"capacity_threshold: expected k >= 1, got {k}")
    ordered = np.sort(values)[::-1]
    return float(ordered[min(k, ordered.size) - 1])


@dataclass(frozen=True)
class RoutingChoice:
    """The MQL threshold a model version routes with, and where it came from (stored with the version)."""

    mql_threshold: float
    method: str
    sample: str
    sample_rows: int
    capacity_k: int
    mql_share: float
    capacity_score: float | None = None
    break_even_score: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-able dict (the bundle manifest's `extras.routing`)."""
        return asdict(self)


def break_even_score(scores: np.ndarray, probabilities: np.ndarray, business: BusinessSettings) -> float | None:
    """The lowest score whose probability x value per conversion >= cost per contact (None: no probabilities)."""
    p = np.asarray(probabilities, dtype=float)
    s = np.asarray(scores, dtype=float)
    known = np.isfinite(p) & np.isfinite(s)
    if not known.any():
        return None
    worth = known & (p * business.value_per_conversion >= business.cost_per_contact)
    return float(s[worth].min()) if worth.any() else float(s[known].max())


def choose_threshold(
    scores: np.ndarray | pd.Series,
    business: BusinessSettings,
    times: pd.Series | None,
    *,
    sample: str,
    probabilities: np.ndarray | pd.Series | None = None,
) -> RoutingChoice:
    """The business threshold when declared, else the capacity score (floored at the expected-value break-even)."""
    values = np.asarray(scores, dtype=float)
    k = capacity_k(business, len(values), times)
    capacity = capacity_threshold(values, max(k, 1)) if len(values) else None
    even = None if probabilities is None or not len(values) else break_even_score(values, probabilities, business)
    if business.mql_threshold is not None:
        threshold, method = float(business.mql_threshold), "business.mql_threshold"
    elif capacity is None:
        raise EvaluationError("choose_threshold: expected scores of at least one lead to choose the MQL threshold")
    elif even is not None and even > capacity:
        threshold, method = even, "break_even"
    else:
        threshold, method = capacity, METHOD
    share = float(np.mean(values >= threshold)) if len(values) else 0.0
    return RoutingChoice(
        round(threshold, 6),
        method,
        sample,
        len(values),
        k,
        round(share, 6),
        None if capacity is None else round(capacity, 6),
        None if even is None else round(even, 6),
    )
