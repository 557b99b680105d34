"""Monitoring: drift statistics (more to come: performance by cohort, alerts, retraining)."""
