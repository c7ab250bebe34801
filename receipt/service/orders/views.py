"""What the applicant sees of an order: status, attempts, files, events."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from receipt.issue.clock import china_iso
from receipt.service.db import (
    AnalysisResult,
    Attempt,
    Event,
    Receipt,
)
from receipt.service.orders.state import RESUBMITTABLE, authorize
from receipt.service.runtime import Runtime

log = logging.getLogger(__name__)

# --- what the applicant sees --------------------------------------------------------------------

@dataclass
class OrderFiles:
    photo_sha256: str | None = None
    annotated_sha256: str | None = None
    pdf_sha256: str | None = None
    receipt_number: str | None = None


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def order_view(rt: Runtime, order_id: str, token: str | None) -> dict[str, Any]:
    with rt.db.session() as session:
        order = authorize(session, order_id, token)
        attempts = session.scalars(select(Attempt).where(Attempt.order_id == order.id).order_by(Attempt.seq)
                                   .options(selectinload(Attempt.analysis), selectinload(Attempt.review))).all()
        receipt = session.scalar(select(Receipt).where(Receipt.order_id == order.id).order_by(Receipt.id.desc()).limit(1))
        last_event = session.scalar(select(func.max(Event.id)).where(Event.order_id == order.id))
        out_attempts = []
        for a in attempts:
            reasons: list[dict[str, Any]] = []
            if a.review is not None and not a.review.approve:
                reasons = a.review.reasons
            elif a.analysis is not None:
                reasons = a.analysis.reasons
            out_attempts.append({
                "attempt": a.seq, "status": a.status, "verdict": a.verdict, "reasons": reasons,
                "reviewed": a.review is not None, "created_at": _iso(a.created_at), "finished_at": _iso(a.finished_at),
                "tries": a.tries,
                # only the code: the detail (paths, hosts) is for operators and the logs
                "error": (a.last_error or "ERROR").split(":", 1)[0][:60] if a.status == "error" else None,
                "has_photo": bool(a.analysis and a.analysis.photo_sha256),
                "has_annotated": bool(a.analysis and a.analysis.annotated_sha256),
            })
        return {
            "order_id": order.id, "status": order.status, "spec": order.spec_id,
            "applicant_name": order.applicant_name, "created_at": _iso(order.created_at),
            "updated_at": _iso(order.updated_at), "can_resubmit": order.status in RESUBMITTABLE,
            "attempts": out_attempts, "last_event_id": last_event or 0,
            "receipt": None if receipt is None or order.status != "issued" else {  # a revoked one is void
                "number": receipt.number, "issued_at": china_iso(receipt.issued_at), "expires_on": _iso(receipt.expires_on),
                "spec": receipt.spec_id, "approved_by": "machine" if receipt.approved_by == "machine" else "reviewer",
            },
        }


def order_files(rt: Runtime, order_id: str, token: str | None) -> OrderFiles:
    """Blob hashes the applicant may download: receipt PDF and its photo, or the latest attempt's outputs."""
    with rt.db.session() as session:
        order = authorize(session, order_id, token)
        receipt = session.scalar(select(Receipt).where(Receipt.order_id == order.id).order_by(Receipt.id.desc()).limit(1))
        if receipt is not None and order.status == "issued":  # a revoked receipt is void
            analysis = session.scalar(select(AnalysisResult).where(AnalysisResult.attempt_id == receipt.attempt_id))
            return OrderFiles(receipt.photo_sha256, analysis.annotated_sha256 if analysis else None, receipt.pdf_sha256,
                              receipt.number)
        latest = session.scalar(select(Attempt).where(Attempt.order_id == order.id, Attempt.status == "done")
                                .order_by(Attempt.seq.desc()).limit(1))
        analysis = session.scalar(select(AnalysisResult).where(AnalysisResult.attempt_id == latest.id)) if latest else None
        if analysis is None:
            return OrderFiles()
        return OrderFiles(analysis.photo_sha256, analysis.annotated_sha256)


def order_events(rt: Runtime, order_id: str, token: str | None, after: int = 0, limit: int = 200
                 ) -> tuple[str, list[dict[str, Any]]]:
    with rt.db.session() as session:
        order = authorize(session, order_id, token)
        events = session.scalars(select(Event).where(Event.order_id == order.id, Event.id > after)
                                 .order_by(Event.id).limit(limit)).all()
        return order.status, [{"id": e.id, "type": e.type, "status": e.status, "data": e.data,
                               "created_at": _iso(e.created_at)} for e in events]
