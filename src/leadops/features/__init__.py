"""Feature store: specs -> point-in-time DuckDB SQL, the matching single-lead path, training sets, leakage guard.

Public entry points (import from the submodules; this package stays import-light so config.py can load specs):
- specs.FeaturesSpec / specs.TrainingSpec: the `features:` and `training:` sections of leadops.yaml
- build.build_features(spec, warehouse, *, as_of=None, lead_ids=None, per_lead_as_of=None)
- build.build_and_store(spec, warehouse, as_of=None) -> {rows, features, seconds, table, ...}
- online.online_vector(spec, lead, account, activities, as_of) -> {feature: value}
- training.build_training_set(features, training, warehouse, *, truth=None, sources=()) -> TrainingSet
- leakage.check_leakage(X, y, *, categorical, spec, time_safe) -> LeakageReport (flags(), reasons(), kept_flagged)
- leakage.declared_post_outcome(features, sources) -> {feature: why}: what the mapping declares post-outcome
"""
