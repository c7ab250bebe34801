"""Card-system lookup routes end to end (TestClient), on SQLite and PostgreSQL."""

from __future__ import annotations

import base64
import time
from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy import text

from receipt.issue.clock import china_date
from receipt.issue.numbers import check_character, new_receipt_number
from receipt.service.cards.apikeys import create_key, revoke_key
from receipt.service.cards.audit import read_audit
from receipt.service.runtime import Runtime
from receipt.specs import get_spec
from tests.card_fixtures import StatementLog, issue_rows, new_key, set_order_status

App = tuple[TestClient, Runtime]


def h(key: str) -> dict[str, str]:
    return {"X-API-Key": key}


def test_lookup_returns_the_receipt_in_china_time(card_app: App) -> None:
    client, rt = card_app
    issued = issue_rows(rt, "shenzhen-ssc")
    r = client.get(f"/api/v1/receipts/{issued.number}", headers=h(new_key(rt, "shenzhen-ssc")))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["number"] == issued.number and body["spec"] == "shenzhen-ssc" and body["status"] == "valid"
    assert body["city"] == "shenzhen" and body["document"] == "ssc"
    assert body["issued_at"].endswith("+08:00")
    assert datetime.fromisoformat(body["issued_at"]) == issued.issued_at
    assert body["expires_on"] == (china_date(issued.issued_at) + timedelta(days=180)).isoformat()
    assert body["photo"] == {"sha256": issued.photo_sha256, "width": 358, "height": 441, "dpi": 350,
                             "bytes": len(issued.photo)}
    assert body["accepted_for"] == ["guangdong-id", "guangdong-residence"] and body["uses"] == []
    assert "photo_base64" not in body
    assert r.headers["RateLimit-Policy"] == "5000;w=5"  # rate 1000/s over the 5 s window
    # typed as printed, with spaces and lower case
    spaced = f"{issued.number[:3]} {issued.number[3:7]} {issued.number[7:11]} {issued.number[11:]}".lower()
    assert client.get(f"/api/v1/receipts/{spaced}", headers=r.request.headers).status_code == 200
    with_photo = client.get(f"/api/v1/receipts/{issued.number}?photo=base64", headers=r.request.headers).json()
    assert base64.b64decode(with_photo["photo_base64"]) == issued.photo


def test_dongguan_key_cannot_see_a_shenzhen_receipt_and_cannot_tell_it_exists(card_app: App) -> None:
    client, rt = card_app
    issued = issue_rows(rt, "shenzhen-ssc")
    dongguan = h(new_key(rt, "dongguan-ssc"))
    hidden = client.get(f"/api/v1/receipts/{issued.number}", headers=dongguan)
    body = new_receipt_number("BA2")
    absent = client.get(f"/api/v1/receipts/{body}", headers=dongguan)
    assert hidden.status_code == absent.status_code == 404
    assert hidden.json() == absent.json() and hidden.json()["error"]["code"] == "RECEIPT_NOT_FOUND"
    assert set(hidden.headers) == set(absent.headers)
    assert client.get(f"/api/v1/receipts/{issued.number}/photo.jpg", headers=dongguan).status_code == 404


def test_guangdong_id_key_sees_a_shenzhen_receipt_that_lists_it(card_app: App) -> None:
    client, rt = card_app
    issued = issue_rows(rt, "shenzhen-ssc")
    assert "guangdong-id" in get_spec("shenzhen-ssc").accepted_for
    r = client.get(f"/api/v1/receipts/{issued.number}", headers=h(new_key(rt, "guangdong-id")))
    assert r.status_code == 200 and r.json()["spec"] == "shenzhen-ssc"
    # the reverse does not hold: a Guangdong ID receipt is not a Shenzhen SSC receipt
    gd = issue_rows(rt, "guangdong-id")
    assert client.get(f"/api/v1/receipts/{gd.number}", headers=h(new_key(rt, "shenzhen-ssc"))).status_code == 404


