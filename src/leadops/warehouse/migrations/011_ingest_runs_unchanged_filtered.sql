-- The ingest ledger carries every term of the accounting identity (rows_read = loaded + unchanged + quarantined +
-- filtered) as columns, so SQL over ingest_runs balances without reading the JSON report. Runs recorded before
-- this migration keep NULL here (their report JSON has both figures).

ALTER TABLE ingest_runs ADD COLUMN rows_unchanged BIGINT;

ALTER TABLE ingest_runs ADD COLUMN rows_filtered BIGINT
