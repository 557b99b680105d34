-- Re-ingesting the same file must not grow the quarantine: one entry per source, row, reason and row content.
CREATE UNIQUE INDEX quarantine_dedupe ON quarantine (source, row_number, reason, row_hash);
