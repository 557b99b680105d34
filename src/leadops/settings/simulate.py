"""The `simulate:` section: defaults for the fictional company."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from leadops.settings.base import Section


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
