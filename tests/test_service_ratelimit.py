"""The limiter: named limits on memory and Redis storage, headers, shared counting, prefixes."""

from __future__ import annotations

import secrets
from pathlib import Path

import pytest

from receipt.config import ServiceSettings
from receipt.errors import ReceiptError
from receipt.service.ratelimit import Limiter, storage_url_for


@pytest.fixture(params=["memory", "redis"])
def storage(request: pytest.FixtureRequest) -> str:
    if request.param == "memory":
        return "memory://"
    return request.getfixturevalue("redis_url")


@pytest.mark.parametrize("strategy", ["moving-window", "fixed-window"])
def test_a_named_limit_refuses_past_its_amount_with_retry_after(storage: str, strategy: str) -> None:
    limiter = Limiter(storage, strategy, prefix=secrets.token_hex(4))
    limiter.define("probe", "3/minute")
    who = "10.0.0.1"
    decisions = [limiter.hit("probe", who) for _ in range(4)]
    assert [d.allowed for d in decisions] == [True, True, True, False]
    assert [d.remaining for d in decisions[:3]] == [2, 1, 0]
    refused = decisions[-1].headers()
    assert refused["RateLimit-Policy"] == "3;w=60" and refused["RateLimit"].startswith("limit=3, remaining=0")
    assert 1 <= int(refused["Retry-After"]) <= 60
    assert "Retry-After" not in decisions[0].headers()
    assert limiter.hit("probe", "10.0.0.2").allowed  # per identity
    assert not limiter.allows("probe", who) and limiter.allows("probe", "10.0.0.3")
    limiter.close()


def test_cost_counts_several_at_once_and_items_vary_per_caller(storage: str) -> None:
    limiter = Limiter(storage, "moving-window", prefix=secrets.token_hex(4))
    item = limiter.per_window(10, 5)
    assert limiter.hit("key", "7", cost=8, item=item).remaining == 2
    assert not limiter.hit("key", "7", cost=3, item=item).allowed
    assert limiter.hit("key", "7", cost=2, item=item).allowed
    assert limiter.hit("key", "8", cost=10, item=limiter.per_window(20, 5)).remaining == 10


def test_two_limiters_on_redis_count_together_and_prefixes_keep_deployments_apart(redis_url: str) -> None:
    prefix = secrets.token_hex(4)
    a, b = Limiter(redis_url, prefix=prefix), Limiter(redis_url, prefix=prefix)  # two API processes
    other = Limiter(redis_url, prefix=secrets.token_hex(4))
    for limiter in (a, b, other):
        limiter.define("probe", "4/hour")
    assert a.hit("probe", "x", cost=3).allowed
    assert b.hit("probe", "x").remaining == 0 and not a.hit("probe", "x").allowed
    assert other.hit("probe", "x").remaining == 3
    assert a.shared and not Limiter("memory://").shared


def test_sliding_window_counter_is_the_default_and_cheap(storage: str) -> None:
    limiter = Limiter(storage, prefix=secrets.token_hex(4))
    limiter.define("big", "100000/second")
    assert all(limiter.hit("big", "k").allowed for _ in range(200))  # O(1) per hit whatever the amount


def test_settings_pick_the_storage_and_bad_limits_are_named() -> None:
    base = ServiceSettings(database_url="sqlite://", storage_dir=Path("/tmp"), redis_url=None)
    assert storage_url_for(base) == "memory://"
    assert storage_url_for(base.with_(redis_url="redis://h:6379/0")) == "redis://h:6379/0"
    assert storage_url_for(base.with_(redis_url="redis://h", rate_limit_storage="memory://")) == "memory://"
    limiter = Limiter()
    with pytest.raises(ReceiptError) as err:
        limiter.define("x", "lots")
    assert err.value.code == "RATE_LIMIT_INVALID" and "x" in err.value.message
    with pytest.raises(ReceiptError):
        limiter.hit("undefined", "who")
    with pytest.raises(ReceiptError):
        Limiter("memory://", "leaky-bucket")


def test_cached_statistics_save_a_round_trip_but_never_decide(storage: str) -> None:
    limiter = Limiter(storage, "moving-window", prefix=secrets.token_hex(4))
    item = limiter.per_window(5, 60)
    remaining = [limiter.hit("key", "k", item=item, stats_max_age_s=30).remaining for _ in range(5)]
    assert remaining == [4, 3, 2, 1, 0]  # first read from the storage, then counted down locally
    refused = limiter.hit("key", "k", item=item, stats_max_age_s=30)
    assert not refused.allowed and refused.remaining == 0 and "Retry-After" in refused.headers()


def test_cached_statistics_do_not_let_another_process_overspend(redis_url: str) -> None:
    prefix, item = secrets.token_hex(4), Limiter.per_window(5, 60)
    mine, other = Limiter(redis_url, "moving-window", prefix=prefix), Limiter(redis_url, "moving-window", prefix=prefix)
    assert [mine.hit("key", "k", item=item, stats_max_age_s=30).remaining for _ in range(2)] == [4, 3]
    assert other.hit("key", "k", cost=3, item=item).remaining == 0  # another API process spends the rest
    assert not mine.hit("key", "k", item=item, stats_max_age_s=30).allowed  # the storage decides, not the cache
