"""Card-system lookups: a receipt number in, the receipt's facts and photo out — scoped, limited, audited.

Order of checks for every number: the key (401) -> number format and check character (400,
no database read) -> rate limits (429) -> the receipt (404 / 410 / 200). A receipt outside the
key's scope is answered exactly like a number that does not exist, so a key cannot learn which
numbers exist beyond what it may see. Failed lookups (400 / 404) and requests without a valid
key count against a per-address budget, so probing numbers is slow whatever key is used; a
card system's own traffic is bounded by its key's rate.

Scope: a key sees a receipt when the receipt's spec, or one of that spec's `accepted_for` ids,
is among the key's spec ids (receipt.specs.Spec.serves).
"""

from __future__ import annotations

import hashlib
import logging
import re
import time
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from limits import RateLimitItem
from sqlalchemy import Engine, bindparam, case, literal_column, select

from receipt.errors import ReceiptError
from receipt.issue.clock import china_iso, china_today
from receipt.issue.numbers import check_character, validate
from receipt.service.cards.apikeys import KeyCache, KeyRecord
from receipt.service.cards.audit import AuditLog, mask
from receipt.service.cards.models import ApiKey, ReceiptUse
from receipt.service.cards.reader import RowReader, photo_facts, reader_engine
from receipt.service.db import Order, Receipt
from receipt.service.ratelimit import Decision, Limiter, storage_url_for
from receipt.service.review.models import ReceiptRevocation
from receipt.service.runtime import Runtime
from receipt.specs import load_all

log = logging.getLogger(__name__)

MAX_BATCH = 100
STATS_MAX_AGE_S = 0.25  # a key's RateLimit `remaining` may be this old (the decision itself never is)
_CLEAN = re.compile(r"^[0-9A-Z]{15}$")
FAILURES = "client-failures"  # limit name: failed lookups and bad keys, per client address
VERIFY = "verify"  # limit name: POST /api/v1/verify, per client address
NOT_FOUND = ("RECEIPT_NOT_FOUND", "没有这个相片回执号，或本系统无权查看 / no receipt with this number that this key may see")


