"""The nightly job's own failures; each is a LeadOpsError so the CLI prints one line and exits non-zero."""

from __future__ import annotations

from leadops.errors import FeatureError, LeadOpsError, NotFoundError


class JobError(LeadOpsError):
    """The scoring job could not run to completion; nothing of this run was published."""

    exit_code = 10
    http_status = 500


class NoChampionError(NotFoundError):
    """The registry holds no champion model, so there is nothing to score the leads with."""

    exit_code = 11


class FeatureSchemaError(FeatureError):
    """The features built tonight no longer match the features the champion (or a challenger) was trained on."""

    exit_code = 12


class EngineUnavailableError(JobError):
    """The requested engine (Spark) cannot start here: pyspark or Java is missing."""

    exit_code = 13


class SparkScoringError(JobError):
    """The Spark engine's output does not hold exactly one score per selected lead; nothing was published."""

    exit_code = 48


class SparkInputError(JobError):
    """A canonical table given to the Spark engine (scoring.spark.tables) cannot be read or lacks a column."""

    exit_code = 49
