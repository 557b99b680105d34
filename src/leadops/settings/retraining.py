"""The `retraining:` section: when `leadops retrain` trains a fresh model, and what it does with it."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from leadops.settings.base import Section


class DriftTrigger(Section):
    """Retrain when the champion's latest monitored run drifted this much."""

    min_features: int = Field(default=3, ge=1, description="drifted features that fire the trigger")
    on_score: bool = Field(default=True, description="a drifted score fires it on its own")


class RetrainingSettings(Section):
    """Triggers (any one fires), a minimum of data, and the action: promote through the gates, or a challenger."""

    model: str | None = Field(
        default=None, description="the configured model to retrain (default: the champion's scorer name)"
    )
    every_days: int | None = Field(default=None, ge=1, description="retrain once the champion is this many days old")
    on_drift: DriftTrigger | None = Field(default=None, description="retrain on drift found by `leadops monitor`")
    on_performance_drop: bool = Field(
        default=False,
        description="retrain when the champion's latest monitored run raised a performance_drop or concept_drift alert",
    )
    new_labels: int | None = Field(
        default=None, ge=1, description="retrain once this many conversions arrived since the champion was trained"
    )
    min_new_rows: int = Field(
        default=0, ge=0, description="never retrain on fewer training rows than the champion plus this many"
    )
    action: Literal["promote", "challenger"] = Field(
        default="challenger",
        description="promote: the new version becomes champion when every gate passes (else it stays a shadowed "
        "challenger); challenger: always a shadowed challenger for review",
    )