class CardError(ReceiptError):
    """A ReceiptError with the extra parts a card-system answer carries: detail and headers."""

    def __init__(self, code: str, message: str, *, status: int, detail: dict[str, Any] | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(code, message, status=status)
        self.detail = detail
        self.headers = headers or {}

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.detail is not None:
            out["detail"] = self.detail
        return out


@dataclass
class Found:
    id: int
    number: str
    spec_id: str
    issued_at: datetime
    expires_on: date | None
    photo_sha256: str
    order_status: str
    uses: list[dict[str, Any]] = field(default_factory=list)


_COLUMNS = (
    select(Receipt.id, Receipt.number, Receipt.spec_id, Receipt.issued_at, Receipt.expires_on, Receipt.photo_sha256,
           # an audit's revocation stays with the receipt even after the order is resubmitted
           case((ReceiptRevocation.id.is_not(None), literal_column("'revoked'")), else_=Order.status),  # no bind: precompiled
           ReceiptUse.purpose, ReceiptUse.created_at, ApiKey.name)
    .select_from(Receipt).join(Order, Order.id == Receipt.order_id)
    .outerjoin(ReceiptRevocation, ReceiptRevocation.receipt_id == Receipt.id)
    .outerjoin(ReceiptUse, ReceiptUse.receipt_id == Receipt.id).outerjoin(ApiKey, ApiKey.id == ReceiptUse.api_key_id)
)
_FETCH = _COLUMNS.where(Receipt.number.in_(bindparam("numbers", expanding=True))).order_by(Receipt.id, ReceiptUse.id)
_FETCH_ONE = _COLUMNS.where(Receipt.number == bindparam("number")).order_by(ReceiptUse.id)


def rate_limited(decision: Decision) -> CardError:
    return CardError("RATE_LIMITED", f"请求过于频繁，请{decision.headers()['Retry-After']}秒后重试 / too many requests, "
                                     f"retry after {decision.headers()['Retry-After']} s",
                     status=429, headers=decision.headers())


@dataclass
class CardService:
    """Per API process: key cache, limiter, audit batcher and a read-only engine for lookups."""

    rt: Runtime
    keys: KeyCache
    limiter: Limiter
    audit: AuditLog
    reader: Engine
    prefixes: frozenset[str]
    one: RowReader | None = None  # the single-number fetch on the raw cursor (set in __post_init__)
    _facts: dict[str, tuple[int, int, int | None, int]] = field(default_factory=dict)
    # Addresses this process saw fail, and when: only they need the failure-budget look-up (one
    # storage call saved on every good lookup). A prober's requests mostly fail, so every process
    # learns its address within a request or two even when the budget itself lives in Redis.
    _failing: dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.one = RowReader(self.reader, _FETCH_ONE, "number")

    @classmethod
    def create(cls, rt: Runtime) -> CardService:
        s = rt.settings
        # Counters of two databases sharing one Redis stay apart; processes of one deployment share them.
        limiter = Limiter(storage_url_for(s), s.rate_strategy,
                          prefix=hashlib.sha256(s.database_url.encode()).hexdigest()[:10])
        limiter.define(FAILURES, s.rate_client_failures)
        limiter.define(VERIFY, s.rate_verify)
        audit = AuditLog(rt.db, s.audit_flush_s)
        audit.start()
        return cls(rt, KeyCache(rt.db, s.api_key_cache_s), limiter, audit, reader_engine(rt.db.url),
                   frozenset(spec.number_prefix for spec in load_all().values()))

    def close(self) -> None:
        self.audit.close()
        self.limiter.close()
        self.reader.dispose()

    # --- the steps -----------------------------------------------------------------------------

    def authenticate(self, presented: str | None, client: str, action: str, number: str = "") -> KeyRecord:
        try:
            return self.keys.authenticate(presented, lambda: self.limiter.allows(FAILURES, client))
        except ReceiptError as exc:
            over = self._count_failure(client)
            if not over.allowed:
                raise rate_limited(over) from None  # not audited: a flood must not fill the table
            self.audit.record(key_id=None, action=action, number=number, result=exc.code, status=401, client=client)
            raise CardError(exc.code, exc.message, status=401, headers=over.headers()) from None

    def _count_failure(self, client: str, cost: int = 1) -> Decision:
        if len(self._failing) > 100_000:
            self._failing.clear()  # a budget look-up or two more per address, not a leak
        self._failing[client] = time.monotonic()
        return self.limiter.hit(FAILURES, client, cost=cost)

    def _may_be_failing(self, client: str) -> bool:
        seen = self._failing.get(client)
        return seen is not None and time.monotonic() - seen < self.limiter.limits[FAILURES].get_expiry()

    def _failed(self, key: KeyRecord, action: str, number: str, code: str, status: int, client: str,
                cost: int = 1) -> None:
        self.audit.record(key_id=key.id, action=action, number=number, result=code, status=status, client=client)
        if cost:
            self._count_failure(client, cost)
        log.debug("%s %s by %s from %s: %s", action, mask(number), key.name, client, code)

    @staticmethod
    def number_error(check: Any) -> CardError:
        return CardError("RECEIPT_NUMBER_INVALID", "相片回执号无效 / the receipt number is not valid", status=400,
                         detail={"code": check.code, "message": f"{check.message_zh} / {check.message_en}",
                                 "suggestions": list(check.suggestions)})

    def check_number(self, key: KeyRecord, raw: str, client: str, action: str) -> str:
        if _CLEAN.match(raw) and raw[:3] in self.prefixes and raw[-1] == check_character(raw[:-1]):
            return raw  # typed cleanly and correct: validate()'s normalising and explaining are not needed
        check = validate(raw, self.prefixes)
        if check.ok:
            return check.number
        self._failed(key, action, check.number or raw, "RECEIPT_NUMBER_INVALID", 400, client)
        raise self.number_error(check)

    def key_item(self, key: KeyRecord) -> RateLimitItem:
        window = self.rt.settings.rate_key_window_s
        return self.limiter.per_window(key.rate_per_s * window, window)

    def admit(self, key: KeyRecord, client: str, cost: int, action: str, number: str) -> Decision:
        """The rate step: the address's failure budget (looked at), then the key's rate (consumed)."""
        if self._may_be_failing(client) and not self.limiter.allows(FAILURES, client):
            decision = self.limiter.test(FAILURES, client)
        else:
            decision = self.limiter.hit("key", str(key.id), cost=cost, item=self.key_item(key),
                                        stats_max_age_s=STATS_MAX_AGE_S)
            if decision.allowed:
                return decision
        self.audit.record(key_id=key.id, action=action, number=number, result="RATE_LIMITED", status=429,
                          client=client)
        raise rate_limited(decision)

    def fetch(self, numbers: list[str]) -> dict[str, Found]:
        if not numbers:
            return {}  # nothing well formed: the receipts table is not touched
        if len(numbers) == 1 and self.one is not None:
            rows: Any = self.one.rows(numbers[0])
        else:
            with self.reader.connect() as conn:
                rows = conn.execute(_FETCH, {"numbers": numbers}).all()
        found: dict[str, Found] = {}
        for rid, number, spec_id, issued_at, expires_on, photo, status, purpose, used_at, system in rows:
            item = found.get(number)
            if item is None:
                item = found[number] = Found(rid, number, spec_id, issued_at, expires_on, photo, status)
            if used_at is not None:
                item.uses.append({"system": system, "purpose": purpose, "used_at": china_iso(used_at)})
        return found

    @staticmethod
    def judge(key: KeyRecord, found: Found | None, today: date) -> CardError | None:
        specs = load_all()
        spec = specs.get(found.spec_id) if found else None
        serves = spec.serves if spec else frozenset((found.spec_id,) if found else ())
        if found is None or not serves & key.scopes:
            return CardError(*NOT_FOUND, status=404)  # identical whether absent or out of scope
        if found.order_status == "revoked":
            return CardError("RECEIPT_REVOKED", "该回执已被撤销，请重新采集照片 / this receipt has been revoked; the "
                                                "applicant needs a new one", status=410)
        if found.expires_on is not None and today > found.expires_on:
            return CardError("RECEIPT_EXPIRED", f"该回执已于{found.expires_on.isoformat()}过期，不能延期，请重新采集 / "
                                                f"this receipt expired on {found.expires_on.isoformat()} and cannot be "
                                                "extended; the applicant makes a new one", status=410,
                             detail={"expires_on": found.expires_on.isoformat()})
        return None

    def photo_facts(self, sha256: str) -> tuple[int, int, int | None, int]:
        facts = self._facts.get(sha256)
        if facts is None:  # blobs never change: read the header once per photo and process
            facts = self._facts[sha256] = photo_facts(self.rt.blobs.get(sha256))
            if len(self._facts) > 100_000:
                self._facts.clear()
        return facts

    def body(self, found: Found, with_photo: bool = False) -> dict[str, Any]:
        spec = load_all().get(found.spec_id)
        width, height, dpi, size = self.photo_facts(found.photo_sha256)
        out: dict[str, Any] = {
            "number": found.number, "spec": found.spec_id, "city": spec.city if spec else None,
            "document": spec.document if spec else None, "status": "valid", "issued_at": china_iso(found.issued_at),
            "expires_on": found.expires_on.isoformat() if found.expires_on else None,
            "photo": {"sha256": found.photo_sha256, "width": width, "height": height,
                      "dpi": dpi or (spec.photo.dpi if spec else None), "bytes": size},
            "accepted_for": list(spec.accepted_for) if spec else [], "uses": found.uses,
        }
        if with_photo:
            import base64

            out["photo_base64"] = base64.b64encode(self.rt.blobs.get(found.photo_sha256)).decode("ascii")
        return out

    # --- the operations ------------------------------------------------------------------------

    def resolve(self, key: KeyRecord, raw: str, client: str, action: str) -> tuple[Found, Decision]:
        """One number through every step; raises CardError (with the rate headers once they exist)."""
        number = self.check_number(key, raw, client, action)
        decision = self.admit(key, client, 1, action, number)
        found = self.fetch([number]).get(number)
        error = self.judge(key, found, china_today())
        if error is not None:
            self._failed(key, action, number, error.code, error.status, client, cost=1 if error.status == 404 else 0)
            error.headers = decision.headers()
            raise error
        assert found is not None
        return found, decision

    def lookup(self, key: KeyRecord, raw: str, client: str, with_photo: bool = False
               ) -> tuple[dict[str, Any], dict[str, str]]:
        found, decision = self.resolve(key, raw, client, "lookup")
        body = self.body(found, with_photo)
        self.audit.record(key_id=key.id, action="lookup", number=found.number, result="ok", status=200, client=client)
        return body, decision.headers()

    def photo(self, key: KeyRecord, raw: str, client: str) -> tuple[Found, dict[str, str]]:
        found, decision = self.resolve(key, raw, client, "photo")
        self.audit.record(key_id=key.id, action="photo", number=found.number, result="ok", status=200, client=client)
        return found, decision.headers()

    def batch(self, key: KeyRecord, raws: list[str], client: str) -> tuple[list[dict[str, Any]], dict[str, str]]:
        item = self.key_item(key)
        if len(raws) > item.amount:
            raise CardError("BATCH_EXCEEDS_RATE", f"一次最多查询{item.amount}个号码 / this key's rate allows at most "
                                                  f"{item.amount} numbers in one request", status=422)
        checks = [validate(raw, self.prefixes) for raw in raws]
        decision = self.admit(key, client, len(raws), "batch", "")
        found = self.fetch(sorted({c.number for c in checks if c.ok}))
        today = china_today()
        results: list[dict[str, Any]] = []
        failures = 0
        for raw, check in zip(raws, checks, strict=True):
            if not check.ok:
                error: CardError | None = self.number_error(check)
            else:
                error = self.judge(key, found.get(check.number), today)
            number = check.number or raw
            if error is None:
                results.append(self.body(found[check.number]))
                self.audit.record(key_id=key.id, action="batch", number=number, result="ok", status=200, client=client)
                continue
            failures += error.status in (400, 404)
            self.audit.record(key_id=key.id, action="batch", number=number, result=error.code, status=error.status,
                              client=client)
            results.append({"number": number, "error": error.to_dict()})
        if failures:
            self._count_failure(client, failures)
        return results, decision.headers()
