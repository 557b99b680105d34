-- Performance by weekly cohort as monitoring saw it on each run: estimates while labels are out, realised
-- figures once mature, so the two can be set side by side later. Replaced per (model_version, run_id).

CREATE TABLE cohort_performance (
    run_id VARCHAR NOT NULL,
    model_version INTEGER NOT NULL,
    cohort_week DATE NOT NULL,
    leads BIGINT NOT NULL,
    mature BOOLEAN NOT NULL,
    expected_conversion_rate {double},
    expected_auc {double},
    conversion_rate {double},
    auc {double},
    auc_low {double},
    auc_high {double},
    ece {double},
    captured_at_capacity {double},
    PRIMARY KEY (run_id, cohort_week)
);
