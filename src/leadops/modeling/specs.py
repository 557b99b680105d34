"""The `evaluation:` section: the business assumptions every model is measured under."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class EvaluationSettings(BaseModel):
    """What Sales can handle and what a conversion is worth: the yardstick for business figures."""

    model_config = ConfigDict(extra="forbid")

    capacity_per_day: int = Field(default=40, ge=1, description="leads Sales can work per business day")
    capacity_share: float = Field(
        default=0.10, gt=0, le=1, description="top share treated as capacity when leads carry no dates"
    )
    mql_threshold: float = Field(default=70.0, ge=0, le=100, description="score (0..100) at which a lead is an MQL")
    value_per_conversion: float = Field(default=20_000.0, ge=0, description="used when a conversion has no deal value")
    cost_per_contact: float = Field(default=150.0, ge=0, description="what one Sales contact costs")
    group_columns: list[str] = Field(
        default=["lead_source", "industry", "region", "company_size"],
        description="columns every metric is broken down by (missing ones are skipped)",
    )
    min_group_n: int = Field(default=200, ge=1, description="groups smaller than this are marked small")
    report_dir: str = Field(default="reports", description="where HTML validation reports go (workspace-relative)")
