-- The canonical CRM model every part of leadops speaks, plus ingest bookkeeping.
-- Types: {json} is JSON in DuckDB and JSONB in PostgreSQL; {double} is DOUBLE / DOUBLE PRECISION.
-- Timestamps are naive UTC.

CREATE TABLE accounts (
    account_id VARCHAR PRIMARY KEY,
    name VARCHAR,
    industry VARCHAR,
    employees INTEGER,
    annual_revenue {double},
    country VARCHAR,
    region VARCHAR,
    profitable_last_quarter BOOLEAN,
    is_competitor BOOLEAN,
    attributes {json},
    ingest_run_id VARCHAR
);

CREATE TABLE leads (
    lead_id VARCHAR PRIMARY KEY,
    account_id VARCHAR,
    created_at TIMESTAMP,
    email VARCHAR,
    email_domain_type VARCHAR,
    job_level VARCHAR,
    department VARCHAR,
    country VARCHAR,
    region VARCHAR,
    lead_source VARCHAR,
    do_not_email BOOLEAN,
    do_not_call BOOLEAN,
    attributes {json},
    ingest_run_id VARCHAR
);

CREATE TABLE activities (
    activity_id VARCHAR PRIMARY KEY,
    lead_id VARCHAR NOT NULL,
    occurred_at TIMESTAMP NOT NULL,
    activity_type VARCHAR NOT NULL,
    channel VARCHAR,
    value {double},
    ingest_run_id VARCHAR
);

CREATE TABLE outcomes (
    outcome_id VARCHAR PRIMARY KEY,
    lead_id VARCHAR NOT NULL,
    occurred_at TIMESTAMP,
    outcome VARCHAR NOT NULL,
    deal_value {double},
    ingest_run_id VARCHAR
);

CREATE TABLE ingest_runs (
    run_id VARCHAR PRIMARY KEY,
    started_at TIMESTAMP NOT NULL,
    finished_at TIMESTAMP,
    status VARCHAR NOT NULL,
    rows_read BIGINT,
    rows_loaded BIGINT,
    rows_quarantined BIGINT,
    report {json}
);

CREATE TABLE quarantine (
    ingest_run_id VARCHAR NOT NULL,
    source VARCHAR NOT NULL,
    target_table VARCHAR NOT NULL,
    row_number BIGINT NOT NULL,
    field VARCHAR,
    reason VARCHAR NOT NULL,
    detail VARCHAR,
    row_hash VARCHAR,
    raw {json},
    quarantined_at TIMESTAMP NOT NULL
);

CREATE INDEX activities_lead_time ON activities (lead_id, occurred_at);
CREATE INDEX outcomes_lead ON outcomes (lead_id);
