"""The workspace's model registry on MLflow: versions, champion/challenger aliases, lineage, audit."""

from __future__ import annotations

import contextlib
import json
import math
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from leadops.actor import default_actor
from leadops.config import Settings
from leadops.errors import GateFailedError, NotFoundError
from leadops.registry import audit, cache, store
from leadops.registry import lineage as lineage_facts
from leadops.registry.errors import RegistryError
from leadops.registry.integrity import tree_digest, verify_artifact
from leadops.registry.records import CHALLENGER, CHAMPION, AuditEntry, ModelVersion

if TYPE_CHECKING:
    from leadops.warehouse.connection import Warehouse

MODEL_NAME = re.compile(r"^[A-Za-z0-9_.-]+$")
ARTIFACT_PATH = "scorer"
REPORT_PATH = "report"
TAG_SCORER = "scorer"
TAG_ARTIFACT = "leadops.artifact_path"
TAG_DIGEST = "leadops.artifact_digest"
TAG_REPORT = "leadops.report"
TAG_PYFUNC = "leadops.pyfunc"
LINEAGE_PREFIX = "leadops.lineage."
MAX_PARAM = 6000


class Registry:
    """MLflow holds versions and aliases; the warehouse holds the audit log; the workspace caches both."""

    def __init__(self, settings: Settings, warehouse: Warehouse | None) -> None:
        self.settings = settings
        self.warehouse = warehouse
        self.model_name = settings.registry.model_name
        if not MODEL_NAME.match(self.model_name):
            raise RegistryError(
                f"registry.model_name {self.model_name!r} is not valid; expected letters, digits, '_', '.', '-'"
            )
        self.uri = store.tracking_uri(settings)
        self._client: Any = None

    # ------------------------------------------------------------------ plumbing
    @property
    def client(self) -> Any:
        """The MlflowClient, created (and mlflow imported) on first use."""
        if self._client is None:
            self._client = store.open_client(self.uri, self.settings.registry)
        return self._client

    def _ensure_model(self) -> None:
        from mlflow.exceptions import MlflowException

        try:
            self.client.get_registered_model(self.model_name)
        except MlflowException as exc:
            _absent_or_raise(exc)
            with contextlib.suppress(MlflowException):
                self.client.create_registered_model(
                    self.model_name, description="leadops scoring model: every trained scorer is a version"
                )

    def _audit(self) -> Warehouse:
        if self.warehouse is None:
            raise RegistryError("this registry was opened without a warehouse; audited changes need one")
        audit.require_table(self.warehouse)
        return self.warehouse

    def _mlflow_versions(self) -> list[Any]:
        from mlflow.exceptions import MlflowException

        try:
            found = self.client.search_model_versions(f"name = '{self.model_name}'", max_results=10_000)
        except MlflowException as exc:
            _absent_or_raise(exc)
            return []
        return sorted(found, key=lambda mv: int(mv.version))

    def _aliases(self) -> dict[int, list[str]]:
        """Version -> its aliases (search results leave aliases out, the registered model has them all)."""
        from mlflow.exceptions import MlflowException

        try:
            found = self.client.get_registered_model(self.model_name).aliases or {}
        except MlflowException as exc:
            _absent_or_raise(exc)
            return {}
        out: dict[int, list[str]] = {}
        for alias, version in found.items():
            out.setdefault(int(version), []).append(alias)
        return out

    def refresh(self, versions: list[Any] | None = None) -> dict[str, Any]:
        """Read every version and alias from MLflow and rewrite the workspace's alias cache.

        The cache is written only after the whole read succeeded: an outage midway raises
        RegistryUnavailableError and leaves the last good cache as it was.
        """
        snapshot = cache.new_snapshot(store.cache_key(self.uri), self.model_name)
        for version, aliases in self._aliases().items():
            for alias in aliases:
                snapshot["aliases"][alias] = version
        for mv in self._mlflow_versions() if versions is None else versions:
            tags = dict(mv.tags or {})
            snapshot["versions"][str(mv.version)] = {
                "scorer": tags.get(TAG_SCORER),
                "run_id": mv.run_id,
                "artifact_path": tags.get(TAG_ARTIFACT),
                "artifact_digest": tags.get(TAG_DIGEST),
            }
        cache.write_snapshot(self.settings, snapshot)
        return snapshot

    def _version(self, raw: Any, *, detail: bool = False, aliases: list[str] | None = None) -> ModelVersion:
        tags = dict(raw.tags or {})
        created = (
            datetime.fromtimestamp(raw.creation_timestamp / 1000, UTC).replace(tzinfo=None)
            if raw.creation_timestamp
            else None
        )
        out = ModelVersion(
            model_name=self.model_name,
            version=int(raw.version),
            scorer=tags.get(TAG_SCORER),
            run_id=raw.run_id,
            created_at=created,
            source=str(raw.source),
            aliases=sorted(raw.aliases or [] if aliases is None else aliases),
            tags=tags,
            artifact_digest=tags.get(TAG_DIGEST),
            description=raw.description or None,
            report=tags.get(TAG_REPORT),
        )
        if detail and raw.run_id:
            run = self.client.get_run(raw.run_id)
            out.metrics = dict(run.data.metrics)
            out.params = dict(run.data.params)
            out.lineage = {
                key[len(LINEAGE_PREFIX) :]: _untag(value)
                for key, value in run.data.tags.items()
                if key.startswith(LINEAGE_PREFIX)
            }
        return out

    def _get(self, version: int, *, detail: bool = False) -> ModelVersion:
        return self._version(self.client.get_model_version(self.model_name, str(version)), detail=detail)

    # ------------------------------------------------------------------ reading
    def resolve(self, ref: str | int) -> ModelVersion:
        """A version number ("3", "v3"), an alias (champion) or a scorer name (its latest version)."""
        snapshot = self.refresh()
        number = cache.resolve_in(snapshot, ref)
        if number is None:
            raise NotFoundError(
                f"model {self.model_name!r} has no version, alias or scorer named {str(ref)!r}; "
                + cache.describe(snapshot)
            )
        return self._get(number)

    def show(self, ref: str | int) -> ModelVersion:
        """One version with its metrics, parameters, tags, aliases and lineage."""
        found = self.resolve(ref)
        return self._get(found.version, detail=True)

    def list_versions(self) -> list[ModelVersion]:
        """Every version of the workspace's scoring model, oldest first."""
        raw = self._mlflow_versions()
        aliases = self._aliases()
        self.refresh(raw)
        return [self._version(mv, aliases=aliases.get(int(mv.version), [])) for mv in raw]

    def champion(self) -> ModelVersion | None:
        """The version the champion alias points to, if any."""
        return next((v for v in self.list_versions() if CHAMPION in v.aliases), None)

    def challengers(self) -> list[ModelVersion]:
        """Versions holding a challenger alias (`challenger`, or `challenger_<name>` for more than one)."""
        return [v for v in self.list_versions() if any(_is_challenger(a) for a in v.aliases)]

    def history(self) -> list[AuditEntry]:
        """The audit log of this model, oldest first."""
        return audit.entries(self._audit(), self.model_name)

    # ------------------------------------------------------------------ writing
    def log_training(
        self,
        scorer_name: str,
        artifact_dir: Path,
        *,
        params: Mapping[str, Any],
        metrics: Mapping[str, Any],
        lineage: Mapping[str, Any],
        report_path: Path | None,
        actor: str | None = None,
        pyfunc: bool = True,
    ) -> ModelVersion:
        """Log one training as an MLflow run; register its artifact as a version tagged with the scorer."""
        import mlflow

        warehouse = self._audit()
        who = actor or default_actor()
        artifact_dir = Path(artifact_dir)
        if not scorer_name.strip():
            raise RegistryError("scorer_name is empty; expected the configured scorer's name")
        manifest = verify_artifact(artifact_dir)
        if report_path is not None and not Path(report_path).is_file():
            raise RegistryError(f"report {report_path} is not a file; expected the training report (HTML)")
        digest = tree_digest(artifact_dir)
        facts = lineage_facts.build(self.settings, dict(lineage), manifest, digest)
        flat_params = _flatten(params)
        flat_metrics = _numeric(_flatten(metrics))
        self._ensure_model()
        experiment = store.experiment_id(self.client, self.uri, self.settings.workspace)
        run_tags = {
            "mlflow.runName": f"train-{scorer_name}",
            "leadops.scorer": scorer_name,
            "leadops.model_name": self.model_name,
            "leadops.actor": who,
            **{LINEAGE_PREFIX + key: _tag(value) for key, value in facts.items()},
        }
        if facts.get("git_commit"):
            run_tags["mlflow.source.git.commit"] = str(facts["git_commit"])
        run = self.client.create_run(experiment, tags=run_tags)
        run_id = run.info.run_id
        try:
            from mlflow.entities import Metric, Param

            stamp = int(datetime.now(UTC).timestamp() * 1000)
            self.client.log_batch(
                run_id,
                metrics=[Metric(k, v, stamp, 0) for k, v in flat_metrics.items()],
                params=[Param(k, _clip(v)) for k, v in flat_params.items()],
            )
            self.client.log_artifacts(run_id, str(artifact_dir), ARTIFACT_PATH)
            self.client.log_text(run_id, json.dumps(facts, indent=2, sort_keys=True, default=str), "lineage.json")
            report = None
            if report_path is not None:
                self.client.log_artifact(run_id, str(report_path), REPORT_PATH)
                report = f"{REPORT_PATH}/{Path(report_path).name}"
            source, model_id = f"{run.info.artifact_uri}/{ARTIFACT_PATH}", None
            if pyfunc:
                from leadops.registry import pyfunc as flavour

                with store.guarded(self.uri), mlflow.start_run(run_id=run_id):
                    info = flavour.log(artifact_dir)
                source, model_id = info.model_uri, info.model_id
            version_tags = {
                TAG_SCORER: scorer_name,
                TAG_ARTIFACT: ARTIFACT_PATH,
                TAG_DIGEST: digest,
                TAG_PYFUNC: str(pyfunc).lower(),
                **({TAG_REPORT: report} if report else {}),
            }
            raw = self.client.create_model_version(
                self.model_name,
                source,
                run_id,
                tags=version_tags,
                description=f"scorer {scorer_name}, trained by {who}",
                model_id=model_id,
            )
            self.client.set_terminated(run_id, "FINISHED")
        except BaseException:
            with contextlib.suppress(Exception):
                self.client.set_terminated(run_id, "FAILED")
            raise
        version = int(raw.version)
        audit.append(
            warehouse,
            actor=who,
            action="register",
            model_name=self.model_name,
            alias=None,
            version=version,
            previous_version=None,
            reason=None,
            detail={"scorer": scorer_name, "run_id": run_id, "artifact_digest": digest},
        )
        self.refresh()
        return self._get(version, detail=True)

    def promote(
        self,
        ref: str | int,
        *,
        gates_passed: bool | None,
        gate_detail: Mapping[str, Any] | None,
        force: bool,
        reason: str | None,
        actor: str | None = None,
    ) -> ModelVersion:
        """Make `ref` the champion when its gates passed (or when forced with a stated reason); audited."""
        reason = (reason or "").strip() or None
        if force and reason is None:
            raise RegistryError("promote --force needs a reason; expected --reason '<why the gates are overridden>'")
        target = self.resolve(ref)
        if not force and gates_passed is not True:
            failed = failed_gates(gate_detail)
            what = (
                f"failed gates {failed}{_failure_details(gate_detail, failed)}"
                if failed
                else ("failed its gates" if gates_passed is False else "has no gate result")
            )
            message = f"{self.model_name} {target.label()} {what}; promotion refused"
            warehouse = self._audit()
            with warehouse.transaction():  # a refusal is part of the model's history too
                audit.append(
                    warehouse,
                    actor=actor or default_actor(),
                    action="promote_refused",
                    model_name=self.model_name,
                    alias=CHAMPION,
                    version=target.version,
                    previous_version=self._alias_version(CHAMPION),
                    reason=message,
                    detail={"gates_passed": gates_passed, "gate_detail": dict(gate_detail or {}), "failed": failed},
                )
            raise GateFailedError(message, hint="fix the model, or promote with --force and --reason")
        detail = {
            "gates_passed": gates_passed,
            "gate_detail": dict(gate_detail or {}),
            "forced": force,
            "scorer": target.scorer,
        }
        action = "force_promote" if force else "promote"
        return self._move_champion(target, action=action, reason=reason, actor=actor, detail=detail)

    def set_challenger(
        self, ref: str | int, actor: str | None = None, *, reason: str | None = None, alias: str = CHALLENGER
    ) -> ModelVersion:
        """Point a challenger alias at `ref` (shadow-scored, a candidate for an experiment); audited."""
        if not _is_challenger(alias):
            raise RegistryError(f"alias {alias!r} is not a challenger alias; expected 'challenger' or 'challenger_<x>'")
        target = self.resolve(ref)
        if target.is_champion:
            raise RegistryError(f"{target.label()} is the champion; a challenger must be another version")
        previous = self._alias_version(alias)
        warehouse = self._audit()
        with warehouse.transaction():
            audit.append(
                warehouse,
                actor=actor or default_actor(),
                action="set_challenger",
                model_name=self.model_name,
                alias=alias,
                version=target.version,
                previous_version=previous,
                reason=reason,
                detail={"scorer": target.scorer},
            )
            self.client.set_registered_model_alias(self.model_name, alias, str(target.version))
        self.refresh()
        return self._get(target.version)

    def rollback(self, actor: str | None = None, reason: str | None = None) -> ModelVersion:
        """Give the champion alias back to the version that held it before (from the audit log)."""
        stack = audit.champion_stack(self.history())
        current = self._alias_version(CHAMPION)
        if len(stack) < 2:
            raise NotFoundError(
                f"model {self.model_name!r} has no previous champion to roll back to "
                f"(the audit log shows {len(stack)} champion(s): {[f'v{v}' for v in stack]})"
            )
        restore = self._get(stack[-2])
        detail = {"rolled_back": current, "scorer": restore.scorer}
        return self._move_champion(restore, action="rollback", reason=reason, actor=actor, detail=detail)

    def _move_champion(
        self,
        target: ModelVersion,
        *,
        action: str,
        reason: str | None,
        actor: str | None,
        detail: dict[str, Any],
    ) -> ModelVersion:
        previous = self._alias_version(CHAMPION)
        warehouse = self._audit()
        if previous == target.version:  # already the champion: nothing changes, nothing to audit
            return self._get(target.version)
        with warehouse.transaction():
            audit.append(
                warehouse,
                actor=actor or default_actor(),
                action=action,
                model_name=self.model_name,
                alias=CHAMPION,
                version=target.version,
                previous_version=previous,
                reason=reason,
                detail=detail,
            )
            self.client.set_registered_model_alias(self.model_name, CHAMPION, str(target.version))
            for alias in target.aliases:
                if _is_challenger(alias):
                    self.client.delete_registered_model_alias(self.model_name, alias)
        self.refresh()
        return self._get(target.version)

    def _alias_version(self, alias: str) -> int | None:
        from mlflow.exceptions import MlflowException

        try:
            return int(self.client.get_model_version_by_alias(self.model_name, alias).version)
        except MlflowException as exc:
            _absent_or_raise(exc)
            return None


