"""The models: orders, attempts, analyses, receipts, review decisions, events, webhook deliveries.

SQLAlchemy 2 models that run unchanged on SQLite (the embedded default) and PostgreSQL.
Correctness under several workers rests on constraints, not on luck:
- one receipt per attempt, receipt numbers unique (`uq_*` below);
- one analysis and one review decision per attempt;
- events are append-only (a trigger refuses UPDATE and DELETE on both databases).

A change here needs an Alembic revision too (see migrations/README.md); tests/test_service_db.py
fails when the models and the revisions disagree.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    DDL,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    event,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

log = logging.getLogger(__name__)

# SQLite only autoincrements INTEGER PRIMARY KEY; PostgreSQL gets 64-bit ids.
BigId = BigInteger().with_variant(Integer, "sqlite")


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in and out; SQLite would otherwise hand back naive ones."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database; use receipt.service.db.utcnow()")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class JSONText(TypeDecorator[Any]):
    """JSON kept as text: identical on both databases and readable with any client."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        return None if value is None else json.dumps(value, ensure_ascii=False, separators=(",", ":"))

    def process_result_value(self, value: str | None, dialect: Dialect) -> Any:
        return None if value is None else json.loads(value)


class Base(DeclarativeBase):
    pass


# Order statuses (what the applicant sees) and attempt statuses (what the queue sees).
ORDER_STATUSES = ("received", "processing", "in_review", "issued", "rejected", "error", "revoked")
ATTEMPT_STATUSES = ("queued", "processing", "done", "error")


class Order(Base):
    __tablename__ = "orders"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    spec_id: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), index=True)
    applicant_name: Mapped[str] = mapped_column(String(100))
    id_number: Mapped[str | None] = mapped_column(String(18))
    birth_date: Mapped[date | None] = mapped_column(Date)
    phone: Mapped[str | None] = mapped_column(String(20))
    guardian_name: Mapped[str | None] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(String(64))  # sha256 of the bearer token; the token itself is never stored
    # Idempotency-Key support: lookup hash of the key, fingerprint of the request, and the token
    # sealed with a key derived from the Idempotency-Key (only a client holding it can unseal).
    idempotency_key_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    request_fingerprint: Mapped[str | None] = mapped_column(String(64))
    token_sealed: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    attempts: Mapped[list[Attempt]] = relationship(back_populates="order", order_by="Attempt.seq")


