"""Reviewers decide and undo; applicants appeal.

A decision is recorded at once (row + audit record) but takes effect only when the undo window
(`review_undo_s`) has passed: review_apply.apply_due, run by every sweeper, issues the receipt,
rejects or revokes then. Until that moment the order stays as it was (in_review) and `undo`
takes the decision back without anything having reached the applicant.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from receipt.errors import ReceiptError
from receipt.service.db import AnalysisResult, Attempt, Order, ReviewDecision, utcnow
from receipt.service.orders import authorize, set_status
from receipt.service.review.accounts import client_key
from receipt.service.review.cases import (
    LIVE_STATUS,
    _case_for,
    _claim_holder,
    claimed_error,
    flagged_codes,
    rules_seen,
)
from receipt.service.review.models import ReviewAudit, ReviewCase, ReviewVerdict
from receipt.service.review.reasons import check_codes, normalise_reasons
from receipt.service.runtime import Runtime

log = logging.getLogger(__name__)


def _already_decided(attempt_id: int) -> ReceiptError:
    return ReceiptError("REVIEW_ALREADY_DECIDED", f"attempt {attempt_id} has already been decided", status=409)


def decide(rt: Runtime, reviewer: str, attempt_id: int, approve: bool, reasons: Sequence[str] = (),
           note: str | None = None, *, admin: bool, undo_s: float | None = None,
           require_claim: bool = False) -> dict[str, Any]:
    """Record a decision; returns {decision_id, order_status, effective_at}.

    409 CASE_CLAIMED when another reviewer holds the case, 409 REVIEW_ALREADY_DECIDED for a
    second standing decision, 422 for a rejection without (standard) reasons."""
    codes = [] if approve else check_codes(reasons)
    if not approve and not codes:
        raise ReceiptError("REASONS_REQUIRED", "请至少选择一个原因 / a rejection needs at least one reason", status=422)
    note = (note or "").strip()[:2000] or None
    now = utcnow()
    window = rt.settings.review_undo_s if undo_s is None else undo_s
    try:
        with rt.db.session() as session:
            case = _case_for(session, attempt_id, admin=admin, lock=True)
            order = session.scalar(select(Order).where(Order.id == case.order_id).with_for_update())
            assert order is not None
            if session.scalar(select(ReviewVerdict.id).where(ReviewVerdict.active_case_id == case.id)) is not None:
                raise _already_decided(attempt_id)
            if case.state != "open" or order.status != LIVE_STATUS[case.kind]:
                raise ReceiptError("REVIEW_NOT_PENDING", f"attempt {attempt_id} is not waiting for review "
                                                         f"(order is {order.status})", status=409)
            holder = _claim_holder(case, now)
            if holder and holder != reviewer:
                raise claimed_error(holder)
            if require_claim and holder != reviewer:
                raise ReceiptError("CLAIM_REQUIRED", "请先领取案件 / claim the case first", status=409)
            analysis = session.scalar(select(AnalysisResult).where(AnalysisResult.attempt_id == attempt_id))
            if approve and case.kind != "audit" and not (analysis and analysis.photo_sha256):
                raise ReceiptError("REVIEW_NO_PHOTO", "no spec photo could be composed from this upload; "
                                                      "it cannot be approved", status=409)
            seen = rules_seen(analysis.report) if analysis else {}
            verdict = ReviewVerdict(case_id=case.id, active_case_id=case.id, attempt_id=attempt_id, kind=case.kind,
                                    reviewer=reviewer[:64], approve=approve, reasons=normalise_reasons(codes), note=note,
                                    rules_seen=seen, opened_at=case.claimed_at if holder == reviewer else None,
                                    decided_at=now, effective_at=now + timedelta(seconds=max(0.0, window)))
            session.add(verdict)
            session.flush()
            case.state, case.claim_expires_at = "decided", None
            case.claimed_by = reviewer[:64]
            session.add(ReviewAudit(at=now, actor=reviewer, action="decision", case_id=case.id, attempt_id=attempt_id,
                                    verdict_id=verdict.id,
                                    data={"approve": approve, "reasons": codes, "kind": case.kind, "rules_seen": seen,
                                          "opened_at": verdict.opened_at.isoformat() if verdict.opened_at else None,
                                          "effective_at": verdict.effective_at.isoformat()}))
            result = {"decision_id": verdict.id, "order_status": order.status,
                      "effective_at": verdict.effective_at.isoformat()}
    except IntegrityError:  # two reviewers' decisions in the same instant: the unique active_case_id keeps one
        raise _already_decided(attempt_id) from None
    log.info("decision %s on attempt %s by %s: %s %s (effective %s)", result["decision_id"], attempt_id, reviewer,
             "approve" if approve else "reject", codes, result["effective_at"])
    return result


def undo(rt: Runtime, reviewer: str, decision_id: int, *, admin: bool) -> dict[str, Any]:
    """Take a decision back while its window lasts: the case returns to the queue, unclaimed."""
    now = utcnow()
    with rt.db.session() as session:
        verdict = session.get(ReviewVerdict, decision_id)
        if verdict is None or (verdict.reviewer != reviewer and not admin):
            raise ReceiptError("DECISION_NOT_FOUND", f"no decision {decision_id} of yours", status=404)
        result = session.execute(
            update(ReviewVerdict).where(ReviewVerdict.id == decision_id, ReviewVerdict.undone_at.is_(None),
                                        ReviewVerdict.applied_at.is_(None), ReviewVerdict.effective_at > now)
            .values(undone_at=now, active_case_id=None).execution_options(synchronize_session=False))
        if result.rowcount != 1:
            raise ReceiptError("UNDO_TOO_LATE", "撤销时限已过，决定已生效 / the undo window is over; the decision "
                                                "has taken effect", status=409)
        case = session.get(ReviewCase, verdict.case_id)
        assert case is not None
        case.state, case.claimed_by, case.claimed_at, case.claim_expires_at = "open", None, None, None
        session.add(ReviewAudit(at=now, actor=reviewer, action="undo", case_id=case.id, attempt_id=verdict.attempt_id,
                                verdict_id=decision_id, data={"approve": verdict.approve}))
        log.info("decision %s on attempt %s undone by %s", decision_id, verdict.attempt_id, reviewer)
        return {"decision_id": decision_id, "undone": True, "attempt_id": verdict.attempt_id}


def appeal(rt: Runtime, order_id: str, token: str | None, client_address: str | None) -> dict[str, Any]:
    """The applicant asks for a human look at a machine rejection: once per attempt, rate-limited."""
    try:
        return _appeal(rt, order_id, token, client_key(client_address))
    except IntegrityError:  # two appeals for one attempt at the same instant: the unique attempt_id keeps one
        raise ReceiptError("APPEAL_EXISTS", "这张照片已申请过人工复核 / a human review was already asked for this photo",
                           status=409) from None


def _appeal(rt: Runtime, order_id: str, token: str | None, client: str) -> dict[str, Any]:
    now = utcnow()
    with rt.db.session() as session:
        order = authorize(session, order_id, token, lock=True)
        attempt = session.scalar(select(Attempt).where(Attempt.order_id == order.id).order_by(Attempt.seq.desc()).limit(1))
        analysis = session.scalar(select(AnalysisResult).where(AnalysisResult.attempt_id == attempt.id)) \
            if attempt else None
        if attempt is not None and session.scalar(select(ReviewCase.id).where(ReviewCase.attempt_id == attempt.id)):
            raise ReceiptError("APPEAL_EXISTS", "这张照片已申请过人工复核 / a human review was already asked for "
                                                "this photo", status=409)
        human = attempt is not None and session.scalar(
            select(ReviewDecision.id).where(ReviewDecision.attempt_id == attempt.id)) is not None
        if (order.status != "rejected" or attempt is None or attempt.verdict != "reject" or human
                or analysis is None or not analysis.report.get("rules")):
            raise ReceiptError("APPEAL_NOT_ALLOWED", "只有机器判定不合格的照片可以申请人工复核 / only a photo the "
                                                     "machine rejected can be sent to a human review", status=409)
        recent = session.scalar(select(func.count()).select_from(ReviewCase).where(
            ReviewCase.kind == "appeal", ReviewCase.requested_from == client,
            ReviewCase.created_at > now - timedelta(hours=1)))
        if recent >= rt.settings.appeals_per_hour:
            log.warning("appeal refused: %d appeals from client %s within an hour", recent, client[:12])
            raise ReceiptError("APPEAL_RATE_LIMITED", "申请过于频繁，请稍后再试 / too many requests; try again later",
                               status=429)
        case = ReviewCase(attempt_id=attempt.id, order_id=order.id, spec_id=order.spec_id, kind="appeal", state="open",
                          flagged=flagged_codes(analysis.reasons), created_at=now, requested_from=client)
        session.add(case)
        session.flush()
        set_status(session, rt, order, "in_review", attempt, appeal=True)
        session.add(ReviewAudit(at=now, actor="applicant", action="appeal", case_id=case.id, attempt_id=attempt.id,
                                data={"order_id": order.id, "flagged": case.flagged}))
        return {"order_id": order.id, "status": order.status, "attempt": attempt.seq}
