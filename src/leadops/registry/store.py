"""Where the MLflow tracking/registry store is, and how leadops talks to it: bounded, quiet, outage-aware.

The workspace's sqlite file is the default, any URI works. Every MLflow HTTP request is bounded by the
`registry:` section (MLflow's own MLFLOW_HTTP_REQUEST_* settings, set from it), MLflow's own prints never reach
stdout (`--json` stays one JSON object), and an unreachable server is told apart from a real answer.
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from leadops.config import Settings
from leadops.redaction import redact_text, redact_url
from leadops.registry.errors import RegistryError, RegistryUnavailableError
from leadops.settings.registry import RegistrySettings

if TYPE_CHECKING:
    from mlflow import MlflowClient

EXPERIMENT = "leadops"
SQLITE = "sqlite:///"
ARTIFACTS = "mlartifacts"
DATABASE_SCHEMES = ("sqlite", "postgresql", "postgres", "mysql", "mssql")
SCHEMA_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# MLflow error codes that mean the server answered (the request was understood and refused), never an outage.
ANSWERED = {
    "RESOURCE_DOES_NOT_EXIST",
    "RESOURCE_ALREADY_EXISTS",
    "INVALID_PARAMETER_VALUE",
    "INVALID_STATE",
    "PERMISSION_DENIED",
    "UNAUTHENTICATED",
    "BAD_REQUEST",
    "NOT_FOUND",
    "ALREADY_EXISTS",
}


def tracking_uri(settings: Settings) -> str:
    """settings.registry.uri with a relative sqlite path made absolute in the workspace, a PostgreSQL URL in
    SQLAlchemy's psycopg 3 form (`?schema=` as its search_path); other URIs as they are."""
    uri = settings.registry.uri
    if uri.startswith(SQLITE):
        raw = uri[len(SQLITE) :]
        if raw and raw != ":memory:" and not raw.startswith("/"):
            return SQLITE + str(settings.path(raw).resolve())
    if is_postgres(uri):
        return postgres_store_uri(uri)
    return uri


def _scheme(uri: str) -> str:
    """The database engine of a URI ("postgresql+psycopg://..." -> "postgresql"), lower case."""
    return uri.split(":", 1)[0].split("+", 1)[0].lower() if "://" in uri else ""


def is_database(uri: str) -> bool:
    """True for MLflow's SQL stores (sqlite, PostgreSQL, MySQL, SQL Server): artifacts live in the workspace."""
    return _scheme(uri) in DATABASE_SCHEMES


def is_postgres(uri: str) -> bool:
    """True for a PostgreSQL URI, with or without a SQLAlchemy driver (`postgresql+psycopg://`)."""
    return _scheme(uri) in ("postgresql", "postgres")


def postgres_store_uri(uri: str) -> str:
    """`postgresql://u:p@h/db?schema=s` as SQLAlchemy opens it with psycopg 3 (the driver leadops installs):
    `postgresql+psycopg://u:p@h/db?options=-csearch_path%3Ds`; an explicit driver is kept."""
    parts = urlsplit(uri)
    scheme = parts.scheme.lower()
    if scheme in ("postgresql", "postgres"):
        scheme = "postgresql+psycopg"
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    schema = next((v for k, v in pairs if k == "schema"), None)
    pairs = [(k, v) for k, v in pairs if k != "schema"]
    if schema is not None:
        if not SCHEMA_NAME.match(schema):
            raise RegistryError(f"registry.uri schema {schema!r} is not a plain name; expected letters, digits and '_'")
        options = next((v for k, v in pairs if k == "options"), "")
        pairs = [(k, v) for k, v in pairs if k != "options"]
        pairs.append(("options", f"{options} -csearch_path={schema}".strip()))
    return urlunsplit(parts._replace(scheme=scheme, query=urlencode(pairs)))


