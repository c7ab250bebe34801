"""Decisions take effect: after the undo window, a reviewer's decision issues, rejects or revokes.

`apply_due` runs in every sweeper (and on demand from the review API), so a decision takes
effect even when the reviewer closed the page. Exactly once: a conditional UPDATE of
applied_at (… WHERE applied_at IS NULL AND undone_at IS NULL) races the undo's own conditional
UPDATE on the same row, and the effects commit in that same transaction.
The applicant's events say what happened, never who decided.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from receipt.errors import ReceiptError
from receipt.service.db import AnalysisResult, Attempt, Order, Receipt, ReviewDecision, utcnow
from receipt.service.issuing import IssuedRecord, chosen_background, issue_for_attempt
from receipt.service.orders import emit, receipt_row, set_status
from receipt.service.review.cases import LIVE_STATUS
from receipt.service.review.decisions import decide
from receipt.service.review.models import ReceiptRevocation, ReviewAudit, ReviewCase, ReviewVerdict
from receipt.service.runtime import Runtime, get_runtime

log = logging.getLogger(__name__)


def due_decisions(rt: Runtime, limit: int = 50) -> list[int]:
    now = utcnow()
    with rt.db.session() as session:
        return list(session.scalars(select(ReviewVerdict.id).where(
            ReviewVerdict.applied_at.is_(None), ReviewVerdict.undone_at.is_(None), ReviewVerdict.effective_at <= now)
            .order_by(ReviewVerdict.effective_at).limit(limit)))


def apply_due(rt: Runtime) -> int:
    """Apply every decision whose undo window is over; returns how many this call applied."""
    applied = 0
    for verdict_id in due_decisions(rt):
        try:
            if apply_decision(rt, verdict_id):
                applied += 1
        except Exception:  # one broken decision must not hold up the others
            log.exception("applying review decision %s failed", verdict_id)
    return applied


def _pre_issue(rt: Runtime, verdict_id: int) -> IssuedRecord | None:
    """The receipt (number + PDF) for an approval, made before the transaction that records it."""
    with rt.db.session() as session:
        verdict = session.get(ReviewVerdict, verdict_id)
        if verdict is None or not verdict.approve or verdict.kind == "audit" or verdict.applied_at or verdict.undone_at:
            return None
        attempt = session.get(Attempt, verdict.attempt_id)
        analysis = session.scalar(select(AnalysisResult).where(AnalysisResult.attempt_id == verdict.attempt_id))
        order = session.get(Order, attempt.order_id) if attempt else None
        if order is None or analysis is None or not analysis.photo_sha256:
            return None
        spec_id, photo_sha = order.spec_id, analysis.photo_sha256
        background = chosen_background(analysis.report)  # the colour the photo was composed on
    return issue_for_attempt(rt, spec_id, photo_sha, background=background)


def apply_decision(rt: Runtime, verdict_id: int) -> str | None:
    """The outcome (issued | rejected | agreed | revoked | stale), or None when undone / applied already."""
    for _ in range(3):
        issued = _pre_issue(rt, verdict_id)
        try:
            return _apply(rt, verdict_id, issued)
        except IntegrityError:
            # a receipt number drawn twice (36**11 space) is the only expected collision: draw again
            if issued is None:
                raise
    raise RuntimeError(f"could not apply decision {verdict_id}: receipt numbers kept colliding")


def _apply(rt: Runtime, verdict_id: int, issued: IssuedRecord | None) -> str | None:
    now = utcnow()
    with rt.db.session() as session:
        won = session.execute(
            update(ReviewVerdict).where(ReviewVerdict.id == verdict_id, ReviewVerdict.applied_at.is_(None),
                                        ReviewVerdict.undone_at.is_(None), ReviewVerdict.effective_at <= now)
            .values(applied_at=now).execution_options(synchronize_session=False))
        if won.rowcount != 1:
            return None
        verdict = session.get(ReviewVerdict, verdict_id, populate_existing=True)
        assert verdict is not None
        attempt = session.get(Attempt, verdict.attempt_id)
        assert attempt is not None
        order = session.scalar(select(Order).where(Order.id == attempt.order_id).with_for_update())
        case = session.get(ReviewCase, verdict.case_id)
        assert order is not None and case is not None
        latest = session.scalar(select(Attempt.seq).where(Attempt.order_id == order.id).order_by(Attempt.seq.desc())
                                .limit(1))
        codes = [r["code"] for r in verdict.reasons]
        if order.status != LIVE_STATUS[verdict.kind] or attempt.seq != latest:
            outcome = "stale"  # decided elsewhere meanwhile (e.g. an operator); nothing to do
            case.state = "closed"
        elif verdict.kind == "audit":
            outcome = _revoke(session, rt, order, attempt, verdict, codes) if not verdict.approve else "agreed"
        else:
            session.add(ReviewDecision(attempt_id=attempt.id, order_id=order.id, reviewer=verdict.reviewer,
                                       approve=verdict.approve, reasons=verdict.reasons, note=verdict.note,
                                       decided_at=verdict.decided_at))
            session.flush()
            emit(session, rt, order, "review.decided", {"order_id": order.id, "attempt": attempt.seq,
                                                         "approve": verdict.approve, "reasons": codes}, attempt)
            if verdict.approve and issued is not None:
                session.add(receipt_row(order, attempt, issued, verdict.reviewer))
                session.flush()
                set_status(session, rt, order, "issued", attempt, verdict="pass", reviewed=True,
                            receipt_number=issued.number,
                            expires_on=issued.expires_on.isoformat() if issued.expires_on else None)
                outcome = "issued"
            elif verdict.approve:
                raise ReceiptError("REVIEW_NO_PHOTO", f"decision {verdict_id}: no spec photo to issue", status=409)
            else:
                set_status(session, rt, order, "rejected", attempt, verdict="reject", reviewed=True, reasons=codes)
                outcome = "rejected"
        verdict.outcome = outcome
        session.add(ReviewAudit(at=now, actor="system", action="applied", case_id=case.id, attempt_id=attempt.id,
                                verdict_id=verdict.id, data={"outcome": outcome, "kind": verdict.kind}))
    log.info("review decision %s took effect: %s", verdict_id, outcome)
    return outcome


def _revoke(session: Session, rt: Runtime, order: Order, attempt: Attempt, verdict: ReviewVerdict,
            codes: list[str]) -> str:
    """An admin's audit disagreed with a machine pass: the receipt is void, the applicant may resubmit free."""
    receipt = session.scalar(select(Receipt).where(Receipt.attempt_id == attempt.id))
    if receipt is None:
        verdict.outcome = "stale"
        return "stale"
    session.add(ReceiptRevocation(receipt_id=receipt.id, number=receipt.number, order_id=order.id,
                                  verdict_id=verdict.id, reasons=verdict.reasons, revoked_at=utcnow()))
    # the attempt's reasons as the applicant page shows them (orders.order_view reads review decisions)
    session.add(ReviewDecision(attempt_id=attempt.id, order_id=order.id, reviewer=verdict.reviewer, approve=False,
                               reasons=verdict.reasons, note=verdict.note, decided_at=verdict.decided_at))
    session.flush()
    emit(session, rt, order, "receipt.revoked", {"order_id": order.id, "attempt": attempt.seq,
                                                  "receipt_number": receipt.number, "reasons": codes}, attempt)
    set_status(session, rt, order, "revoked", attempt, verdict="reject", reviewed=True, reasons=codes,
                receipt_number=receipt.number)
    return "revoked"


