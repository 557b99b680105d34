-- A hand stop of an experiment (`leadops experiment stop NAME`): when, why and by whom, kept apart from the spec
-- leadops.yaml declares (a later sync of the yaml must not undo it), and the experiments' own append-only audit
-- log (leadops only INSERTs into experiment_audit; seq orders the entries).

ALTER TABLE experiments ADD COLUMN stopped_at TIMESTAMP;
ALTER TABLE experiments ADD COLUMN stop_reason VARCHAR;
ALTER TABLE experiments ADD COLUMN stopped_by VARCHAR;

CREATE TABLE experiment_audit (
    seq BIGINT PRIMARY KEY,
    recorded_at TIMESTAMP NOT NULL,
    experiment VARCHAR NOT NULL,
    action VARCHAR NOT NULL,
    actor VARCHAR NOT NULL,
    effective_at TIMESTAMP,
    reason VARCHAR,
    detail {json}
);
