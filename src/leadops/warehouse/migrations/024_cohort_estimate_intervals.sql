-- The estimate of a cohort comes with its interval (what the realised figure should fall in when the model is
-- calibrated and the concept held), so a later run can set the realised figure inside or outside it; the realised
-- conversions captured get their interval too.

ALTER TABLE cohort_performance ADD COLUMN expected_rate_low {double};
ALTER TABLE cohort_performance ADD COLUMN expected_rate_high {double};
ALTER TABLE cohort_performance ADD COLUMN expected_auc_low {double};
ALTER TABLE cohort_performance ADD COLUMN expected_auc_high {double};
ALTER TABLE cohort_performance ADD COLUMN ece_limit {double};
ALTER TABLE cohort_performance ADD COLUMN conversion_rate_low {double};
ALTER TABLE cohort_performance ADD COLUMN conversion_rate_high {double};
ALTER TABLE cohort_performance ADD COLUMN positives BIGINT;
