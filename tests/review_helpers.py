"""Helpers for the reviewer tests: real pipeline results put through the worker's own functions.

`seed_case` creates an order and finishes its attempt with the pipeline's real result for a
photo (computed once per photo per test run), exactly as a worker would, so a test gets many
review cases without running the models for each one. samples/grace_hopper.jpg goes to review
on shenzhen-ssc (HAT borderline); compliant eval photos pass; the two-face photo is rejected.
"""

from __future__ import annotations

import functools
import secrets
import struct
import time
from typing import Any

from tests.conftest import SAMPLES
from tests.service_fixtures import TEST_SPEC, compliant_photo, two_face_photo, wait_for

PASSWORD = "correct horse battery"


def with_comment(data: bytes) -> bytes:
    """Same pixels, a JPEG comment of its own: a distinct upload (its own blob, its own sha)."""
    assert data[:2] == b"\xff\xd8"
    comment = secrets.token_hex(8).encode()
    return data[:2] + b"\xff\xfe" + struct.pack(">H", len(comment) + 2) + comment + data[2:]


def grace_hopper() -> bytes:
    return (SAMPLES / "grace_hopper.jpg").read_bytes()


@functools.cache
def _processed(kind: str, spec_id: str) -> Any:
    from receipt.pipeline import process_photo
    from receipt.specs import get_spec

    data = {"review": grace_hopper, "pass": compliant_photo, "reject": two_face_photo}[kind]()
    return data, process_photo(data, get_spec(spec_id))


def seed_case(rt: Any, kind: str = "review", *, spec_id: str = TEST_SPEC, name: str = "张三",
              id_number: str | None = None) -> tuple[str, str, int]:
    """(order_id, token, attempt_id) of a new order whose attempt the machine judged like `kind`."""
    from receipt.service import orders
    from receipt.service.applicants import validate_applicant
    from receipt.service.issuing import issue_for_attempt

    data, result = _processed(kind, spec_id)
    assert result.verdict == kind, f"the {kind} photo now gets {result.verdict}: pick another one"
    new = orders.create_order(rt, spec_id=spec_id, applicant=validate_applicant(name, id_number), photo=with_comment(data))
    attempt_id = orders.latest_attempt_id(rt, new.order_id)
    assert attempt_id is not None
    claim = orders.claim_attempt(rt, attempt_id, "test-seeder")
    if claim is None:  # the sweeper's in-process worker took it: it reaches the same verdict itself
        wait_for(lambda: _settled(rt, new.order_id), 60, what="the worker to finish the seeded attempt")
        return new.order_id, new.token, attempt_id
    photo = result.photo.jpeg if result.photo is not None else None
    outcome = orders.Outcome(
        verdict=result.verdict,
        reasons=[{"code": r.code, "verdict": r.verdict, "message_zh": r.message_zh, "message_en": r.message_en}
                 for r in result.report.problems],
        report=result.report.to_dict(), photo_sha256=rt.blobs.put(photo) if photo else None,
        annotated_sha256=rt.blobs.put(result.annotated_jpeg) if result.annotated_jpeg else None, duration_ms=1)
    issued = issue_for_attempt(rt, spec_id, outcome.photo_sha256, photo) if kind == "pass" else None
    assert orders.finish_attempt(rt, claim, outcome, issued)
    return new.order_id, new.token, attempt_id


def _settled(rt: Any, order_id: str) -> bool:
    from receipt.service.db import Order

    with rt.db.session() as session:
        order = session.get(Order, order_id)
        return order is not None and order.status in ("in_review", "issued", "rejected", "error")


def add_reviewer(rt: Any, name: str, *, admin: bool = False, password: str = PASSWORD) -> None:
    from receipt.service.review.accounts import add_reviewer as add

    add(rt, name, password, admin=admin)


def unique_name(prefix: str = "rv") -> str:
    return f"{prefix}{secrets.token_hex(3)}"


def wait_status(client: Any, order_id: str, token: str, status: str, timeout: float = 30) -> dict[str, Any]:
    def check() -> dict[str, Any] | None:
        view = client.get(f"/api/v1/orders/{order_id}", headers={"Authorization": f"Bearer {token}"}).json()
        return view if view["status"] == status else None
    return wait_for(check, timeout, 0.1, what=f"order {order_id} to be {status}")  # type: ignore[no-any-return]


def elapsed(start: float) -> float:
    return time.monotonic() - start
