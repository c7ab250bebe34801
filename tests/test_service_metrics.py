"""GET /metrics: uploads, verdicts per spec and rule, timings, queue and review gauges from the database."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import update

from receipt.service.db import Order
from tests.conftest import ROOT
from tests.service_fixtures import TEST_SPEC, Backend, two_face_photo, unique_compliant_photo, wait_for

FINAL = {"issued", "rejected", "in_review", "error"}


@pytest.fixture
def client(backend: Backend) -> Iterator[TestClient]:
    from receipt.web.app import create_app

    with TestClient(create_app(backend.settings(), background=False, plugins=False)) as c:
        yield c


def _samples(client: TestClient) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    r = client.get("/metrics")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(r.text) for s in family.samples}


def _value(samples: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def _upload(client: TestClient, photo: bytes) -> str:
    r = client.post("/api/v1/orders", files={"photo": ("p.jpg", photo, "image/jpeg")},
                    data={"spec": TEST_SPEC, "applicant_name": "张三"})
    if r.status_code != 202:
        return ""
    order_id, auth = r.json()["order_id"], {"Authorization": f"Bearer {r.json()['token']}"}
    wait_for(lambda: client.get(f"/api/v1/orders/{order_id}", headers=auth).json()["status"] in FINAL, 60,
             what="the verdict")
    return order_id


def test_metrics_count_what_happened(client: TestClient) -> None:
    before = _samples(client)
    good = _upload(client, unique_compliant_photo())
    _upload(client, two_face_photo())
    _upload(client, b"not a photo at all, just text")
    after = _samples(client)

    def grew(name: str, **labels: str) -> float:
        return _value(after, name, **labels) - _value(before, name, **labels)
    assert grew("photo_receipt_uploads_total", kind="order", result="accepted") == 2
    assert grew("photo_receipt_uploads_total", kind="order", result="FILE_NOT_IMAGE") == 1
    assert grew("photo_receipt_verdicts_total", spec=TEST_SPEC, verdict="pass") == 1
    assert grew("photo_receipt_verdicts_total", spec=TEST_SPEC, verdict="reject") == 1
    assert grew("photo_receipt_rule_results_total", rule="FACE_COUNT", verdict="fail") == 1
    assert grew("photo_receipt_processing_seconds_count", spec=TEST_SPEC) == 2
    assert grew("photo_receipt_stage_seconds_count", stage="decode") == 2
    assert _value(after, "photo_receipt_queue_depth", status="queued") >= 0

    rt = client.app.state.rt  # type: ignore[attr-defined]
    with rt.db.session() as session:  # a case a reviewer has not looked at yet, as the machine would leave it
        session.execute(update(Order).where(Order.id == good).values(status="in_review"))
    gauges = _samples(client)
    assert _value(gauges, "photo_receipt_review_queue_size") >= 1
    assert _value(gauges, "photo_receipt_review_oldest_age_seconds") >= 0
    text = client.get("/metrics").text
    assert re.search(r"^photo_receipt_queue_oldest_age_seconds \d", text, re.M)


COUNT_IN_ANOTHER_PROCESS = """
from receipt.service.metrics import record_outcome
record_outcome("multi-spec", "pass", [{"code": "HAT", "verdict": "fail"}], 1.5, {"decode": 20.0})
"""


def test_counters_of_other_processes_add_up_with_a_multiprocess_dir(client: TestClient, tmp_path: Path) -> None:
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    for _ in range(2):  # two worker processes, each counting one verdict
        subprocess.run([sys.executable, "-c", COUNT_IN_ANOTHER_PROCESS], cwd=ROOT, env=env, check=True, timeout=120)
    from prometheus_client import generate_latest

    from receipt.service.metrics import scrape_registry

    text = generate_latest(scrape_registry(client.app.state.rt, str(tmp_path))).decode()  # type: ignore[attr-defined]
    samples = {(s.name, tuple(sorted(s.labels.items()))): s.value
               for family in text_string_to_metric_families(text) for s in family.samples}
    assert samples[("photo_receipt_verdicts_total", (("spec", "multi-spec"), ("verdict", "pass")))] == 2
    assert samples[("photo_receipt_rule_results_total", (("rule", "HAT"), ("verdict", "fail")))] == 2
    assert ("photo_receipt_review_queue_size", ()) in samples  # the database gauges are there too
