"""The applicant page in headless Chromium: upload, see a rejection, resubmit, download the receipt."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from receipt.specs import get_spec
from receipt.web.app import create_app
from tests.conftest import require
from tests.service_fixtures import TEST_SPEC, Backend, LiveServer, compliant_photo, two_face_photo, wait_for

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    require(Path(CHROMIUM).exists(), f"Chromium not installed at {CHROMIUM} (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        require(False, "playwright (python) not installed")
        raise
    profile = tempfile.mkdtemp(prefix="chromium-profile-")
    with sync_playwright() as pw:
        # a persistent context gives the fresh user-data-dir the launch flags above expect
        context = pw.chromium.launch_persistent_context(profile, executable_path=CHROMIUM, args=CHROMIUM_ARGS,
                                                        headless=True, accept_downloads=True)
        yield context
        context.close()
    shutil.rmtree(profile, ignore_errors=True)


def test_upload_reject_resubmit_and_download(browser: Any, tmp_path: Path) -> None:
    # the page is database-agnostic (the API tests run on both); SQLite and in-process jobs here
    (tmp_path / "home").mkdir()
    backend = Backend("sqlite", f"sqlite:///{tmp_path / 'page.db'}", tmp_path)
    bad = tmp_path / "two-faces.jpg"
    bad.write_bytes(two_face_photo())
    good = tmp_path / "portrait.jpg"
    good.write_bytes(compliant_photo())
    with LiveServer(create_app(backend.settings())) as server:
        page = browser.new_page()
        console: list[str] = []
        page.on("console", lambda msg: console.append(msg.text))
        page.set_viewport_size({"width": 390, "height": 844})  # a phone
        page.goto(server.url + "/")
        assert "script-src 'self'" in (page.evaluate("fetch('/').then(r => r.headers.get('content-security-policy'))"))
        page.select_option("#city", "shenzhen")
        page.select_option("#spec", TEST_SPEC)  # a province-wide spec, listed under every city
        page.fill("#applicant_name", "张三")
        page.set_input_files("[data-testid=album-input] >> nth=0", str(bad))
        page.click("#submit")
        page.wait_for_selector("[data-testid=result-rejected]", state="visible", timeout=60_000)
        assert page.locator("[data-testid=status]").get_attribute("data-status") == "rejected"
        assert page.locator("[data-testid=reasons] li[data-code=FACE_COUNT]").count() == 1
        page.wait_for_function("document.getElementById('annotated').naturalWidth > 0")
        assert "重新提交" in page.inner_text("[data-testid=resubmit]")
        order_id = page.inner_text("#order-id")

        page.set_input_files("#pick-resubmit [data-testid=album-input]", str(good))
        page.click("[data-testid=resubmit]")
        page.wait_for_selector("[data-testid=result-issued]", state="visible", timeout=60_000)
        assert page.inner_text("#order-id") == order_id  # same order, second attempt
        number = page.inner_text("[data-testid=receipt-number]").replace(" ", "")
        assert len(number) == 15 and number.startswith(get_spec(TEST_SPEC).number_prefix)
        page.wait_for_function("document.getElementById('issued-photo').naturalWidth > 0")
        with page.expect_download() as info:
            page.click("[data-testid=download]")
        saved = tmp_path / "receipt.pdf"
        info.value.save_as(saved)
        assert saved.read_bytes().startswith(b"%PDF") and number in info.value.suggested_filename

        page.reload()  # the order survives a reload (token kept on this device)
        page.wait_for_selector("[data-testid=result-issued]", state="visible", timeout=30_000)
        page.close()
        # the whole flow ran under the page's strict CSP without a single violation
        assert not [m for m in console if "Content Security Policy" in m], console


def test_page_csp_blocks_inline_script(browser: Any, tmp_path: Path) -> None:
    (tmp_path / "home").mkdir()
    backend = Backend("sqlite", f"sqlite:///{tmp_path / 'page.db'}", tmp_path)
    with LiveServer(create_app(backend.settings())) as server:
        page = browser.new_page()
        console: list[str] = []
        page.on("console", lambda msg: console.append(msg.text))
        page.goto(server.url + "/")
        page.select_option("#city", "shenzhen")
        page.select_option("#spec", "shenzhen-ssc")  # draws the background swatch (CSSOM, not a style attribute)
        assert page.evaluate("getComputedStyle(document.querySelector('#spec-info .swatch')).backgroundColor") \
            not in ("", "rgba(0, 0, 0, 0)")
        assert not [m for m in console if "Content Security Policy" in m], console
        page.evaluate("""() => { window.__violations = 0;
            document.addEventListener('securitypolicyviolation', () => { window.__violations += 1; });
            const s = document.createElement('script'); s.textContent = 'window.__inline = 1';
            document.body.appendChild(s); }""")
        page.wait_for_function("window.__violations > 0", timeout=5_000)
        assert page.evaluate("window.__inline === undefined")


def test_order_opens_on_another_device_from_the_link_or_qr_code(browser: Any, tmp_path: Path) -> None:
    import zxingcpp
    from PIL import Image

    (tmp_path / "home").mkdir()
    backend = Backend("sqlite", f"sqlite:///{tmp_path / 'share.db'}", tmp_path)
    good = tmp_path / "portrait.jpg"
    good.write_bytes(compliant_photo())
    with LiveServer(create_app(backend.settings())) as server:
        page = browser.new_page()
        page.goto(server.url + "/")
        page.select_option("#spec", TEST_SPEC)
        page.fill("#applicant_name", "李四")
        page.set_input_files("[data-testid=album-input] >> nth=0", str(good))
        page.click("#submit")
        page.wait_for_selector("[data-testid=result-issued]", state="visible", timeout=60_000)
        number = page.inner_text("[data-testid=receipt-number]")
        card = page.inner_text("[data-testid=share-card]")
        assert "任何持有此链接或二维码的人都能查看此订单" in card and "Anyone who has this link" in card
        page.click("[data-testid=share-show]")
        # polled from here: wait_for_function's predicate is eval'd in the page, which its CSP forbids
        wait_for(lambda: page.evaluate("() => document.getElementById('share-qr').naturalWidth > 0"), 15,
                 what="the QR code")
        link = page.input_value("[data-testid=share-link]")
        order_id = page.inner_text("#order-id")
        assert link.startswith(f"{server.url}/#order={order_id}&token=")
        qr_png = tmp_path / "qr.png"
        page.locator("#share-qr").screenshot(path=str(qr_png))
        decoded = [r.text for r in zxingcpp.read_barcodes(Image.open(qr_png).convert("L"))]
        assert decoded == [link]

        # another device: nothing stored; the link alone opens the order, and the token leaves the URL
        page.evaluate("localStorage.clear()")
        page.goto("about:blank")
        page.goto(link)
        page.wait_for_selector("[data-testid=result-issued]", state="visible", timeout=30_000)
        assert page.inner_text("[data-testid=receipt-number]") == number
        assert page.evaluate("location.hash") == f"#order={order_id}"
        page.close()
