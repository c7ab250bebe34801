"""The card-system audit trail: every lookup, photo fetch and use, written in batches.

`AuditLog.record` only appends to a list (no I/O on the request's path); a background thread
writes what has gathered at least every `flush_s` seconds (PHOTO_RECEIPT_AUDIT_FLUSH_S,
default 1) and `close()` writes the rest at shutdown. A failed write is kept and retried on
the next flush, up to MAX_PENDING rows. Rows are append-only (database triggers, see
receipt.service.cards.models). Each API process has its own batcher.

In logs a receipt number is masked to its last 4 characters (`mask`); the table keeps it whole,
since answering "who looked up this receipt" is what the trail is for.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select

from receipt.service.cards.models import ApiKey, LookupAudit
from receipt.service.db import Database, utcnow

log = logging.getLogger(__name__)

MAX_PENDING = 100_000  # beyond this (database down for long) the oldest rows are dropped, loudly
NUMBER_CHARS = 40


def mask(number: str) -> str:
    """'BA27Q2M5XZ4K9FX' -> '***********K9FX': enough to correlate, not enough to look up."""
    text = str(number)
    return "*" * max(0, len(text) - 4) + text[-4:] if len(text) > 4 else "*" * len(text)


@dataclass(frozen=True)
class AuditRow:
    created_at: datetime
    key_name: str | None
    action: str
    number: str
    result: str
    status: int
    client: str


class AuditLog:
    def __init__(self, db: Database, flush_s: float = 1.0) -> None:
        self.db, self.flush_s = db, flush_s
        self._pending: list[dict[str, Any]] = []
        self._writing = 0  # rows taken by a flush and not yet committed
        self._lock = threading.Lock()
        self._flush_lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="audit-flush", daemon=True)
            self._thread.start()

    def record(self, *, key_id: int | None, action: str, number: str, result: str, status: int, client: str,
               at: datetime | None = None) -> None:
        row = {"created_at": at or utcnow(), "api_key_id": key_id, "action": action,
               "number": number[:NUMBER_CHARS], "result": result[:40], "status": status, "client": client[:64]}
        with self._lock:
            self._pending.append(row)
            if len(self._pending) > MAX_PENDING:
                dropped = len(self._pending) - MAX_PENDING
                del self._pending[:dropped]
                log.error("audit: %d rows dropped, the database has not taken writes for a while", dropped)

    def flush(self) -> int:
        """Write what is pending now; returns the number of rows written."""
        with self._flush_lock:
            with self._lock:
                batch, self._pending = self._pending, []
                self._writing = len(batch)
            if not batch:
                return 0
            try:
                with self.db.session() as session:
                    session.execute(insert(LookupAudit), batch)
            except Exception:
                log.exception("audit: writing %d rows failed; kept for the next flush", len(batch))
                with self._lock:
                    self._pending[:0] = batch
                    self._writing = 0
                return 0
            with self._lock:
                self._writing = 0
            return len(batch)

    def _run(self) -> None:
        while not self._stop.wait(self.flush_s):
            self.flush()

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None
        self.flush()

    @property
    def pending(self) -> int:
        """Rows not yet committed (waiting, or being written)."""
        with self._lock:
            return len(self._pending) + self._writing


def read_audit(db: Database, key_name: str | None = None, since: datetime | None = None,
               limit: int = 10_000) -> list[AuditRow]:
    """Audit rows oldest first, optionally of one key and from a time on (`photo-receipt audit`)."""
    query = (select(LookupAudit, ApiKey.name).outerjoin(ApiKey, ApiKey.id == LookupAudit.api_key_id)
             .order_by(LookupAudit.id).limit(limit))
    if key_name is not None:
        query = query.where(ApiKey.name == key_name)
    if since is not None:
        query = query.where(LookupAudit.created_at >= since)
    with db.session() as session:
        return [AuditRow(row.created_at, name, row.action, row.number, row.result, row.status, row.client)
                for row, name in session.execute(query)]
