"""The CRM side of leadops: map a user's export onto the canonical tables, enforce contracts, quarantine."""

from leadops.crm.loader import ingest
from leadops.crm.readers import ingest_from
from leadops.crm.report import IngestReport, SourceReport

__all__ = ["IngestReport", "SourceReport", "ingest", "ingest_from"]
