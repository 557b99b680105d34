"""Where the MLflow tracking/registry store is: the workspace's sqlite file by default, any URI as given."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from leadops.config import Settings

if TYPE_CHECKING:
    from mlflow import MlflowClient

EXPERIMENT = "leadops"
SQLITE = "sqlite:///"


def tracking_uri(settings: Settings) -> str:
    """settings.registry.uri with a relative sqlite path made absolute in the workspace; others as is."""
    uri = settings.registry.uri
    if uri.startswith(SQLITE):
        raw = uri[len(SQLITE) :]
        if raw and raw != ":memory:" and not raw.startswith("/"):
            return SQLITE + str(settings.path(raw).resolve())
    return uri


def artifact_root(uri: str) -> str | None:
    """Where a new experiment keeps its artifacts: beside a sqlite file; the server's choice otherwise."""
    if uri.startswith(SQLITE):
        db = Path(uri[len(SQLITE) :])
        return str(db.parent / "mlartifacts")
    return None


def cache_key(uri: str) -> str:
    """The tracking URI as written into the local alias cache (never with a password)."""
    if "@" not in uri:
        return uri
    from leadops.warehouse.connection import redact  # imports pyarrow: only for URIs with credentials

    return redact(uri)


def open_client(uri: str) -> MlflowClient:
    """An MlflowClient on `uri` (imports mlflow: ~1 s; only registry commands and cold loads pay it)."""
    import logging

    import mlflow
    from mlflow import MlflowClient

    # MLflow's INFO chatter (schema creation) and its signature-inference warning for our DataFrame-in,
    # DataFrame-out pyfunc would drown leadops' own one-line output.
    logging.getLogger("mlflow").setLevel(logging.WARNING)
    logging.getLogger("mlflow.pyfunc").setLevel(logging.ERROR)
    if uri.startswith(SQLITE):
        Path(uri[len(SQLITE) :]).parent.mkdir(parents=True, exist_ok=True)
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    return MlflowClient(tracking_uri=uri, registry_uri=uri)


def experiment_id(client: Any, uri: str) -> str:
    """The id of the `leadops` experiment, created on first use."""
    found = client.get_experiment_by_name(EXPERIMENT)
    if found is not None:
        return str(found.experiment_id)
    return str(client.create_experiment(EXPERIMENT, artifact_location=artifact_root(uri)))
