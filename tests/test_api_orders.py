"""Applicant API end to end with in-process jobs (no Redis), on SQLite and PostgreSQL."""

from __future__ import annotations

import io
import socket
import time
from collections.abc import Iterator
from typing import Any

import httpx
import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy import func, select

from receipt.specs import get_spec
from receipt.web.app import create_app
from tests.conftest import SAMPLES
from tests.images import big_sixteen_bit_png
from tests.service_fixtures import (
    TEST_SPEC,
    Backend,
    LiveServer,
    compliant_photo,
    two_face_photo,
    unique_compliant_photo,
    wait_for,
)

SPEC = TEST_SPEC
FINAL = {"issued", "rejected", "in_review", "error"}


@pytest.fixture
def client(backend: Backend) -> Iterator[TestClient]:
    with TestClient(create_app(backend.settings())) as c:
        yield c


def upload(client: TestClient, photo: bytes, *, headers: dict[str, str] | None = None, **fields: str) -> httpx.Response:
    data = {"spec": SPEC, "applicant_name": "张三", **fields}
    return client.post("/api/v1/orders", files={"photo": ("photo.jpg", photo, "image/jpeg")}, data=data,
                       headers=headers or {})


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def wait_final(client: TestClient, order_id: str, token: str, timeout: float = 60) -> dict[str, Any]:
    def done() -> dict[str, Any] | None:
        view = client.get(f"/api/v1/orders/{order_id}", headers=bearer(token)).json()
        return view if view["status"] in FINAL else None
    return wait_for(done, timeout, 0.1, what=f"order {order_id} to settle")  # type: ignore[no-any-return]


def error_code(response: httpx.Response) -> str:
    return response.json()["error"]["code"]  # type: ignore[no-any-return]


def test_upload_to_issued(client: TestClient) -> None:
    r = upload(client, compliant_photo(), phone="138 0013 8000")
    assert r.status_code == 202, r.text
    body = r.json()
    assert body["status"] == "received" and len(body["token"]) >= 40
    view = wait_final(client, body["order_id"], body["token"])
    assert view["status"] == "issued", view
    assert view["receipt"]["number"].startswith(get_spec(SPEC).number_prefix) and view["receipt"]["expires_on"]
    assert [a["verdict"] for a in view["attempts"]] == ["pass"]
    headers = bearer(body["token"])
    pdf = client.get(f"/api/v1/orders/{body['order_id']}/receipt.pdf", headers=headers)
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    assert view["receipt"]["number"] in pdf.headers["content-disposition"]
    photo = client.get(f"/api/v1/orders/{body['order_id']}/photo.jpg", headers=headers)
    assert photo.status_code == 200 and Image.open(io.BytesIO(photo.content)).size == (
        get_spec(SPEC).photo.width_px, get_spec(SPEC).photo.height_px)
    from receipt.issue.numbers import validate

    assert validate(view["receipt"]["number"]).ok
    events = client.get(f"/api/v1/orders/{body['order_id']}/events", headers=headers).json()
    assert [e["status"] for e in events["events"] if e["type"] == "order.status"] == ["received", "processing", "issued"]


def test_reject_then_free_resubmission_is_issued_on_the_same_order(client: TestClient) -> None:
    body = upload(client, two_face_photo()).json()
    order_id, headers = body["order_id"], bearer(body["token"])
    view = wait_final(client, order_id, body["token"])
    assert view["status"] == "rejected" and view["can_resubmit"]
    reasons = view["attempts"][0]["reasons"]
    assert "FACE_COUNT" in [r["code"] for r in reasons]
    assert all(r["message_zh"] and r["message_en"] for r in reasons)
    annotated = client.get(f"/api/v1/orders/{order_id}/annotated.jpg", headers=headers)
    assert annotated.status_code == 200 and annotated.content[:2] == b"\xff\xd8"
    assert error_code(client.get(f"/api/v1/orders/{order_id}/receipt.pdf", headers=headers)) == "RECEIPT_NOT_ISSUED"

    retry_key = {**headers, "Idempotency-Key": f"resubmit-{time.time_ns()}"}
    again = client.post(f"/api/v1/orders/{order_id}/attempts", headers=retry_key,
                        files={"photo": ("new.jpg", compliant_photo(), "image/jpeg")})
    assert again.status_code == 202, again.text
    assert again.json()["attempt"] == 2
    replay = client.post(f"/api/v1/orders/{order_id}/attempts", headers=retry_key,
                         files={"photo": ("new.jpg", compliant_photo(), "image/jpeg")})
    assert replay.status_code == 202 and replay.json()["attempt"] == 2  # a retried resubmission, not a third
    view = wait_final(client, order_id, body["token"])
    assert view["status"] == "issued" and view["order_id"] == order_id
    assert [a["verdict"] for a in view["attempts"]] == ["reject", "pass"]
    # an issued order cannot be resubmitted
    late = client.post(f"/api/v1/orders/{order_id}/attempts", headers=headers,
                       files={"photo": ("x.jpg", compliant_photo(), "image/jpeg")})
    assert late.status_code == 409 and error_code(late) == "RESUBMIT_NOT_ALLOWED"


