"""Where the job meets the registry and the scorers: champion/challenger lookup, artifact loading, schema checks.

Everything the job needs from `registry` and `scorers` goes through this module, so the rest of `jobs` only sees
`ModelRef` (a version and a local artifact directory) and objects with `score(X)` / `explain(X, top_n)`.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import pandas as pd

from leadops.jobs.errors import FeatureSchemaError, JobError, NoChampionError

if TYPE_CHECKING:
    from leadops.config import Settings
    from leadops.scorers.artifacts import Manifest
    from leadops.warehouse import Warehouse

DEFAULT_LOADER = "leadops.scorers:load_scorer"


class ScorerLike(Protocol):
    """What the job calls on a loaded model (the leadops.scorers.Scorer protocol)."""

    def score(self, X: pd.DataFrame) -> pd.DataFrame: ...

    def explain(self, X: pd.DataFrame, top_n: int = 3) -> pd.DataFrame: ...

    def component_scores(self, X: pd.DataFrame) -> pd.DataFrame | None: ...


@dataclass(frozen=True)
class ModelRef:
    """One registered model version, resolved to a local directory of plain files."""

    version: int
    scorer: str
    path: Path
    loader: str = DEFAULT_LOADER
    role: str = "champion"
    feature_names: tuple[str, ...] = field(default=())
    feature_dtypes: dict[str, str] = field(default_factory=dict, hash=False, compare=False)
    mql_threshold: float | None = field(default=None, compare=False)


class ModelSource(Protocol):
    """Champion and challengers of the workspace's scoring model (the registry, or a fake in tests)."""

    def champion(self) -> ModelRef | None: ...

    def challengers(self) -> list[ModelRef]: ...


def read_model_manifest(path: Path) -> Manifest:
    """The artifact's manifest.json, read once per model (the one manifest reader; the registry verified it)."""
    from leadops.errors import ScorerError
    from leadops.scorers.artifacts import read_manifest

    try:
        return read_manifest(path, verify=False, strict=False)
    except ScorerError as exc:
        raise JobError(f"model artifact {path}: {exc.message}; expected a scorer artifact") from exc


def mql_threshold_of(manifest: Manifest) -> float | None:
    """The MQL threshold chosen when the version was trained (bundle extras `routing`), None for older ones."""
    extras = (manifest.bundle or {}).get("extras") or manifest.body.get("extras") or {}
    value = (extras.get("routing") or {}).get("mql_threshold") if isinstance(extras, dict) else None
    return float(value) if isinstance(value, int | float) else None


def model_ref(version: int, scorer: str, path: Path, *, role: str, loader: str = DEFAULT_LOADER) -> ModelRef:
    """A ModelRef with the artifact's feature names (and its trained MQL threshold) filled in from its manifest."""
    manifest = read_model_manifest(path)
    return ModelRef(
        version, scorer, path, loader, role, manifest.feature_names, manifest.feature_dtypes, mql_threshold_of(manifest)
    )