def test_photo_is_the_exact_bytes_with_its_sha256_as_etag(card_app: App) -> None:
    client, rt = card_app
    issued = issue_rows(rt)
    key = h(new_key(rt, "shenzhen-ssc"))
    r = client.get(f"/api/v1/receipts/{issued.number}/photo.jpg", headers=key)
    assert r.status_code == 200 and r.content == issued.photo
    assert r.headers["content-type"] == "image/jpeg" and r.headers["etag"] == f'"{issued.photo_sha256}"'
    again = client.get(f"/api/v1/receipts/{issued.number}/photo.jpg", headers={**key, "If-None-Match": r.headers["etag"]})
    assert again.status_code == 304 and not again.content


def test_expired_and_revoked_receipts_are_gone(card_app: App) -> None:
    client, rt = card_app
    key = h(new_key(rt, "shenzhen-ssc"))
    old = issue_rows(rt, issued_at=datetime.now(UTC) - timedelta(days=200))
    r = client.get(f"/api/v1/receipts/{old.number}", headers=key)
    assert r.status_code == 410 and r.json()["error"]["code"] == "RECEIPT_EXPIRED"
    assert r.json()["error"]["detail"] == {"expires_on": old.expires_on.isoformat()}
    assert "不能延期" in r.json()["error"]["message"] and "cannot be extended" in r.json()["error"]["message"]
    assert client.get(f"/api/v1/receipts/{old.number}/photo.jpg", headers=key).status_code == 410

    issued = issue_rows(rt)
    assert client.get(f"/api/v1/receipts/{issued.number}", headers=key).status_code == 200
    set_order_status(rt, issued.order_id, "revoked")  # what the reviewer screen's revocation does
    r = client.get(f"/api/v1/receipts/{issued.number}", headers=key)
    assert r.status_code == 410 and r.json()["error"]["code"] == "RECEIPT_REVOKED"
    assert client.get(f"/api/v1/receipts/{issued.number}/photo.jpg", headers=key).status_code == 410


def test_missing_unknown_revoked_and_expired_keys(card_app: App) -> None:
    client, rt = card_app
    issued = issue_rows(rt)
    url = f"/api/v1/receipts/{issued.number}"
    r = client.get(url)
    assert r.status_code == 401 and r.json()["error"]["code"] == "API_KEY_REQUIRED"
    assert client.get(url, headers=h("pr_live_" + "A" * 43)).json()["error"]["code"] == "API_KEY_INVALID"
    record, key = create_key(rt.db, f"sys-revoke-{time.time_ns()}", ["shenzhen-ssc"])
    assert client.get(url, headers=h(key)).status_code == 200
    revoke_key(rt.db, record.name)
    time.sleep(0.35)  # the app's key cache lives 0.3 s here (5 s by default)
    r = client.get(url, headers=h(key))
    assert r.status_code == 401 and r.json()["error"]["code"] == "API_KEY_INVALID"
    _, short = create_key(rt.db, f"sys-expiring-{time.time_ns()}", ["shenzhen-ssc"], expires_days=0.3 / 86400)
    time.sleep(0.35)
    assert client.get(url, headers=h(short)).json()["error"]["code"] == "API_KEY_INVALID"


