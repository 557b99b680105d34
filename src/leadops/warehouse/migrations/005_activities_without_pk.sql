-- activities are immutable events: ingest inserts an activity only when its activity_id is absent (an anti-join
-- against this table) and quarantines any key seen earlier in the same run, so the key stays unique by
-- construction. Same columns as before, but no index: on DuckDB the PRIMARY KEY and the (lead_id, occurred_at)
-- ART index cost ~60% of a bulk load (every insert and commit updated them) and grew in memory with the table,
-- while DuckDB's planner never used the composite index (a lead's activities are a filtered scan either way).
-- PostgreSQL would use activities_lead_time for single-lead lookups: re-add it there when migrations can
-- carry per-engine statements.

CREATE TABLE activities_rebuilt (
    activity_id VARCHAR NOT NULL,
    lead_id VARCHAR NOT NULL,
    occurred_at TIMESTAMP NOT NULL,
    activity_type VARCHAR NOT NULL,
    channel VARCHAR,
    value {double},
    ingest_run_id VARCHAR
);

INSERT INTO activities_rebuilt (activity_id, lead_id, occurred_at, activity_type, channel, value, ingest_run_id)
SELECT activity_id, lead_id, occurred_at, activity_type, channel, value, ingest_run_id FROM activities;

DROP INDEX activities_lead_time;

DROP TABLE activities;

ALTER TABLE activities_rebuilt RENAME TO activities
