-- A run's warnings (e.g. "the MLflow registry was unreachable: scored with the cached champion v3"), kept in
-- the ledger beside its counts so whoever reads score_runs tomorrow sees how tonight's scores were made.

ALTER TABLE score_runs ADD COLUMN warnings VARCHAR
