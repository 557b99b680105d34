"""Alert delivery: every alert goes to the log; those at or above `min_severity` are POSTed to the webhook.

Deduplicated per problem and day (`alert_deliveries`): the same feature drifting in a rerun, or in a second run
the same day, pages nobody twice once delivered (a failed delivery is tried again by the next run). A failing
webhook is retried with doubling backoff; what finally happened is recorded (delivered / failed, attempts, the
last HTTP status or error), never raised: a broken pager must not fail the nightly job. The payload holds
figures and feature names, no lead data.
"""

from __future__ import annotations

import json
import logging
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pyarrow as pa

from leadops.redaction import redact_text
from leadops.settings.monitoring import WebhookSpec
from leadops.warehouse import Warehouse
from leadops.warehouse.connection import utcnow

log = logging.getLogger("leadops.monitoring")
SEVERITY = {"warning": 1, "critical": 2}
Post = Callable[[str, bytes, float], int]


@dataclass(frozen=True)
class Alert:
    """One problem worth a human's attention, with the figure and the threshold it crossed."""

    alert_id: str
    kind: str
    feature: str | None
    severity: str
    stat: str | None
    value: float | None
    threshold: float | None
    message: str

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON."""
        return {
            "alert_id": self.alert_id,
            "kind": self.kind,
            "feature": self.feature,
            "severity": self.severity,
            "stat": self.stat,
            "value": self.value,
            "threshold": self.threshold,
            "message": self.message,
        }


@dataclass(frozen=True)
class Delivery:
    """What happened to one alert: sent, skipped as a duplicate of today's, below the bar, or failed."""

    alert_id: str
    status: str
    attempts: int = 0
    http_status: int | None = None
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON for `monitor --json`."""
        return {k: v for k, v in self.__dict__.items() if v is not None}


def problem_key(alert: Alert) -> str:
    """The same problem on another run the same day has the same key: its kind and feature."""
    return f"{alert.kind}:{alert.feature or '-'}"


def post_json(url: str, body: bytes, timeout: float) -> int:
    """POST JSON; the HTTP status (urllib raises for 4xx/5xx, which count as failures)."""
    request = urllib.request.Request(url, data=body, headers={"content-type": "application/json"}, method="POST")
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return int(response.status)


def payload(alert: Alert, run_id: str, as_of: datetime, report: str | None) -> bytes:
    """The JSON body: severity, the figure, its threshold, the run and where the report is."""
    body = {
        "source": "leadops",
        **alert.to_dict(),
        "run_id": run_id,
        "as_of": as_of.isoformat(),
        "report": report,
        "text": f"[leadops {alert.severity}] {alert.message} (run {run_id})",
    }
    return json.dumps(body).encode()


def _send(
    spec: WebhookSpec, body: bytes, post: Post, sleep: Callable[[float], None]
) -> tuple[str, int, int | None, str | None]:
    assert spec.url is not None
    wait, error, status = spec.backoff_seconds, None, None
    for attempt in range(1, spec.retries + 2):
        try:
            status = post(spec.url, body, spec.timeout_seconds)
            if 200 <= status < 300:
                return "delivered", attempt, status, None
            error = f"HTTP {status}"
        except urllib.error.HTTPError as exc:
            status, error = exc.code, f"HTTP {exc.code}"
        except (urllib.error.URLError, OSError, TimeoutError) as exc:
            error = redact_text(f"{type(exc).__name__}: {getattr(exc, 'reason', exc)}")
        if attempt <= spec.retries:
            sleep(wait)
            wait *= 2
    return "failed", spec.retries + 1, status, error


def deliver(
    warehouse: Warehouse,
    alerts: Sequence[Alert],
    spec: WebhookSpec,
    *,
    run_id: str,
    as_of: datetime,
    report: str | None = None,
    post: Post = post_json,
    sleep: Callable[[float], None] = time.sleep,
) -> list[Delivery]:
    """Log every alert, POST the new ones of the day at or above the bar, record each delivery once per day."""
    out: list[Delivery] = []
    day = as_of.date()
    for alert in alerts:
        level = logging.ERROR if alert.severity == "critical" else logging.WARNING
        log.log(level, "%s (run %s)", alert.message, run_id)
        if spec.url is None:
            continue
        if SEVERITY[alert.severity] < SEVERITY[spec.min_severity]:
            out.append(Delivery(alert.alert_id, "below_min_severity"))
            continue
        key = problem_key(alert)
        seen = warehouse.rows(
            "SELECT alert_id FROM alert_deliveries WHERE problem_key = ? AND day = ? AND status = 'delivered'",
            [key, day],
        )
        if seen:
            out.append(Delivery(alert.alert_id, "duplicate"))
            continue
        status, attempts, code, error = _send(spec, payload(alert, run_id, as_of, report), post, sleep)
        if status == "failed":
            log.error("alert webhook failed after %d attempts: %s", attempts, error)
        warehouse.upsert(
            "alert_deliveries",
            pa.table(
                {
                    "problem_key": [key],
                    "day": pa.array([day], pa.date32()),
                    "alert_id": [alert.alert_id],
                    "status": [status],
                    "attempts": pa.array([attempts], pa.int32()),
                    "http_status": pa.array([code], pa.int32()),
                    "error": pa.array([error], pa.string()),
                    "delivered_at": pa.array([utcnow()], pa.timestamp("us")),
                }
            ),
            key=["problem_key", "day"],
        )
        out.append(Delivery(alert.alert_id, status, attempts, code, error))
    return out
