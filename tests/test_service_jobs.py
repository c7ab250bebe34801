"""The queue job's heartbeat: a slow but living worker keeps its claim; only a silent one loses it."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select

from receipt.service.db import Attempt, Event
from receipt.web.app import create_app
from tests.service_fixtures import TEST_SPEC, Backend, two_face_photo, wait_for


def test_a_job_slower_than_its_lease_keeps_its_claim(backend: Backend) -> None:
    """lease 1 s, job held 3 s: without the heartbeat the sweeper would requeue it and it would run twice."""
    settings = backend.settings(lease_s=1.0, test_job_delay_s=3.0, sweep_interval_s=0.2)
    with TestClient(create_app(settings)) as client:
        response = client.post("/api/v1/orders", files={"photo": ("p.jpg", two_face_photo(), "image/jpeg")},
                               data={"spec": TEST_SPEC, "applicant_name": "测试"})
        assert response.status_code == 202, response.text
        order = response.json()
        headers = {"Authorization": f"Bearer {order['token']}"}

        def final() -> bool:
            return client.get(f"/api/v1/orders/{order['order_id']}", headers=headers).json()["status"] in (
                "issued", "rejected", "in_review", "error")

        wait_for(final, 60, what="the slow job to finish")
        rt = client.app.state.rt  # type: ignore[attr-defined]
        with rt.db.session() as session:
            attempt = session.scalar(select(Attempt).where(Attempt.order_id == order["order_id"]))
            requeued = session.scalars(select(Event).where(Event.order_id == order["order_id"],
                                                           Event.type == "attempt.requeued")).all()
        assert attempt is not None and attempt.tries == 1 and attempt.status == "done"
        assert requeued == []
