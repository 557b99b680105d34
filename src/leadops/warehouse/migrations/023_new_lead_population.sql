-- Each monitored run has a second population, the leads new since the previous run (where a mix shift shows at
-- once), so drift rows name their population ('open': every scored lead; 'new': the new leads), and lead
-- volume and mix per source of the new leads are kept per run. drift_results is rebuilt to key on population.

CREATE TABLE drift_results_023 (
    run_id VARCHAR NOT NULL,
    population VARCHAR NOT NULL,
    feature VARCHAR NOT NULL,
    stat VARCHAR NOT NULL,
    kind VARCHAR NOT NULL,
    value {double},
    p_value {double},
    threshold {double} NOT NULL,
    drifted BOOLEAN NOT NULL,
    PRIMARY KEY (run_id, population, feature, stat)
);

INSERT INTO drift_results_023
SELECT run_id, 'open', feature, stat, kind, value, p_value, threshold, drifted FROM drift_results;

DROP TABLE drift_results;

ALTER TABLE drift_results_023 RENAME TO drift_results;

ALTER TABLE monitor_runs ADD COLUMN new_since TIMESTAMP;

ALTER TABLE monitor_runs ADD COLUMN new_leads BIGINT;

ALTER TABLE monitor_runs ADD COLUMN new_reference_rows BIGINT;

ALTER TABLE monitor_runs ADD COLUMN new_drifted_features BIGINT;

CREATE TABLE source_volumes (
    run_id VARCHAR NOT NULL,
    source VARCHAR NOT NULL,
    leads BIGINT NOT NULL,
    per_day {double} NOT NULL,
    reference_leads BIGINT NOT NULL,
    reference_per_day {double} NOT NULL,
    share {double},
    reference_share {double},
    change {double},
    p_value {double},
    flagged BOOLEAN NOT NULL,
    PRIMARY KEY (run_id, source)
);

-- The 10th, 50th and 90th percentile of the run's published scores, computed once when the run is monitored
-- (the report used to read every score of every monitored run each time it was written).
ALTER TABLE monitor_runs ADD COLUMN score_p10 {double};

ALTER TABLE monitor_runs ADD COLUMN score_p50 {double};

ALTER TABLE monitor_runs ADD COLUMN score_p90 {double};
