"""Status events reach the deployment's webhook, signed (HMAC-SHA256), with retries."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from receipt.service.db import WebhookDelivery
from receipt.service.webhooks import SIGNATURE_HEADER, TIMESTAMP_HEADER, verify
from receipt.web.app import create_app
from tests.service_fixtures import TEST_SPEC, Backend, compliant_photo, wait_for

SECRET = "test-webhook-secret"


class Receiver:
    """A loopback HTTP endpoint that fails the first `fail_first` requests with 500."""

    def __init__(self, fail_first: int) -> None:
        self.received: list[dict[str, Any]] = []
        self.calls = 0
        self.bad_signatures = 0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.calls += 1
                if receiver.calls <= fail_first:
                    self.send_response(500)
                    self.end_headers()
                    return
                if not verify(SECRET, self.headers[TIMESTAMP_HEADER], body, self.headers[SIGNATURE_HEADER] or ""):
                    receiver.bad_signatures += 1
                receiver.received.append(json.loads(body))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver(fail_first=1)
    yield r
    r.close()


def test_status_events_are_signed_and_retried(backend: Backend, receiver: Receiver) -> None:
    settings = backend.settings(webhook_url=receiver.url, webhook_secret=SECRET)
    with TestClient(create_app(settings)) as client:
        r = client.post("/api/v1/orders", files={"photo": ("p.jpg", compliant_photo(), "image/jpeg")},
                        data={"spec": TEST_SPEC, "applicant_name": "陈七"})
        order_id = r.json()["order_id"]

        def statuses() -> list[str]:
            return [e["status"] for e in receiver.received if e["order_id"] == order_id]
        # the first delivery got a 500 and comes again after its back-off, so order of arrival may differ
        wait_for(lambda: sorted(statuses()) == ["issued", "processing", "received"], 30, what="all three events")
        assert receiver.bad_signatures == 0 and receiver.calls >= 4  # one 500, then redelivered
        issued = next(e for e in receiver.received if e["status"] == "issued" and e["order_id"] == order_id)
        assert issued["type"] == "order.status" and issued["data"]["receipt_number"]
        assert "applicant_name" not in json.dumps(issued)  # no personal data leaves in webhooks
        rt = client.app.state.rt  # type: ignore[attr-defined]

        def delivered_tries() -> list[int]:
            with rt.db.session() as session:
                return [d.tries for d in session.scalars(select(WebhookDelivery)).all() if d.state == "delivered"]
        # the receiver has the body a moment before the sweeper marks its row delivered
        wait_for(lambda: 2 in delivered_tries(), 10, what="the redelivered event recorded")
        assert max(delivered_tries()) == 2


def test_undeliverable_webhook_ends_failed_not_silent(backend: Backend) -> None:
    dead = Receiver(fail_first=10**6)
    try:
        settings = backend.settings(webhook_url=dead.url, webhook_secret=SECRET, webhook_max_tries=2)
        with TestClient(create_app(settings)) as client:
            client.post("/api/v1/orders", files={"photo": ("p.jpg", compliant_photo(), "image/jpeg")},
                        data={"spec": TEST_SPEC, "applicant_name": "陈七"})
            rt = client.app.state.rt  # type: ignore[attr-defined]

            def failed_rows() -> int:
                with rt.db.session() as session:
                    rows = session.scalars(select(WebhookDelivery).where(WebhookDelivery.url == dead.url)).all()
                    return sum(1 for d in rows if d.state == "failed" and d.tries == 2 and d.last_error == "HTTP 500")
            wait_for(lambda: failed_rows() >= 3, 30, what="deliveries to end failed")
    finally:
        dead.close()
