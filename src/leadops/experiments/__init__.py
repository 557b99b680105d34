"""A/B experiments of scoring models and routing policies: assignment, the store, statistics, readouts."""