def _absent_or_raise(exc: Exception) -> None:
    """Let MLflow's "does not exist" pass (no model, no alias yet); any other refusal is a RegistryError."""
    from leadops.redaction import redact_text

    code = str(getattr(exc, "error_code", ""))
    if code in ("RESOURCE_DOES_NOT_EXIST", "NOT_FOUND", "INVALID_PARAMETER_VALUE"):
        return
    raise RegistryError(f"the MLflow registry refused the request ({code}): {redact_text(str(exc))[:400]}") from exc


def failed_gates(detail: Mapping[str, Any] | None) -> list[str]:
    """Failed gate names from {name: bool}, {name: {passed}}, [{name, passed}] or {failed: [...]}."""
    if not detail:
        return []
    if isinstance(detail.get("failed"), list):
        return [str(x) for x in detail["failed"]]
    items: list[tuple[str, Any]] = []
    gates = detail.get("gates", detail)
    if isinstance(gates, list):
        items = [(str(g.get("name", i)), g) for i, g in enumerate(gates) if isinstance(g, Mapping)]
    elif isinstance(gates, Mapping):
        items = [(str(k), v) for k, v in gates.items()]
    failed = []
    for name, value in items:
        passed = value.get("passed", value.get("ok")) if isinstance(value, Mapping) else value
        if passed is False:
            failed.append(name)
    return failed


