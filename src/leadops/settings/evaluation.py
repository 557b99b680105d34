"""The `evaluation:` section: how every model is measured (the business facts live under `business:`)."""

from __future__ import annotations

from pydantic import Field

from leadops.settings.base import Section


class EvaluationSettings(Section):
    """Group columns and the report folder; capacity, MQL threshold and values come from `business:`."""

    group_columns: list[str] = Field(
        default=["lead_source", "industry", "region", "company_size"],
        description="columns every metric is broken down by (missing ones are skipped)",
    )
    min_group_n: int = Field(default=200, ge=1, description="groups smaller than this are marked small")
    report_dir: str = Field(default="reports", description="where HTML validation reports go (workspace-relative)")
