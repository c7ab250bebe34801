"""Input edges of the applicant API: parameters, free text, 405, malformed HTTP, documented statuses."""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator

import pytest
import uvicorn
from fastapi.testclient import TestClient

from receipt.errors import ReceiptError
from receipt.service.applicants import validate_applicant
from receipt.web.app import create_app
from receipt.web.protocol import JSONErrorH11Protocol
from tests.service_fixtures import TEST_SPEC, Backend, compliant_photo, free_port, wait_for

ORDER = "0" * 20


@pytest.fixture
def client(backend: Backend) -> Iterator[TestClient]:
    with TestClient(create_app(backend.settings(), plugins=False)) as c:
        yield c


def _order(client: TestClient) -> tuple[str, dict[str, str]]:
    r = client.post("/api/v1/orders", files={"photo": ("p.jpg", compliant_photo(), "image/jpeg")},
                    data={"spec": TEST_SPEC, "applicant_name": "张三"})
    assert r.status_code == 202, r.text
    return r.json()["order_id"], {"Authorization": f"Bearer {r.json()['token']}"}


@pytest.mark.parametrize("query", ["timeout=nan", "timeout=inf", "timeout=-inf", "timeout=1e400", "timeout=0",
                                   "timeout=301", "after=9223372036854775808", "after=-1", "after=1e3",
                                   "after=99999999999999999999999999999"])
def test_event_parameters_are_validated(client: TestClient, query: str) -> None:
    order_id, auth = _order(client)
    r = client.get(f"/api/v1/orders/{order_id}/events?{query}", headers=auth)
    assert r.status_code == 422 and r.json()["error"]["code"] == "INVALID_REQUEST", r.text


@pytest.mark.parametrize("last_id", [b"9" * 30, b"9223372036854775808", b"-1", b"abc", "²".encode("latin-1")])
def test_last_event_id_is_validated(client: TestClient, last_id: bytes) -> None:
    order_id, auth = _order(client)
    r = client.get(f"/api/v1/orders/{order_id}/events", headers={**auth, "Last-Event-ID": last_id})
    assert r.status_code == 422 and r.json()["error"]["code"] == "INVALID_REQUEST", r.text


def test_valid_event_parameters_still_work(client: TestClient) -> None:
    order_id, auth = _order(client)
    r = client.get(f"/api/v1/orders/{order_id}/events?after=0&timeout=2", headers={**auth, "Last-Event-ID": "0"})
    assert r.status_code == 200 and r.json()["events"]
    first = r.json()["events"][0]["id"]
    later = client.get(f"/api/v1/orders/{order_id}/events", headers={**auth, "Last-Event-ID": str(first)}).json()
    assert all(e["id"] > first for e in later["events"])
    started = time.monotonic()
    stream = client.get(f"/api/v1/orders/{order_id}/events?timeout=1&after=9223372036854775807",
                        headers={**auth, "Accept": "text/event-stream"})
    assert stream.status_code == 200 and time.monotonic() - started < 30


BAD_TEXT = ["张\x00三", "abc\u202edef", "a\u2066b", "zero\u200bwidth", "bell\x07", "\ud7ff\U000f0000"]


@pytest.mark.parametrize("text", BAD_TEXT)
def test_free_text_refuses_control_and_bidi_characters(text: str) -> None:
    for kwargs, code in (({"name": text}, "NAME_INVALID"), ({"name": "张三", "guardian_name": text},
                                                             "GUARDIAN_NAME_INVALID"),
                         ({"name": "张三", "phone": "138" + text}, "PHONE_INVALID"),
                         ({"name": "张三", "id_number": text}, "ID_NUMBER_INVALID")):
        with pytest.raises(ReceiptError) as caught:
            validate_applicant(**kwargs)
        assert caught.value.code == code and caught.value.status == 422, kwargs


def test_names_that_are_fine() -> None:
    applicant = validate_applicant("  José  García ", guardian_name="Zoë O'Brien-李")
    assert applicant.name == "José García" and applicant.guardian_name == "Zoë O'Brien-李"


@pytest.mark.parametrize(("field", "code"), [("applicant_name", "NAME_INVALID"),
                                             ("guardian_name", "GUARDIAN_NAME_INVALID")])
