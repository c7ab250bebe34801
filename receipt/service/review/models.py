"""Tables of human review: reviewers, their sessions and failed logins, the review queue (cases),
decisions with their undo window, the audit trail, and revoked receipts.

Declared on the same `Base` as receipt.service.db, so `create_all` makes them with the rest
(receipt.service.db imports this module at its end). New tables only: nothing here alters
the tables of db.py.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import DDL, Boolean, ForeignKey, Index, String, Text, UniqueConstraint, event
from sqlalchemy.orm import Mapped, mapped_column

from receipt.service.db import Base, BigId, JSONText, UTCDateTime, utcnow

ROLES = ("reviewer", "admin")
CASE_KINDS = ("review", "audit", "appeal")
CASE_STATES = ("open", "decided", "closed")  # closed: the attempt stopped being reviewable (resubmitted ...)


class Reviewer(Base):
    __tablename__ = "reviewers"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(Text)  # argon2id, PHC string
    role: Mapped[str] = mapped_column(String(16), default="reviewer")  # reviewer | admin
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ReviewSession(Base):
    """A login. The cookie carries the signed session key; only its sha256 is stored here."""

    __tablename__ = "review_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # sha256 of the session key
    reviewer_id: Mapped[int] = mapped_column(ForeignKey("reviewers.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # logout


class LoginFailure(Base):
    """One failed login: counted per name and per client address for the cooling-off period."""

    __tablename__ = "review_login_failures"
    __table_args__ = (Index("ix_login_failure_name", "username", "at"), Index("ix_login_failure_client", "client", "at"))

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(64))
    client: Mapped[str] = mapped_column(String(64))  # sha256 of the client address
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ReviewCase(Base):
    """An attempt waiting for (or given) a human look. One per attempt: the kinds exclude each other
    (review: the machine was unsure; audit: it passed; appeal: it rejected and the applicant asked)."""

    __tablename__ = "review_cases"
    __table_args__ = (Index("ix_review_case_state", "state", "created_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    attempt_id: Mapped[int] = mapped_column(ForeignKey("attempts.id"), unique=True)
    order_id: Mapped[str] = mapped_column(ForeignKey("orders.id"), index=True)
    spec_id: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))  # review | audit | appeal
    state: Mapped[str] = mapped_column(String(16), default="open")  # open | decided | closed
    flagged: Mapped[list[str]] = mapped_column(JSONText)  # rule codes the machine did not pass
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # when the current holder took it
    claim_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    requested_from: Mapped[str | None] = mapped_column(String(64))  # appeals: sha256 of the client address


class ReviewVerdict(Base):
    """A reviewer's decision. Recorded at once; it takes effect at `effective_at` (the undo window)
    unless undone before. `active_case_id` is the case id while the decision stands and NULL once
    undone, so a case has at most one standing decision (unique; NULLs do not collide)."""

    __tablename__ = "review_verdicts"
    __table_args__ = (Index("ix_review_verdict_due", "applied_at", "effective_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("review_cases.id"), index=True)
    active_case_id: Mapped[int | None] = mapped_column(BigId, unique=True)
    attempt_id: Mapped[int] = mapped_column(ForeignKey("attempts.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    reviewer: Mapped[str] = mapped_column(String(64))
    approve: Mapped[bool] = mapped_column(Boolean)
    reasons: Mapped[list[dict[str, Any]]] = mapped_column(JSONText)  # [{code, verdict, message_zh, message_en}]
    note: Mapped[str | None] = mapped_column(Text)
    rules_seen: Mapped[dict[str, Any]] = mapped_column(JSONText)  # code -> [machine verdict, score] shown
    opened_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # the reviewer's claim of the case
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    effective_at: Mapped[datetime] = mapped_column(UTCDateTime)
    undone_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    applied_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    outcome: Mapped[str | None] = mapped_column(String(32))  # issued | rejected | agreed | revoked | stale


class ReviewAudit(Base):
    """Append-only trail: who did what to which case, when, and what they saw."""

    __tablename__ = "review_audit"
    __table_args__ = (Index("ix_review_audit_case", "case_id", "id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    actor: Mapped[str] = mapped_column(String(64))  # reviewer name, "applicant" or "system"
    action: Mapped[str] = mapped_column(String(24))  # claim | release | decision | undo | applied | appeal | login ...
    case_id: Mapped[int | None] = mapped_column(BigId)  # no foreign keys: the trail outlives what it names
    attempt_id: Mapped[int | None] = mapped_column(BigId)
    verdict_id: Mapped[int | None] = mapped_column(BigId)
    data: Mapped[dict[str, Any]] = mapped_column(JSONText)


# the audit trail is append-only, enforced by the database like the events table (receipt.service.db)
for _stmt in (
    "CREATE TRIGGER IF NOT EXISTS review_audit_no_update BEFORE UPDATE ON review_audit "
    "BEGIN SELECT RAISE(ABORT, 'review_audit is append-only'); END",
    "CREATE TRIGGER IF NOT EXISTS review_audit_no_delete BEFORE DELETE ON review_audit "
    "BEGIN SELECT RAISE(ABORT, 'review_audit is append-only'); END",
):
    event.listen(ReviewAudit.__table__, "after_create", DDL(_stmt).execute_if(dialect="sqlite"))
for _stmt in (
    "CREATE OR REPLACE FUNCTION review_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS "
    "$$ BEGIN RAISE EXCEPTION 'review_audit is append-only'; END $$",
    "CREATE TRIGGER review_audit_append_only BEFORE UPDATE OR DELETE ON review_audit "
    "FOR EACH ROW EXECUTE FUNCTION review_audit_append_only()",
):
    event.listen(ReviewAudit.__table__, "after_create", DDL(_stmt).execute_if(dialect="postgresql"))


class ReceiptRevocation(Base):
    """A receipt an admin's audit revoked. Card systems ask `receipt.service.review.apply.revocation_of`."""

    __tablename__ = "receipt_revocations"
    __table_args__ = (UniqueConstraint("receipt_id", name="uq_revocation_receipt"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    receipt_id: Mapped[int] = mapped_column(ForeignKey("receipts.id"))
    number: Mapped[str] = mapped_column(String(32), unique=True)
    order_id: Mapped[str] = mapped_column(ForeignKey("orders.id"), index=True)
    verdict_id: Mapped[int] = mapped_column(ForeignKey("review_verdicts.id"))
    reasons: Mapped[list[dict[str, Any]]] = mapped_column(JSONText)
    revoked_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