def test_token_of_one_order_cannot_read_another(client: TestClient) -> None:
    a = upload(client, compliant_photo()).json()
    b = upload(client, compliant_photo()).json()
    wait_final(client, b["order_id"], b["token"])
    for path in ("", "/receipt.pdf", "/photo.jpg", "/annotated.jpg", "/events"):
        r = client.get(f"/api/v1/orders/{b['order_id']}{path}", headers=bearer(a["token"]))
        assert r.status_code == 404 and error_code(r) == "ORDER_NOT_FOUND", path
        assert client.get(f"/api/v1/orders/{b['order_id']}{path}").status_code == 401
    r = client.post(f"/api/v1/orders/{b['order_id']}/attempts", headers=bearer(a["token"]),
                    files={"photo": ("x.jpg", compliant_photo(), "image/jpeg")})
    assert r.status_code == 404
    assert client.get("/api/v1/orders/not-an-order", headers=bearer(a["token"])).status_code == 404


def test_idempotency_key_returns_the_same_order(client: TestClient, backend: Backend) -> None:
    photo = unique_compliant_photo()
    key = {"Idempotency-Key": "retry-test-" + backend.name + str(time.time_ns())}
    first = upload(client, photo, headers=key)
    second = upload(client, photo, headers=key)
    assert first.status_code == second.status_code == 202
    assert second.json()["order_id"] == first.json()["order_id"]
    assert second.json()["token"] == first.json()["token"]
    assert second.headers.get("idempotent-replayed") == "true"
    rt = client.app.state.rt  # type: ignore[attr-defined]
    from receipt.service.db import Attempt, Order

    with rt.db.session() as session:
        assert session.scalar(select(func.count()).select_from(Attempt)
                              .where(Attempt.order_id == first.json()["order_id"])) == 1
        stored = session.get(Order, first.json()["order_id"])
        assert stored is not None and first.json()["token"] not in (stored.token_hash, stored.token_sealed)
    other = upload(client, compliant_photo(), headers=key)
    assert other.status_code == 409 and error_code(other) == "IDEMPOTENCY_KEY_REUSED"


def test_concurrent_retries_with_one_key_make_one_order(backend: Backend) -> None:
    from concurrent.futures import ThreadPoolExecutor

    photo = unique_compliant_photo()
    key = {"Idempotency-Key": f"concurrent-{time.time_ns()}"}
    with LiveServer(create_app(backend.settings())) as server:
        def post(_: int) -> httpx.Response:
            return httpx.post(f"{server.url}/api/v1/orders", files={"photo": ("p.jpg", photo, "image/jpeg")},
                              data={"spec": SPEC, "applicant_name": "张三"}, headers=key, timeout=30)
        with ThreadPoolExecutor(4) as pool:
            replies = list(pool.map(post, range(4)))
    assert all(r.status_code == 202 for r in replies), [r.text for r in replies]
    assert len({r.json()["order_id"] for r in replies}) == 1
    assert len({r.json()["token"] for r in replies}) == 1