def _libpq(uri: str) -> tuple[str, str | None]:
    """The libpq URL of a SQLAlchemy PostgreSQL URI (driver dropped) and the schema its search_path names."""
    parts = urlsplit(uri)
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    options = next((v for k, v in pairs if k == "options"), "")
    found = re.search(r"-c\s*search_path=([A-Za-z_][A-Za-z0-9_]*)", options)
    return urlunsplit(parts._replace(scheme="postgresql")), found.group(1) if found else None


def prepare_postgres(uri: str, section: RegistrySettings) -> None:
    """Reach the PostgreSQL store within the timeout (MLflow's own engine retries ~100 s before it fails) and
    create the schema its search_path names, so MLflow's migrations have a place to go."""
    import psycopg
    from psycopg import sql

    conninfo, schema = _libpq(uri)
    try:
        with psycopg.connect(conninfo, connect_timeout=section.timeout_seconds, autocommit=True) as conn:
            if schema is not None:
                found = conn.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", [schema]).fetchone()
                if found is None:
                    conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(schema)))
    except psycopg.OperationalError as exc:
        raise RegistryUnavailableError(unavailable_message(uri, exc)) from exc
    except psycopg.Error as exc:
        raise RegistryError(
            f"the MLflow store at {shown(uri)} refused leadops: {redact_text(str(exc))[:300]}; "
            "expected a role that may use (or create) the schema in registry.uri"
        ) from exc


def artifact_root(uri: str, workspace: Path) -> str | None:
    """Where a new experiment keeps its artifacts: beside a sqlite file, in the workspace for another SQL
    store (PostgreSQL: MLflow would otherwise use ./mlruns of whatever folder the command ran in), the
    server's choice otherwise."""
    if uri.startswith(SQLITE):
        db = Path(uri[len(SQLITE) :])
        return str(db.parent / ARTIFACTS)
    if is_database(uri):
        return str(workspace.resolve() / ARTIFACTS)
    return None


def local_run_artifacts(uri: str, workspace: Path, artifact_uri: str, run_id: str) -> Path | None:
    """A run's artifact folder under TODAY's workspace (or sqlite store), whatever absolute path was recorded.

    MLflow makes every local artifact location absolute when it stores it, so a copied or moved workspace's
    store points at the old place. leadops keeps the experiment's artifacts in `mlartifacts/<run_id>/artifacts`
    (beside a sqlite file, in the workspace for a server database), so it finds them relative to where they
    are now.
    """
    root = artifact_root(uri, workspace)
    if root is None or not artifact_uri:
        return None
    marker = f"/{ARTIFACTS}/"
    text = artifact_uri.removeprefix("file://")
    tail = text.split(marker, 1)[1] if marker in text else f"{run_id}/artifacts"
    found = Path(root) / tail
    return found if found.is_dir() else None


def cache_key(uri: str) -> str:
    """The tracking URI as written into the local alias cache (never with a password)."""
    return redact_url(uri)


def shown(uri: str) -> str:
    """The tracking URI as any message shows it (credentials masked)."""
    return redact_url(uri)


def mlflow_environment(section: RegistrySettings) -> dict[str, str]:
    """MLflow's own request bounds and print switch, from the workspace's `registry:` section."""
    return {
        "MLFLOW_HTTP_REQUEST_TIMEOUT": str(section.timeout_seconds),
        "MLFLOW_HTTP_REQUEST_MAX_RETRIES": str(section.max_retries),
        "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": str(section.backoff_seconds),
        "MLFLOW_HTTP_REQUEST_BACKOFF_JITTER": "0.5",
        "MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT": "true",
    }


def apply_environment(section: RegistrySettings) -> None:
    """Set MLflow's request bounds in this process (MLflow reads them on every request)."""
    os.environ.update(mlflow_environment(section))


class _RedactedStderr:
    """A text sink standing in for stdout during MLflow calls: what MLflow prints goes to stderr, masked."""

    def __init__(self, target: TextIO) -> None:
        self.target = target

    def write(self, text: str) -> int:
        """Forward one chunk, credentials masked."""
        self.target.write(redact_text(text))
        return len(text)

    def flush(self) -> None:
        """Flush the real stderr."""
        self.target.flush()

    def isatty(self) -> bool:
        """MLflow checks this before printing progress bars: never a terminal."""
        return False


