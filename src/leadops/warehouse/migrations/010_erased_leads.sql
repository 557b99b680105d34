-- Who `leadops erase` removed, so the next ingest of a CRM export that still holds them does not load them
-- again: sha256 of the lead id (hex), never the id itself. Ingest leaves their rows out as filtered ('erased').
-- Delete a row here to let that lead be loaded again.
CREATE TABLE erased_leads (
    lead_key VARCHAR PRIMARY KEY,
    erased_at TIMESTAMP NOT NULL
);
