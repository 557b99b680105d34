"""The `gates:` section: what a model must pass before it may become the champion."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class _Strict(BaseModel):
    """Base of every gate model: unknown keys are an error, so a misspelt gate is never silently ignored."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class AbsoluteGates(_Strict):
    """Floors and ceilings the model must meet on its own (None = not checked)."""

    min_auc: float | None = Field(default=None, ge=0.0, le=1.0)
    min_pr_auc: float | None = Field(default=None, ge=0.0, le=1.0)
    max_brier: float | None = Field(default=None, ge=0.0, le=1.0)
    max_log_loss: float | None = Field(default=None, ge=0.0)
    min_captured_at_capacity: float | None = Field(default=None, ge=0.0, le=1.0)
    min_mql_conversion_rate: float | None = Field(default=None, ge=0.0, le=1.0)


class ChampionGates(_Strict):
    """How much worse than the champion the challenger may be, overall (absolute differences)."""

    max_auc_drop: float | None = Field(default=0.01, ge=0.0)
    max_captured_at_capacity_drop: float | None = Field(default=0.02, ge=0.0)


class GroupGates(_Strict):
    """No group may be worse than under the champion by more than max_group_auc_drop (groups marked small
    in either report are skipped). columns=None means every group column the report holds."""

    columns: list[str] | None = None
    max_group_auc_drop: float | None = Field(default=0.03, ge=0.0)


class CalibrationGates(_Strict):
    """Bounds on calibration (for probabilities; a score-only model fails a declared bound)."""

    max_ece: float | None = Field(default=None, ge=0.0, le=1.0)
    max_calibration_in_the_large: float | None = Field(default=None, ge=0.0, le=1.0)


class TrainingDataGates(_Strict):
    """Minimum training data before a model may be trusted at all."""

    min_train_rows: int = Field(default=1000, ge=0)
    min_train_conversions: int = Field(default=120, ge=0)


class GatesConfig(_Strict):
    """Every gate, as declared under `gates:` in leadops.yaml."""

    absolute: AbsoluteGates = Field(default_factory=AbsoluteGates)
    champion: ChampionGates = Field(default_factory=ChampionGates)
    groups: GroupGates = Field(default_factory=GroupGates)
    calibration: CalibrationGates = Field(default_factory=CalibrationGates)
    training: TrainingDataGates = Field(default_factory=TrainingDataGates)
