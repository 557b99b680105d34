-- Monitoring: one row per monitored run, every drift statistic of every feature and the score, and alerts.
-- Rerunning `leadops monitor` for a run replaces that run's rows in one transaction.

CREATE TABLE monitor_runs (
    run_id VARCHAR PRIMARY KEY,
    as_of TIMESTAMP NOT NULL,
    model_version INTEGER NOT NULL,
    reference VARCHAR NOT NULL,
    reference_rows BIGINT NOT NULL,
    sample_rows BIGINT NOT NULL,
    run_leads BIGINT NOT NULL,
    features BIGINT NOT NULL,
    drifted_features BIGINT NOT NULL,
    score_drifted BOOLEAN NOT NULL,
    monitored_at TIMESTAMP NOT NULL
);

CREATE TABLE drift_results (
    run_id VARCHAR NOT NULL,
    feature VARCHAR NOT NULL,
    stat VARCHAR NOT NULL,
    kind VARCHAR NOT NULL,
    value {double},
    p_value {double},
    threshold {double} NOT NULL,
    drifted BOOLEAN NOT NULL,
    PRIMARY KEY (run_id, feature, stat)
);

CREATE TABLE alerts (
    alert_id VARCHAR PRIMARY KEY,
    run_id VARCHAR NOT NULL,
    as_of TIMESTAMP NOT NULL,
    kind VARCHAR NOT NULL,
    feature VARCHAR,
    severity VARCHAR NOT NULL,
    stat VARCHAR,
    value {double},
    threshold {double},
    message VARCHAR NOT NULL,
    created_at TIMESTAMP NOT NULL
);
