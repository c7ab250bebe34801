"""Storage invariants on SQLite and PostgreSQL: migrations, append-only events, exactly-once finishing, blobs."""

from __future__ import annotations

import hashlib
import os
import secrets
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, text, update
from sqlalchemy.exc import DBAPIError, IntegrityError

from receipt.errors import ReceiptError
from receipt.service import orders
from receipt.service.applicants import parse_id_number, validate_applicant
from receipt.service.blobs import DirectoryBlobStore
from receipt.service.db import Attempt, Event, Receipt, current_revision, head_revision, migrate, utcnow
from receipt.service.runtime import Runtime
from tests.service_fixtures import TEST_SPEC, Backend

SPEC = TEST_SPEC


@pytest.fixture
def rt(backend: Backend) -> Runtime:
    runtime = Runtime.create(backend.settings())
    yield runtime
    runtime.close()


def _new_attempt(rt: Runtime) -> tuple[orders.NewOrder, int]:
    new = orders.create_order(rt, spec_id=SPEC, applicant=validate_applicant("赵六"), photo=b"\xff\xd8" + secrets.token_bytes(64))
    attempt_id = orders.latest_attempt_id(rt, new.order_id)
    assert attempt_id is not None
    return new, attempt_id


def _issued(rt: Runtime, number: str) -> orders.IssuedRecord:
    sha = rt.blobs.put(b"pdf " + number.encode())
    return orders.IssuedRecord(number, SPEC, utcnow().replace(microsecond=0), None, "payload", sha, sha)


def test_migrate_is_idempotent(rt: Runtime) -> None:
    assert migrate(rt.db.engine) == head_revision()
    assert migrate(rt.db.engine) == head_revision()
    with rt.db.engine.connect() as conn:
        assert current_revision(conn) == head_revision()


def test_events_are_append_only(rt: Runtime) -> None:
    new, _ = _new_attempt(rt)
    with pytest.raises(DBAPIError, match="append-only"), rt.db.session() as session:
        session.execute(update(Event).where(Event.order_id == new.order_id).values(status="issued"))
    with pytest.raises(DBAPIError, match="append-only"), rt.db.session() as session:
        session.execute(text("DELETE FROM events WHERE order_id = :o"), {"o": new.order_id})


def test_a_worker_that_lost_its_lease_cannot_finish(rt: Runtime) -> None:
    """Worker A stalls past its lease, B takes over and finishes; A's late result is discarded."""
    _, attempt_id = _new_attempt(rt)
    claim_a = orders.claim_attempt(rt, attempt_id, "host:1")
    assert claim_a is not None
    assert orders.claim_attempt(rt, attempt_id, "host:2") is None  # leased: nobody else may take it
    with rt.db.session() as session:
        session.execute(update(Attempt).where(Attempt.id == attempt_id)
                        .values(lease_expires_at=utcnow() - timedelta(seconds=1)))
    assert orders.expire_leases(rt) == [attempt_id]
    claim_b = orders.claim_attempt(rt, attempt_id, "host:2")
    assert claim_b is not None and claim_b.tries == 2
    outcome = orders.Outcome("pass", [], {}, photo_sha256="0" * 64)
    assert orders.finish_attempt(rt, claim_b, outcome, _issued(rt, "BA2TESTNUMBER1X"))
    assert not orders.finish_attempt(rt, claim_a, outcome, _issued(rt, "BA2TESTNUMBER2X"))
    assert orders.fail_attempt(rt, claim_a, "late failure") == "lost"
    with rt.db.session() as session:
        assert session.scalar(select(func.count()).select_from(Receipt).where(Receipt.attempt_id == attempt_id)) == 1


def test_one_receipt_per_order_and_unique_numbers(rt: Runtime) -> None:
    new, attempt_id = _new_attempt(rt)
    issued = _issued(rt, "BA2UNIQUE000001")
    claim = orders.claim_attempt(rt, attempt_id, "w")
    assert claim is not None
    assert orders.finish_attempt(rt, claim, orders.Outcome("pass", [], {}), issued)
    with pytest.raises(IntegrityError), rt.db.session() as session:
        session.add(Receipt(order_id=new.order_id, attempt_id=attempt_id, number="BA2UNIQUE000002", spec_id=SPEC,
                            issued_at=utcnow(), qr_payload="x", photo_sha256="0" * 64, pdf_sha256="0" * 64,
                            approved_by="machine"))
    other, other_attempt = _new_attempt(rt)
    with pytest.raises(IntegrityError), rt.db.session() as session:  # same number on another order
        session.add(Receipt(order_id=other.order_id, attempt_id=other_attempt, number="BA2UNIQUE000001", spec_id=SPEC,
                            issued_at=utcnow(), qr_payload="x", photo_sha256="0" * 64, pdf_sha256="0" * 64,
                            approved_by="machine"))


def test_dead_worker_attempts_end_in_error_after_max_tries(rt: Runtime) -> None:
    new, attempt_id = _new_attempt(rt)
    for _ in range(rt.settings.max_tries):
        assert orders.claim_attempt(rt, attempt_id, "crashy") is not None
        with rt.db.session() as session:
            session.execute(update(Attempt).where(Attempt.id == attempt_id)
                            .values(lease_expires_at=utcnow() - timedelta(seconds=1)))
        orders.expire_leases(rt)
    with rt.db.session() as session:
        attempt = session.get(Attempt, attempt_id)
        assert attempt is not None and attempt.status == "error" and "lease expired" in (attempt.last_error or "")
    view = orders.order_view(rt, new.order_id, new.token)
    assert view["status"] == "error"
    assert orders.retry_order(rt, new.order_id) > attempt_id  # an operator can give it another go
    assert orders.order_view(rt, new.order_id, new.token)["status"] == "received"


def test_blob_store_is_content_addressed_and_never_overwrites(tmp_path: Path) -> None:
    store = DirectoryBlobStore(tmp_path / "blobs")
    sha = store.put(b"hello")
    assert sha == hashlib.sha256(b"hello").hexdigest() and store.get(sha) == b"hello"
    path = store.path(sha)
    inode = os.stat(path).st_ino
    assert store.put(b"hello") == sha and os.stat(path).st_ino == inode  # same file, not rewritten
    assert not [p for p in (tmp_path / "blobs").iterdir() if p.name.startswith(".incoming-")]
    with pytest.raises(ReceiptError) as missing:
        store.get("f" * 64)
    assert missing.value.code == "BLOB_MISSING"
    with pytest.raises(ValueError):
        store.path("../../etc/passwd")


@pytest.mark.parametrize(("number", "ok"), [
    ("11010519491231002X", True), ("440524188001010014", True), ("11010519491231002x", True),
    ("110105194912310021", False), ("11010519491331002X", False), ("1101051949123100", False),
    ("01010519491231002X", False),
])
def test_id_number_check_digit(number: str, ok: bool) -> None:
    if ok:
        assert parse_id_number(number)[0] == number.upper()
    else:
        with pytest.raises(ReceiptError) as err:
            parse_id_number(number)
        assert err.value.code == "ID_NUMBER_INVALID"
