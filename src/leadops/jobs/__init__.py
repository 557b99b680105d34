"""The nightly scoring job: score -> route -> publish, its run ledger, exports, engines and schedule."""

from leadops.jobs.run import ScoreRunResult, score_job

__all__ = ["ScoreRunResult", "score_job"]
