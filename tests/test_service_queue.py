"""The durable queue with real Redis and real `python worker.py` processes, on SQLite and PostgreSQL."""

from __future__ import annotations

import secrets
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from receipt.config import ServiceSettings
from receipt.service.db import AnalysisResult, Attempt, Event, Receipt
from receipt.web.app import create_app
from tests.conftest import ROOT, require
from tests.service_fixtures import (
    TEST_SPEC,
    Backend,
    Workers,
    compliant_photo,
    free_port,
    two_face_photo,
    unique_compliant_photo,
    wait_for,
)

SPEC = TEST_SPEC


def _upload(client: TestClient, photo: bytes) -> dict[str, Any]:
    r = client.post("/api/v1/orders", files={"photo": ("p.jpg", photo, "image/jpeg")},
                    data={"spec": SPEC, "applicant_name": "王五"})
    assert r.status_code == 202, r.text
    return r.json()  # type: ignore[no-any-return]


def _status(client: TestClient, order: dict[str, Any]) -> dict[str, Any]:
    r = client.get(f"/api/v1/orders/{order['order_id']}", headers={"Authorization": f"Bearer {order['token']}"})
    return r.json()  # type: ignore[no-any-return]


def _wait_status(client: TestClient, order: dict[str, Any], statuses: set[str], timeout: float = 60) -> dict[str, Any]:
    return wait_for(lambda: (v := _status(client, order))["status"] in statuses and v, timeout, 0.1,  # type: ignore[no-any-return]
                    what=f"order {order['order_id']} to reach {statuses}")


