"""Tables of the card-system lookup API: API keys, the audit trail and recorded uses of a receipt.

On the same `Base` as receipt.service.db, so `create_all` and the migrations see them; the
package __init__ imports this module, so the tables exist wherever the models do.
The audit trail is append-only, enforced by the database like `events`.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DDL, ForeignKey, Index, Integer, String, UniqueConstraint, event
from sqlalchemy.orm import Mapped, mapped_column

from receipt.service.db import Base, BigId, JSONText, UTCDateTime, utcnow


class ApiKey(Base):
    """A card system's key. Only the SHA-256 of the key is stored; the key is shown once."""

    __tablename__ = "api_keys"
    __table_args__ = (
        UniqueConstraint("name", name="uq_api_key_name"),
        UniqueConstraint("key_hash", name="uq_api_key_hash"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(64))
    key_hash: Mapped[str] = mapped_column(String(64))  # sha256 hex of the whole key
    key_hint: Mapped[str] = mapped_column(String(16))  # its first characters, to recognise it in a list
    scopes: Mapped[list[str]] = mapped_column(JSONText)  # spec ids this key may see receipts of
    rate_per_s: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class LookupAudit(Base):
    """One lookup, photo fetch or use: who (key, address), which number, what came of it."""

    __tablename__ = "lookup_audit"
    __table_args__ = (Index("ix_lookup_audit_key_time", "api_key_id", "created_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    api_key_id: Mapped[int | None] = mapped_column(ForeignKey("api_keys.id"))  # None: no valid key
    action: Mapped[str] = mapped_column(String(16))  # lookup | batch | photo | use
    number: Mapped[str] = mapped_column(String(40))  # as typed (normalised, cut at 40)
    result: Mapped[str] = mapped_column(String(40))  # "ok" or the error code
    status: Mapped[int] = mapped_column(Integer)  # HTTP status of this number's answer
    client: Mapped[str] = mapped_column(String(64))  # client address


class ReceiptUse(Base):
    """A card system declaring it used a receipt's photo (POST /api/v1/receipts/{number}/use)."""

    __tablename__ = "receipt_uses"
    __table_args__ = (
        UniqueConstraint("api_key_id", "idempotency_key_hash", name="uq_use_idempotency"),
        Index("ix_receipt_use_receipt", "receipt_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    receipt_id: Mapped[int] = mapped_column(ForeignKey("receipts.id"))
    api_key_id: Mapped[int] = mapped_column(ForeignKey("api_keys.id"))
    purpose: Mapped[str] = mapped_column(String(200))
    idempotency_key_hash: Mapped[str] = mapped_column(String(64))
    request_fingerprint: Mapped[str] = mapped_column(String(64))  # sha256 of the purpose: a reused key must match
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


# --- append-only audit, enforced by the database itself (as for events) ------------------------
_SQLITE_TRIGGERS = [
    "CREATE TRIGGER IF NOT EXISTS lookup_audit_no_update BEFORE UPDATE ON lookup_audit "
    "BEGIN SELECT RAISE(ABORT, 'lookup_audit is append-only'); END",
    "CREATE TRIGGER IF NOT EXISTS lookup_audit_no_delete BEFORE DELETE ON lookup_audit "
    "BEGIN SELECT RAISE(ABORT, 'lookup_audit is append-only'); END",
]
_PG_TRIGGERS = [
    "CREATE OR REPLACE FUNCTION lookup_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS "
    "$$ BEGIN RAISE EXCEPTION 'lookup_audit is append-only'; END $$",
    "CREATE TRIGGER lookup_audit_append_only BEFORE UPDATE OR DELETE ON lookup_audit "
    "FOR EACH ROW EXECUTE FUNCTION lookup_audit_append_only()",
]
for _stmt in _SQLITE_TRIGGERS:
    event.listen(LookupAudit.__table__, "after_create", DDL(_stmt).execute_if(dialect="sqlite"))
for _stmt in _PG_TRIGGERS:
    event.listen(LookupAudit.__table__, "after_create", DDL(_stmt).execute_if(dialect="postgresql"))
