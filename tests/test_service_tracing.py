"""The request id: X-Request-ID in and out, and on the log lines of the job — in-process and in an RQ worker."""

from __future__ import annotations

import json
import logging
import secrets
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from receipt.service.tracing import JsonFormatter, accept_request_id, bound
from receipt.web.app import create_app
from tests.service_fixtures import TEST_SPEC, Backend, Workers, unique_compliant_photo, wait_for

FINAL = {"issued", "rejected", "in_review", "error"}


@pytest.fixture
def client(backend: Backend) -> Iterator[TestClient]:
    with TestClient(create_app(backend.settings(), plugins=False)) as c:
        yield c


def _upload(client: TestClient, request_id: str) -> tuple[str, dict[str, str]]:
    r = client.post("/api/v1/orders", files={"photo": ("p.jpg", unique_compliant_photo(), "image/jpeg")},
                    data={"spec": TEST_SPEC, "applicant_name": "张三"}, headers={"X-Request-ID": request_id})
    assert r.status_code == 202 and r.headers["x-request-id"] == request_id, r.text
    return r.json()["order_id"], {"Authorization": f"Bearer {r.json()['token']}"}


def test_request_id_in_and_out(client: TestClient) -> None:
    assert client.get("/api/v1/specs", headers={"X-Request-ID": "abc-123"}).headers["x-request-id"] == "abc-123"
    made = client.get("/api/v1/specs").headers["x-request-id"]
    assert len(made) == 16
    odd = client.get("/api/v1/specs", headers={"X-Request-ID": "bad id\twith spaces" + "x" * 80})
    assert odd.headers["x-request-id"] != "bad id" and len(odd.headers["x-request-id"]) == 16
    assert accept_request_id("a" * 65) != "a" * 65


def test_request_id_follows_the_order_into_the_in_process_job(client: TestClient,
                                                              caplog: pytest.LogCaptureFixture) -> None:
    request_id = f"trace-{secrets.token_hex(4)}"
    caplog.set_level(logging.INFO, logger="receipt")
    order_id, auth = _upload(client, request_id)
    wait_for(lambda: client.get(f"/api/v1/orders/{order_id}", headers=auth).json()["status"] in FINAL, 60,
             what="the verdict")
    job_lines = [r for r in caplog.records if r.name == "receipt.service.jobs" and r.getMessage().startswith("attempt")]
    assert job_lines and all(getattr(r, "request_id", None) == request_id for r in job_lines), \
        [(r.getMessage(), getattr(r, "request_id", None)) for r in job_lines]


def test_request_id_reaches_an_rq_worker(backend: Backend, redis_url: str, workers: Workers) -> None:
    queue = f"test-{secrets.token_hex(4)}"
    worker = workers.start(backend.env(REDIS_URL=redis_url, PHOTO_RECEIPT_QUEUE=queue, PHOTO_RECEIPT_LOG_JSON="1"))
    request_id = f"rq-{secrets.token_hex(4)}"
    with TestClient(create_app(backend.settings(redis_url=redis_url, queue_name=queue), plugins=False)) as client:
        order_id, auth = _upload(client, request_id)
        wait_for(lambda: client.get(f"/api/v1/orders/{order_id}", headers=auth).json()["status"] in FINAL, 90,
                 what="the worker's verdict")
    def traced() -> list[dict[str, str]]:
        lines = [json.loads(line) for line in worker.log_path.read_text().splitlines()  # type: ignore[attr-defined]
                 if line.startswith("{")]
        return [e for e in lines if e["request_id"] == request_id]
    found = wait_for(traced, 10, what="the worker's log line")
    assert any(e["logger"] == "receipt.service.jobs" and e["message"].startswith("attempt") for e in found), found


def test_json_lines_carry_the_request_id() -> None:
    from receipt.service.tracing import install_log_context

    install_log_context()
    with bound("json-1"):
        record = logging.getLogger("receipt.test").makeRecord("receipt.test", logging.INFO, __file__, 1, "hello %s",
                                                              ("there",), None)
    entry = json.loads(JsonFormatter().format(record))
    assert entry["request_id"] == "json-1" and entry["message"] == "hello there" and entry["level"] == "INFO"
