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
    timeout_seconds: int = Field(
        default=5, ge=1, le=600, description="seconds one MLflow HTTP request may take (MLFLOW_HTTP_REQUEST_TIMEOUT)"
    )
    max_retries: int = Field(
        default=2, ge=0, le=10, description="retries of a failed MLflow HTTP request (MLFLOW_HTTP_REQUEST_MAX_RETRIES)"
    )
    backoff_seconds: int = Field(
        default=1,
        ge=0,
        le=60,
        description="backoff factor between retries: waits 0, 2x, 4x ... (MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR)",
    )
