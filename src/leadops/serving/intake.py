"""POST /v1/leads: contracts, idempotency, score, then the warehouse now or the spool until it is free.

The order: the request id is claimed in the intake ledger (a second call with it gets the first answer, or a
409 when its body differs); the lead goes through the workspace's contracts (leadops.crm.intake; a broken one
is quarantined and answered 422 naming the fields); the champion scores it; then one short write-through
transaction stores, routes and records it (leadops.jobs.intake.accept). When DuckDB's single writer is taken
(the nightly job) or the warehouse does not answer, the accepted lead goes to the durable spool instead and
the answer is 202 "queued": a drainer thread in every worker, each later write-through, and the nightly job
itself move it into the warehouse, once.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from leadops.config import Settings
from leadops.crm.intake import CheckedLead, Submission, check_submission, masked_payload, quarantine_rows
from leadops.crm.intake import write_quarantine as write_quarantine_rows
from leadops.crm.intake_ledger import IntakeLedger
from leadops.errors import LeadOpsError, WarehouseError
from leadops.jobs.intake import Accepted, Decision, Intake, Scored, accept, drain
from leadops.serving.errors import RequestFieldError, RequestTooLargeError
from leadops.serving.inputs import as_of_or_now
from leadops.serving.model import LeadRecords, ServedModel
from leadops.serving.schemas import ScoreResult
from leadops.serving.schemas_leads import LeadAccepted, LeadSubmission
from leadops.warehouse import Warehouse, open_warehouse

log = logging.getLogger("leadops.serving.intake")


class RequestIdConflictError(LeadOpsError):
    """A request id came again with a different body, or while its first call is still running (HTTP 409)."""

    exit_code = 50
    http_status = 409


class LeadContractError(RequestFieldError):
    """A submitted lead breaks the workspace's data contracts; it went to quarantine (HTTP 422)."""

    exit_code = 53
    http_status = 422

    def __init__(self, message: str, items: list[dict[str, Any]]) -> None:
        super().__init__(message, loc=items[0]["loc"] if items else [])
        self.items = items


@dataclass(frozen=True)
class Answer:
    """What the route sends back: the status code, the body, and whether it is a replay of a first answer."""

    status: int
    body: dict[str, Any]
    replayed: bool = False