class RegistryModels:
    """The real source: leadops.registry's champion and challengers, artifacts fetched to local directories.

    When the MLflow server is unreachable it falls back on the last verified champion in the workspace's cache
    (and the challengers that have verified copies) and says so in `warnings`; with no usable cache it raises
    RegistryUnavailableError, never "no champion".
    """

    def __init__(self, settings: Settings, warehouse: Warehouse) -> None:
        try:
            from leadops.registry import Registry
        except ImportError as exc:
            raise JobError(f"the model registry (leadops.registry) is not available: {exc}") from exc
        self.settings = settings
        self.registry = Registry(settings, warehouse)
        self.warnings: list[str] = []
        self._outage: Exception | None = None

    def _ref(self, mv: Any, role: str) -> ModelRef:
        from leadops.registry import load_artifact_dir

        path = Path(load_artifact_dir(self.settings, int(mv.version)))
        return model_ref(int(mv.version), str(mv.scorer), path, role=role)

    def version_ref(self, version: int) -> ModelRef:
        """A registered version an experiment arm pins (NotFoundError when the registry has no such version)."""
        return self._ref(self.registry.resolve(version), "experiment")

    def champion(self) -> ModelRef | None:
        from leadops.registry import RegistryUnavailableError
        from leadops.registry.fallback import cached_champion

        try:
            mv = self.registry.champion()
            return None if mv is None else self._ref(mv, "champion")
        except RegistryUnavailableError as exc:
            self._outage = exc
            found, path, warning = cached_champion(self.settings, exc)
            self.warnings.append(warning)
            return model_ref(found.version, str(found.scorer), path, role="champion")

    def challengers(self) -> list[ModelRef]:
        from leadops.registry import RegistryUnavailableError

        if self._outage is None:
            try:
                return [self._ref(mv, "challenger") for mv in self.registry.challengers()]
            except RegistryUnavailableError as exc:
                self._outage = exc
        return self._cached_challengers()

    def _cached_challengers(self) -> list[ModelRef]:
        """Challengers from the cache that have verified copies (the others are named in a warning)."""
        from leadops.registry.fallback import cached_registry
        from leadops.registry.records import CHALLENGER

        view = cached_registry(self.settings)
        if view is None:
            return []
        held = [v for v in view.versions if any(a == CHALLENGER or a.startswith(CHALLENGER + "_") for a in v.aliases)]
        missing = [f"v{v.version}" for v in held if v.path is None]
        if missing:  # shadow scores are optional; the champion is what tonight needs
            self.warnings.append(
                f"registry unreachable: challengers {missing} have no verified local copy, not shadowed"
            )
        return [model_ref(v.version, str(v.scorer), v.path, role="challenger") for v in held if v.path is not None]


def resolve_champion(source: ModelSource, model_name: str = "lead_score") -> ModelRef:
    """The champion, or NoChampionError saying how to get one."""
    ref = source.champion()
    if ref is None:
        raise NoChampionError(
            f"model '{model_name}' has no champion version in the registry; expected one to score the leads with",
            hint="train and promote a model first: `leadops train --model NAME`, then `leadops models promote VERSION`",
        )
    return ref


def load_model(ref: ModelRef) -> ScorerLike:
    """Load the artifact with its loader ('module:function', pickle-free); executors call this too."""
    module, _, name = ref.loader.partition(":")
    try:
        loader = getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError) as exc:
        raise JobError(f"model loader {ref.loader!r} for version {ref.version} cannot be imported: {exc}") from exc
    model: ScorerLike = loader(ref.path)
    return model


def model_of(source: ModelSource, ref: ModelRef) -> ScorerLike:
    """`ref`'s loaded model: the source's own when it keeps them (the closed loop, between nights), else loaded."""
    keep = getattr(source, "loaded", None)
    return keep(ref) if callable(keep) else load_model(ref)


def _kind(dtype: str) -> str:
    d = dtype.lower()
    if d.startswith(("float", "int", "uint", "double", "bool")):
        return "numeric"
    return "categorical"


def check_features(ref: ModelRef, columns: list[str], dtypes: dict[str, str] | None = None) -> None:
    """Raise FeatureSchemaError naming missing/retyped (and, for context, extra) features; extras alone are fine.

    Extra columns alone are no error: a challenger may use features the champion does not, and every model
    picks its own columns from the shared feature frame.
    """
    expected = list(ref.feature_names)
    got = [c for c in columns if c != "lead_id"]
    missing = [c for c in expected if c not in set(got)]
    extra = [c for c in got if c not in set(expected)]
    retyped: list[str] = []
    if dtypes and ref.feature_dtypes:
        for name in expected:
            if name in dtypes and name in ref.feature_dtypes and _kind(dtypes[name]) != _kind(ref.feature_dtypes[name]):
                retyped.append(f"{name} ({ref.feature_dtypes[name]} -> {dtypes[name]})")
    if missing or retyped:
        parts = []
        if missing:
            parts.append(f"missing {missing}")
        if extra:
            parts.append(f"extra {extra}")
        if retyped:
            parts.append(f"changed type {retyped}")
        raise FeatureSchemaError(
            f"the features built tonight do not match model version {ref.version} ({ref.role}): "
            + "; ".join(parts)
            + f"; the model expects {expected}",
            hint="retrain the model on the current feature spec, or restore the features it was trained on",
        )
