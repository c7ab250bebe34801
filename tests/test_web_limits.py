"""Rate limits on the applicant API: uploads and resubmissions per address, token guessing, allow-list,
counts shared through Redis by several API processes."""

from __future__ import annotations

import secrets

import pytest
from fastapi.testclient import TestClient

from receipt.web.app import create_app
from receipt.web.limits import parse_allow_list
from tests.conftest import require
from tests.service_fixtures import REDIS_URL, TEST_SPEC, Backend, redis_available, two_face_photo


def _upload(client: TestClient) -> object:
    return client.post("/api/v1/orders", files={"photo": ("p.jpg", two_face_photo(), "image/jpeg")},
                       data={"spec": TEST_SPEC, "applicant_name": "测试"})


def test_uploads_over_the_limit_get_429_with_retry_after(backend: Backend) -> None:
    with TestClient(create_app(backend.settings(rate_uploads="2/minute"), background=False)) as client:
        first, second, third = (_upload(client) for _ in range(3))
        assert first.status_code == second.status_code == 202  # type: ignore[attr-defined]
        assert "remaining=0" in second.headers["RateLimit"]  # type: ignore[attr-defined]
        assert third.status_code == 429  # type: ignore[attr-defined]
        assert third.json()["error"]["code"] == "RATE_LIMITED"  # type: ignore[attr-defined]
        assert 1 <= int(third.headers["Retry-After"]) <= 60  # type: ignore[attr-defined]
        assert client.get("/api/v1/specs").status_code == 200  # other routes are not affected


def test_token_guessing_is_refused_after_the_failure_budget(backend: Backend) -> None:
    with TestClient(create_app(backend.settings(rate_order_failures="3/minute"), background=False)) as client:
        order = _upload(client).json()  # type: ignore[attr-defined]
        url = f"/api/v1/orders/{order['order_id']}"
        wrong = {"Authorization": f"Bearer {secrets.token_urlsafe(32)}"}
        assert [client.get(url, headers=wrong).status_code for _ in range(3)] == [404, 404, 404]
        refused = client.get(url, headers=wrong)
        assert refused.status_code == 429 and refused.json()["error"]["code"] == "RATE_LIMITED"
        assert "Retry-After" in refused.headers
        # the address is cooling off, whatever token it sends now
        assert client.get(url, headers={"Authorization": f"Bearer {order['token']}"}).status_code == 429


def test_allow_listed_partner_is_not_counted(backend: Backend) -> None:
    # an hour, not a minute: the sliding window may forgive a hit that falls just before its boundary
    settings = backend.settings(rate_uploads="1/hour", rate_allow="testclient-is-no-address, 10.0.0.0/8")
    with pytest.raises(ValueError):
        parse_allow_list(settings.rate_allow)
    settings = settings.with_(rate_allow="127.0.0.0/8,::1")
    app = create_app(settings, background=False)
    with TestClient(app, client=("127.0.0.9", 5000)) as client:
        assert [_upload(client).status_code for _ in range(3)] == [202, 202, 202]  # type: ignore[attr-defined]
    with TestClient(create_app(settings, background=False), client=("203.0.113.5", 5000)) as client:
        assert [_upload(client).status_code for _ in range(2)] == [202, 429]  # type: ignore[attr-defined]


def test_two_api_processes_share_the_counts_through_redis(backend: Backend) -> None:
    require(redis_available(), f"Redis not reachable at {REDIS_URL}")
    settings = backend.settings(rate_uploads="3/minute", rate_limit_storage=REDIS_URL)
    address = f"198.51.100.{secrets.randbelow(200) + 1}"
    with TestClient(create_app(settings, background=False), client=(address, 1)) as a, \
            TestClient(create_app(settings, background=False), client=(address, 2)) as b:
        codes = [_upload(a).status_code, _upload(b).status_code, _upload(a).status_code,  # type: ignore[attr-defined]
                 _upload(b).status_code]  # type: ignore[attr-defined]
    assert codes[:3] == [202, 202, 202] and codes[3] == 429
