"""A model bundle on disk: the scorer's plain files plus its fitted feature spec, training summaries, lineage.

Layout (one directory, every file hashed in manifest.json; loading executes no pickle):
    manifest.json      format, scorer_type, feature_names/dtypes, files{path: sha256}, bundle{...}
    spec.yaml, state.json, model files, components/...   the scorer (see Scorer.save)
    features.json      the FeaturesSpec as fitted: definitions + learned vocabularies, only the kept features
    summaries.json     the training data per feature and the held-out score (monitoring's reference)
The manifest's `bundle` section holds the feature-spec hash, the config hash, lineage and `extras`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from leadops.errors import ScorerError
from leadops.hashing import feature_spec_hash
from leadops.scorers.artifacts import JSON, Manifest, read_manifest, write_manifest
from leadops.scorers.base import Scorer, load_scorer
from leadops.settings.features import FeaturesSpec

BUNDLE_FORMAT = 1
SPEC_FILE = "features.json"
SUMMARIES_FILE = "summaries.json"
REFERENCE_FILE = "reference.parquet"
REFERENCE_ROWS = 10_000
"""At most this many held-out rows travel with a model as monitoring's reference sample (about 1 MB)."""


@dataclass(frozen=True)
class Bundle:
    """One trained model, loaded: its scorer, the feature spec it was fitted with, manifest and summaries."""

    path: Path
    scorer: Scorer
    spec: FeaturesSpec
    manifest: Manifest
    summaries: dict[str, Any]

    @property
    def section(self) -> dict[str, Any]:
        """The manifest's bundle section."""
        return self.manifest.bundle or {}

    @property
    def feature_names(self) -> list[str]:
        """The columns the scorer takes, in its order."""
        return list(self.manifest.feature_names)

    @property
    def spec_hash(self) -> str:
        """The fitted feature spec's hash (equal hashes build equal rows)."""
        return str(self.section.get("feature_spec_hash") or feature_spec_hash(self.spec))

    @property
    def lineage(self) -> dict[str, Any]:
        """Where the model came from (training digest, config hash, ...), as saved."""
        return dict(self.section.get("lineage") or {})

    @property
    def extras(self) -> dict[str, Any]:
        """Metadata other parts stored with the model (e.g. a threshold chosen on the validation set)."""
        return dict(self.section.get("extras") or {})

    def reference(self) -> pd.DataFrame | None:
        """The held-out sample saved at training (the model's features plus `score`), None for older bundles."""
        name = self.section.get("reference")
        if not name:
            return None
        try:
            return pd.read_parquet(self.path / str(name))
        except (OSError, ValueError) as exc:
            raise ScorerError(f"load: cannot read the reference sample {self.path / str(name)}: {exc}") from exc

    def rows(self, warehouse: Any, lead_ids: list[str], as_of: datetime) -> pd.DataFrame:
        """This model's feature rows for `lead_ids` as of one time, indexed by lead_id (set-based SQL path)."""
        from leadops.bundle.rows import feature_rows

        return feature_rows(self.spec, warehouse, lead_ids, as_of, columns=self.feature_names)

    def rows_at(self, warehouse: Any, lead_ids: pd.Series, times: pd.Series) -> pd.DataFrame:
        """This model's rows for (lead, snapshot time) pairs, in their order (how versions are compared)."""
        from leadops.bundle.rows import feature_rows_at

        return feature_rows_at(self.spec, warehouse, lead_ids, times, columns=self.feature_names)

    def online_row(
        self,
        lead: Mapping[str, Any],
        account: Mapping[str, Any] | None,
        activities: list[Mapping[str, Any]],
        as_of: datetime,
    ) -> pd.DataFrame:
        """This model's row for one lead from its records (the single-lead path), indexed by lead_id."""
        from leadops.bundle.rows import online_row

        return online_row(self.spec, lead, account, activities, as_of, columns=self.feature_names)


