"""The `registry:` section: the MLflow registry of the workspace's scoring model."""

from __future__ import annotations

from pydantic import Field

from leadops.settings.base import Section


class RegistrySettings(Section):
    """The MLflow registry that keeps every scoring model's versions."""

    uri: str = Field(
        default="sqlite:///mlflow.db",
        description="MLflow tracking/registry URI; sqlite path relative to workspace",
    )
    model_name: str = Field(default="lead_score", description="the one registered scoring model of this workspace")
