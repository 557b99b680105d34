-- A/B experiments: every experiment known to the warehouse (declared in leadops.yaml, or started by the
-- retraining policy), the sticky assignment of each lead to an arm (written once, never updated), and every
-- readout `leadops experiment report` computed (its headline columns plus the full readout as JSON).

CREATE TABLE experiments (
    name VARCHAR PRIMARY KEY,
    origin VARCHAR NOT NULL,
    status VARCHAR NOT NULL,
    spec {json} NOT NULL,
    spec_hash VARCHAR NOT NULL,
    start_at TIMESTAMP NOT NULL,
    stop_at TIMESTAMP,
    unit VARCHAR NOT NULL,
    control_arm VARCHAR NOT NULL,
    kpi VARCHAR NOT NULL,
    window_days INTEGER NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    decided_at TIMESTAMP,
    decision VARCHAR
);

CREATE TABLE experiment_assignments (
    experiment VARCHAR NOT NULL,
    lead_id VARCHAR NOT NULL,
    unit_id VARCHAR NOT NULL,
    bucket INTEGER NOT NULL,
    arm VARCHAR NOT NULL,
    assigned_at TIMESTAMP NOT NULL,
    source VARCHAR NOT NULL,
    run_id VARCHAR,
    model_version INTEGER,
    routing_policy VARCHAR,
    PRIMARY KEY (experiment, lead_id)
);

CREATE TABLE experiment_readouts (
    readout_id VARCHAR PRIMARY KEY,
    experiment VARCHAR NOT NULL,
    as_of TIMESTAMP NOT NULL,
    created_at TIMESTAMP NOT NULL,
    kpi VARCHAR NOT NULL,
    window_days INTEGER NOT NULL,
    control_arm VARCHAR NOT NULL,
    treatment_arm VARCHAR NOT NULL,
    units BIGINT NOT NULL,
    mature_units BIGINT NOT NULL,
    mature BOOLEAN NOT NULL,
    control_kpi {double},
    treatment_kpi {double},
    diff {double},
    diff_low {double},
    diff_high {double},
    lift {double},
    lift_low {double},
    lift_high {double},
    p_value {double},
    sequential_p {double},
    srm_p {double},
    recommendation VARCHAR NOT NULL,
    reason VARCHAR NOT NULL,
    incremental_revenue {double},
    roi {double},
    html_path VARCHAR,
    readout {json} NOT NULL
);