def _json_text(data: Any, what: str) -> str:
    try:
        return json.dumps(data, indent=1, sort_keys=True, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise ScorerError(f"save_bundle: {what} must be plain JSON (no NaN, no objects): {exc}") from exc


def save_bundle(
    path: Path | str,
    scorer: Scorer,
    spec: FeaturesSpec,
    *,
    summaries: Mapping[str, Any] | None = None,
    reference: pd.DataFrame | None = None,
    lineage: Mapping[str, JSON] | None = None,
    config_hash: str | None = None,
    extras: Mapping[str, JSON] | None = None,
    overwrite: bool = False,
) -> Path:
    """Write a fitted scorer and the spec it was fitted with as one hashed directory; returns the path."""
    path = Path(path)
    names = list(getattr(scorer, "feature_names_in_", []) or [])
    missing = [n for n in names if n not in set(spec.names())]
    if missing:
        raise ScorerError(
            f"save_bundle: the scorer uses features {missing} that the feature spec does not define; "
            f"expected the spec the scorer was fitted with (it defines {spec.names()})"
        )
    scorer.save(path, overwrite=overwrite)
    (path / SPEC_FILE).write_text(_json_text(spec.model_dump(mode="json"), "the feature spec"), encoding="utf-8")
    (path / SUMMARIES_FILE).write_text(_json_text(dict(summaries or {}), "summaries"), encoding="utf-8")
    if reference is not None:
        reference_sample(reference).to_parquet(path / REFERENCE_FILE, index=False)
    section = {
        "format_version": BUNDLE_FORMAT,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "feature_spec": SPEC_FILE,
        "feature_spec_hash": feature_spec_hash(spec),
        "summaries": SUMMARIES_FILE,
        "reference": REFERENCE_FILE if reference is not None else None,
        "config_hash": config_hash,
        "lineage": dict(lineage or {}),
        "extras": dict(extras or {}),
    }
    _json_text(section, "lineage and extras")
    write_manifest(path, {**read_manifest(path, verify=False).without_files(), "bundle": section})
    return path


def reference_sample(frame: pd.DataFrame, rows: int = REFERENCE_ROWS) -> pd.DataFrame:
    """At most `rows` rows of `frame`, the same ones every time (a fixed seed), index dropped."""
    picked = frame if len(frame) <= rows else frame.sample(n=rows, random_state=0).sort_index(kind="mergesort")
    return picked.reset_index(drop=True)


def is_bundle(path: Path | str) -> bool:
    """True when the directory's manifest has a bundle section (a bare scorer artifact has none)."""
    try:
        return read_manifest(Path(path), verify=False).bundle is not None
    except ScorerError:
        return False


@dataclass(frozen=True)
class FittedFeatures:
    """A bundle's feature side alone (no scorer loaded): what the nightly job builds a model's rows from."""

    spec: FeaturesSpec
    spec_hash: str
    summaries: dict[str, Any]


def _section(path: Path, manifest: Manifest) -> dict[str, Any]:
    section = manifest.bundle
    if section is None:
        raise ScorerError(
            f"load: {path} is a bare scorer artifact without a fitted feature spec ({SPEC_FILE}); "
            "expected a model bundle written by `leadops train`",
            hint="retrain the model with `leadops train` so it carries the features it was fitted on",
        )
    if int(section.get("format_version", 0)) > BUNDLE_FORMAT:
        raise ScorerError(f"load: {path}: bundle format_version {section.get('format_version')} > {BUNDLE_FORMAT}")
    return section


def _fitted(path: Path, manifest: Manifest) -> FittedFeatures:
    section = _section(path, manifest)
    try:
        spec_data = json.loads((path / str(section.get("feature_spec", SPEC_FILE))).read_text(encoding="utf-8"))
        summaries = json.loads((path / str(section.get("summaries", SUMMARIES_FILE))).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ScorerError(f"load: cannot read {SPEC_FILE}/{SUMMARIES_FILE} in {path}: {exc}") from exc
    try:
        spec = FeaturesSpec.model_validate(spec_data)
    except ValueError as exc:
        raise ScorerError(f"load: {path / SPEC_FILE} is not a valid feature spec: {exc}") from exc
    digest = feature_spec_hash(spec)
    expected = section.get("feature_spec_hash")
    if expected and digest != expected:
        raise ScorerError(f"load: {path / SPEC_FILE} does not hash to the manifest's feature_spec_hash {expected}")
    missing = [n for n in manifest.feature_names if n not in set(spec.names())]
    if missing:
        raise ScorerError(f"load: {path}: the scorer needs features {missing} its {SPEC_FILE} does not define")
    return FittedFeatures(spec, digest, summaries if isinstance(summaries, dict) else {})


def load_fitted_features(path: Path | str, *, verify: bool = True) -> FittedFeatures:
    """Only the fitted feature spec, its hash and the training summaries of the bundle at `path`."""
    path = Path(path)
    return _fitted(path, read_manifest(path, verify=verify))


def load_bundle(path: Path | str, *, verify: bool = True) -> Bundle:
    """Verify every hash, then rebuild the scorer and its fitted feature spec from plain files (no pickle).

    verify=False is for a directory the caller has just verified (the registry's load_artifact_dir)."""
    path = Path(path)
    manifest = read_manifest(path, verify=verify)
    fitted = _fitted(path, manifest)
    scorer = load_scorer(path, verify=False)  # verified above
    return Bundle(path, scorer, fitted.spec, manifest, fitted.summaries)
