"""API keys: format, stored as SHA-256 only, scopes checked, the cache and its TTL (revocation)."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from sqlalchemy import select

from receipt.errors import ReceiptError
from receipt.service.cards.apikeys import KEY_PREFIX, KeyCache, create_key, hash_key, list_keys, revoke_key
from receipt.service.cards.models import ApiKey
from receipt.service.db import Database
from tests.card_fixtures import StatementLog
from tests.service_fixtures import Backend


@pytest.fixture(scope="module")
def db(backend: Backend) -> Iterator[Database]:
    database = Database(backend.database_url)
    yield database
    database.dispose()


def test_a_key_is_high_entropy_recognisable_and_only_its_hash_is_stored(db: Database) -> None:
    record, key = create_key(db, f"k{time.time_ns()}", ["shenzhen-ssc", "guangdong-id"], 30, 10)
    assert key.startswith(KEY_PREFIX) and len(key) == len(KEY_PREFIX) + 43  # 32 random bytes, base64url
    assert record.scopes == {"shenzhen-ssc", "guangdong-id"} and record.rate_per_s == 30
    assert record.expires_at is not None and 9.9 < (record.expires_at - record.created_at).total_seconds() / 86400 < 10.1
    with db.session() as session:
        row = session.scalar(select(ApiKey).where(ApiKey.name == record.name))
        assert row is not None and row.key_hash == hash_key(key) and key not in repr(vars(row))
        assert row.key_hint == key[:12]
    _, other = create_key(db, f"k{time.time_ns()}", ["shenzhen-ssc"])
    assert other != key


@pytest.mark.parametrize("name,specs,rate,code", [
    ("ok-name", ["nowhere-ssc"], 10, "SPEC_UNKNOWN"),
    ("ok-name", [], 10, "SCOPE_REQUIRED"),
    ("bad name!", ["shenzhen-ssc"], 10, "KEY_NAME_INVALID"),
    ("ok-name", ["shenzhen-ssc"], 0, "KEY_RATE_INVALID"),
])
def test_bad_key_requests_are_refused(db: Database, name: str, specs: list[str], rate: int, code: str) -> None:
    with pytest.raises(ReceiptError) as err:
        create_key(db, name, specs, rate)
    assert err.value.code == code


def test_names_are_unique_and_revocation_keeps_the_row(db: Database) -> None:
    name = f"dup{time.time_ns()}"
    create_key(db, name, ["shenzhen-ssc"])
    with pytest.raises(ReceiptError) as err:
        create_key(db, name, ["shenzhen-ssc"])
    assert err.value.code == "KEY_NAME_TAKEN"
    assert revoke_key(db, name).revoked_at is not None
    listed = {r.name: r for r in list_keys(db)}
    assert listed[name].revoked_at is not None and not listed[name].usable()
    with pytest.raises(ReceiptError) as err:
        revoke_key(db, "no-such-key")
    assert err.value.code == "KEY_NOT_FOUND"


def test_cache_serves_keys_without_the_database_and_drops_revoked_ones_within_the_ttl(db: Database) -> None:
    record, key = create_key(db, f"c{time.time_ns()}", ["shenzhen-ssc"])
    cache = KeyCache(db, ttl_s=0.5)
    assert cache.authenticate(key).id == record.id
    with StatementLog() as sql:
        for _ in range(20):
            cache.authenticate(key)
    assert sql.statements == []  # a cached key costs a hash and a dict look-up
    revoke_key(db, record.name)
    deadline = time.monotonic() + 0.5 + 0.3
    while time.monotonic() < deadline:
        try:
            cache.authenticate(key)
        except ReceiptError as exc:
            assert exc.code == "API_KEY_INVALID" and exc.status == 401
            break
        time.sleep(0.02)
    else:
        raise AssertionError("a revoked key still worked after the cache TTL")


def test_unknown_and_malformed_keys(db: Database) -> None:
    cache = KeyCache(db, ttl_s=60)
    for presented, code in ((None, "API_KEY_REQUIRED"), ("  ", "API_KEY_REQUIRED"), ("hello", "API_KEY_INVALID"),
                            (KEY_PREFIX + "x" * 43, "API_KEY_INVALID")):
        with pytest.raises(ReceiptError) as err:
            cache.authenticate(presented)
        assert err.value.code == code and err.value.status == 401
    _, key = create_key(db, f"u{time.time_ns()}", ["shenzhen-ssc"])
    with StatementLog() as sql, pytest.raises(ReceiptError):
        cache.authenticate(key, may_read=lambda: False)  # the caller's budget is spent: no read at all
    assert sql.statements == []
    assert cache.authenticate(key).name.startswith("u")  # a new key works at once (one indexed read)
    _, expiring = create_key(db, f"e{time.time_ns()}", ["shenzhen-ssc"], expires_days=0.2 / 86400)
    time.sleep(0.25)
    with pytest.raises(ReceiptError) as err:
        cache.authenticate(expiring)
    assert err.value.code == "API_KEY_INVALID"