def test_typo_is_400_with_the_reason_and_never_reads_the_receipts_table(card_app: App) -> None:
    client, rt = card_app
    issued = issue_rows(rt)
    key = h(new_key(rt, "shenzhen-ssc"))
    client.get(f"/api/v1/receipts/{issued.number}", headers=key)  # the key cache is warm
    typo = issued.number[:5] + ("X" if issued.number[5] != "X" else "Y") + issued.number[6:]
    with StatementLog() as sql:
        r = client.get(f"/api/v1/receipts/{typo}", headers=key)
        batch = client.post("/api/v1/receipts/lookup", headers=key, json={"numbers": [typo, "BA2"]})
        photo = client.get(f"/api/v1/receipts/{typo}/photo.jpg", headers=key)
    assert r.status_code == 400 and photo.status_code == 400
    error = r.json()["error"]
    assert error["code"] == "RECEIPT_NUMBER_INVALID" and error["detail"]["code"] == "NUMBER_CHECK"
    assert "0/O" in error["detail"]["message"] and "0和O" in error["detail"]["message"]
    assert [x["error"]["detail"]["code"] for x in batch.json()["results"]] == ["NUMBER_CHECK", "NUMBER_LENGTH"]
    assert sql.touching("receipts") == []
    with StatementLog() as sql:
        assert client.get(f"/api/v1/receipts/{issued.number}", headers=key).status_code == 200
    assert len(sql.touching("receipts")) == 1  # the assertion above can see a read: here is one
    prefix = client.get("/api/v1/receipts/QQ9" + issued.number[3:], headers=key).json()["error"]["detail"]
    assert prefix["code"] == "NUMBER_PREFIX"


def test_batch_answers_each_number_in_order(card_app: App) -> None:
    client, rt = card_app
    mine, expired = issue_rows(rt), issue_rows(rt, issued_at=datetime.now(UTC) - timedelta(days=200))
    other = issue_rows(rt, "dongguan-ssc")
    revoked = issue_rows(rt)
    set_order_status(rt, revoked.order_id, "revoked")
    absent = new_receipt_number("BA2")
    typo = mine.number[:-1] + ("0" if mine.number[-1] != "0" else "1")
    numbers = [mine.number, typo, absent, other.number, expired.number, revoked.number, mine.number.lower()]
    r = client.post("/api/v1/receipts/lookup", headers=h(new_key(rt, "shenzhen-ssc")), json={"numbers": numbers})
    assert r.status_code == 200, r.text
    results = r.json()["results"]
    assert [x["number"] for x in results] == [n.upper() for n in numbers]
    assert results[0]["status"] == "valid" and results[6] == results[0]
    codes = [x.get("error", {}).get("code") for x in results]
    assert codes == [None, "RECEIPT_NUMBER_INVALID", "RECEIPT_NOT_FOUND", "RECEIPT_NOT_FOUND", "RECEIPT_EXPIRED",
                     "RECEIPT_REVOKED", None]
    assert results[2]["error"] == results[3]["error"]  # out of scope looks exactly like absent
    assert r.headers["RateLimit"].startswith("limit=5000, remaining=499")  # 7 numbers counted, not 1 request
    too_many = client.post("/api/v1/receipts/lookup", headers=h(new_key(rt, "shenzhen-ssc")),
                           json={"numbers": [absent] * 101})
    assert too_many.status_code == 422