def revocation_of(rt: Runtime, receipt_number: str) -> dict[str, Any] | None:
    """For card systems: {number, revoked_at, reasons} when the receipt was revoked, else None."""
    with rt.db.session() as session:
        row = session.scalar(select(ReceiptRevocation).where(ReceiptRevocation.number == receipt_number))
        if row is None:
            return None
        return {"number": row.number, "order_id": row.order_id, "revoked_at": row.revoked_at.isoformat(),
                "reasons": row.reasons}


def record_review(attempt_id: int, reviewer: str, approve: bool, reasons: Sequence[str] = (),
                  *, note: str | None = None, rt: Runtime | None = None) -> str:
    """A decision that takes effect at once (operators, scripts): no undo window. Returns the order status."""
    rt = rt or get_runtime()
    reviewer = (reviewer or "").strip()
    if not reviewer:
        raise ReceiptError("REVIEWER_REQUIRED", "the reviewer's name is required", status=422)
    result = decide(rt, reviewer, attempt_id, approve, reasons, note, admin=True, undo_s=0.0)
    apply_decision(rt, result["decision_id"])
    with rt.db.session() as session:
        attempt = session.get(Attempt, attempt_id)
        order = session.get(Order, attempt.order_id) if attempt else None
        return order.status if order else "unknown"
