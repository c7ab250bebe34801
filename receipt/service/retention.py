"""Retention (个人信息保护): what is erased, when, and blobs shared by orders erased by the last one.

Per kind of data, counted from the day an order ends (issued, rejected or error — its last
change): uploads, annotated images and spec photos that were not issued after
`retention_upload_days`; the applicant's name, ID number, phone, guardian and birth date after
`retention_personal_days`; the issued photo and receipt PDF when the receipt expires, or after
`retention_issued_max_days` for a spec without expiry (validity_days = 0).
Blobs are content-addressed, so one file can belong to several orders: a blob is deleted only
when no order still holding that kind references it (counted over the attempts, analyses and
receipts rows at purge time), and not when it was stored again within BLOB_GRACE_S (an upload
of the same photo in flight). Events never hold personal data, so they stay as they are.
`photo-receipt purge [--dry-run]` and the sweeper (every `purge_interval_s`) run `purge`.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import String, delete, or_, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from receipt.service.db import AnalysisResult, Attempt, Base, Order, Receipt, UTCDateTime, utcnow
from receipt.service.orders.state import TERMINAL
from receipt.service.pii import OrderPII
from receipt.service.runtime import Runtime

log = logging.getLogger(__name__)
BLOB_GRACE_S = 3600.0
ERASED_NAME = ""  # applicant_name is NOT NULL; an empty name marks the erasure


class OrderRetention(Base):
    """When each kind of an order's data was erased (new table; no row = nothing erased yet)."""

    __tablename__ = "order_retention"

    order_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    uploads_erased_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    personal_erased_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    issued_erased_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


@dataclass
class PurgeReport:
    dry_run: bool
    uploads: list[str] = field(default_factory=list)  # order ids
    personal: list[str] = field(default_factory=list)
    issued: list[str] = field(default_factory=list)
    blobs_deleted: list[str] = field(default_factory=list)
    blobs_still_shared: int = 0

    def to_dict(self) -> dict[str, object]:
        return {"dry_run": self.dry_run, "uploads_orders": len(self.uploads), "personal_orders": len(self.personal),
                "issued_orders": len(self.issued), "blobs_deleted": len(self.blobs_deleted),
                "blobs_still_shared": self.blobs_still_shared}


def _not_erased(column: Any, order_id: Any = Order.id) -> Any:
    """Orders whose `column` of order_retention is still empty (or that have no row)."""
    return order_id.not_in(select(OrderRetention.order_id).where(column.isnot(None)))


def _due(session: Session, rt: Runtime, now: datetime) -> tuple[list[str], list[str], list[str]]:
    s = rt.settings
    ended = Order.status.in_(TERMINAL)
    uploads = session.scalars(select(Order.id).where(
        ended, Order.updated_at < now - timedelta(days=s.retention_upload_days),
        _not_erased(OrderRetention.uploads_erased_at))).all()
    personal = session.scalars(select(Order.id).where(
        ended, Order.updated_at < now - timedelta(days=s.retention_personal_days),
        _not_erased(OrderRetention.personal_erased_at))).all()
    today: date = now.date()
    issued = session.scalars(select(Receipt.order_id).where(
        or_(Receipt.expires_on < today,
            Receipt.expires_on.is_(None) & (Receipt.issued_at < now - timedelta(days=s.retention_issued_max_days))),
        _not_erased(OrderRetention.issued_erased_at, Receipt.order_id))).all()
    return list(uploads), list(personal), list(issued)


def _upload_blobs(session: Session, order_ids: list[str]) -> set[str]:
    if not order_ids:
        return set()
    shas = set(session.scalars(select(Attempt.upload_sha256).where(Attempt.order_id.in_(order_ids))))
    for photo, annotated in session.execute(select(AnalysisResult.photo_sha256, AnalysisResult.annotated_sha256)
                                            .join(Attempt, AnalysisResult.attempt_id == Attempt.id)
                                            .where(Attempt.order_id.in_(order_ids))):
        shas.update(x for x in (photo, annotated) if x)
    return shas


