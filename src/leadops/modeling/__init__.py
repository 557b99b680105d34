"""Workspace-level model work: train a configured scorer, evaluate it, check its gates, register it."""
