-- Leads submitted online (POST /v1/leads): one row per accepted client request, written in the same
-- transaction as the lead's rows, so a request id is stored at most once (the spool's drain relies on it).
-- route = 'sales' with routed_at set: the lead joined that day's Sales queue online; the next nightly run
-- keeps it with Sales (with_sales_since = routed_at) instead of routing it again.

CREATE TABLE intake_leads (
    request_id VARCHAR PRIMARY KEY,
    lead_id VARCHAR NOT NULL,
    body_hash VARCHAR NOT NULL,
    received_at TIMESTAMP NOT NULL,
    stored_at TIMESTAMP NOT NULL,
    via VARCHAR NOT NULL,
    model_version INTEGER,
    score {double},
    probability {double},
    grade VARCHAR,
    mql BOOLEAN,
    route VARCHAR NOT NULL,
    route_reason VARCHAR,
    region VARCHAR,
    rep VARCHAR,
    routed_at TIMESTAMP,
    reason_text VARCHAR
);

CREATE INDEX intake_leads_routed ON intake_leads (routed_at);

CREATE INDEX intake_leads_lead ON intake_leads (lead_id)