def test_invalid_utf8_in_a_field_is_refused_over_http(client: TestClient, field: str, code: str) -> None:
    boundary = "zzBOUNDARYzz"
    fields = {"spec": TEST_SPEC.encode(), "applicant_name": "张三".encode(), field: b"\xe5\xbc\xa0\xff\xfe"}
    body = b"".join(f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n'.encode() + v + b"\r\n"
                    for k, v in fields.items())
    body += (f'--{boundary}\r\nContent-Disposition: form-data; name="photo"; filename="p.jpg"\r\n'
             "Content-Type: image/jpeg\r\n\r\n").encode() + compliant_photo() + f"\r\n--{boundary}--\r\n".encode()
    r = client.post("/api/v1/orders", content=body, headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})
    assert r.status_code == 422 and r.json()["error"]["code"] == code, r.text
    assert "UTF-8" in r.json()["error"]["message"]


def test_405_keeps_allow(client: TestClient) -> None:
    r = client.delete("/api/v1/specs")
    assert r.status_code == 405 and r.headers["allow"] == "GET" and r.json()["error"]["code"] == "METHOD_NOT_ALLOWED"
    r = client.put(f"/api/v1/orders/{ORDER}")
    assert r.status_code == 405 and "GET" in r.headers["allow"]


def test_every_route_documents_its_errors_and_schemas(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    expected = {("post", "/api/v1/orders"): {"202", "400", "413", "415", "422"},
                ("post", "/api/v1/orders/{order_id}/attempts"): {"202", "400", "401", "404", "409", "413", "415",
                                                                 "422"},
                ("get", "/api/v1/orders/{order_id}"): {"200", "401", "404", "422"},
                ("get", "/api/v1/orders/{order_id}/events"): {"200", "401", "404", "422"},
                ("get", "/api/v1/orders/{order_id}/receipt.pdf"): {"200", "401", "404", "422"}}
    for (method, path), statuses in expected.items():
        assert statuses <= set(spec["paths"][path][method]["responses"]), (method, path)
    for path, operations in spec["paths"].items():
        for method, op in operations.items():
            if "review" in op.get("tags", []):  # the reviewer screen's own session API: not checked here yet
                continue
            # card-system errors carry a `detail` (the number check's reason): their own error model
            error_model = "CardErrorBody" if "card-systems" in op.get("tags", []) else "ErrorBody"
            for status, response in op["responses"].items():
                if status in ("204", "304"):  # no body by definition
                    continue
                content = response.get("content", {})
                assert content, (method, path, status)
                for media in content.values():
                    schema = media.get("schema", {})
                    assert schema and schema != {}, (method, path, status)  # never an empty schema
                    if status.startswith(("4", "5")) and path != "/api/v1/health":
                        assert schema == {"$ref": f"#/components/schemas/{error_model}"}, (method, path, status)


def _raw(port: int, request: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(request)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
        return data


@pytest.mark.parametrize("length", [b"abc", b"-5", b"1, 2", b"12 34"])
def test_malformed_content_length_answers_json(tmp_path: os.PathLike[str], length: bytes,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PHOTO_RECEIPT_HOME", str(tmp_path))
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(background=False, plugins=False), host="127.0.0.1", port=port,
                                           log_level="warning", http=JSONErrorH11Protocol))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        wait_for(lambda: server.started, 30, what="uvicorn start")
        reply = _raw(port, b"POST /api/v1/orders HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; "
                           b"boundary=z\r\nContent-Length: " + length + b"\r\n\r\n")
        head, _, body = reply.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 400") and b"application/json" in head.lower(), reply
        assert b'"BAD_REQUEST"' in body
    finally:
        server.should_exit = True
        thread.join(15)


def test_the_file_name_is_a_label_without_control_characters(client: TestClient) -> None:
    r = client.post("/api/v1/orders", files={"photo": ("ev\u202eil\u200b.jpg", compliant_photo(), "image/jpeg")},
                    data={"spec": TEST_SPEC, "applicant_name": "张三"})
    assert r.status_code == 202, r.text
    from sqlalchemy import select

    from receipt.service.db import Attempt

    rt = client.app.state.rt  # type: ignore[attr-defined]
    with rt.db.session() as session:
        name = session.scalar(select(Attempt.upload_name).where(Attempt.order_id == r.json()["order_id"]))
    assert name == "evil.jpg"
    from receipt.web.uploads import _safe_filename

    assert _safe_filename("a\x00b\x1b[31m\u2066.png") == "ab[31m.png" and _safe_filename("\u202e") is None