def _count(client: TestClient, model: Any, *where: Any) -> int:
    rt = client.app.state.rt  # type: ignore[attr-defined]
    with rt.db.session() as session:
        return int(session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


@pytest.fixture
def queue_env(backend: Backend, redis_url: str) -> Iterator[tuple[Backend, str, str]]:
    """A queue name of its own per test, so workers of one test never take another's jobs."""
    queue = f"test-{secrets.token_hex(4)}"
    yield backend, redis_url, queue
    from redis import Redis
    from rq import Queue

    Queue(queue, connection=Redis.from_url(redis_url)).empty()


def _client(backend: Backend, redis_url: str, queue: str, **settings: Any) -> TestClient:
    return TestClient(create_app(backend.settings(redis_url=redis_url, queue_name=queue, **settings)))


def _worker_env(backend: Backend, redis_url: str, queue: str, **extra: str) -> dict[str, str]:
    return backend.env(REDIS_URL=redis_url, PHOTO_RECEIPT_QUEUE=queue, **extra)


def test_upload_reject_resubmit_issue_through_a_worker(queue_env: tuple[Backend, str, str], workers: Workers) -> None:
    backend, redis_url, queue = queue_env
    workers.start(_worker_env(backend, redis_url, queue))
    with _client(backend, redis_url, queue) as client:
        assert client.get("/api/v1/health").json()["jobs"] == "rq"
        good = _upload(client, compliant_photo())
        bad = _upload(client, two_face_photo())
        issued = _wait_status(client, good, {"issued", "rejected", "in_review", "error"})
        assert issued["status"] == "issued", issued
        rejected = _wait_status(client, bad, {"issued", "rejected", "in_review", "error"})
        assert rejected["status"] == "rejected"
        assert "FACE_COUNT" in [r["code"] for r in rejected["attempts"][0]["reasons"]]
        r = client.post(f"/api/v1/orders/{bad['order_id']}/attempts", headers={"Authorization": f"Bearer {bad['token']}"},
                        files={"photo": ("p.jpg", compliant_photo(), "image/jpeg")})
        assert r.status_code == 202
        again = _wait_status(client, bad, {"issued", "error"})
        assert again["status"] == "issued" and [a["verdict"] for a in again["attempts"]] == ["reject", "pass"]
        pdf = client.get(f"/api/v1/orders/{bad['order_id']}/receipt.pdf",
                         headers={"Authorization": f"Bearer {bad['token']}"})
        assert pdf.content.startswith(b"%PDF")
        assert _count(client, Receipt, Receipt.order_id == bad["order_id"]) == 1


def test_worker_killed_mid_job_is_finished_by_another(queue_env: tuple[Backend, str, str], workers: Workers) -> None:
    """With the default lease (15 s, heartbeat every 5 s): the time from SIGKILL to the attempt resumed."""
    backend, redis_url, queue = queue_env
    lease = {"PHOTO_RECEIPT_LEASE_S": str(ServiceSettings.lease_s)}  # the production default, not FAST's
    # worker A holds every job for 60 s after claiming it: we kill it while it does
    doomed = workers.start(_worker_env(backend, redis_url, queue, PHOTO_RECEIPT_TEST_JOB_DELAY_S="60", **lease))
    with _client(backend, redis_url, queue, lease_s=ServiceSettings.lease_s) as client:
        order = _upload(client, unique_compliant_photo())
        rt = client.app.state.rt  # type: ignore[attr-defined]

        def attempt_row() -> Attempt | None:
            with rt.db.session() as session:
                return session.scalar(select(Attempt).where(Attempt.order_id == order["order_id"]))

        def claimed_by_a() -> bool:
            attempt = attempt_row()
            return attempt is not None and attempt.status == "processing" and \
                (attempt.claimed_by or "").endswith(f":{doomed.pid}")
        wait_for(claimed_by_a, 60, what="worker A to claim the attempt")
        doomed.send_signal(signal.SIGKILL)
        killed_at = time.monotonic()
        doomed.wait(10)
        survivor = workers.start(_worker_env(backend, redis_url, queue, **lease))  # worker B

        def resumed() -> bool:
            attempt = attempt_row()
            return attempt is not None and (attempt.status != "processing" and attempt.status != "queued"
                                            or (attempt.claimed_by or "").endswith(f":{survivor.pid}"))
        wait_for(resumed, 90, 0.1, what="worker B to resume the attempt")
        resume_s = time.monotonic() - killed_at
        print(f"\ntime to resume after SIGKILL: {resume_s:.1f} s (lease {rt.settings.lease_s:g} s)")
        assert resume_s < 60, f"resumed only after {resume_s:.1f} s"
        view = _wait_status(client, order, {"issued", "rejected", "in_review", "error"}, timeout=90)
        assert view["status"] == "issued", view
        assert view["attempts"][0]["tries"] == 2
        assert _count(client, Receipt, Receipt.order_id == order["order_id"]) == 1
        assert _count(client, AnalysisResult, AnalysisResult.attempt_id.in_(
            select(Attempt.id).where(Attempt.order_id == order["order_id"]))) == 1
        assert _count(client, Event, Event.order_id == order["order_id"], Event.type == "attempt.requeued") == 1


def test_same_attempt_on_the_queue_many_times_issues_one_receipt(queue_env: tuple[Backend, str, str],
                                                                  workers: Workers) -> None:
    backend, redis_url, queue = queue_env
    with _client(backend, redis_url, queue) as client:
        order = _upload(client, unique_compliant_photo())
        rt = client.app.state.rt  # type: ignore[attr-defined]
        with rt.db.session() as session:
            attempt_id = session.scalar(select(Attempt.id).where(Attempt.order_id == order["order_id"]))
        from rq import Queue

        from receipt.service.jobs import process_attempt

        q = Queue(queue, connection=rt.dispatcher.redis)
        for i in range(5):  # duplicates under other job ids too, as a confused operator might add
            q.enqueue(process_attempt, attempt_id, job_id=f"dup-{attempt_id}-{i}")
        for _ in range(2):
            workers.start(_worker_env(backend, redis_url, queue))
        view = _wait_status(client, order, {"issued", "rejected", "in_review", "error"})
        assert view["status"] == "issued"
        wait_for(lambda: q.count == 0 and not q.started_job_registry.get_job_ids(), 30, what="queue to drain")
        assert _count(client, Receipt, Receipt.order_id == order["order_id"]) == 1
        assert _count(client, AnalysisResult, AnalysisResult.attempt_id == attempt_id) == 1
        assert view["attempts"][0]["tries"] == 1


class OwnRedis:
    """A redis-server of the test's own on a free loopback port (never the machine's main one)."""

    def __init__(self, tmp: str) -> None:
        self.port = free_port()
        self.tmp = tmp
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        from redis import Redis

        self.proc = subprocess.Popen(["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                                      "--appendonly", "no", "--dir", self.tmp], stdout=subprocess.DEVNULL)
        wait_for(lambda: _ping(Redis.from_url(self.url, socket_connect_timeout=0.5)), 10, what="own redis")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()  # with --save "" nothing is written: the queue's contents are lost
            self.proc.wait(10)


def _ping(conn: Any) -> bool:
    from redis.exceptions import RedisError

    try:
        return bool(conn.ping())
    except RedisError:
        return False


def test_redis_outage_loses_no_upload(backend: Backend, workers: Workers, tmp_path: Any) -> None:
    require(shutil.which("redis-server") is not None, "redis-server binary not installed")
    own = OwnRedis(str(tmp_path))
    own.start()
    queue = "outage"
    try:
        with _client(backend, own.url, queue) as client:
            before = [_upload(client, unique_compliant_photo()) for _ in range(2)]  # enqueued, then lost with Redis
            own.stop()
            assert client.get("/api/v1/health").json()["queue"] == "down"
            during = [_upload(client, unique_compliant_photo()) for _ in range(2)]  # accepted while Redis is down
            assert all(o["status"] == "received" for o in during)
            own.start()  # back, empty
            workers.start(_worker_env(backend, own.url, queue))
            for order in before + during:
                view = _wait_status(client, order, {"issued", "rejected", "in_review", "error"}, timeout=90)
                assert view["status"] == "issued", view
                assert _count(client, Receipt, Receipt.order_id == order["order_id"]) == 1
    finally:
        workers.stop_all()
        own.stop()


def test_worker_without_redis_url_explains(backend: Backend) -> None:
    out = subprocess.run([sys.executable, "worker.py", "--burst"], cwd=ROOT, env=backend.env(REDIS_URL=None),
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 2 and "REDIS_URL" in out.stderr