def body_hash(body: LeadSubmission) -> str:
    """The submission's content (request id aside), hashed: the same id with another body is a conflict."""
    data = body.model_dump(mode="json", exclude={"request_id"}, exclude_none=True)
    return hashlib.sha256(json.dumps(data, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def request_id_of(body: LeadSubmission, header: str | None) -> str | None:
    """The client's request id (Idempotency-Key header or `request_id`); both given must agree."""
    header = header.strip() if header else None
    if header and body.request_id and header != body.request_id:
        raise RequestFieldError(
            "request_id: the body's request_id and the Idempotency-Key header differ; send one, or the same",
            loc=["body", "request_id"],
        )
    if header is not None and not 1 <= len(header) <= 200:
        raise RequestFieldError("Idempotency-Key: expected 1..200 characters", loc=["header", "Idempotency-Key"])
    return header or body.request_id


def submission_of(body: LeadSubmission, request_id: str, received: datetime, *, defaults: bool = True) -> Submission:
    """The submission as canonical records: only the fields sent (an update leaves the rest as stored); with
    `defaults`, a lead without an id gets one from the request id, a lead without a creation time was created now."""
    lead = body.model_dump(exclude={"account", "activities", "request_id"}, exclude_none=True)
    if defaults:
        lead.setdefault("lead_id", f"api-{hashlib.sha256(request_id.encode()).hexdigest()[:16]}")
        lead.setdefault("created_at", received)
    if isinstance(lead.get("created_at"), datetime):
        lead["created_at"] = as_of_or_now(lead["created_at"])
    account = body.account.model_dump(exclude_none=True) if body.account is not None else None
    activities = []
    for a in body.activities:
        row = a.model_dump(exclude_none=True)
        row["occurred_at"] = as_of_or_now(a.occurred_at)
        activities.append(row)
    return Submission(lead, account, activities)


def is_mql(model: ServedModel, score: float, probability: float | None) -> bool:
    """Whether the champion's MQL bar (the nightly job's) calls the lead an MQL, consent aside."""
    plan = model.routing
    if plan.spec.policy == "expected_value":
        b = plan.business
        return (probability or 0.0) * b.value_per_conversion - b.cost_per_contact > 0
    return plan.mql_threshold is not None and score >= plan.mql_threshold


@dataclass(frozen=True)
class Scoring:
    """The champion's result and what it scored (the shadow challengers score the same records)."""

    result: ScoreResult
    records: LeadRecords
    as_of: datetime


def score_checked(model: ServedModel, checked: CheckedLead, account: dict[str, Any] | None, now: datetime) -> Scoring:
    """The champion's score of the lead as it will be stored (mapped values: what tonight's run will read)."""
    lead = dict(checked.lead)
    records = LeadRecords(lead, account if account is not None else checked.account, list(checked.activities))
    return Scoring(model.score([records], now)[0], records, now)


def _stored_account(warehouse: Warehouse, account_id: Any) -> dict[str, Any] | None:
    """The lead's account as the warehouse holds it (a webhook often sends only the account id)."""
    if account_id is None:
        return None
    cols = ("account_id", "name", "industry", "employees", "annual_revenue", "country", "region",
            "profitable_last_quarter", "is_competitor", "attributes")  # fmt: skip
    rows = warehouse.rows(f"SELECT {', '.join(cols)} FROM accounts WHERE account_id = ?", [account_id])
    if not rows:
        return None
    found = dict(zip(cols, rows[0], strict=True))
    if isinstance(found.get("attributes"), str):
        found["attributes"] = json.loads(found["attributes"])
    return found


class IntakeService:
    """POST /v1/leads for one worker: the ledger, the warehouse URL, the settings it routes with."""

    def __init__(self, settings: Settings, ledger: IntakeLedger | None = None) -> None:
        self.settings = settings
        self.ledger = ledger or IntakeLedger.for_workspace(settings.workspace)
        self._migrated = False
        self._drain_lock = threading.Lock()
        # opens the warehouse while the contracts are checked (DuckDB releases the GIL in both): off the request's
        # critical path, without changing what is stored or when it is committed
        self._helpers = ThreadPoolExecutor(max_workers=2, thread_name_prefix="leadops-intake")

    # ------------------------------------------------------------------------------- warehouse
    def _open(self) -> Warehouse:
        """A read-write connection (schema brought up once per process); raises when the writer is taken."""
        try:
            warehouse = open_warehouse(self.settings.warehouse.url, self.settings.workspace, migrate=not self._migrated)
        except WarehouseError:
            raise
        except Exception as exc:  # DuckDB's own error for a file this process holds read-only elsewhere
            raise WarehouseError(f"the warehouse cannot be opened for writing: {type(exc).__name__}: {exc}") from exc
        self._migrated = True
        return warehouse

    def _open_or_none(self) -> Warehouse | None:
        """The read-write warehouse, or None when it is taken or down (the lead then goes to the spool)."""
        try:
            return self._open()
        except WarehouseError as exc:
            log.info("warehouse not writable now (%s): the lead goes to the spool", type(exc).__name__)
            return None

    def close(self) -> None:
        """Stop the helper threads and release the ledger (the service is stopping)."""
        self._helpers.shutdown(wait=True)
        self.ledger.close()

    def _write(self, warehouse: Warehouse, job: str, work: Any) -> Any:
        """Run `work(warehouse)` holding leadops' writer lock on DuckDB (no lock on PostgreSQL: write directly)."""
        if warehouse.sql.single_writer:
            with warehouse.writer(job):
                return work(warehouse)
        return work(warehouse)

    # ---------------------------------------------------------------------------------- submit
    def submit(self, model: ServedModel, body: LeadSubmission, header_id: str | None) -> tuple[Answer, Scoring | None]:
        """Answer one submission (see the module docstring); the champion's result for metrics when scored."""
        given = request_id_of(body, header_id)
        request_id = given or f"auto-{uuid.uuid4().hex}"
        digest = body_hash(body)
        limit = self.settings.serving.max_activities
        if len(body.activities) > limit:
            raise RequestTooLargeError(f"activities: {len(body.activities)} activities, over the limit of {limit}")
        if given is not None:
            known = self.ledger.claim(request_id, digest)
            if known is not None:
                return self._replay(known.request_id, known.body_hash, digest, known.status, known.http_status,
                                    known.response), None  # fmt: skip
        try:
            return self._new(model, body, request_id, digest, given is not None)
        except BaseException:
            if given is not None:
                self.ledger.release(request_id)
            raise

    def _replay(
        self, request_id: str, first_hash: str, digest: str, status: str, code: int | None, response: Any
    ) -> Answer:
        if first_hash != digest:
            raise RequestIdConflictError(
                f"request id '{request_id[:200]}' was already used for a different lead",
                hint="send a new request id for a new submission; a retry must repeat the first body exactly",
            )
        if status == "pending" or response is None or code is None:
            raise RequestIdConflictError(
                f"request id '{request_id[:200]}' is being processed by another call", hint="retry in a moment"
            )
        return Answer(code, dict(response), replayed=True)

    def _new(
        self, model: ServedModel, body: LeadSubmission, request_id: str, digest: str, remember: bool
    ) -> tuple[Answer, Scoring]:
        received = as_of_or_now(None)
        submission = submission_of(body, request_id, received)
        s = self.settings
        opening = self._helpers.submit(
            self._open_or_none
        )  # DuckDB opens while the contracts run (both release the GIL)
        try:
            checked = check_submission(submission, s.contracts, s.sources, received)
        except BaseException:
            _close_quietly(opening.result())
            raise
        if not checked.ok:  # quarantined as sent (a retry of the same body is the same entry)
            _close_quietly(opening.result())
            sent = submission_of(body, request_id, received, defaults=False)
            self._quarantine(sent, checked, request_id if remember else None, received)
        warehouse = opening.result()
        try:
            account = None
            if warehouse is not None and checked.account is None:
                account = _stored_account(warehouse, checked.lead.get("account_id"))
            scoring = score_checked(model, checked, account, received)
            result = scoring.result
            scored = Scored(
                model_version=model.version, score=result.score, probability=result.probability, grade=result.grade,
                mql=is_mql(model, result.score, result.probability), route=result.route,
                route_reason=result.route_reason, reason_text="; ".join(result.reasons),
            )  # fmt: skip
            intake = Intake(request_id, digest, received, checked, scored)
            done: Accepted | None = None
            if warehouse is not None:
                try:
                    done = self._write(warehouse, "intake", lambda wh: self._accept_and_drain(wh, intake))
                except WarehouseError as exc:  # the lock went to another writer in between, or PostgreSQL failed
                    log.info("write-through failed (%s): lead %s goes to the spool", type(exc).__name__, request_id)
        finally:
            if warehouse is not None:
                warehouse.close()  # before the answer: a reader of this worker may open the file next
        if done is not None:
            answer = self._answer(intake, result, done.decision, "stored")
            if remember:
                self.ledger.finish(request_id, intake.lead_id, 201, answer)
            return Answer(201, answer), scoring
        pending = Decision(
            scored.route, f"{scored.route_reason}; the warehouse is busy: stored and routed against today's Sales "
            "capacity as soon as it is free", "unknown",
        )  # fmt: skip
        answer = self._answer(intake, result, pending, "queued")
        self.ledger.queue("lead", intake.to_json(), request_id=request_id if remember else None,
                          lead_id=intake.lead_id, http_status=202, response=answer)  # fmt: skip
        return Answer(202, answer), scoring

    def _accept_and_drain(self, warehouse: Warehouse, intake: Intake) -> Accepted:
        s = self.settings
        done = accept(warehouse, intake, s.routing, s.business, via="api")
        if self.ledger.pending_count():  # the warehouse is free now: bring the spool in behind this lead
            try:
                drain(warehouse, self.ledger, s.routing, s.business)
            except LeadOpsError as exc:
                log.warning("intake drain after a write-through: %s", exc)
        return done

    @staticmethod
    def _answer(intake: Intake, result: ScoreResult, decision: Decision, stored: str) -> dict[str, Any]:
        body = LeadAccepted(
            request_id=intake.request_id, lead_id=intake.lead_id, stored=stored,  # type: ignore[arg-type]
            model_version=result.model_version, score=result.score, probability=result.probability,
            grade=result.grade, reasons=result.reasons, reason_details=result.reason_details,
            mql=intake.scored.mql, route=decision.route,  # type: ignore[arg-type]
            route_reason=decision.route_reason, routed_to_sales_at=decision.routed_at, rep=decision.rep,
            received_at=intake.received_at,
        )  # fmt: skip
        return body.model_dump(mode="json")

    def _quarantine(self, submission: Submission, checked: CheckedLead, request_id: str | None, at: datetime) -> None:
        """Put the refused submission in quarantine (now, or through the spool) and raise the 422."""
        payload = masked_payload(submission, self.settings.sources, request_id)
        rows = quarantine_rows(checked.violations, payload, request_id=request_id, at=at)
        try:
            warehouse = self._open()
            try:
                self._write(warehouse, "intake", lambda wh: _in_transaction(wh, rows))
            finally:
                warehouse.close()
        except WarehouseError:
            self.ledger.queue("quarantine", {"rows": rows})
        items = [{"loc": ["body", *v.where()], "msg": f"{v.reason}: {v.detail}", "type": v.reason}
                 for v in checked.violations]  # fmt: skip
        names = ", ".join(".".join(str(p) for p in i["loc"][1:]) for i in items[:5])
        raise LeadContractError(
            f"the lead breaks the workspace's data contracts ({names}); it was quarantined, nothing was stored",
            items,
        )

    # ----------------------------------------------------------------------------------- drain
    def drain_now(self) -> dict[str, Any] | None:
        """Move spooled leads into the warehouse if it is free; None when there was nothing or it is busy."""
        if not self._drain_lock.acquire(blocking=False):
            return None
        try:
            if not self.ledger.pending_count():
                return None
            try:
                warehouse = self._open()
            except WarehouseError:
                return None
            try:
                s = self.settings
                report = self._write(warehouse, "intake", lambda wh: drain(wh, self.ledger, s.routing, s.business))
                return report.to_dict()
            except WarehouseError:
                return None
            finally:
                warehouse.close()
        finally:
            self._drain_lock.release()


def _close_quietly(warehouse: Warehouse | None) -> None:
    """Close a warehouse connection; a failure is logged (what it held is committed or rolled back already)."""
    if warehouse is None:
        return
    try:
        warehouse.close()
    except Exception as exc:
        log.warning("intake: closing the warehouse failed: %s: %s", type(exc).__name__, exc)


def _in_transaction(warehouse: Warehouse, rows: list[dict[str, Any]]) -> int:
    with warehouse.transaction():
        return write_quarantine_rows(warehouse, rows)


class Drainer:
    """A daemon thread per worker: every few seconds, spooled leads go into the warehouse if it is free."""

    def __init__(self, service: IntakeService, every: float) -> None:
        self.service = service
        self.every = every
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="leadops-intake-drainer", daemon=True)

    def start(self) -> None:
        """Begin draining."""
        self._thread.start()

    def stop(self) -> None:
        """Stop at the next tick."""
        self._stop.set()

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            try:
                report = self.service.drain_now()
                if report:
                    log.info("intake spool drained: %s", report)
            except Exception as exc:  # the drainer must never die: the spool keeps the leads
                log.exception("intake drainer: %s", exc)
