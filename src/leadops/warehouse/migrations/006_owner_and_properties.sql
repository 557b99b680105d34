-- Relational CRM exports: a lead's owner (the sales rep the CRM assigned it to, which routing can use) and an
-- activity's properties (direction, call outcome, page of a web visit...: JSON, features filter on them).

ALTER TABLE leads ADD COLUMN owner VARCHAR;

ALTER TABLE activities ADD COLUMN properties {json}
