"""The worker's side of an attempt: claim with a lease, finish, fail and back off; and what the
sweeper needs (expired leases, attempts due for the queue)."""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from receipt.errors import ReceiptError
from receipt.photo.intake import intake_message_zh
from receipt.service.db import (
    AnalysisResult,
    Attempt,
    Order,
    utcnow,
)
from receipt.service.issuing import IssuedRecord
from receipt.service.orders.state import emit, receipt_row, set_status
from receipt.service.review.cases import on_machine_verdict
from receipt.service.runtime import Runtime

log = logging.getLogger(__name__)

# --- the worker's side: claim, finish, fail ----------------------------------------------------

@dataclass(frozen=True)
class Claim:
    attempt_id: int
    order_id: str
    seq: int
    spec_id: str
    upload_sha256: str
    token: str
    tries: int


def claim_attempt(rt: Runtime, attempt_id: int, worker: str) -> Claim | None:
    """Take the attempt for processing, or None when it is done, taken, or not due yet."""
    now = utcnow()
    claim_token = secrets.token_hex(16)
    with rt.db.session() as session:
        claimable = or_(
            (Attempt.status == "queued") & (or_(Attempt.not_before.is_(None), Attempt.not_before <= now)),
            (Attempt.status == "processing") & (Attempt.lease_expires_at < now),  # its worker vanished
        )
        result = session.execute(
            update(Attempt).where(Attempt.id == attempt_id, claimable, Attempt.tries < rt.settings.max_tries)
            .values(status="processing", claim_token=claim_token, claimed_by=worker[:120], tries=Attempt.tries + 1,
                    lease_expires_at=now + timedelta(seconds=rt.settings.lease_s), started_at=now, not_before=None)
            .execution_options(synchronize_session=False))
        if result.rowcount != 1:
            _give_up_if_exhausted(session, rt, attempt_id, now)
            return None
        attempt = session.get(Attempt, attempt_id, populate_existing=True)
        assert attempt is not None
        order = session.get(Order, attempt.order_id)
        assert order is not None
        set_status(session, rt, order, "processing", attempt)
        return Claim(attempt.id, order.id, attempt.seq, order.spec_id, attempt.upload_sha256, claim_token, attempt.tries)


def renew_lease(rt: Runtime, claim: Claim) -> bool:
    """The worker's heartbeat: push its lease on; False when the claim is no longer its own."""
    with rt.db.session() as session:
        result = session.execute(
            update(Attempt).where(Attempt.id == claim.attempt_id, Attempt.claim_token == claim.token,
                                  Attempt.status == "processing")
            .values(lease_expires_at=utcnow() + timedelta(seconds=rt.settings.lease_s))
            .execution_options(synchronize_session=False))
        return result.rowcount == 1


def _give_up_if_exhausted(session: Session, rt: Runtime, attempt_id: int, now: datetime) -> None:
    """An attempt that has used all its claims and is still not done ends in a visible error."""
    attempt = session.get(Attempt, attempt_id)
    if attempt is None or attempt.tries < rt.settings.max_tries:
        return
    stale = attempt.status == "processing" and attempt.lease_expires_at is not None and attempt.lease_expires_at < now
    if attempt.status == "queued" or stale:
        finish_with_error(session, rt, attempt, attempt.last_error or "WORKER_LOST: the worker stopped while processing")


def finish_with_error(session: Session, rt: Runtime, attempt: Attempt, error: str) -> None:
    attempt.status, attempt.finished_at, attempt.claim_token, attempt.lease_expires_at = "error", utcnow(), None, None
    attempt.last_error = error[:2000]
    order = session.get(Order, attempt.order_id)
    assert order is not None
    set_status(session, rt, order, "error", attempt, error=error[:500], tries=attempt.tries)


@dataclass
class Outcome:
    verdict: str  # pass | review | reject
    reasons: list[dict[str, Any]]
    report: dict[str, Any]
    photo_sha256: str | None = None
    annotated_sha256: str | None = None
    duration_ms: int | None = None


def finish_attempt(rt: Runtime, claim: Claim, outcome: Outcome, issued: IssuedRecord | None) -> bool:
    """Record the machine's result; False when this worker lost its claim (another one finished)."""
    with rt.db.session() as session:
        result = session.execute(
            update(Attempt).where(Attempt.id == claim.attempt_id, Attempt.claim_token == claim.token,
                                  Attempt.status == "processing")
            .values(status="done", verdict=outcome.verdict, finished_at=utcnow(), claim_token=None,
                    lease_expires_at=None, last_error=None)
            .execution_options(synchronize_session=False))
        if result.rowcount != 1:
            log.warning("attempt %s: claim lost, discarding this worker's result", claim.attempt_id)
            return False
        attempt = session.get(Attempt, claim.attempt_id, populate_existing=True)
        order = session.get(Order, claim.order_id)
        assert attempt is not None and order is not None
        session.add(AnalysisResult(attempt_id=attempt.id, verdict=outcome.verdict, reasons=outcome.reasons,
                                   report=outcome.report, photo_sha256=outcome.photo_sha256,
                                   annotated_sha256=outcome.annotated_sha256, worker=rt.identity[:120],
                                   duration_ms=outcome.duration_ms, created_at=utcnow()))
        codes = [r["code"] for r in outcome.reasons]
        if outcome.verdict == "pass" and issued is not None:
            session.add(receipt_row(order, attempt, issued, "machine"))
            session.flush()  # unique constraints fire here, inside this transaction
            set_status(session, rt, order, "issued", attempt, verdict="pass", receipt_number=issued.number,
                        expires_on=issued.expires_on.isoformat() if issued.expires_on else None)
        elif outcome.verdict == "review" or outcome.verdict == "pass":
            set_status(session, rt, order, "in_review", attempt, verdict=outcome.verdict, reasons=codes)
        else:
            set_status(session, rt, order, "rejected", attempt, verdict="reject", reasons=codes)
        on_machine_verdict(session, rt.settings, order, attempt, outcome.verdict, outcome.reasons,
                           issued=order.status == "issued")
        return True