def test_oversized_upload_is_refused(backend: Backend) -> None:
    with TestClient(create_app(backend.settings(upload_max_bytes=200_000))) as small:
        big = (SAMPLES / "astronaut.png").read_bytes()  # about 0.8 MB
        assert len(big) > 200_000
        r = upload(small, big)
        assert r.status_code == 413 and error_code(r) == "UPLOAD_TOO_LARGE"


def test_oversized_upload_is_refused_without_reading_it(backend: Backend) -> None:
    app = create_app(backend.settings(upload_max_bytes=100_000))
    with LiveServer(app) as server:
        # a declared 10 GB body: answered from the headers alone
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
            sock.sendall(b"POST /api/v1/orders HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=b\r\n"
                         b"Content-Length: 10000000000\r\n\r\n--b\r\n")
            reply = _read_reply(sock)
        assert reply.startswith("HTTP/1.1 413") and "UPLOAD_TOO_LARGE" in reply
        # a chunked body with no length: answered once the ceiling is passed, long before the end
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
            sock.sendall(b"POST /api/v1/orders HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
                         b"Content-Type: multipart/form-data; boundary=b\r\n\r\n")
            part = b'--b\r\nContent-Disposition: form-data; name="photo"; filename="x.jpg"\r\n\r\n'
            sock.sendall(b"%x\r\n%s\r\n" % (len(part), part))
            chunk = b"\0" * 16384
            sent, reply = 0, b""
            sock.setblocking(False)
            while sent < 64 * 1048576 and not reply:
                try:
                    sock.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                    sent += len(chunk)
                except (BlockingIOError, BrokenPipeError, ConnectionResetError):
                    time.sleep(0.01)
                try:
                    reply = sock.recv(4096)
                except BlockingIOError:
                    pass
            sock.setblocking(True)
            reply = _read_reply(sock, reply)
            assert reply.startswith("HTTP/1.1 413") and "UPLOAD_TOO_LARGE" in reply
            # refused soon after the 100 kB ceiling; what was "sent" beyond it sits in loopback socket buffers
            assert sent < 16 * 1048576, sent


def _read_reply(sock: socket.socket, data: bytes = b"") -> str:
    """Read one HTTP response (headers + Content-Length body) from a raw socket."""
    while True:
        head, sep, body = data.partition(b"\r\n\r\n")
        if sep:
            length = next((int(line.split(b":")[1]) for line in head.split(b"\r\n")
                           if line.lower().startswith(b"content-length:")), 0)
            if len(body) >= length:
                break
        try:
            piece = sock.recv(4096)
        except (ConnectionResetError, TimeoutError):
            break
        if not piece:
            break
        data += piece
    return data.decode("latin-1")


BAD_UPLOADS = [
    ("text", b"just some text, not a photo", 415, "FILE_NOT_IMAGE"),
    ("pdf", b"%PDF-1.4\n1 0 obj\n", 415, "FILE_NOT_IMAGE"),
    ("empty", b"", 422, "FILE_EMPTY"),
]


@pytest.mark.parametrize(("name", "content", "status", "code"), BAD_UPLOADS, ids=[b[0] for b in BAD_UPLOADS])
def test_malformed_files_are_4xx(client: TestClient, name: str, content: bytes, status: int, code: str) -> None:
    r = upload(client, content)
    assert r.status_code == status and error_code(r) == code, r.text


def test_upload_refuses_a_decode_bomb_from_its_header(client: TestClient) -> None:
    r = upload(client, big_sixteen_bit_png())  # 138 KB, 7999×7999 16-bit: 128 MB if decoded
    assert r.status_code == 422 and error_code(r) == "IMAGE_BOMB", r.text


