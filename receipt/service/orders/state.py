"""Order state: the allowed transitions, and the event appended with every change."""

from __future__ import annotations

import hashlib
import hmac
import logging
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from receipt.errors import ReceiptError
from receipt.service.db import (
    Attempt,
    Event,
    Order,
    Receipt,
    WebhookDelivery,
    utcnow,
)
from receipt.service.issuing import IssuedRecord
from receipt.service.runtime import Runtime

log = logging.getLogger(__name__)

TRANSITIONS: dict[str, frozenset[str]] = {
    "received": frozenset({"processing", "error"}),
    "processing": frozenset({"issued", "in_review", "rejected", "error"}),
    "in_review": frozenset({"issued", "rejected"}),
    "rejected": frozenset({"received", "in_review"}),  # a free resubmission; an appeal (receipt.service.review.decisions)
    "issued": frozenset({"revoked"}),  # an admin's audit disagreed (receipt.service.review.apply)
    "revoked": frozenset({"received"}),  # a free resubmission on the same order
    "error": frozenset({"received"}),  # an operator's retry_order()
}
TERMINAL = frozenset({"issued", "rejected", "error", "revoked"})  # nothing happens until someone acts
RESUBMITTABLE = frozenset({"rejected", "revoked"})


def order_not_found() -> ReceiptError:
    return ReceiptError("ORDER_NOT_FOUND", "没有这个订单，或令牌不正确 / no such order, or the token does not match",
                        status=404)


# --- events -------------------------------------------------------------------------------------

def emit(session: Session, rt: Runtime, order: Order, type_: str, data: dict[str, Any],
          attempt: Attempt | None = None) -> Event:
    # Lock the order row first (PostgreSQL; SQLite has one writer anyway) so one order's events
    # commit in id order: a reader that resumes "after id N" then never skips a late commit.
    session.execute(select(Order.id).where(Order.id == order.id).with_for_update())
    ev = Event(order_id=order.id, attempt_id=attempt.id if attempt else None, type=type_,
               status=order.status, data=data, created_at=utcnow())
    session.add(ev)
    session.flush()
    if rt.settings.webhook_url and type_ == "order.status":
        session.add(WebhookDelivery(event_id=ev.id, url=rt.settings.webhook_url, state="pending",
                                    next_attempt_at=utcnow()))
    return ev


def set_status(session: Session, rt: Runtime, order: Order, status: str, attempt: Attempt | None = None,
                **data: Any) -> None:
    if order.status == status:
        return
    if status not in TRANSITIONS[order.status]:
        raise ReceiptError("ORDER_STATE", f"order {order.id}: {order.status} -> {status} is not allowed", status=409)
    previous, order.status, order.updated_at = order.status, status, utcnow()
    payload = {"order_id": order.id, "status": status, "previous": previous, **data}
    if attempt is not None:
        payload["attempt"] = attempt.seq
    emit(session, rt, order, "order.status", payload, attempt)


def receipt_row(order: Order, attempt: Attempt, issued: IssuedRecord, approved_by: str) -> Receipt:
    return Receipt(order_id=order.id, attempt_id=attempt.id, number=issued.number, spec_id=issued.spec_id,
                   issued_at=issued.issued_at, expires_on=issued.expires_on, qr_payload=issued.qr_payload,
                   photo_sha256=issued.photo_sha256, pdf_sha256=issued.pdf_sha256, approved_by=approved_by[:120])


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def authorize(session: Session, order_id: str, token: str | None, *, lock: bool = False) -> Order:
    """The order when `token` is its bearer token; 404 otherwise (no hint whether the order exists)."""
    if not token:
        raise ReceiptError("AUTH_REQUIRED", "请提供订单令牌 / send the order token as 'Authorization: Bearer <token>'",
                           status=401)
    stmt = select(Order).where(Order.id == order_id)
    if lock:
        stmt = stmt.with_for_update()
    order = session.scalar(stmt) if len(order_id) <= 32 else None
    if order is None or not hmac.compare_digest(order.token_hash, hash_token(token)):
        raise order_not_found()
    return order
