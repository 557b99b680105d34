-- The nightly scoring job: run ledger, scores per run, shadow scores, the Sales and nurture queues,
-- and views of the latest PUBLISHED run (what Sales, Marketing and analysts query).
-- A run's rows are written while its score_runs.status is 'staging' and become visible in the views
-- only when one transaction flips it to 'published'.

CREATE TABLE score_runs (
    run_id VARCHAR PRIMARY KEY,
    as_of TIMESTAMP NOT NULL,
    model_version INTEGER NOT NULL,
    scorer VARCHAR,
    engine VARCHAR NOT NULL,
    status VARCHAR NOT NULL,
    config_hash VARCHAR NOT NULL,
    started_at TIMESTAMP NOT NULL,
    finished_at TIMESTAMP,
    published_at TIMESTAMP,
    leads_scored BIGINT,
    routed_sales BIGINT,
    new_to_sales BIGINT,
    routed_nurture BIGINT,
    recycled BIGINT,
    suppressed BIGINT,
    shadow_versions VARCHAR,
    export_csv VARCHAR,
    export_parquet VARCHAR,
    error VARCHAR
);

CREATE TABLE score_run_leads (
    run_id VARCHAR NOT NULL,
    lead_id VARCHAR NOT NULL,
    chunk INTEGER NOT NULL,
    region VARCHAR,
    do_not_call BOOLEAN,
    do_not_email BOOLEAN,
    PRIMARY KEY (run_id, lead_id)
);

CREATE TABLE score_stage (
    run_id VARCHAR NOT NULL,
    lead_id VARCHAR NOT NULL,
    score {double},
    probability {double},
    grade VARCHAR,
    raw {double},
    fit_score {double},
    engagement_score {double},
    reasons {json},
    reason_text VARCHAR,
    PRIMARY KEY (run_id, lead_id)
);

CREATE TABLE lead_scores (
    run_id VARCHAR NOT NULL,
    lead_id VARCHAR NOT NULL,
    as_of TIMESTAMP NOT NULL,
    model_version INTEGER NOT NULL,
    score {double},
    probability {double},
    grade VARCHAR,
    raw {double},
    score_rank BIGINT,
    percentile {double},
    fit_score {double},
    engagement_score {double},
    expected_value {double},
    mql BOOLEAN,
    route VARCHAR,
    route_reason VARCHAR,
    region VARCHAR,
    rep VARCHAR,
    sales_status VARCHAR,
    with_sales_since TIMESTAMP,
    last_sales_touch_at TIMESTAMP,
    recycled_at TIMESTAMP,
    do_not_call BOOLEAN,
    do_not_email BOOLEAN,
    reasons {json},
    reason_text VARCHAR,
    PRIMARY KEY (run_id, lead_id)
);

CREATE TABLE shadow_scores (
    run_id VARCHAR NOT NULL,
    lead_id VARCHAR NOT NULL,
    model_version INTEGER NOT NULL,
    score {double},
    probability {double},
    grade VARCHAR,
    PRIMARY KEY (run_id, lead_id, model_version)
);

CREATE TABLE sales_queue (
    run_id VARCHAR NOT NULL,
    as_of TIMESTAMP NOT NULL,
    lead_id VARCHAR NOT NULL,
    region VARCHAR,
    rep VARCHAR,
    score {double},
    grade VARCHAR,
    score_rank BIGINT,
    status VARCHAR NOT NULL,
    routed_at TIMESTAMP NOT NULL,
    last_sales_touch_at TIMESTAMP,
    reason_text VARCHAR,
    PRIMARY KEY (run_id, lead_id)
);

CREATE TABLE nurture_queue (
    run_id VARCHAR NOT NULL,
    as_of TIMESTAMP NOT NULL,
    lead_id VARCHAR NOT NULL,
    region VARCHAR,
    score {double},
    grade VARCHAR,
    score_rank BIGINT,
    channel VARCHAR NOT NULL,
    route_reason VARCHAR,
    recycled_at TIMESTAMP,
    PRIMARY KEY (run_id, lead_id)
);

CREATE INDEX score_runs_status ON score_runs (status, as_of);

CREATE VIEW published_runs AS
SELECT * FROM score_runs WHERE status = 'published';

CREATE VIEW current_run AS
SELECT * FROM score_runs
WHERE status = 'published'
ORDER BY as_of DESC, published_at DESC, run_id DESC
LIMIT 1;

CREATE VIEW current_scores AS
SELECT s.* FROM lead_scores s JOIN current_run r ON s.run_id = r.run_id;

CREATE VIEW current_sales_queue AS
SELECT q.* FROM sales_queue q JOIN current_run r ON q.run_id = r.run_id;

CREATE VIEW current_nurture_queue AS
SELECT q.* FROM nurture_queue q JOIN current_run r ON q.run_id = r.run_id;

CREATE VIEW current_shadow_scores AS
SELECT s.* FROM shadow_scores s JOIN current_run r ON s.run_id = r.run_id