def test_damage_only_a_decode_finds_is_rejected_by_the_worker_with_its_reason(client: TestClient) -> None:
    heic = io.BytesIO()
    # pixels only: an EXIF item stored after the image data would make the truncation visible in the header
    Image.fromarray(np.asarray(Image.open(io.BytesIO(compliant_photo())).convert("RGB"))).save(heic, "HEIF", quality=90)
    r = upload(client, heic.getvalue()[: len(heic.getvalue()) // 2])  # the header is intact
    assert r.status_code == 202, r.text
    view = wait_final(client, r.json()["order_id"], r.json()["token"])
    assert view["status"] == "rejected", view
    reasons = view["attempts"][0]["reasons"]
    assert reasons[0]["code"] in ("FILE_CORRUPT", "FILE_TRUNCATED") and reasons[0]["message_zh"]


def test_malformed_requests_are_4xx(client: TestClient) -> None:
    photo = compliant_photo()
    truncated = upload(client, photo[: len(photo) // 2])
    assert truncated.status_code == 422 and error_code(truncated) in ("FILE_TRUNCATED", "FILE_CORRUPT")
    tiny = io.BytesIO()
    Image.open(io.BytesIO(photo)).convert("RGB").resize((120, 160)).save(tiny, "JPEG")
    small = upload(client, tiny.getvalue())
    assert small.status_code == 422 and error_code(small) == "IMAGE_TOO_SMALL"
    r = client.post("/api/v1/orders", data={"spec": SPEC, "applicant_name": "x"},
                    files={"other": ("a.txt", b"x", "text/plain")})
    assert r.status_code == 422 and error_code(r) == "PHOTO_REQUIRED"
    r = client.post("/api/v1/orders", json={"spec": SPEC})
    assert r.status_code == 415 and error_code(r) == "UNSUPPORTED_MEDIA_TYPE"
    r = client.post("/api/v1/orders", content=b"--zz\r\nContent-Disposition: form-data; name=\"photo\"; filename=\"a\"\r\n",
                    headers={"Content-Type": "multipart/form-data; boundary=zz"})
    assert 400 <= r.status_code < 500 and "error" in r.json()
    assert error_code(upload(client, photo, spec="mars-ssc")) == "SPEC_UNKNOWN"
    assert error_code(upload(client, photo, applicant_name=" ")) == "NAME_REQUIRED"
    assert error_code(upload(client, photo, phone="12345")) == "PHONE_INVALID"
    assert error_code(upload(client, photo, headers={"Idempotency-Key": "short"})) == "IDEMPOTENCY_KEY_INVALID"


def _id_number(birth: str) -> str:
    from receipt.service.applicants import id_check_character

    body = "440305" + birth + "123"
    return body + id_check_character(body)


def test_id_number_and_guardian(client: TestClient) -> None:
    photo = compliant_photo()
    adult = _id_number("19900101")
    bad = adult[:-1] + ("0" if adult[-1] != "0" else "1")
    r = upload(client, photo, id_number=bad)
    assert r.status_code == 422 and error_code(r) == "ID_NUMBER_INVALID" and "check digit" in r.json()["error"]["message"]
    child = _id_number(f"{time.localtime().tm_year - 8}0601")
    r = upload(client, photo, id_number=child)
    assert r.status_code == 422 and error_code(r) == "GUARDIAN_REQUIRED"
    assert upload(client, photo, id_number=child, guardian_name="张大").status_code == 202
    assert upload(client, photo, id_number=adult.lower()).status_code == 202


def test_review_decisions_issue_or_reject(backend: Backend) -> None:
    """A 'review' verdict parks the order in_review; record_review issues or rejects it."""
    from receipt.errors import ReceiptError
    from receipt.pipeline import process_photo
    from receipt.service import orders
    from receipt.service.applicants import validate_applicant
    from receipt.service.review import cases as review_cases
    from receipt.service.review.apply import record_review
    from receipt.specs import get_spec

    # no sweeper: the orders below are driven by hand through the worker's own core functions
    with TestClient(create_app(backend.settings(), background=False)) as client:
        rt = client.app.state.rt  # type: ignore[attr-defined]
        composed = process_photo(compliant_photo(), get_spec(SPEC)).photo
        assert composed is not None
        photo_sha = rt.blobs.put(composed.jpeg)
        cases = []
        for _ in range(2):
            new = orders.create_order(rt, spec_id=SPEC, applicant=validate_applicant("李四"),
                                      photo=unique_compliant_photo())
            attempt_id = orders.latest_attempt_id(rt, new.order_id)
            assert attempt_id is not None
            claim = orders.claim_attempt(rt, attempt_id, "test-worker")
            assert claim is not None
            outcome = orders.Outcome("review", [{"code": "EARS_COVERED", "verdict": "borderline",
                                                 "message_zh": "耳朵可能被遮挡", "message_en": "ears may be covered"}],
                                     {}, photo_sha256=photo_sha)
            assert orders.finish_attempt(rt, claim, outcome, None)
            cases.append((new.order_id, new.token, attempt_id))
        (order_a, token_a, attempt_a), (order_b, token_b, attempt_b) = cases
        assert client.get(f"/api/v1/orders/{order_a}", headers=bearer(token_a)).json()["status"] == "in_review"
        assert {attempt_a, attempt_b} <= {row["attempt_id"] for row in review_cases.queue(rt, admin=True)["cases"]}

        assert record_review(attempt_a, "reviewer-1", True, rt=rt) == "issued"
        view = client.get(f"/api/v1/orders/{order_a}", headers=bearer(token_a)).json()
        assert view["status"] == "issued" and view["receipt"]["approved_by"] == "reviewer"
        assert client.get(f"/api/v1/orders/{order_a}/receipt.pdf", headers=bearer(token_a)).content[:4] == b"%PDF"
        with pytest.raises(ReceiptError) as twice:
            record_review(attempt_a, "reviewer-2", False, ["HAT"], rt=rt)
        assert twice.value.status == 409

        with pytest.raises(ReceiptError) as no_reason:
            record_review(attempt_b, "reviewer-1", False, [], rt=rt)
        assert no_reason.value.code == "REASONS_REQUIRED"
        assert record_review(attempt_b, "reviewer-1", False, ["EARS_COVERED", "HAT"], rt=rt) == "rejected"
        view = client.get(f"/api/v1/orders/{order_b}", headers=bearer(token_b)).json()
        assert view["status"] == "rejected" and view["can_resubmit"]
        assert [r["code"] for r in view["attempts"][-1]["reasons"]] == ["EARS_COVERED", "HAT"]
        assert view["attempts"][-1]["reasons"][0]["message_zh"] == "头发遮挡耳朵"
        assert attempt_a not in {row["attempt_id"] for row in review_cases.queue(rt, admin=True)["cases"]}


def test_failing_job_retries_with_backoff_then_shows_error(backend: Backend) -> None:
    with TestClient(create_app(backend.settings(max_tries=3, retry_base_s=0.1))) as client:
        rt = client.app.state.rt  # type: ignore[attr-defined]
        photo = unique_compliant_photo()
        import hashlib

        # the storage loses the upload (a broken shared disk): every try fails the same way
        original_put = rt.blobs.put

        def put_then_lose(data: bytes) -> str:
            sha = original_put(data)
            if sha == hashlib.sha256(photo).hexdigest():
                rt.blobs.delete(sha)
            return sha
        rt.blobs.put = put_then_lose
        body = upload(client, photo).json()
        view = wait_final(client, body["order_id"], body["token"], timeout=30)
        assert view["status"] == "error"
        attempt = view["attempts"][0]
        assert attempt["tries"] == 3 and "BLOB_MISSING" in attempt["error"]
        events = client.get(f"/api/v1/orders/{body['order_id']}/events", headers=bearer(body["token"])).json()["events"]
        assert [e["type"] for e in events].count("attempt.retry") == 2
        assert events[-1]["status"] == "error"


def test_events_stream_as_sse(client: TestClient) -> None:
    body = upload(client, compliant_photo()).json()
    headers = {**bearer(body["token"]), "Accept": "text/event-stream"}
    with client.stream("GET", f"/api/v1/orders/{body['order_id']}/events?timeout=60", headers=headers) as r:
        assert r.headers["content-type"].startswith("text/event-stream")
        text = "".join(r.iter_text())  # the server ends the stream once the order settles
    assert "event: order.status" in text and '"status": "issued"' in text


def test_health_and_specs(client: TestClient) -> None:
    health = client.get("/api/v1/health").json()
    assert health == {"database": "ok", "queue": "ok", "jobs": "in-process"}
    specs = client.get("/api/v1/specs").json()["specs"]
    assert any(s["id"] == SPEC for s in specs)
    assert "/api/v1/orders" in client.get("/openapi.json").json()["paths"]
    assert client.get("/").status_code == 200  # the applicant page plugin is mounted