class Attempt(Base):
    """One uploaded photo of an order; a resubmission is a new attempt on the same order."""

    __tablename__ = "attempts"
    __table_args__ = (
        UniqueConstraint("order_id", "seq", name="uq_attempt_order_seq"),
        UniqueConstraint("order_id", "idempotency_key_hash", name="uq_attempt_idempotency"),
        Index("ix_attempt_status_lease", "status", "lease_expires_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    order_id: Mapped[str] = mapped_column(ForeignKey("orders.id"), index=True)
    seq: Mapped[int] = mapped_column(Integer)  # 1, 2, ... within the order
    status: Mapped[str] = mapped_column(String(16))
    upload_sha256: Mapped[str] = mapped_column(String(64))
    upload_bytes: Mapped[int] = mapped_column(Integer)
    upload_name: Mapped[str | None] = mapped_column(String(255))
    idempotency_key_hash: Mapped[str | None] = mapped_column(String(64))
    verdict: Mapped[str | None] = mapped_column(String(16))  # pass | review | reject, once done
    tries: Mapped[int] = mapped_column(Integer, default=0)  # claims so far (a dead worker counts)
    last_error: Mapped[str | None] = mapped_column(Text)
    claim_token: Mapped[str | None] = mapped_column(String(32))  # who may finish this attempt now
    claimed_by: Mapped[str | None] = mapped_column(String(120))
    lease_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    enqueued_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # None: not (successfully) on the queue
    not_before: Mapped[datetime | None] = mapped_column(UTCDateTime)  # retry back-off
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    order: Mapped[Order] = relationship(back_populates="attempts")
    analysis: Mapped[AnalysisResult | None] = relationship(back_populates="attempt", uselist=False)
    review: Mapped[ReviewDecision | None] = relationship(back_populates="attempt", uselist=False)


class AnalysisResult(Base):
    """The machine's result for one attempt: verdict, reasons, full report, output blobs."""

    __tablename__ = "analyses"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    attempt_id: Mapped[int] = mapped_column(ForeignKey("attempts.id"), unique=True)
    verdict: Mapped[str] = mapped_column(String(16))
    reasons: Mapped[list[dict[str, Any]]] = mapped_column(JSONText)  # [{code, verdict, message_zh, message_en}]
    report: Mapped[dict[str, Any]] = mapped_column(JSONText)
    photo_sha256: Mapped[str | None] = mapped_column(String(64))  # the spec photo, when one could be composed
    annotated_sha256: Mapped[str | None] = mapped_column(String(64))
    worker: Mapped[str | None] = mapped_column(String(120))
    duration_ms: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    attempt: Mapped[Attempt] = relationship(back_populates="analysis")


class Receipt(Base):
    __tablename__ = "receipts"
    __table_args__ = (
        # not unique: an order whose receipt an audit revoked may be issued again after a resubmission;
        # one live receipt per order follows from one live attempt per order (receipt.service.orders)
        Index("ix_receipt_order", "order_id"),
        UniqueConstraint("attempt_id", name="uq_receipt_attempt"),
        UniqueConstraint("number", name="uq_receipt_number"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    order_id: Mapped[str] = mapped_column(ForeignKey("orders.id"))
    attempt_id: Mapped[int] = mapped_column(ForeignKey("attempts.id"))
    number: Mapped[str] = mapped_column(String(32))
    spec_id: Mapped[str] = mapped_column(String(64))
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_on: Mapped[date | None] = mapped_column(Date)
    qr_payload: Mapped[str] = mapped_column(Text)
    photo_sha256: Mapped[str] = mapped_column(String(64))
    pdf_sha256: Mapped[str] = mapped_column(String(64))
    approved_by: Mapped[str] = mapped_column(String(120))  # "machine" or the reviewer


class ReviewDecision(Base):
    """A human reviewer's decision on an attempt the machine sent to review."""

    __tablename__ = "review_decisions"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    attempt_id: Mapped[int] = mapped_column(ForeignKey("attempts.id"), unique=True)  # decided once
    order_id: Mapped[str] = mapped_column(ForeignKey("orders.id"), index=True)
    reviewer: Mapped[str] = mapped_column(String(120))
    approve: Mapped[bool] = mapped_column(Boolean)
    reasons: Mapped[list[dict[str, Any]]] = mapped_column(JSONText)
    note: Mapped[str | None] = mapped_column(Text)
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    attempt: Mapped[Attempt] = relationship(back_populates="review")


class Event(Base):
    """Append-only log of everything that happened to an order (status changes, retries, reviews)."""

    __tablename__ = "events"
    __table_args__ = (Index("ix_event_order", "order_id", "id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    order_id: Mapped[str] = mapped_column(ForeignKey("orders.id"))
    attempt_id: Mapped[int | None] = mapped_column(ForeignKey("attempts.id"))
    type: Mapped[str] = mapped_column(String(40))  # order.status | attempt.retry | attempt.requeued | review.decided
    status: Mapped[str | None] = mapped_column(String(16))  # the order status after the event
    data: Mapped[dict[str, Any]] = mapped_column(JSONText)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class WebhookDelivery(Base):
    """Outbox row: written in the same transaction as its event, delivered (with retries) later."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        UniqueConstraint("event_id", "url", name="uq_delivery_event_url"),
        Index("ix_delivery_due", "state", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id"))
    url: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(16), default="pending")  # pending | delivered | failed
    tries: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    lease_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


# --- append-only events, enforced by the database itself --------------------------------------

_SQLITE_TRIGGERS = [
    "CREATE TRIGGER IF NOT EXISTS events_no_update BEFORE UPDATE ON events "
    "BEGIN SELECT RAISE(ABORT, 'events are append-only'); END",
    "CREATE TRIGGER IF NOT EXISTS events_no_delete BEFORE DELETE ON events "
    "BEGIN SELECT RAISE(ABORT, 'events are append-only'); END",
]
_PG_TRIGGERS = [
    "CREATE OR REPLACE FUNCTION events_append_only() RETURNS trigger LANGUAGE plpgsql AS "
    "$$ BEGIN RAISE EXCEPTION 'events are append-only'; END $$",
    "CREATE TRIGGER events_append_only BEFORE UPDATE OR DELETE ON events "
    "FOR EACH ROW EXECUTE FUNCTION events_append_only()",
]
for _stmt in _SQLITE_TRIGGERS:
    event.listen(Event.__table__, "after_create", DDL(_stmt).execute_if(dialect="sqlite"))
for _stmt in _PG_TRIGGERS:
    event.listen(Event.__table__, "after_create", DDL(_stmt).execute_if(dialect="postgresql"))
