"""The `business:` section: the facts about the company that evaluation, gates, routing and simulation share."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, model_validator

from leadops.settings.base import Section


class SalesCapacity(Section):
    """How many NEW leads Sales can take per business day: in total, per territory (region) or per rep."""

    per_day: int = Field(default=40, ge=0, description="total, or per region / per rep depending on `by`")
    by: Literal["total", "region", "rep"] = "total"
    regions: dict[str, int] = Field(default_factory=dict, description="by: region: per-region overrides of per_day")
    reps: dict[str, list[str]] = Field(default_factory=dict, description="by: rep: region -> its reps")
    share: float = Field(
        default=0.10, gt=0, le=1, description="when leads carry no dates: the top share of leads Sales can work"
    )

    @model_validator(mode="after")
    def _reps_given(self) -> SalesCapacity:
        if self.by == "rep" and not any(self.reps.values()):
            raise ValueError("capacity.by is 'rep': expected capacity.reps mapping each region to its reps, got none")
        return self

    def total_per_day(self) -> int:
        """New leads Sales takes per day across every territory or rep (what evaluation counts as capacity)."""
        if self.by == "rep":
            return self.per_day * sum(len(reps) for reps in self.reps.values())
        if self.by == "region" and self.regions:
            return sum(self.regions.values())
        return self.per_day


class BusinessSettings(Section):
    """What Sales can handle, when a lead is an MQL, what a conversion is worth and what a contact costs."""

    mql_threshold: float | None = Field(
        default=None,
        ge=0,
        le=100,
        description="score (0..100) from which a lead is an MQL; empty = chosen by `train` on the validation set",
    )
    capacity: SalesCapacity = Field(default_factory=SalesCapacity)
    value_per_conversion: float = Field(default=20_000.0, gt=0, description="used when a conversion has no deal value")
    cost_per_contact: float = Field(default=150.0, ge=0, description="what one Sales contact costs")

    def declared_capacity(self) -> int | None:
        """Sales' new leads per day when the workspace declares `business.capacity` (the simulator's Sales team)."""
        return self.capacity.total_per_day() if "capacity" in self.model_fields_set else None


MOVED_KEYS: dict[str, str] = {
    "evaluation.mql_threshold": "business.mql_threshold",
    "evaluation.capacity_per_day": "business.capacity.per_day",
    "evaluation.capacity_share": "business.capacity.share",
    "evaluation.value_per_conversion": "business.value_per_conversion",
    "evaluation.cost_per_contact": "business.cost_per_contact",
    "routing.threshold": "business.mql_threshold",
    "routing.capacity": "business.capacity",
    "routing.expected_value": "business.value_per_conversion and business.cost_per_contact",
}
"""Keys that used to be declared twice (evaluation.*, routing.*) and now live once under `business:`."""


def moved_keys(data: dict[str, Any]) -> list[tuple[str, str]]:
    """(old key, where it lives now) for every moved key a raw settings mapping still uses."""
    found = []
    for old, new in MOVED_KEYS.items():
        section, key = old.split(".", 1)
        body = data.get(section)
        if isinstance(body, dict) and key in body:
            found.append((old, new))
    return found
