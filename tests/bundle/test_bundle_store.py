"""A bundle is one hashed directory of plain files that loads back whole, or fails naming what is wrong."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from bundle_fixtures import Trained

from leadops.bundle import is_bundle, load_bundle, load_fitted_features, save_bundle
from leadops.bundle.summaries import categorical_summary, numeric_summary
from leadops.errors import ScorerError
from leadops.hashing import feature_spec_hash
from leadops.scorers import build_scorer
from leadops.scorers.artifacts import read_manifest


def test_bundle_round_trips_scorer_spec_summaries_and_extras(trained: Trained) -> None:
    bundle, training = trained.bundle, trained.training
    assert bundle.spec == training.spec
    assert bundle.spec_hash == feature_spec_hash(training.spec)
    assert bundle.extras == {"mql_threshold": 41.5}
    manifest = read_manifest(bundle.path)
    assert {"features.json", "summaries.json", "spec.yaml", "state.json"} <= set(manifest.files)
    assert manifest.bundle is not None and manifest.bundle["feature_spec_hash"] == bundle.spec_hash
    np.testing.assert_array_equal(
        bundle.scorer.score(training.X_test)["score"], bundle.scorer.score(training.X_test)["score"]
    )
    assert set(bundle.summaries["features"]) == set(bundle.feature_names)
    fitted = load_fitted_features(bundle.path)
    assert fitted.spec == bundle.spec and fitted.summaries == bundle.summaries


def test_summaries_match_numpy_and_pandas(trained: Trained) -> None:
    X = trained.training.X_train
    s = trained.bundle.summaries["features"]
    heat = X["heat"].to_numpy(dtype=float)
    present = heat[~np.isnan(heat)]
    assert s["heat"]["missing"] == pytest.approx(np.isnan(heat).mean())
    assert s["heat"]["quantiles"]["0.5"] == pytest.approx(np.median(present))
    assert s["heat"]["quantiles"]["0.9"] == pytest.approx(np.quantile(present, 0.9))
    counts, _ = np.histogram(present, bins=np.asarray(s["heat"]["histogram"]["edges"]))
    assert s["heat"]["histogram"]["counts"] == counts.tolist() and sum(counts) == present.size
    shares = X["lead_source"].value_counts(normalize=True, dropna=False)
    for value, share in shares.items():
        if isinstance(value, str):
            assert s["lead_source"]["categories"][value] == pytest.approx(share)
    assert s["lead_source"]["type"] == "categorical" and s["heat"]["type"] == "numeric"
    score = trained.bundle.summaries["score"]
    assert score["rows"] == len(trained.training.X_test) and sum(score["grades"].values()) == pytest.approx(1.0)


def test_summaries_of_edge_columns() -> None:
    assert numeric_summary(np.array([np.nan, np.nan]))["missing"] == 1.0
    one = numeric_summary(np.array([3.0, 3.0, 3.0]))
    assert one["histogram"] == {"edges": [3.0, 3.0], "counts": [3]}
    cat = categorical_summary(pd.Series(["a", None, "other", "a"]))
    assert cat == {"rows": 4, "missing": 0.25, "other": 0.25, "categories": {"a": 0.5, "other": 0.25}}


def test_a_changed_spec_file_is_refused_naming_the_file(trained: Trained, tmp_path: Path) -> None:
    copy = shutil.copytree(trained.bundle.path, tmp_path / "copy")
    spec = json.loads((copy / "features.json").read_text())
    spec["definitions"] = spec["definitions"][1:]
    (copy / "features.json").write_text(json.dumps(spec))
    with pytest.raises(ScorerError, match=r"features.json failed its hash check"):
        load_bundle(copy)


def test_a_bare_scorer_artifact_is_not_a_bundle_and_says_how_to_get_one(trained: Trained, tmp_path: Path) -> None:
    X = trained.training.X_train[["heat", "age"]]
    bare = build_scorer({"type": "lightgbm", "n_estimators": 5}).fit(X, trained.training.y_train).save(tmp_path / "b")
    assert not is_bundle(bare) and is_bundle(trained.bundle.path)
    with pytest.raises(ScorerError, match=r"bare scorer artifact .* `leadops train`"):
        load_bundle(bare)


def test_save_refuses_a_spec_without_the_scorers_features_and_non_json_extras(trained: Trained, tmp_path: Path) -> None:
    scorer = trained.bundle.scorer
    with pytest.raises(ScorerError, match=r"does not define"):
        save_bundle(tmp_path / "a", scorer, trained.bundle.spec.select(["heat"]))
    with pytest.raises(ScorerError, match=r"plain JSON"):
        save_bundle(tmp_path / "b", scorer, trained.bundle.spec, extras={"threshold": float("nan")})


def test_the_reference_sample_travels_with_the_model_bounded_and_hashed(trained: Trained, tmp_path: Path) -> None:
    from leadops.bundle.store import reference_sample
    from leadops.modeling.train import monitoring_reference

    training, scorer = trained.training, trained.bundle.scorer
    scores = scorer.score(training.X_test)
    path = save_bundle(tmp_path / "m", scorer, training.spec, reference=monitoring_reference(training.X_test, scores))
    ref = load_bundle(path).reference()
    assert ref is not None and len(ref) == len(training.X_test)
    assert list(ref.columns) == [*training.X_test.columns, "score"]
    pd.testing.assert_frame_equal(ref.drop(columns="score"), training.X_test.reset_index(drop=True), check_dtype=False)
    np.testing.assert_array_equal(ref["score"], scores["score"])
    assert "reference.parquet" in read_manifest(path).files
    assert trained.bundle.reference() is None  # a bundle saved without one says so
    big = pd.DataFrame({"x": np.arange(50_000, dtype=float)})
    once, again = reference_sample(big, 1_000), reference_sample(big, 1_000)
    assert len(once) == 1_000 and once.equals(again) and once["x"].is_monotonic_increasing
    (path / "reference.parquet").write_bytes(b"PAR1 tampered")
    with pytest.raises(ScorerError):
        load_bundle(path)


def test_numeric_summary_reads_quantiles_from_a_bounded_even_sample() -> None:
    rng = np.random.default_rng(3)
    x = rng.lognormal(size=50_000)
    x[::7] = np.nan
    present = x[~np.isnan(x)]
    whole = numeric_summary(x, sample_rows=len(x))
    part = numeric_summary(x, sample_rows=5_000)
    assert whole["sampled"] == present.size and part["sampled"] == 5_000
    assert part["missing"] == whole["missing"] == pytest.approx(np.isnan(x).mean())
    assert part["mean"] == whole["mean"] == pytest.approx(present.mean())
    assert sum(part["histogram"]["counts"]) == 5_000 and part["quantiles"]["0"] == present.min()
    assert part["quantiles"]["1"] == whole["quantiles"]["1"] == present.max()
    for q in ("0.1", "0.5", "0.9"):  # an even sample of 5k reads each quantile to about a percent
        rank = np.mean(present <= part["quantiles"][q])
        assert rank == pytest.approx(float(q), abs=0.01)
    assert part == numeric_summary(x, sample_rows=5_000)  # deterministic
