"""Security headers: on JSON, errors, files, the applicant page and the docs; HSTS only over https."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import httpx
import pytest
import uvicorn
from fastapi.testclient import TestClient

from receipt.web.app import create_app
from receipt.web.security import API_POLICY, DOCS_POLICY, PAGE_POLICY, policy_for
from tests.service_fixtures import Backend, free_port, wait_for

COMMON = {"x-content-type-options": "nosniff", "referrer-policy": "no-referrer", "x-frame-options": "DENY"}


@pytest.fixture
def client(backend: Backend) -> Iterator[TestClient]:
    with TestClient(create_app(backend.settings())) as c:
        yield c


def _common(response: httpx.Response) -> None:
    for name, value in COMMON.items():
        assert response.headers.get(name) == value, (response.url, name)
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    assert "strict-transport-security" not in response.headers  # plain http


def test_every_kind_of_response_carries_the_headers(client: TestClient) -> None:
    for path, method in (("/api/v1/specs", "GET"), ("/api/v1/health", "GET"), ("/no/such/path", "GET"),
                         ("/api/v1/specs", "DELETE"), ("/api/v1/orders/" + "0" * 20, "GET"),
                         ("/static/applicant/applicant.js", "GET"), ("/openapi.json", "GET")):
        r = client.request(method, path)
        _common(r)
        assert r.headers["content-security-policy"] == API_POLICY, path


def test_pages_get_the_strict_policy_and_docs_their_own(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    _common(page)
    assert page.headers["content-security-policy"] == PAGE_POLICY
    assert "'unsafe-inline'" not in PAGE_POLICY and "script-src 'self';" in PAGE_POLICY
    assert "<script>" not in page.text.replace('<script id="specs-data" type="application/json">', "")
    docs = client.get("/docs")
    _common(docs)
    assert docs.headers["content-security-policy"] == DOCS_POLICY
    assert policy_for("/redoc", "text/html; charset=utf-8") == DOCS_POLICY
    assert policy_for("/docsx", "text/html") == PAGE_POLICY


def test_hsts_over_https(backend: Backend) -> None:
    with TestClient(create_app(backend.settings()), base_url="https://testserver") as c:
        r = c.get("/api/v1/specs")
    assert r.headers["strict-transport-security"].startswith("max-age=")


def test_hsts_behind_a_proxy_only_with_proxy_headers(backend: Backend) -> None:
    for trusted in (True, False):
        port = free_port()
        server = uvicorn.Server(uvicorn.Config(create_app(backend.settings(), background=False), host="127.0.0.1",
                                               port=port, log_level="warning", proxy_headers=trusted,
                                               forwarded_allow_ips="127.0.0.1"))
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        try:
            wait_for(lambda: server.started, 30, what="uvicorn start")  # noqa: B023 - used at once
            r = httpx.get(f"http://127.0.0.1:{port}/api/v1/specs", headers={"X-Forwarded-Proto": "https"})
            assert ("strict-transport-security" in r.headers) is trusted
        finally:
            server.should_exit = True
            thread.join(15)
