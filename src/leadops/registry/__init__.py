"""The model registry: MLflow versions and aliases, lineage, the warehouse audit log, load by alias.

Importing this package does not import mlflow; only registry commands and cold artifact loads do.
"""

from leadops.actor import default_actor
from leadops.registry.errors import ArtifactIntegrityError, RegistryError, RegistryUnavailableError
from leadops.registry.loading import load_artifact_dir
from leadops.registry.records import CHALLENGER, CHAMPION, AuditEntry, ModelVersion
from leadops.registry.registry import Registry
from leadops.registry.store import tracking_uri

__all__ = [
    "CHALLENGER",
    "CHAMPION",
    "ArtifactIntegrityError",
    "AuditEntry",
    "ModelVersion",
    "Registry",
    "RegistryError",
    "RegistryUnavailableError",
    "default_actor",
    "load_artifact_dir",
    "tracking_uri",
]
