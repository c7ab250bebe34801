"""Rate limits on the `limits` library: named limits, one limiter per process, shared storage.

Storage: memory (one process: the embedded default) or Redis (every API process counts in the
same place) — `storage_url_for(settings)` picks Redis when REDIS_URL is set, and
RATE_LIMIT_STORAGE_URL overrides either. Strategy: sliding-window counter by default (O(1) per
key in both storages, smoother than a fixed window; "moving-window" is exact but keeps one
entry per request).

Use::

    limiter = Limiter(storage_url_for(settings))
    limiter.define("client-failures", "30/minute")
    decision = limiter.hit("client-failures", client_address)
    decision.allowed, decision.headers()   # RateLimit / RateLimit-Policy / Retry-After

A limit whose amount differs per caller (an API key's own rate) is given as an item:
``limiter.hit("key", str(key.id), item=limiter.per_window(rate * 5, 5))``.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass
from functools import lru_cache

from limits import RateLimitItem, RateLimitItemPerSecond, parse
from limits.storage import storage_from_string
from limits.strategies import STRATEGIES

from receipt.config import ServiceSettings
from receipt.errors import ReceiptError

log = logging.getLogger(__name__)

NAMESPACE = "photo-receipt"


def storage_url_for(settings: ServiceSettings) -> str:
    return settings.rate_limit_storage or settings.redis_url or "memory://"


@dataclass(frozen=True)
class Decision:
    """The outcome of one hit or test, with what the response headers need."""

    name: str
    allowed: bool
    limit: int
    remaining: int
    reset_s: int  # seconds until at least one more request is allowed
    window_s: int

    def headers(self) -> dict[str, str]:
        """IETF draft RateLimit fields (draft-ietf-httpapi-ratelimit-headers), plus Retry-After on refusal."""
        out = {"RateLimit": f"limit={self.limit}, remaining={self.remaining}, reset={self.reset_s}",
               "RateLimit-Policy": f"{self.limit};w={self.window_s}"}
        if not self.allowed:
            out["Retry-After"] = str(max(1, self.reset_s))
        return out


@lru_cache(maxsize=4096)
def _per_window(amount: int, seconds: int) -> RateLimitItem:
    return RateLimitItemPerSecond(amount, seconds, namespace=NAMESPACE)


class Limiter:
    """Named limits over one storage; `hit` consumes, `test` only looks."""

    def __init__(self, storage_url: str = "memory://", strategy: str = "sliding-window-counter", *,
                 prefix: str = "") -> None:
        if strategy not in STRATEGIES:
            raise ReceiptError("RATE_STRATEGY_UNKNOWN", f"unknown strategy {strategy!r}; one of {sorted(STRATEGIES)}",
                               status=500)
        self.storage_url = storage_url
        self.storage = storage_from_string(storage_url)
        self.strategy = STRATEGIES[strategy](self.storage)
        self.limits: dict[str, RateLimitItem] = {}
        self.prefix = prefix  # keeps the counters of two deployments sharing one Redis apart
        self._stats: dict[tuple[str, str, int, int], list[float]] = {}  # see hit(stats_max_age_s=)

    @property
    def shared(self) -> bool:
        """Whether several processes count together (anything but memory)."""
        return not self.storage_url.startswith("memory")

    def define(self, name: str, limit: str | RateLimitItem) -> RateLimitItem:
        """`limit` like "30/minute", "10 per second", "100/5 seconds", or an item."""
        if isinstance(limit, str):
            try:
                parsed = parse(limit)
            except ValueError:
                raise ReceiptError("RATE_LIMIT_INVALID", f"limit {name}: {limit!r} is not a rate like '30/minute'",
                                   status=500) from None
            limit = RateLimitItemPerSecond(parsed.amount, parsed.get_expiry(), namespace=NAMESPACE)
        self.limits[name] = limit
        return limit

    @staticmethod
    def per_window(amount: int, seconds: int) -> RateLimitItem:
        return _per_window(max(1, int(amount)), max(1, int(seconds)))

    def _item(self, name: str, item: RateLimitItem | None) -> RateLimitItem:
        if item is not None:
            return item
        try:
            return self.limits[name]
        except KeyError:
            raise ReceiptError("RATE_LIMIT_UNKNOWN", f"no limit named {name!r}", status=500) from None

    def _decision(self, name: str, item: RateLimitItem, identity: str, allowed: bool) -> Decision:
        stats = self.strategy.get_window_stats(item, self.prefix, name, identity)
        reset = max(0, math.ceil(stats.reset_time - time.time()))
        return Decision(name, allowed, item.amount, stats.remaining, reset, item.get_expiry())

    def hit(self, name: str, identity: str, cost: int = 1, item: RateLimitItem | None = None,
            stats_max_age_s: float = 0.0) -> Decision:
        """Consume `cost`. Whether it is allowed is always the storage's answer; with
        `stats_max_age_s` > 0 an allowed hit may report `remaining` from window statistics read
        up to that long ago, less the hits this process made since (one storage round trip instead
        of two: a header estimate, never a decision). A refusal always reads fresh statistics."""
        item = self._item(name, item)
        allowed = self.strategy.hit(item, self.prefix, name, identity, cost=cost)
        if allowed and stats_max_age_s > 0:
            slot = (name, identity, item.amount, item.get_expiry())
            cached = self._stats.get(slot)
            now = time.monotonic()
            if cached is not None and now - cached[0] < stats_max_age_s:
                cached[1] = max(0, cached[1] - cost)
                return Decision(name, True, item.amount, cached[1], max(0, math.ceil(cached[2] - time.time())),
                                item.get_expiry())
            decision = self._decision(name, item, identity, allowed)
            if len(self._stats) > 10_000:
                self._stats.clear()
            self._stats[slot] = [now, decision.remaining, time.time() + decision.reset_s]
            return decision
        return self._decision(name, item, identity, allowed)

    def test(self, name: str, identity: str, cost: int = 1, item: RateLimitItem | None = None) -> Decision:
        item = self._item(name, item)
        allowed = self.strategy.test(item, self.prefix, name, identity, cost=cost)
        return self._decision(name, item, identity, allowed)

    def allows(self, name: str, identity: str, cost: int = 1, item: RateLimitItem | None = None) -> bool:
        """`test` without the window statistics: one storage call, for the common case."""
        return self.strategy.test(self._item(name, item), self.prefix, name, identity, cost=cost)

    def clear(self, name: str, identity: str, item: RateLimitItem | None = None) -> None:
        self.strategy.clear(self._item(name, item), self.prefix, name, identity)

    def close(self) -> None:
        close = getattr(self.storage, "close", None) or getattr(getattr(self.storage, "storage", None), "close", None)
        if callable(close):
            try:
                close()
            except Exception:  # closing at shutdown must not hide the real exit reason
                log.debug("rate limit storage close failed", exc_info=True)