def fail_attempt(rt: Runtime, claim: Claim, error: str) -> str:
    """A job failed: back off and let the sweeper retry, or end in `error` after max_tries."""
    with rt.db.session() as session:
        attempt = session.scalar(select(Attempt).where(Attempt.id == claim.attempt_id,
                                                       Attempt.claim_token == claim.token).with_for_update())
        if attempt is None or attempt.status != "processing":
            return "lost"
        attempt.last_error = error[:2000]
        if attempt.tries >= rt.settings.max_tries:
            finish_with_error(session, rt, attempt, error)
            return "error"
        delay = rt.settings.retry_base_s * 2 ** (attempt.tries - 1)
        attempt.status, attempt.claim_token, attempt.lease_expires_at = "queued", None, None
        attempt.not_before, attempt.enqueued_at = utcnow() + timedelta(seconds=delay), None
        order = session.get(Order, attempt.order_id)
        assert order is not None
        emit(session, rt, order, "attempt.retry",
              {"order_id": order.id, "attempt": attempt.seq, "tries": attempt.tries, "retry_in_s": delay,
               "error": error[:500]}, attempt)
        return "retry"


def outcome_from_intake_error(exc: ReceiptError) -> list[dict[str, Any]]:
    zh = intake_message_zh(exc.code)
    return [{"code": exc.code, "verdict": "fail", "message_zh": zh, "message_en": exc.message}]


# --- sweeping: dead workers, lost jobs, due retries --------------------------------------------

def expire_leases(rt: Runtime) -> list[int]:
    """Attempts whose worker died mid-job: back to queued (or error after max_tries)."""
    now = utcnow()
    requeued: list[int] = []
    with rt.db.session() as session:
        stale = session.scalars(select(Attempt).where(Attempt.status == "processing", Attempt.lease_expires_at < now)
                                .limit(100).with_for_update(skip_locked=True)).all()
        for attempt in stale:
            order = session.get(Order, attempt.order_id)
            assert order is not None
            message = f"WORKER_LOST: worker {attempt.claimed_by} stopped before finishing (lease expired)"
            if attempt.tries >= rt.settings.max_tries:
                finish_with_error(session, rt, attempt, message)
                continue
            attempt.status, attempt.claim_token, attempt.lease_expires_at = "queued", None, None
            attempt.enqueued_at, attempt.last_error = None, message
            emit(session, rt, order, "attempt.requeued",
                  {"order_id": order.id, "attempt": attempt.seq, "tries": attempt.tries, "reason": message}, attempt)
            requeued.append(attempt.id)
    return requeued


def due_attempts(rt: Runtime, limit: int = 100, stale_after_s: float | None = None
                 ) -> list[tuple[int, datetime | None]]:
    """Queued attempts that are not (or no longer known to be) on the queue: (id, enqueued_at)."""
    now = utcnow()
    stale_after_s = rt.settings.requeue_after_s if stale_after_s is None else stale_after_s
    stale_enqueue = now - timedelta(seconds=stale_after_s)
    with rt.db.session() as session:
        rows = session.execute(
            select(Attempt.id, Attempt.enqueued_at).where(
                Attempt.status == "queued",
                or_(Attempt.not_before.is_(None), Attempt.not_before <= now),
                or_(Attempt.enqueued_at.is_(None), Attempt.enqueued_at < stale_enqueue),
            ).order_by(Attempt.id).limit(limit)).all()
        return [(row[0], row[1]) for row in rows]


def mark_enqueued(rt: Runtime, attempt_id: int, *, only_if_due: bool, stale_after_s: float | None = None) -> bool:
    """Set enqueued_at = now; returns whether the row changed.

    Several sweepers (API + each worker) race for the same attempt; with only_if_due the
    conditional UPDATE lets exactly one of them enqueue it."""
    now = utcnow()
    stale_after_s = rt.settings.requeue_after_s if stale_after_s is None else stale_after_s
    stale_enqueue = now - timedelta(seconds=stale_after_s)
    with rt.db.session() as session:
        cond = [Attempt.id == attempt_id, Attempt.status == "queued"]
        if only_if_due:
            cond.append(or_(Attempt.enqueued_at.is_(None), Attempt.enqueued_at < stale_enqueue))
        result = session.execute(update(Attempt).where(*cond).values(enqueued_at=now)
                                 .execution_options(synchronize_session=False))
        return result.rowcount == 1


def clear_enqueued(rt: Runtime, attempt_id: int) -> None:
    with rt.db.session() as session:
        session.execute(update(Attempt).where(Attempt.id == attempt_id, Attempt.status == "queued")
                        .values(enqueued_at=None).execution_options(synchronize_session=False))
