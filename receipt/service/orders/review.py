"""Human review of an attempt the machine sent to review."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from receipt.errors import ReceiptError
from receipt.rules.reasons import REASONS
from receipt.service.db import (
    AnalysisResult,
    Attempt,
    Order,
    ReviewDecision,
    utcnow,
)
from receipt.service.issuing import issue_for_attempt
from receipt.service.orders.state import emit, receipt_row, set_status
from receipt.service.runtime import Runtime, get_runtime

log = logging.getLogger(__name__)

# --- human review -------------------------------------------------------------------------------

def normalise_reasons(reasons: Iterable[str | dict[str, Any]]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for reason in reasons:
        if isinstance(reason, str):
            code = reason.strip().upper()
            zh, en = REASONS.get(code, REASONS["OTHER"])
            out.append({"code": code, "verdict": "fail", "message_zh": zh, "message_en": en})
        else:
            code = str(reason.get("code", "OTHER")).upper()
            zh, en = REASONS.get(code, REASONS["OTHER"])
            out.append({"code": code, "verdict": "fail", "message_zh": reason.get("message_zh") or zh,
                        "message_en": reason.get("message_en") or en})
    return out


def review_queue(rt: Runtime, limit: int = 50) -> list[dict[str, Any]]:
    """Attempts waiting for a reviewer, oldest first (for the reviewer screen to come)."""
    with rt.db.session() as session:
        rows = session.execute(
            select(Attempt, Order).join(Order, Order.id == Attempt.order_id)
            .outerjoin(ReviewDecision, ReviewDecision.attempt_id == Attempt.id)
            .where(Order.status == "in_review", Attempt.verdict == "review", ReviewDecision.id.is_(None))
            .order_by(Attempt.finished_at).limit(limit)).all()
        return [{"attempt_id": a.id, "order_id": o.id, "spec_id": o.spec_id, "attempt": a.seq,
                 "finished_at": a.finished_at} for a, o in rows]


def record_review(attempt_id: int, reviewer: str, approve: bool, reasons: Sequence[str | dict[str, Any]] = (),
                  *, note: str | None = None, rt: Runtime | None = None) -> str:
    """A reviewer's decision on an attempt in review: issue the receipt, or reject with reasons.

    Returns the order's new status. Deciding the same attempt twice is refused (409) by the
    unique review_decisions.attempt_id, so two reviewers clicking at once cannot both act."""
    rt = rt or get_runtime()
    reviewer = (reviewer or "").strip()
    if not reviewer:
        raise ReceiptError("REVIEWER_REQUIRED", "the reviewer's name is required", status=422)
    normalised = normalise_reasons(reasons)
    if not approve and not normalised:
        raise ReceiptError("REASONS_REQUIRED", "a rejection needs at least one reason", status=422)
    with rt.db.session() as session:
        attempt = session.get(Attempt, attempt_id)
        if attempt is None:
            raise ReceiptError("ATTEMPT_NOT_FOUND", f"no attempt {attempt_id}", status=404)
        order = session.get(Order, attempt.order_id)
        assert order is not None
        _check_reviewable(session, order, attempt)
        analysis = session.scalar(select(AnalysisResult).where(AnalysisResult.attempt_id == attempt.id))
        photo_sha = analysis.photo_sha256 if analysis else None
        spec_id, order_id = order.spec_id, order.id
    if approve and not photo_sha:
        raise ReceiptError("REVIEW_NO_PHOTO", "no spec photo could be composed from this upload; it cannot be approved",
                           status=409)
    issued = issue_for_attempt(rt, spec_id, photo_sha) if approve and photo_sha else None
    try:
        with rt.db.session() as session:
            order = session.scalar(select(Order).where(Order.id == order_id).with_for_update())
            attempt = session.get(Attempt, attempt_id)
            assert order is not None and attempt is not None
            _check_reviewable(session, order, attempt)
            session.add(ReviewDecision(attempt_id=attempt.id, order_id=order.id, reviewer=reviewer[:120],
                                       approve=approve, reasons=normalised, note=note, decided_at=utcnow()))
            session.flush()
            emit(session, rt, order, "review.decided",
                  {"order_id": order.id, "attempt": attempt.seq, "approve": approve,
                   "reasons": [r["code"] for r in normalised]}, attempt)
            if issued is not None:
                session.add(receipt_row(order, attempt, issued, reviewer))
                session.flush()
                set_status(session, rt, order, "issued", attempt, verdict="pass", reviewed=True,
                            receipt_number=issued.number,
                            expires_on=issued.expires_on.isoformat() if issued.expires_on else None)
            else:
                set_status(session, rt, order, "rejected", attempt, verdict="reject", reviewed=True,
                            reasons=[r["code"] for r in normalised])
            return order.status
    except IntegrityError:
        raise ReceiptError("REVIEW_ALREADY_DECIDED", f"attempt {attempt_id} has already been decided",
                           status=409) from None


def _check_reviewable(session: Session, order: Order, attempt: Attempt) -> None:
    latest = session.scalar(select(func.max(Attempt.seq)).where(Attempt.order_id == order.id))
    if order.status != "in_review" or attempt.verdict != "review" or attempt.seq != latest:
        raise ReceiptError("REVIEW_NOT_PENDING", f"attempt {attempt.id} is not waiting for review "
                                                 f"(order is {order.status})", status=409)
