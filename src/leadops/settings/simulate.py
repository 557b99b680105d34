"""The `simulate:` section: defaults for the fictional company."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import Field

from leadops.settings.base import Section


class ClosedLoopSettings(Section):
    """`leadops simulate --closed-loop`: the company day by day with leadops in it (see leadops.closed_loop)."""

    leads_per_day: float | None = Field(
        default=None, gt=0, description="new leads per day (weekday-heavy); empty = the history's rate"
    )
    history_days: int = Field(
        default=300, ge=30, description="a workspace without a history first gets this many days in one pass"
    )
    history_start: date = Field(
        default=date(2024, 1, 1), description="first day of that one-pass history (fixed: reruns are identical)"
    )
    models: list[str] = Field(
        default_factory=lambda: ["predictive"],
        description="configured models trained on the history; the first becomes champion, the others challengers",
    )
    score_on: Literal["every_day", "business_days"] = Field(
        default="business_days",
        description="mornings the scoring job runs: Sales works business days, so a weekend run changes nothing it "
        "sees (every_day: as the schedule does)",
    )
    monitor_every_days: int = Field(
        default=7,
        ge=1,
        description="`monitor` the night's run this often, when the workspace has a monitoring: section",
    )
    retrain_every_days: int = Field(
        default=7, ge=1, description="run the retraining policy this often, when retraining: declares a trigger"
    )
    keep_day_files: bool = Field(default=False, description="keep each day's CRM export under source/closed_loop/")
    exports: bool = Field(default=False, description="write the nightly job's CRM export files every simulated night")


class SimulateSettings(Section):
    """Defaults for `leadops simulate` (the fictional company)."""

    scenario: str = "baseline"
    leads: int = Field(default=20_000, ge=10)
    days: int = Field(default=365, ge=7)
    seed: int = 42
    fault_rate: float = Field(default=0.02, ge=0.0, le=0.5)
    export_format: Literal["flat", "salesforce"] = Field(
        default="flat", description="flat: one CSV per canonical table; salesforce: one CSV per Salesforce object"
    )
    closed_loop: ClosedLoopSettings = Field(default_factory=ClosedLoopSettings)
