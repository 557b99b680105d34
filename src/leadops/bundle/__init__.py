"""The model bundle: one self-contained directory per trained model (scorer, fitted feature spec, summaries,
manifest with hashes and lineage), and the rows that model is handed on every path.

    save_bundle(path, scorer, spec, *, summaries, lineage, config_hash, extras) -> Path
    load_bundle(path) -> Bundle   (scorer, spec, manifest, summaries; .rows / .rows_at / .online_row)
"""

from leadops.bundle.store import Bundle, FittedFeatures, is_bundle, load_bundle, load_fitted_features, save_bundle

__all__ = ["Bundle", "FittedFeatures", "is_bundle", "load_bundle", "load_fitted_features", "save_bundle"]
