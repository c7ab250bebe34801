"""API keys of card systems: issued once, stored as SHA-256, checked against a short-lived cache.

A key is ``pr_live_`` + 32 random bytes (base64url): the prefix lets logs and leak scanners
recognise it, the 256 random bits make guessing pointless, so a fast hash (not a password
hash) is enough and every request costs one SHA-256 and a dict look-up. The key table is
cached per process for `ttl_s` seconds (PHOTO_RECEIPT_API_KEY_CACHE_S, default 5): a revoked
key stops working within that time. A key not in the cache costs one indexed read (so a new
key works at once); the caller gates that read (`may_read`: the lookup API allows it only
while the client address has failure budget left), so a flood of wrong keys cannot turn into
a flood of database reads.
"""

from __future__ import annotations

import hashlib
import logging
import re
import secrets
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from receipt.errors import ReceiptError
from receipt.service.cards.models import ApiKey
from receipt.service.db import Database, utcnow
from receipt.specs import load_all

log = logging.getLogger(__name__)

KEY_PREFIX = "pr_live_"
HINT_CHARS = 12  # prefix + 4 random characters: enough to tell keys apart in a list
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
_KEY_RE = re.compile(r"^pr_live_[A-Za-z0-9_-]{43}$")
MAX_RATE = 100_000


@dataclass(frozen=True)
class KeyRecord:
    id: int
    name: str
    scopes: frozenset[str]
    rate_per_s: int
    key_hint: str
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None

    def usable(self, now: datetime | None = None) -> bool:
        now = now or utcnow()
        return self.revoked_at is None and (self.expires_at is None or now < self.expires_at)

    @classmethod
    def of(cls, row: ApiKey) -> KeyRecord:
        return cls(row.id, row.name, frozenset(row.scopes), row.rate_per_s, row.key_hint, row.created_at,
                   row.expires_at, row.revoked_at)


def new_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def _check_scopes(scopes: Iterable[str]) -> list[str]:
    known = load_all()
    listed = sorted({s.strip() for s in scopes if s.strip()})
    if not listed:
        raise ReceiptError("SCOPE_REQUIRED", "a key needs at least one spec id (--specs shenzhen-ssc,guangdong-id)")
    unknown = [s for s in listed if s not in known]
    if unknown:
        raise ReceiptError("SPEC_UNKNOWN", f"unknown spec {unknown[0]!r}; known: {', '.join(sorted(known))}")
    return listed


def create_key(db: Database, name: str, scopes: Iterable[str], rate_per_s: int = 20,
               expires_days: float | None = None) -> tuple[KeyRecord, str]:
    """A new key for a card system: (its record, the key itself — shown once, never stored)."""
    if not NAME_RE.match(name):
        raise ReceiptError("KEY_NAME_INVALID", f"a key name is 1-64 letters, digits, '.', '_' or '-', got {name!r}")
    if not 1 <= rate_per_s <= MAX_RATE:
        raise ReceiptError("KEY_RATE_INVALID", f"--rate must be 1..{MAX_RATE} requests per second")
    if expires_days is not None and expires_days <= 0:
        raise ReceiptError("KEY_EXPIRY_INVALID", "--expires must be a positive number of days")
    key = new_key()
    now = utcnow()
    row = ApiKey(name=name, key_hash=hash_key(key), key_hint=key[:HINT_CHARS], scopes=_check_scopes(scopes),
                 rate_per_s=rate_per_s, created_at=now,
                 expires_at=now + timedelta(days=expires_days) if expires_days is not None else None)
    try:
        with db.session() as session:
            session.add(row)
            session.flush()
            record = KeyRecord.of(row)
    except IntegrityError:
        raise ReceiptError("KEY_NAME_TAKEN", f"a key named {name!r} exists already (revoked keys keep their name)",
                           status=409) from None
    log.info("API key %s (%s…) created for %s", name, record.key_hint, ",".join(sorted(record.scopes)))
    return record, key


def list_keys(db: Database) -> list[KeyRecord]:
    with db.session() as session:
        return [KeyRecord.of(row) for row in session.scalars(select(ApiKey).order_by(ApiKey.id))]


def revoke_key(db: Database, name: str) -> KeyRecord:
    with db.session() as session:
        row = session.scalar(select(ApiKey).where(ApiKey.name == name).with_for_update())
        if row is None:
            raise ReceiptError("KEY_NOT_FOUND", f"no API key named {name!r}", status=404)
        if row.revoked_at is None:
            row.revoked_at = utcnow()
        return KeyRecord.of(row)


def key_by_name(db: Database, name: str) -> KeyRecord:
    with db.session() as session:
        row = session.scalar(select(ApiKey).where(ApiKey.name == name))
        if row is None:
            raise ReceiptError("KEY_NOT_FOUND", f"no API key named {name!r}", status=404)
        return KeyRecord.of(row)


class KeyCache:
    """The usable keys by hash, reloaded when older than `ttl_s` (so revocation reaches every process)."""

    def __init__(self, db: Database, ttl_s: float = 5.0) -> None:
        self.db, self.ttl_s = db, ttl_s
        self._by_hash: dict[str, KeyRecord] = {}
        self._loaded_at = float("-inf")
        self._lock = threading.Lock()

    def _refresh(self) -> None:
        with self._lock:
            if time.monotonic() - self._loaded_at < self.ttl_s:
                return  # another thread reloaded it while this one waited
            with self.db.session() as session:
                rows = session.scalars(select(ApiKey).where(ApiKey.revoked_at.is_(None))).all()
                self._by_hash = {row.key_hash: KeyRecord.of(row) for row in rows}
            self._loaded_at = time.monotonic()

    def _read_one(self, digest: str) -> KeyRecord | None:
        with self.db.session() as session:
            row = session.scalar(select(ApiKey).where(ApiKey.key_hash == digest, ApiKey.revoked_at.is_(None)))
            record = KeyRecord.of(row) if row is not None else None
        if record is not None:
            with self._lock:
                self._by_hash[digest] = record
        return record

    def authenticate(self, presented: str | None, may_read: Callable[[], bool] = lambda: True) -> KeyRecord:
        """The key's record, or ReceiptError 401 API_KEY_REQUIRED / API_KEY_INVALID (unknown, revoked, expired)."""
        text = (presented or "").strip()
        if not text:
            raise ReceiptError("API_KEY_REQUIRED", "需要API密钥（请求头 X-API-Key）/ an API key is required "
                                                   "(header X-API-Key)", status=401)
        if time.monotonic() - self._loaded_at >= self.ttl_s:
            self._refresh()
        record = None
        if _KEY_RE.match(text):
            digest = hash_key(text)
            record = self._by_hash.get(digest)
            if record is None and may_read():
                record = self._read_one(digest)  # perhaps added since the last load
        if record is None or not record.usable():
            raise ReceiptError("API_KEY_INVALID", "API密钥无效、已吊销或已过期 / the API key is unknown, revoked or "
                                                  "expired", status=401)
        return record
