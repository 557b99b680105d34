"""The base of every settings section: unknown keys are errors, so a typo in leadops.yaml never goes unnoticed."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Section(BaseModel):
    """Base of every settings section: unknown keys are errors."""

    model_config = ConfigDict(extra="forbid")
