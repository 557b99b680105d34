-- `leadops erase`: one row per request, who and when and how many rows per table and file were removed.
-- It never holds the erased values (no lead id, no email), so the log itself is not personal data.
CREATE TABLE erasure_log (
    erasure_id VARCHAR PRIMARY KEY,
    erased_at TIMESTAMP NOT NULL,
    actor VARCHAR NOT NULL,
    leads_requested INTEGER NOT NULL,
    rows_removed BIGINT NOT NULL,
    tables {json},
    files {json}
);
