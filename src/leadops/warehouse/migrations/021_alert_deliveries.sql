-- Alerts sent to the configured webhook: one row per problem and day, so a rerun or the next run that day
-- does not page anyone twice.

CREATE TABLE alert_deliveries (
    problem_key VARCHAR NOT NULL,
    day DATE NOT NULL,
    alert_id VARCHAR NOT NULL,
    status VARCHAR NOT NULL,
    attempts INTEGER NOT NULL,
    http_status INTEGER,
    error VARCHAR,
    delivered_at TIMESTAMP NOT NULL,
    PRIMARY KEY (problem_key, day)
);
