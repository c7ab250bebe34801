"""Audit trail: rows batched off the request path, flushed within a second and at close; masking."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from receipt.service.cards.apikeys import create_key
from receipt.service.cards.audit import AuditLog, mask, read_audit
from receipt.service.db import Database
from tests.card_fixtures import StatementLog
from tests.service_fixtures import Backend


@pytest.fixture(scope="module")
def db(backend: Backend) -> Iterator[Database]:
    database = Database(backend.database_url)
    yield database
    database.dispose()


def test_numbers_are_masked_to_their_last_four() -> None:
    assert mask("BA27Q2M5XZ4K9FX") == "***********K9FX"
    assert mask("K9FC") == "****" and mask("") == ""


def test_record_is_memory_only_and_the_batcher_writes_within_a_second(db: Database) -> None:
    record, _ = create_key(db, f"a{time.time_ns()}", ["shenzhen-ssc"])
    log = AuditLog(db, flush_s=0.2)
    with StatementLog() as sql:
        for i in range(50):
            log.record(key_id=record.id, action="lookup", number=f"BA2{i:012d}", result="ok", status=200,
                       client="127.0.0.1")
    assert sql.statements == [] and log.pending == 50  # nothing on the request's path
    log.start()
    deadline = time.monotonic() + 1.5
    while log.pending and time.monotonic() < deadline:
        time.sleep(0.05)
    assert log.pending == 0
    rows = read_audit(db, record.name)
    assert len(rows) == 50 and rows[0].number == "BA2000000000000" and rows[0].key_name == record.name
    log.record(key_id=record.id, action="photo", number="BA2X", result="ok", status=200, client="::1")
    log.close()  # shutdown writes the rest
    assert [r.action for r in read_audit(db, record.name)][-1] == "photo"


def test_since_and_anonymous_rows(db: Database) -> None:
    record, _ = create_key(db, f"s{time.time_ns()}", ["shenzhen-ssc"])
    log = AuditLog(db)
    past = datetime.now(UTC) - timedelta(days=3)
    log.record(key_id=record.id, action="lookup", number="OLD", result="ok", status=200, client="c", at=past)
    log.record(key_id=record.id, action="lookup", number="NEW", result="RECEIPT_NOT_FOUND", status=404, client="c")
    log.record(key_id=None, action="lookup", number="ANON", result="API_KEY_INVALID", status=401, client="c")
    assert log.flush() == 3
    assert [r.number for r in read_audit(db, record.name)] == ["OLD", "NEW"]
    assert [r.number for r in read_audit(db, record.name, since=past + timedelta(days=1))] == ["NEW"]
    assert any(r.number == "ANON" and r.key_name is None for r in read_audit(db))


def test_a_failed_write_is_kept_for_the_next_flush(db: Database, tmp_path: object) -> None:
    broken = Database(f"sqlite:///{tmp_path}/missing-dir/none.db", auto_migrate=False)
    log = AuditLog(broken)
    log.record(key_id=None, action="lookup", number="X", result="ok", status=200, client="c")
    assert log.flush() == 0 and log.pending == 1
    broken.dispose()
