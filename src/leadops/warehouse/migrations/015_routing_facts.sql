-- What routing needs to know of each lead of a run (CRM owner, created_at, its latest activity by the as-of,
-- its latest Sales touch since it went to Sales), computed by the engine that holds the canonical tables.
-- The Spark engine writes it from its own tables (a lake-only run has no leads or activities in the
-- warehouse), so routing never reads the warehouse's leads/activities for that run. Cleared at publish.

CREATE TABLE score_run_facts (
    run_id VARCHAR NOT NULL,
    lead_id VARCHAR NOT NULL,
    owner VARCHAR,
    created_at TIMESTAMP,
    last_active_at TIMESTAMP,
    last_sales_touch_at TIMESTAMP,
    PRIMARY KEY (run_id, lead_id)
);