def test_use_is_recorded_once_per_idempotency_key(card_app: App) -> None:
    client, rt = card_app
    issued = issue_rows(rt)
    key = h(new_key(rt, "shenzhen-ssc", "guangdong-id"))
    url = f"/api/v1/receipts/{issued.number}/use"
    first = client.post(url, headers={**key, "Idempotency-Key": "apply-42"}, json={"purpose": "社会保障卡申领"})
    assert first.status_code == 201, first.text
    again = client.post(url, headers={**key, "Idempotency-Key": "apply-42"}, json={"purpose": "社会保障卡申领"})
    assert again.status_code == 200 and again.headers["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    other = client.post(url, headers={**key, "Idempotency-Key": "apply-42"}, json={"purpose": "身份证"})
    assert other.status_code == 409 and other.json()["error"]["code"] == "IDEMPOTENCY_KEY_REUSED"
    missing = client.post(url, headers=key, json={"purpose": "x"})
    assert missing.status_code == 400 and missing.json()["error"]["code"] == "IDEMPOTENCY_KEY_REQUIRED"
    uses = client.get(f"/api/v1/receipts/{issued.number}", headers=key).json()["uses"]
    assert len(uses) == 1 and uses[0]["purpose"] == "社会保障卡申领" and uses[0]["used_at"] == first.json()["used_at"]
    second = client.post(url, headers={**key, "Idempotency-Key": "apply-43"}, json={"purpose": "居住证"})
    assert second.status_code == 201
    assert [u["purpose"] for u in client.get(f"/api/v1/receipts/{issued.number}", headers=key).json()["uses"]] == [
        "社会保障卡申领", "居住证"]
    hidden = client.post(url, headers={**h(new_key(rt, "dongguan-ssc")), "Idempotency-Key": "x"}, json={"purpose": "x"})
    assert hidden.status_code == 404


def test_every_lookup_fetch_and_use_is_audited(card_app: App) -> None:
    client, rt = card_app
    issued = issue_rows(rt)
    record, key = create_key(rt.db, f"sys-audit-{time.time_ns()}", ["shenzhen-ssc"])
    client.get(f"/api/v1/receipts/{issued.number}", headers=h(key))
    client.get(f"/api/v1/receipts/{issued.number}/photo.jpg", headers=h(key))
    client.get(f"/api/v1/receipts/{issued.number[:-1]}", headers=h(key))
    client.post(f"/api/v1/receipts/{issued.number}/use", headers={**h(key), "Idempotency-Key": "a"}, json={"purpose": "p"})
    client.post("/api/v1/receipts/lookup", headers=h(key), json={"numbers": [issued.number, new_receipt_number("BA2")]})
    client.app.state.cards.audit.flush()  # type: ignore[attr-defined]  (the batcher would within 1 s)
    rows = read_audit(rt.db, record.name)
    assert [(r.action, r.result, r.status) for r in rows] == [
        ("lookup", "ok", 200), ("photo", "ok", 200), ("lookup", "RECEIPT_NUMBER_INVALID", 400), ("use", "ok", 201),
        ("batch", "ok", 200), ("batch", "RECEIPT_NOT_FOUND", 404)]
    assert rows[0].number == issued.number and rows[0].client == "testclient"
    assert all(r.key_name == record.name for r in rows)
    with rt.db.engine.connect() as conn:  # append-only, whatever the client
        for statement in ("UPDATE lookup_audit SET result = 'x'", "DELETE FROM lookup_audit"):
            try:
                conn.execute(text(statement))
                conn.commit()
                raise AssertionError(f"{statement} was allowed")
            except Exception as exc:
                conn.rollback()
                assert "append-only" in str(exc)


def test_rate_limits_per_key_and_per_address(backend: object) -> None:
    from receipt.web.app import create_app

    # moving window: exact counts (the default sliding-window counter is an O(1) approximation)
    settings = backend.settings(rate_strategy="moving-window", rate_key_window_s=1,  # type: ignore[attr-defined]
                                rate_client_failures="3/minute")
    with TestClient(create_app(settings, background=False, plugins=False)) as client:
        rt = client.app.state.rt  # type: ignore[attr-defined]
        issued = issue_rows(rt)
        slow = h(new_key(rt, "shenzhen-ssc", rate=2))
        codes = [client.get(f"/api/v1/receipts/{issued.number}", headers=slow).status_code for _ in range(3)]
        assert codes == [200, 200, 429]
        limited = client.get(f"/api/v1/receipts/{issued.number}", headers=slow)
        assert limited.json()["error"]["code"] == "RATE_LIMITED" and int(limited.headers["Retry-After"]) >= 1
        fast = h(new_key(rt, "shenzhen-ssc"))
        absent = new_receipt_number("BA2")
        assert [client.get(f"/api/v1/receipts/{absent}", headers=fast).status_code for _ in range(3)] == [404] * 3
        # the address spent its failure budget: even a good lookup with a good key waits now
        r = client.get(f"/api/v1/receipts/{issued.number}", headers=fast)
        assert r.status_code == 429 and "Retry-After" in r.headers
        body = "BA2" + "23456789ABC"
        assert client.get(f"/api/v1/receipts/{body}{check_character(body)}").status_code == 429  # no key either
