"""The review queue: cases, claims, and what the case page shows.

A case is created in the same transaction as the machine's verdict (`on_machine_verdict`, called
by orders.finish_attempt): kind `review` when the machine was unsure, kind `audit` for a sampled
share of machine passes; kind `appeal` comes from the applicant (review_decisions.appeal).
A claim marks who is looking at a case; it lasts `review_claim_s` unless renewed.
"""

from __future__ import annotations

import hashlib
import logging
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from receipt.config import ServiceSettings
from receipt.errors import ReceiptError
from receipt.service.db import AnalysisResult, Attempt, Order, ReviewDecision, utcnow
from receipt.service.pii import masked_id_number
from receipt.service.review.models import ReviewAudit, ReviewCase, ReviewVerdict
from receipt.service.review.reasons import REVIEW_REASONS
from receipt.service.runtime import Runtime

log = logging.getLogger(__name__)

# order status in which a case of each kind can still be decided
LIVE_STATUS = {"review": "in_review", "appeal": "in_review", "audit": "issued"}


def audit_sampled(settings: ServiceSettings, order_id: str, attempt_id: int) -> bool:
    """Deterministic per attempt, unpredictable to applicants (the order id is random)."""
    if settings.audit_share <= 0:
        return False
    digest = hashlib.sha256(f"audit:{order_id}:{attempt_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < settings.audit_share


def flagged_codes(reasons: list[dict[str, Any]]) -> list[str]:
    """Rule codes the machine did not pass, failures first."""
    rank = {"fail": 0, "borderline": 1}
    problems = [r for r in reasons if r.get("verdict") != "pass"]
    return [r["code"] for r in sorted(problems, key=lambda r: rank.get(r.get("verdict", ""), 2))]


def on_machine_verdict(session: Session, settings: ServiceSettings, order: Order, attempt: Attempt, verdict: str,
                       reasons: list[dict[str, Any]], *, issued: bool) -> ReviewCase | None:
    """Queue the attempt for a human when the machine was unsure, or for an audit when sampled."""
    kind = None
    if order.status == "in_review":
        kind = "review"
    elif issued and verdict == "pass" and audit_sampled(settings, order.id, attempt.id):
        kind = "audit"
    if kind is None:
        return None
    case = ReviewCase(attempt_id=attempt.id, order_id=order.id, spec_id=order.spec_id, kind=kind, state="open",
                      flagged=flagged_codes(reasons), created_at=utcnow())
    session.add(case)
    session.flush()
    return case


def mask_id_number(value: str | None) -> str | None:
    if not value:
        return None
    return value[:4] + "*" * max(0, len(value) - 8) + value[-4:] if len(value) > 8 else "*" * len(value)


def _claim_holder(case: ReviewCase, now: datetime) -> str | None:
    if case.claimed_by and case.claim_expires_at and case.claim_expires_at > now:
        return case.claimed_by
    return None


def _live_cases(admin: bool):  # type: ignore[no-untyped-def]
    stmt = (select(ReviewCase, Order.status).join(Order, Order.id == ReviewCase.order_id)
            .where(ReviewCase.state == "open"))
    if not admin:
        stmt = stmt.where(ReviewCase.kind != "audit")  # audits are for admins
    return stmt


def queue(rt: Runtime, *, admin: bool, spec: str | None = None, rule: str | None = None, kind: str | None = None,
          limit: int = 200) -> dict[str, Any]:
    """Open cases, oldest first, with counts per kind (before the spec/rule/kind filters)."""
    now = utcnow()
    with rt.db.session() as session:
        rows = session.execute(_live_cases(admin).order_by(ReviewCase.created_at, ReviewCase.id)).all()
    live = [c for c, status in rows if status == LIVE_STATUS[c.kind]]
    counts = {k: sum(1 for c in live if c.kind == k) for k in ("review", "audit", "appeal") if admin or k != "audit"}
    counts["total"] = len(live)
    oldest = (now - live[0].created_at).total_seconds() if live else None
    picked = [c for c in live if (not spec or c.spec_id == spec) and (not kind or c.kind == kind)
              and (not rule or rule.upper() in c.flagged)]
    return {
        "cases": [{"attempt_id": c.attempt_id, "order_id": c.order_id, "spec_id": c.spec_id, "kind": c.kind,
                   "waiting_s": round((now - c.created_at).total_seconds(), 1), "flagged": c.flagged,
                   "claimed_by": _claim_holder(c, now)} for c in picked[:limit]],
        "counts": counts,
        "oldest_waiting_s": None if oldest is None else round(oldest, 1),
    }


def _case_for(session: Session, attempt_id: int, *, admin: bool, lock: bool = False) -> ReviewCase:
    stmt = select(ReviewCase).where(ReviewCase.attempt_id == attempt_id)
    if lock:
        stmt = stmt.with_for_update()
    case = session.scalar(stmt)
    if case is None or (case.kind == "audit" and not admin):
        raise ReceiptError("CASE_NOT_FOUND", f"没有这个案件 / no review case for attempt {attempt_id}", status=404)
    return case


def claimed_error(holder: str) -> ReceiptError:
    return ReceiptError("CASE_CLAIMED", f"{holder} 正在审核此案件 / {holder} holds this case", status=409)


def claim(rt: Runtime, reviewer: str, attempt_id: int, *, admin: bool) -> dict[str, Any]:
    """Take or renew the claim; 409 CASE_CLAIMED while someone else holds it."""
    now = utcnow()
    with rt.db.session() as session:
        case = _case_for(session, attempt_id, admin=admin, lock=True)
        if case.state != "open":
            raise ReceiptError("REVIEW_ALREADY_DECIDED", f"attempt {attempt_id} has already been decided", status=409)
        holder = _claim_holder(case, now)
        if holder and holder != reviewer:
            raise claimed_error(holder)
        if holder != reviewer:
            case.claimed_by, case.claimed_at = reviewer, now
            session.add(ReviewAudit(at=now, actor=reviewer, action="claim", case_id=case.id, attempt_id=attempt_id,
                                    data={"kind": case.kind, "flagged": case.flagged}))
        case.claim_expires_at = now + timedelta(seconds=rt.settings.review_claim_s)
        return {"attempt_id": attempt_id, "claimed_by": reviewer, "claim_expires_at": case.claim_expires_at.isoformat(),
                "claim_s": rt.settings.review_claim_s}


def release(rt: Runtime, reviewer: str, attempt_id: int, *, admin: bool) -> dict[str, Any]:
    now = utcnow()
    with rt.db.session() as session:
        case = _case_for(session, attempt_id, admin=admin, lock=True)
        released = _claim_holder(case, now) == reviewer and case.state == "open"
        if released:
            case.claimed_by, case.claimed_at, case.claim_expires_at = None, None, None
            session.add(ReviewAudit(at=now, actor=reviewer, action="release", case_id=case.id, attempt_id=attempt_id,
                                    data={}))
        return {"attempt_id": attempt_id, "released": released}


def _rules(report: dict[str, Any]) -> list[dict[str, Any]]:
    rank = {"fail": 0, "borderline": 1, "pass": 2}
    rules = [{"code": r["code"], "verdict": r["verdict"], "score": r.get("score"), "assessed": r.get("assessed", True),
              "message_zh": r.get("message_zh"), "message_en": r.get("message_en"),
              "evidence": r.get("evidence", []), "flagged": r["verdict"] != "pass"} for r in report.get("rules", [])]
    return sorted(rules, key=lambda r: (rank.get(r["verdict"], 3), r["score"] if r["score"] is not None else -1))


def rules_seen(report: dict[str, Any]) -> dict[str, Any]:
    return {r["code"]: [r["verdict"], r.get("score")] for r in report.get("rules", [])}


def _standing(session: Session, case_id: int) -> ReviewVerdict | None:
    return session.scalar(select(ReviewVerdict).where(ReviewVerdict.active_case_id == case_id))


def case_detail(rt: Runtime, attempt_id: int, *, admin: bool) -> dict[str, Any]:
    now = utcnow()
    with rt.db.session() as session:
        case = _case_for(session, attempt_id, admin=admin)
        attempt = session.get(Attempt, attempt_id)
        order = session.get(Order, case.order_id)
        assert attempt is not None and order is not None
        analysis = session.scalar(select(AnalysisResult).where(AnalysisResult.attempt_id == attempt_id))
        report = analysis.report if analysis else {}
        earlier = []
        for a in session.scalars(select(Attempt).where(Attempt.order_id == order.id, Attempt.seq < attempt.seq)
                                 .order_by(Attempt.seq.desc())):
            a_analysis = session.scalar(select(AnalysisResult).where(AnalysisResult.attempt_id == a.id))
            decision = session.scalar(select(ReviewDecision).where(ReviewDecision.attempt_id == a.id))
            reasons = decision.reasons if decision and not decision.approve else (a_analysis.reasons if a_analysis else [])
            earlier.append({"attempt_id": a.id, "attempt": a.seq, "verdict": a.verdict, "status": a.status,
                            "created_at": a.created_at.isoformat(), "reviewed": decision is not None,
                            "approved": decision.approve if decision else None,
                            "reasons": [{"code": r["code"], "message_zh": r.get("message_zh"),
                                         "message_en": r.get("message_en")} for r in reasons]})
        standing = _standing(session, case.id)
        return {
            "attempt_id": attempt_id, "order_id": order.id, "spec_id": order.spec_id, "kind": case.kind,
            "state": case.state if order.status == LIVE_STATUS[case.kind] or case.state != "open" else "closed",
            "order_status": order.status, "attempt": attempt.seq, "machine_verdict": attempt.verdict,
            "waiting_s": round((now - case.created_at).total_seconds(), 1), "flagged": case.flagged,
            "claimed_by": _claim_holder(case, now),
            "applicant": {"name": order.applicant_name,
                          # encrypted in order_pii (receipt.service.pii); rows from before it: the old column
                          "id_number": masked_id_number(session, order.id) or mask_id_number(order.id_number),
                          "birth_date": order.birth_date.isoformat() if order.birth_date else None,
                          "guardian": bool(order.guardian_name)},
            "rules": _rules(report), "input": report.get("input"),
            "suggested_reasons": [c for c in case.flagged if c in REVIEW_REASONS],
            "has_photo": bool(analysis and analysis.photo_sha256),
            "has_annotated": bool(analysis and analysis.annotated_sha256),
            "earlier_attempts": earlier,
            "decision": None if standing is None else {
                "decision_id": standing.id, "approve": standing.approve, "reviewer": standing.reviewer,
                "reasons": [r["code"] for r in standing.reasons], "note": standing.note,
                "decided_at": standing.decided_at.isoformat(), "effective_at": standing.effective_at.isoformat(),
                "applied": standing.applied_at is not None,
                "undoable": standing.applied_at is None and standing.effective_at > now},
        }


def case_blob(rt: Runtime, attempt_id: int, kind: str, *, admin: bool) -> str | None:
    """Blob hash of the case's upload, spec photo or annotated photo."""
    with rt.db.session() as session:
        _case_for(session, attempt_id, admin=admin)
        attempt = session.get(Attempt, attempt_id)
        assert attempt is not None
        if kind == "upload":
            return attempt.upload_sha256
        analysis = session.scalar(select(AnalysisResult).where(AnalysisResult.attempt_id == attempt_id))
        if analysis is None:
            return None
        return analysis.photo_sha256 if kind == "photo" else analysis.annotated_sha256
