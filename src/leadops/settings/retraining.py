"""The `retraining:` section: when `leadops retrain` trains a fresh model, and what it does with it."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from leadops.settings.base import Section
from leadops.settings.experiments import GuardrailSpec, KpiSpec


class DriftTrigger(Section):
    """Retrain when the champion's latest monitored run drifted this much."""

    min_features: int = Field(default=3, ge=1, description="drifted features that fire the trigger")
    on_score: bool = Field(default=True, description="a drifted score fires it on its own")


class ExperimentTemplate(Section):
    """How `action: experiment` tests a fresh challenger against the champion before it may be promoted."""

    challenger_weight: float = Field(default=0.5, gt=0, lt=1, description="share of the units the challenger gets")
    unit: Literal["lead", "account"] = "lead"
    days: int = Field(default=28, ge=1, description="the experiment takes new units for this many days")
    primary_kpi: KpiSpec = Field(default_factory=KpiSpec)
    guardrails: GuardrailSpec = Field(default_factory=GuardrailSpec)
    alpha: float = Field(default=0.05, gt=0, lt=0.5)
    mde: float | None = Field(default=0.10, gt=0, description="relative minimum detectable effect it is planned for")
    sequential: bool = True


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
    action: Literal["promote", "challenger", "experiment"] = Field(
        default="challenger",
        description="promote: the new version becomes champion when every gate passes (else it stays a shadowed "
        "challenger); challenger: always a shadowed challenger for review; experiment: the new version (gates "
        "passed) is A/B tested against the champion and promoted only by a 'ship' readout",
    )
    experiment: ExperimentTemplate = Field(
        default_factory=ExperimentTemplate, description="how action: experiment tests the challenger"
    )