@contextlib.contextmanager
def quiet() -> Iterator[None]:
    """While MLflow runs, stdout is stderr with credentials masked: `--json` output stays one JSON object."""
    with contextlib.redirect_stdout(_RedactedStderr(sys.stderr)):
        yield


def is_unavailable(exc: BaseException) -> bool:
    """True when `exc` says the server could not be reached or kept failing, not that it answered no."""
    try:
        import requests
    except ImportError:  # pragma: no cover - mlflow depends on requests
        requests = None  # type: ignore[assignment]
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if requests is not None and isinstance(current, requests.exceptions.RequestException):
            return True
        if isinstance(current, ConnectionError | TimeoutError):
            return True
        if _database_down(current):
            return True
        code = getattr(current, "error_code", None)
        text = str(current)
        if code is not None and code not in ANSWERED and text.startswith("API request to "):
            return True  # MLflow's wrapper of a refused connection, a timeout or retries exhausted on 5xx
        current = current.__cause__ or current.__context__
    return False


def _database_down(exc: BaseException) -> bool:
    """A SQL store's driver saying the server cannot be reached (not a refused statement)."""
    module = type(exc).__module__
    return type(exc).__name__ in ("OperationalError", "InterfaceError") and module.startswith(("sqlalchemy", "psycopg"))


def unavailable_message(uri: str, exc: BaseException) -> str:
    """One line naming the server (masked) and why it is unreachable, without MLflow's long URL dumps."""
    text = redact_text(" ".join(str(exc).split()))
    for hint in ("Connection refused", "timed out", "Read timed out", "Max retries exceeded", "Name or service"):
        if hint in text:
            text = hint.lower()
            break
    return f"the MLflow registry at {shown(uri)} is unreachable ({text[:300]})"


class GuardedClient:
    """An MlflowClient whose every call is quiet on stdout and turns an outage into RegistryUnavailableError."""

    def __init__(self, client: Any, uri: str) -> None:
        self._client = client
        self._uri = uri

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._client, name)
        if not callable(attr):
            return attr

        def call(*args: Any, **kwargs: Any) -> Any:
            with guarded(self._uri):
                return attr(*args, **kwargs)

        return call


@contextlib.contextmanager
def guarded(uri: str) -> Iterator[None]:
    """Run MLflow code quietly; an unreachable server becomes RegistryUnavailableError naming it (masked)."""
    try:
        with quiet():
            yield
    except RegistryUnavailableError:
        raise
    except Exception as exc:
        if is_unavailable(exc):
            raise RegistryUnavailableError(unavailable_message(uri, exc)) from exc
        raise


def open_client(uri: str, section: RegistrySettings | None = None) -> Any:
    """A GuardedClient on `uri` (imports mlflow: ~1 s; only registry commands and cold loads pay it)."""
    import logging

    apply_environment(section or RegistrySettings())
    with quiet():
        import mlflow
        from mlflow import MlflowClient

    # MLflow's INFO chatter (schema creation) and its signature-inference warning for our DataFrame-in,
    # DataFrame-out pyfunc would drown leadops' own one-line output.
    logging.getLogger("mlflow").setLevel(logging.WARNING)
    logging.getLogger("mlflow.pyfunc").setLevel(logging.ERROR)
    if uri.startswith(SQLITE):
        Path(uri[len(SQLITE) :]).parent.mkdir(parents=True, exist_ok=True)
    elif is_postgres(uri):
        prepare_postgres(uri, section or RegistrySettings())
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    client: MlflowClient = MlflowClient(tracking_uri=uri, registry_uri=uri)
    return GuardedClient(client, uri)


def experiment_id(client: Any, uri: str, workspace: Path) -> str:
    """The id of the `leadops` experiment, created on first use."""
    found = client.get_experiment_by_name(EXPERIMENT)
    if found is not None:
        return str(found.experiment_id)
    return str(client.create_experiment(EXPERIMENT, artifact_location=artifact_root(uri, workspace)))
