-- The lead's account in a run's routing facts: an experiment with unit account assigns by it, and a lake-only
-- Spark run has no leads in the warehouse to read it from (the engine writes it from its own tables).

ALTER TABLE score_run_facts ADD COLUMN account_id VARCHAR;
