"""Retention on SQLite and PostgreSQL: personal fields, uploads and issued files erased on time,
shared blobs kept until the last order lets go; ID numbers encrypted, masked and re-keyed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, text, update

from receipt.service.blobs_db import DatabaseBlobStore, blobs_table
from receipt.service.db import Attempt, Event, Order, Receipt, utcnow
from receipt.service.pii import KeyRing, OrderPII, id_number_of, mask_id_number, rotate
from receipt.service.retention import purge, still_held
from receipt.web.app import create_app
from tests.conftest import ROOT
from tests.service_fixtures import TEST_SPEC, Backend, unique_compliant_photo, wait_for

ID_NUMBER = "11010519491231002X"  # the example number of GB 11643
FINAL = {"issued", "rejected", "in_review", "error"}


@pytest.fixture
def client(backend: Backend) -> Iterator[TestClient]:
    with TestClient(create_app(backend.settings(), background=False, plugins=False)) as c:
        yield c


def _upload(client: TestClient, photo: bytes, **fields: str) -> tuple[str, dict[str, str]]:
    r = client.post("/api/v1/orders", files={"photo": ("p.jpg", photo, "image/jpeg")},
                    data={"spec": TEST_SPEC, "applicant_name": "李四", **fields})
    assert r.status_code == 202, r.text
    auth = {"Authorization": f"Bearer {r.json()['token']}"}
    order_id = r.json()["order_id"]
    wait_for(lambda: client.get(f"/api/v1/orders/{order_id}", headers=auth).json()["status"] in FINAL, 60,
             what="the verdict")
    return order_id, auth


def _age(client: TestClient, order_id: str, days: float) -> None:
    """Make an order look as if it ended `days` ago, and its blobs as if stored back then."""
    rt = client.app.state.rt  # type: ignore[attr-defined]
    with rt.db.session() as session:
        session.execute(update(Order).where(Order.id == order_id).values(updated_at=utcnow() - timedelta(days=days)))
    old = (utcnow() - timedelta(days=days)).timestamp()
    if isinstance(rt.blobs, DatabaseBlobStore):  # PostgreSQL runs keep the blobs in the database
        with rt.blobs.engine.begin() as conn:
            conn.execute(blobs_table.update().values(created_at=utcnow() - timedelta(days=days)))
        return
    for path in rt.blobs.root.rglob("*"):
        if path.is_file():
            os.utime(path, (old, old))


def test_personal_fields_and_uploads_are_erased_shared_blobs_last(client: TestClient) -> None:
    rt = client.app.state.rt  # type: ignore[attr-defined]
    photo = unique_compliant_photo()
    a, auth_a = _upload(client, photo, id_number=ID_NUMBER, phone="13800138000")
    b, _ = _upload(client, photo)  # the same photo: one upload blob, two orders
    with rt.db.session() as session:
        upload_sha = session.scalar(select(Attempt.upload_sha256).where(Attempt.order_id == a))
    _age(client, a, 40)
    dry = purge(rt, dry_run=True)
    assert a in dry.uploads and a in dry.personal and b not in dry.uploads
    with rt.db.session() as session:
        assert session.get(Order, a).applicant_name == "李四"  # the dry run changed nothing
    report = purge(rt)
    assert a in report.uploads and a in report.personal
    assert rt.blobs.exists(upload_sha), "order b still holds the shared upload"
    with rt.db.session() as session:
        order = session.get(Order, a)
        assert (order.applicant_name, order.phone, order.id_number, order.birth_date) == ("", None, None, None)
        assert session.get(OrderPII, a) is None
        assert session.get(Order, b).applicant_name == "李四"
        assert still_held(session, upload_sha)
    # the issued spec photo is kept until the receipt expires (its own kind), the upload is not
    assert client.get(f"/api/v1/orders/{a}/photo.jpg", headers=auth_a).status_code == 200
    _age(client, b, 40)
    purge(rt)
    assert not rt.blobs.exists(upload_sha), "the last order let go: the blob is gone"
    assert purge(rt).uploads == []  # nothing is erased twice


def test_issued_files_are_kept_until_the_receipt_expires(client: TestClient) -> None:
    rt = client.app.state.rt  # type: ignore[attr-defined]
    order_id, auth = _upload(client, unique_compliant_photo())
    with rt.db.session() as session:
        receipt = session.scalar(select(Receipt).where(Receipt.order_id == order_id))
        assert receipt is not None and receipt.expires_on is not None
        expires, pdf_sha = receipt.expires_on, receipt.pdf_sha256
    _age(client, order_id, 400)  # long after the order ended, but before the receipt expires
    purge(rt, now=utcnow())
    assert rt.blobs.exists(pdf_sha) and client.get(f"/api/v1/orders/{order_id}/receipt.pdf", headers=auth).is_success
    after_expiry = utcnow().replace(year=expires.year, month=expires.month, day=expires.day) + timedelta(days=1)
    assert order_id in purge(rt, now=after_expiry).issued
    assert not rt.blobs.exists(pdf_sha)
    r = client.get(f"/api/v1/orders/{order_id}/receipt.pdf", headers=auth)
    assert r.status_code == 410 and r.json()["error"]["code"] == "FILE_ERASED"


def test_receipts_without_expiry_are_kept_for_the_configured_maximum(client: TestClient) -> None:
    rt = client.app.state.rt  # type: ignore[attr-defined]
    order_id, _ = _upload(client, unique_compliant_photo())
    with rt.db.session() as session:
        session.execute(update(Receipt).where(Receipt.order_id == order_id).values(expires_on=None))
        pdf_sha = session.scalar(select(Receipt.pdf_sha256).where(Receipt.order_id == order_id))
    _age(client, order_id, 1)
    limit = rt.settings.retention_issued_max_days
    assert order_id not in purge(rt, now=utcnow() + timedelta(days=limit - 2)).issued
    assert order_id in purge(rt, now=utcnow() + timedelta(days=limit + 1)).issued
    assert not rt.blobs.exists(pdf_sha)


def test_id_numbers_are_encrypted_masked_and_rotated(client: TestClient) -> None:
    rt = client.app.state.rt  # type: ignore[attr-defined]
    order_id, auth = _upload(client, unique_compliant_photo(), id_number=ID_NUMBER)
    with rt.db.session() as session:
        assert session.get(Order, order_id).id_number is None  # never in the orders table
        row = session.get(OrderPII, order_id)
        assert row.id_number_enc.startswith(f"v1:{row.key_id}:") and ID_NUMBER not in row.id_number_enc
        assert row.id_number_mask == "1101**********002X" == mask_id_number(ID_NUMBER)
        assert id_number_of(session, order_id) == ID_NUMBER
        dumped = " ".join(str(v) for table in ("orders", "order_pii", "events", "attempts", "analyses")
                          for r in session.execute(text(f"SELECT * FROM {table}")) for v in r)
    assert ID_NUMBER not in dumped and "13800138000" not in dumped
    assert ID_NUMBER not in json.dumps(client.get(f"/api/v1/orders/{order_id}", headers=auth).json())
    from receipt.service.pii import key_ring

    old = key_ring()
    new = KeyRing("k2", {**old.keys, "k2": os.urandom(32)})
    with rt.db.session() as session:
        assert rotate(session, new) >= 1
        row = session.get(OrderPII, order_id)
        assert row.key_id == "k2" and new.decrypt(row.id_number_enc) == ID_NUMBER
        assert rotate(session, new) == 0
    with pytest.raises(Exception):  # noqa: B017 - the old ring alone cannot open the new ciphertext
        old.decrypt(row.id_number_enc)

    legacy, _ = _upload(client, unique_compliant_photo())  # as a row from before order_pii would be
    with rt.db.session() as session:
        session.execute(update(Order).where(Order.id == legacy).values(id_number=ID_NUMBER))
    with rt.db.session() as session:
        assert rotate(session, new) == 1
        assert session.get(Order, legacy).id_number is None
        assert id_number_of(session, legacy, new) == ID_NUMBER
        # back under the development key, as the other tests (and the commands) of this database expect
        assert rotate(session, KeyRing(old.current, new.keys)) >= 2


def test_events_hold_no_personal_data(client: TestClient) -> None:
    rt = client.app.state.rt  # type: ignore[attr-defined]
    order_id, _ = _upload(client, unique_compliant_photo(), id_number=ID_NUMBER, phone="13800138000",
                          applicant_name="王小明")
    with rt.db.session() as session:
        events = session.scalars(select(Event).where(Event.order_id == order_id)).all()
    text_of_events = json.dumps([e.data for e in events], ensure_ascii=False)
    assert events and not any(s in text_of_events for s in ("王小明", ID_NUMBER, "13800138000", "1101"))


def test_purge_and_rotate_commands(client: TestClient, backend: Backend) -> None:
    rt = client.app.state.rt  # type: ignore[attr-defined]
    order_id, _ = _upload(client, unique_compliant_photo(), id_number=ID_NUMBER)
    env = backend.env(PHOTO_RECEIPT_HOME=os.environ["PHOTO_RECEIPT_HOME"])  # the dev key ring the API used
    out = subprocess.run([sys.executable, "-m", "receipt.cli", "purge", "--dry-run"], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=120, check=True).stdout
    report = json.loads(out.strip().splitlines()[-1])
    assert report["dry_run"] is True and report["retention_days"]["uploads"] == 30
    with rt.db.session() as session:
        before = session.get(OrderPII, order_id).key_id
    out = subprocess.run([sys.executable, "-m", "receipt.cli", "keys", "rotate-pii"], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=120, check=True).stdout
    assert "re-encrypted" in out and not out.startswith("re-encrypted 0 ")
    from receipt.service.pii import key_ring

    with rt.db.session() as session:
        row = session.get(OrderPII, order_id)
        assert row.key_id != before and row.key_id == key_ring().current
        assert id_number_of(session, order_id) == ID_NUMBER
