"""The workspace's settings: one typed object read from leadops.yaml, LEADOPS_* variables overriding keys."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from pydantic import Field, ValidationError, field_validator

from leadops.config_safety import check_settings_paths, load_yaml
from leadops.errors import ConfigError, WorkspaceError
from leadops.settings.base import Section
from leadops.settings.business import BusinessSettings, moved_keys
from leadops.settings.crm import ContractsSpec, SourceSpec
from leadops.settings.evaluation import EvaluationSettings
from leadops.settings.experiments import ExperimentSpec, check_unique
from leadops.settings.features import FeaturesSpec, TrainingSpec
from leadops.settings.gates import GatesConfig
from leadops.settings.jobs import RoutingSpec, ScheduleSpec, ScoringSpec
from leadops.settings.models import ScorerSpec
from leadops.settings.monitoring import MonitoringSettings
from leadops.settings.privacy import PrivacySpec
from leadops.settings.registry import RegistrySettings
from leadops.settings.retraining import RetrainingSettings
from leadops.settings.security import SecuritySettings
from leadops.settings.serving import ServingSettings
from leadops.settings.simulate import SimulateSettings
from leadops.settings.warehouse import WarehouseSettings

CONFIG_FILE = "leadops.yaml"
ENV_PREFIX = "LEADOPS_"


class Settings(Section):
    """Everything a workspace declares; later parts add their own sections."""

    name: str = "leadops workspace"
    warehouse: WarehouseSettings = Field(default_factory=WarehouseSettings)
    registry: RegistrySettings = Field(default_factory=RegistrySettings)
    simulate: SimulateSettings = Field(default_factory=SimulateSettings)
    sources: list[SourceSpec] = Field(default_factory=list)
    contracts: ContractsSpec = Field(default_factory=ContractsSpec)
    features: FeaturesSpec = Field(default_factory=FeaturesSpec)
    training: TrainingSpec = Field(default_factory=TrainingSpec)
    models: dict[str, ScorerSpec] = Field(default_factory=dict)
    business: BusinessSettings = Field(default_factory=BusinessSettings)
    evaluation: EvaluationSettings = Field(default_factory=EvaluationSettings)
    gates: GatesConfig = Field(default_factory=GatesConfig)
    scoring: ScoringSpec = Field(default_factory=ScoringSpec)
    routing: RoutingSpec = Field(default_factory=RoutingSpec)
    schedule: ScheduleSpec = Field(default_factory=ScheduleSpec)
    privacy: PrivacySpec = Field(default_factory=PrivacySpec)
    security: SecuritySettings = Field(default_factory=SecuritySettings)
    serving: ServingSettings = Field(default_factory=ServingSettings)
    monitoring: MonitoringSettings = Field(default_factory=MonitoringSettings)
    retraining: RetrainingSettings = Field(default_factory=RetrainingSettings)
    experiments: list[ExperimentSpec] = Field(default_factory=list)

    # set by load(), not by the file
    workspace: Path = Field(default=Path("."), exclude=True)

    @field_validator("experiments")
    @classmethod
    def _unique_experiments(cls, value: list[ExperimentSpec]) -> list[ExperimentSpec]:
        return check_unique(value)

    def path(self, relative: str | Path) -> Path:
        """A path from the config, resolved inside the workspace."""
        candidate = Path(relative)
        return candidate if candidate.is_absolute() else self.workspace / candidate


def _env_overrides(environ: dict[str, str]) -> dict[str, Any]:
    """LEADOPS_WAREHOUSE__URL=... -> {"warehouse": {"url": "..."}} (double underscore nests)."""
    tree: dict[str, Any] = {}
    for key, value in environ.items():
        if not key.startswith(ENV_PREFIX):
            continue
        parts = [p.lower() for p in key[len(ENV_PREFIX) :].split("__") if p]
        # only settings keys: LEADOPS_ACTOR, LEADOPS_WORKSPACE, LEADOPS_TEST_PG_URL ... are not settings
        if not parts or parts[0] not in Settings.model_fields or parts[0] == "workspace":
            continue
        node = tree
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = load_yaml(value, where=key) if value[:1] in ("[", "{") else value
    return tree


def _merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def describe_validation_error(source: str, exc: ValidationError) -> str:
    """One readable line per problem: file, dotted key, what was expected, what came."""
    lines = []
    for err in exc.errors():
        key = ".".join(str(p) for p in err["loc"]) or "(top level)"
        got = err.get("input")
        shown = repr(got) if not isinstance(got, dict | list) else type(got).__name__
        lines.append(f"{source}: key '{key}': {err['msg']} (got {shown[:80]})")
    return "; ".join(lines)


def load(workspace: Path | str = ".", environ: dict[str, str] | None = None) -> Settings:
    """Read and validate the workspace's leadops.yaml with LEADOPS_* overrides; errors name file and key."""
    root = Path(workspace).resolve()
    file = root / CONFIG_FILE
    if not file.exists():
        raise WorkspaceError(f"no {CONFIG_FILE} in {root}", hint=f"run `leadops init {root}` or pass --workspace")
    data = load_yaml(file.read_text(encoding="utf-8"), where=str(file)) or {}
    if not isinstance(data, dict):
        raise ConfigError(f"{file}: expected a mapping of settings at the top level, got {type(data).__name__}")
    overrides = _env_overrides(dict(os.environ if environ is None else environ))
    merged = _merge(data, overrides)
    moved = moved_keys(merged)
    if moved:
        where = "; ".join(f"key '{old}' moved to '{new}'" for old, new in moved)
        raise ConfigError(
            f"{file}: {where}",
            hint="declare each once under `business:`; `leadops config show` prints the effective settings",
        )
    try:
        settings = Settings.model_validate(merged)
    except ValidationError as exc:
        source = f"{file}" + (" (with LEADOPS_* overrides)" if overrides else "")
        raise ConfigError(describe_validation_error(source, exc)) from exc
    settings.workspace = root
    check_settings_paths(settings)
    return settings


def effective(settings: Settings) -> dict[str, Any]:
    """The settings as plain data, credentials masked in every URL (warehouse, registry, sources)."""
    from leadops.redaction import redact_data

    data: dict[str, Any] = redact_data(settings.model_dump(mode="json"))
    data["workspace"] = str(settings.workspace)
    return data
