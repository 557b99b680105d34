"""The CRM side of leadops: map a user's export onto the canonical tables, enforce contracts, quarantine.

Nothing here imports leadops.config at load time (config imports crm.specs). `leadops.crm.ingest` is the
function; the module of the same name stays importable as `leadops.crm.ingest` via sys.modules.
"""

from leadops.crm.ingest import ingest
from leadops.crm.readers import ingest_from
from leadops.crm.report import IngestReport, SourceReport

__all__ = ["IngestReport", "SourceReport", "ingest", "ingest_from"]