def _failure_details(detail: Mapping[str, Any] | None, failed: list[str]) -> str:
    """': name: why; ...' for the failed gates whose detail says why (so the refusal names what to fix)."""
    gates = (detail or {}).get("gates")
    if not isinstance(gates, Mapping):
        return ""
    why = [f"{n}: {gates[n]['detail']}" for n in failed if isinstance(gates.get(n), Mapping) and gates[n].get("detail")]
    return f" ({'; '.join(why)})" if why else ""


def _is_challenger(alias: str) -> bool:
    return alias == CHALLENGER or alias.startswith(CHALLENGER + "_")


def _flatten(data: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """{"a": {"b": 1}} -> {"a.b": 1}: MLflow keeps flat keys."""
    out: dict[str, Any] = {}
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            out.update(_flatten(value, name + "."))
        else:
            out[name] = value
    return out


def _numeric(metrics: dict[str, Any]) -> dict[str, float]:
    out: dict[str, float] = {}
    for key, value in metrics.items():
        if value is None:
            continue
        if not isinstance(value, int | float):
            try:
                value = float(value)
            except (TypeError, ValueError):
                raise RegistryError(
                    f"metric {key!r} must be a number, got {type(value).__name__} {str(value)[:40]!r}"
                ) from None
        out[key] = float(value) if math.isfinite(float(value)) else float("nan")
    return out


def _clip(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return text if len(text) <= MAX_PARAM else text[: MAX_PARAM - 3] + "..."


def _tag(value: Any) -> str:
    return json.dumps(value, default=str)


def _untag(value: str) -> Any:
    try:
        return json.loads(value)
    except ValueError:
        return value