def _issued_blobs(session: Session, order_ids: list[str]) -> set[str]:
    if not order_ids:
        return set()
    return {sha for row in session.execute(select(Receipt.photo_sha256, Receipt.pdf_sha256)
                                           .where(Receipt.order_id.in_(order_ids))) for sha in row}


def still_held(session: Session, sha: str) -> bool:
    """Some order that has not let go of this kind of data still references the blob."""
    uploads_kept = _not_erased(OrderRetention.uploads_erased_at)
    if session.scalar(select(Attempt.id).join(Order, Attempt.order_id == Order.id)
                      .where(Attempt.upload_sha256 == sha, uploads_kept).limit(1)) is not None:
        return True
    if session.scalar(select(AnalysisResult.id).join(Attempt, AnalysisResult.attempt_id == Attempt.id)
                      .join(Order, Attempt.order_id == Order.id)
                      .where(or_(AnalysisResult.photo_sha256 == sha, AnalysisResult.annotated_sha256 == sha),
                             uploads_kept).limit(1)) is not None:
        return True
    return session.scalar(select(Receipt.id).where(or_(Receipt.photo_sha256 == sha, Receipt.pdf_sha256 == sha),
                                                   _not_erased(OrderRetention.issued_erased_at, Receipt.order_id))
                          .limit(1)) is not None


def _mark(session: Session, order_ids: list[str], column: str, now: datetime) -> None:
    for order_id in order_ids:
        row = session.get(OrderRetention, order_id) or OrderRetention(order_id=order_id)
        setattr(row, column, now)
        session.add(row)
    session.flush()


def _erase_personal(session: Session, order_ids: list[str]) -> None:
    for order in session.scalars(select(Order).where(Order.id.in_(order_ids))):
        order.applicant_name = ERASED_NAME
        order.id_number = order.phone = order.guardian_name = None
        order.birth_date = None
        order.request_fingerprint = order.token_sealed = None  # a hash over the personal fields
    session.execute(delete(OrderPII).where(OrderPII.order_id.in_(order_ids)))


def purge(rt: Runtime, *, now: datetime | None = None, dry_run: bool = False) -> PurgeReport:
    """Erase what is due; with dry_run only report it. Safe to run in several processes at once."""
    now = now or utcnow()
    report = PurgeReport(dry_run)
    with rt.db.session() as session:
        report.uploads, report.personal, report.issued = _due(session, rt, now)
        candidates = _upload_blobs(session, report.uploads) | _issued_blobs(session, report.issued)
        _mark(session, report.uploads, "uploads_erased_at", now)
        _mark(session, report.issued, "issued_erased_at", now)
        _erase_personal(session, report.personal)
        _mark(session, report.personal, "personal_erased_at", now)
        free = sorted(sha for sha in candidates if not still_held(session, sha))
        report.blobs_still_shared = len(candidates) - len(free)
        if dry_run:
            session.rollback()
    # files after the commit: a crash in between leaves files without rows, never rows without files
    for sha in free:
        stored = rt.blobs.stored_at(sha)
        if stored is None:
            continue
        if time.time() - stored < BLOB_GRACE_S:
            continue  # stored just now: an upload of the same photo may be committing
        if not dry_run:
            rt.blobs.delete(sha)
        report.blobs_deleted.append(sha)
    if report.uploads or report.personal or report.issued:
        log.info("purge%s: %s", " (dry run)" if dry_run else "", report.to_dict())
    return report


def erased(rt: Runtime, order_id: str) -> bool:
    """Whether any of the order's data was erased (a missing file is then expected, not an error)."""
    with rt.db.session() as session:
        return session.get(OrderRetention, order_id) is not None


_last_purge: dict[int, float] = {}
_lock = threading.Lock()


def maybe_purge(rt: Runtime) -> PurgeReport | None:
    """The sweeper's hook: purge at most every purge_interval_s in this process."""
    with _lock:
        last = _last_purge.get(id(rt), 0.0)
        if time.monotonic() - last < rt.settings.purge_interval_s:
            return None
        _last_purge[id(rt)] = time.monotonic()
    return purge(rt)
