"""Webhook delivery of order status events, signed with HMAC-SHA256, with retries.

Each status event gets a webhook_deliveries row in the transaction that wrote the event
(outbox), so no event is lost between the database and the network. Sweepers claim due rows
with a short lease, POST them, and back off exponentially on failure; after
WEBHOOK_MAX_TRIES a row ends `failed` (visible in the table, logged). Delivery is at least
once: receivers de-duplicate on the X-Receipt-Event-Id header.

Signature: ``X-Receipt-Signature: sha256=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>``
with ``X-Receipt-Timestamp`` (Unix seconds), so a receiver can reject replays.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
from datetime import timedelta

import httpx
from sqlalchemy import or_, select, update

from receipt.service.db import Event, WebhookDelivery, utcnow
from receipt.service.metrics import WEBHOOK_FAILURES
from receipt.service.runtime import Runtime

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Receipt-Signature"
TIMESTAMP_HEADER = "X-Receipt-Timestamp"
EVENT_HEADER = "X-Receipt-Event-Id"
_LEASE = timedelta(seconds=60)
_MAX_BACKOFF_S = 600


def sign(secret: str, timestamp: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


def verify(secret: str, timestamp: str, body: bytes, signature: str, *, max_age_s: int = 300) -> bool:
    """What a receiver does (also used by the tests)."""
    try:
        fresh = abs(time.time() - int(timestamp)) <= max_age_s
    except ValueError:
        return False
    return fresh and hmac.compare_digest(sign(secret, timestamp, body), signature)


def event_body(ev: Event) -> bytes:
    payload = {"event_id": ev.id, "type": ev.type, "order_id": ev.order_id, "status": ev.status,
               "created_at": ev.created_at.isoformat(), "data": ev.data}
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()


def _claim_due(rt: Runtime, limit: int) -> list[tuple[int, str, bytes, int]]:
    now = utcnow()
    claimed: list[tuple[int, str, bytes, int]] = []
    with rt.db.session() as session:
        rows = session.execute(
            select(WebhookDelivery, Event).join(Event, Event.id == WebhookDelivery.event_id)
            .where(WebhookDelivery.state == "pending", WebhookDelivery.next_attempt_at <= now,
                   or_(WebhookDelivery.lease_expires_at.is_(None), WebhookDelivery.lease_expires_at < now))
            .order_by(WebhookDelivery.id).limit(limit)).all()
        for delivery, ev in rows:
            took = session.execute(
                update(WebhookDelivery).where(
                    WebhookDelivery.id == delivery.id, WebhookDelivery.state == "pending",
                    or_(WebhookDelivery.lease_expires_at.is_(None), WebhookDelivery.lease_expires_at < now))
                .values(lease_expires_at=now + _LEASE).execution_options(synchronize_session=False))
            if took.rowcount == 1:
                claimed.append((delivery.id, delivery.url, event_body(ev), ev.id))
    return claimed


def deliver_due(rt: Runtime, limit: int = 20) -> int:
    """Send due webhook deliveries; returns how many were delivered now."""
    settings = rt.settings
    if not settings.webhook_url:
        return 0
    due = _claim_due(rt, limit)
    if not due:
        return 0
    delivered = 0
    with httpx.Client(timeout=settings.webhook_timeout_s, follow_redirects=False) as client:
        for delivery_id, url, body, event_id in due:
            timestamp = str(int(time.time()))
            headers = {"Content-Type": "application/json", TIMESTAMP_HEADER: timestamp, EVENT_HEADER: str(event_id),
                       "User-Agent": "photo-receipt-webhook/1"}
            if settings.webhook_secret:
                headers[SIGNATURE_HEADER] = sign(settings.webhook_secret, timestamp, body)
            error: str | None = None
            try:
                response = client.post(url, content=body, headers=headers)
                if not 200 <= response.status_code < 300:
                    error = f"HTTP {response.status_code}"
            except httpx.HTTPError as exc:
                error = f"{type(exc).__name__}: {exc}"
            delivered += _record(rt, delivery_id, error)
    return delivered


def _record(rt: Runtime, delivery_id: int, error: str | None) -> int:
    with rt.db.session() as session:
        row = session.get(WebhookDelivery, delivery_id)
        if row is None:
            return 0
        row.tries += 1
        row.lease_expires_at = None
        if error is None:
            row.state, row.delivered_at, row.last_error = "delivered", utcnow(), None
            return 1
        row.last_error = error[:1000]
        WEBHOOK_FAILURES.labels(str(row.tries >= rt.settings.webhook_max_tries).lower()).inc()
        if row.tries >= rt.settings.webhook_max_tries:
            row.state = "failed"
            log.error("webhook delivery %s to %s failed for good after %d tries: %s", delivery_id, row.url, row.tries,
                      error)
        else:
            row.next_attempt_at = utcnow() + timedelta(seconds=min(_MAX_BACKOFF_S, 2 ** (row.tries - 1)))
            log.warning("webhook delivery %s failed (%s); retry %d", delivery_id, error, row.tries)
        return 0
