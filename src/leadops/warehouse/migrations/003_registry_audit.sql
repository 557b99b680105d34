-- The registry's append-only audit log: who changed which scoring model version, when, how and why.
-- leadops only ever INSERTs here (see leadops/registry/audit.py); rows are never updated or deleted.
-- seq orders the entries; previous_version is the version the action replaced (NULL when none).

CREATE TABLE registry_audit (
    seq BIGINT PRIMARY KEY,
    recorded_at TIMESTAMP NOT NULL,
    actor VARCHAR NOT NULL,
    action VARCHAR NOT NULL,
    model_name VARCHAR NOT NULL,
    alias VARCHAR,
    version INTEGER,
    previous_version INTEGER,
    reason VARCHAR,
    detail {json}
);

CREATE INDEX registry_audit_model ON registry_audit (model_name, seq);
