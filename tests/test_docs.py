"""/docs and /redoc render offline: every asset comes from this server (a browser test, the internet blocked)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from receipt.web.app import create_app
from tests.service_fixtures import Backend, LiveServer
from tests.test_page_applicant import browser  # noqa: F401  (the shared headless Chromium fixture)


def _backend(tmp_path: Path) -> Backend:
    (tmp_path / "home").mkdir(exist_ok=True)
    return Backend("sqlite", f"sqlite:///{tmp_path / 'docs.db'}", tmp_path)


def test_docs_pages_reference_only_local_assets(tmp_path: Path) -> None:
    with TestClient(create_app(_backend(tmp_path).settings(), background=False)) as client:
        for path in ("/docs", "/redoc"):
            html = client.get(path).text
            assert "cdn" not in html.lower() and "https://" not in html, path
        js = client.get("/static/api-docs/swagger-ui-bundle.js")
        assert js.status_code == 200 and len(js.content) > 500_000


def test_swagger_ui_renders_with_the_internet_blocked(browser: Any, tmp_path: Path) -> None:  # noqa: F811
    outside: list[str] = []
    with LiveServer(create_app(_backend(tmp_path).settings(), background=False)) as server:
        page = browser.new_page()

        def gate(route: Any) -> None:
            if route.request.url.startswith(server.url):
                route.continue_()
            else:
                outside.append(route.request.url)
                route.abort()
        page.route("**/*", gate)
        page.goto(server.url + "/docs")
        page.wait_for_selector(".swagger-ui .info .title", timeout=30_000)
        page.wait_for_selector(".opblock-summary-path", timeout=30_000)
        shot = tmp_path / "docs.png"
        page.screenshot(path=str(shot), full_page=False)
        assert shot.stat().st_size > 20_000  # a rendered page, not a blank one
        assert "Photo receipt" in page.inner_text(".swagger-ui .info .title")
        paths = page.locator(".opblock-summary-path").all_inner_texts()
        assert any("/api/v1/orders" in p for p in paths), paths
        page.goto(server.url + "/redoc")
        page.wait_for_selector("h1", timeout=30_000)
        assert "Photo receipt" in page.inner_text("h1")
        page.close()
    assert not outside, f"the docs asked the internet for {outside}"
