"""The reviewer screens in headless Chromium, keyboard only, against a live server (SQLite, in-process jobs).

One server for the module; the tests run in file order and share its queue, like a reviewer's shift.
Screenshots of the queue, case, reject dialog and admin pages go to /tmp/review-shots.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from receipt.web.app import create_app
from tests.conftest import require
from tests.review_helpers import PASSWORD, add_reviewer, grace_hopper, seed_case, with_comment
from tests.service_fixtures import TEST_SPEC, Backend, LiveServer, wait_for

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
UNDO_S = 1.0
SHOTS = Path("/tmp/review-shots")
DESKTOP = {"width": 1366, "height": 768}
TABLET = {"width": 820, "height": 1180}


@pytest.fixture(scope="module")
def pw() -> Iterator[Any]:
    require(Path(CHROMIUM).exists(), f"Chromium not installed at {CHROMIUM} (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        require(False, "playwright (python) not installed")
        raise
    with sync_playwright() as p:
        yield p


class Browsers:
    """Separate browser profiles = separate people (cookies, storage)."""

    def __init__(self, pw: Any) -> None:
        self.pw = pw
        self.contexts: list[Any] = []
        self.dirs: list[str] = []

    def new(self, *, bypass_csp: bool = True) -> Any:
        """bypass_csp: the test's own wait_for_function(...) scripts are eval'd, which the pages' CSP forbids."""
        profile = tempfile.mkdtemp(prefix="chromium-review-")
        context = self.pw.chromium.launch_persistent_context(profile, executable_path=CHROMIUM, args=CHROMIUM_ARGS,
                                                             headless=True, accept_downloads=True, viewport=DESKTOP,
                                                             bypass_csp=bypass_csp)
        self.contexts.append(context)
        self.dirs.append(profile)
        return context

    def close(self) -> None:
        for context in self.contexts:
            context.close()
        for d in self.dirs:
            shutil.rmtree(d, ignore_errors=True)


@pytest.fixture(scope="module")
def site(pw: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    root = tmp_path_factory.mktemp("review-page")
    (root / "home").mkdir()
    backend = Backend("sqlite", f"sqlite:///{root / 'review.db'}", root)
    app = create_app(backend.settings(review_undo_s=UNDO_S, audit_share=0.0))
    browsers = Browsers(pw)
    SHOTS.mkdir(parents=True, exist_ok=True)
    with LiveServer(app) as server:
        rt = app.state.rt
        add_reviewer(rt, "alice")
        add_reviewer(rt, "bob")
        add_reviewer(rt, "root", admin=True)
        yield {"url": server.url, "rt": rt, "browsers": browsers, "alice": browsers.new(), "root": root}
        browsers.close()


def login(context: Any, url: str, name: str, password: str = PASSWORD) -> Any:
    page = context.new_page()
    page.goto(f"{url}/review/")
    page.wait_for_url("**/review/login**")
    page.fill("#username", name)
    page.fill("#password", password)
    page.keyboard.press("Enter")
    page.wait_for_selector("[data-testid=queue]", state="attached")
    return page


def order_status(url: str, order_id: str, token: str) -> dict[str, Any]:
    return httpx.get(f"{url}/api/v1/orders/{order_id}", headers={"Authorization": f"Bearer {token}"}).json()  # type: ignore[no-any-return]


def applicant_page(context: Any, url: str, order_id: str, token: str) -> Any:
    page = context.new_page()
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{url}/")
    page.evaluate("([id, token]) => localStorage.setItem('photo-receipt-orders', JSON.stringify({[id]: token}))",
                  [order_id, token])
    page.goto(f"{url}/#order={order_id}")
    page.reload()
    return page


def current_attempt(page: Any) -> int:
    page.wait_for_function("() => /\\/review\\/cases\\/\\d+$/.test(location.pathname)")
    return int(page.url.rsplit("/", 1)[1])


def test_unauthenticated_is_refused_and_login_works(site: dict[str, Any]) -> None:
    url = site["url"]
    anon = site["browsers"].new()
    page = anon.new_page()
    for path in ("/review/", "/review/cases/1", "/review/admin", "/review/anything"):
        page.goto(url + path)
        assert "/review/login" in page.url, path
        assert page.locator("[data-testid=queue]").count() == 0
    assert page.request.get(f"{url}/api/v1/review/queue").status == 401
    assert page.request.get(f"{url}/api/v1/review/cases/1/upload.jpg").status == 401
    page.goto(url + "/review/")
    page.wait_for_url("**/review/login**")
    page.fill("#username", "alice")
    page.fill("#password", "not the password")
    page.keyboard.press("Enter")
    page.wait_for_selector("[data-testid=login-error]", state="visible")
    assert page.get_attribute("[data-testid=login-error]", "data-code") == "LOGIN_FAILED"
    page.fill("#password", PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_selector("[data-testid=queue]", state="attached")
    assert page.inner_text("[data-testid=me]") == "alice"
    page.close()


def test_enter_opens_the_oldest_case_and_a_approves(site: dict[str, Any]) -> None:
    url, rt = site["url"], site["rt"]
    # the applicant's own upload, judged by the real in-process worker: grace_hopper goes to review
    r = httpx.post(f"{url}/api/v1/orders", data={"spec": TEST_SPEC, "applicant_name": "Grace Hopper"},
                   files={"photo": ("grace.jpg", with_comment(grace_hopper()), "image/jpeg")}, timeout=30)
    assert r.status_code == 202, r.text
    order_id, token = r.json()["order_id"], r.json()["token"]
    wait_for(lambda: order_status(url, order_id, token)["status"] == "in_review", 90, what="grace_hopper in review")
    TOKENS[order_id] = token
    for _ in range(5):
        seed(rt)
    page = login(site["alice"], url, "alice")
    page.wait_for_selector("[data-testid=queue-case]")
    first = int(page.locator("[data-testid=queue-case]").first.get_attribute("data-attempt"))
    page.wait_for_function("document.querySelector('[data-testid=queue-case] img').naturalWidth > 0")
    page.screenshot(path=str(SHOTS / "queue.png"), full_page=True)
    page.keyboard.press("Enter")
    assert current_attempt(page) == first
    view = order_status(url, order_id, token)
    assert view["attempts"][0]["verdict"] == "review"
    page.wait_for_selector("#rules tr")
    page.wait_for_function("document.getElementById('img-upload').naturalWidth > 0")
    page.wait_for_function("document.querySelectorAll('#overlay rect, #overlay polygon').length > 0")
    page.screenshot(path=str(SHOTS / "case.png"))
    assert page.locator("#rules tr").first.get_attribute("data-code") == "HAT"
    page.keyboard.press("v")
    assert page.locator("#overlay.off").count() == 1
    page.keyboard.press("v")
    page.keyboard.press("a")
    page.wait_for_selector("[data-testid=toast]")
    page.wait_for_function(f"() => !location.pathname.endsWith('/{first}')")  # the next case opened at once
    assert order_status(url, order_id, token)["status"] == "in_review"  # not before the window is over
    wait_for(lambda: order_status(url, order_id, token)["status"] == "issued", 20, what="approval to take effect")

    applicant = applicant_page(site["alice"], url, order_id, token)
    applicant.wait_for_selector("[data-testid=result-issued]", state="visible", timeout=30_000)
    with applicant.expect_download() as info:
        applicant.click("[data-testid=download]")
    saved = site["root"] / "receipt.pdf"
    info.value.save_as(saved)
    assert saved.read_bytes().startswith(b"%PDF")
    applicant.close()
    site["page"] = page


def test_r_1_2_enter_rejects_with_both_reasons(site: dict[str, Any]) -> None:
    url, rt, page = site["url"], site["rt"], site["page"]
    attempt_id = current_attempt(page)
    order_id, token = _order_of(rt, attempt_id)
    page.wait_for_selector("#btn-reject:not([disabled])")
    page.keyboard.press("r")
    page.wait_for_selector("[data-testid=reject-dialog]", state="visible")
    assert page.locator("[data-testid=reason].on").count() == 0  # nothing selected
    codes = [page.locator("[data-testid=reason]").nth(i).get_attribute("data-code") for i in (0, 1)]
    assert codes[0] == "HAT"  # the flagged rule's reason is 1
    page.keyboard.press("1")
    page.keyboard.press("2")
    page.screenshot(path=str(SHOTS / "reject-dialog.png"))
    assert page.locator("[data-testid=reason].on").count() == 2
    page.keyboard.press("Enter")
    page.wait_for_function(f"() => !location.pathname.endsWith('/{attempt_id}')")
    wait_for(lambda: order_status(url, order_id, token)["status"] == "rejected", 20, what="rejection to take effect")
    applicant = applicant_page(site["alice"], url, order_id, token)
    applicant.wait_for_selector("[data-testid=result-rejected]", state="visible", timeout=30_000)
    for code in codes:
        assert applicant.locator(f"[data-testid=reasons] li[data-code={code}]").count() == 1
    assert applicant.locator("[data-testid=resubmit]").is_visible()
    assert not applicant.locator("[data-testid=appeal]").is_visible()  # a reviewer's rejection: no appeal
    applicant.close()


def test_filter_and_note_then_a_u_undoes(site: dict[str, Any]) -> None:
    url, rt, page = site["url"], site["rt"], site["page"]
    attempt_id = current_attempt(page)
    order_id, token = _order_of(rt, attempt_id)
    page.wait_for_selector("#btn-approve:not([disabled])")
    page.keyboard.press("?")
    assert page.locator("#help").is_visible()
    page.keyboard.press("Escape")
    assert page.locator("#help").is_hidden()
    page.keyboard.press("j")  # next case, then back
    page.wait_for_function(f"() => !location.pathname.endsWith('/{attempt_id}')")
    page.wait_for_selector("#btn-approve:not([disabled])")
    page.keyboard.press("k")
    page.wait_for_function(f"() => location.pathname.endsWith('/{attempt_id}')")
    page.wait_for_selector("#btn-approve:not([disabled])")
    page.keyboard.press("n")  # the note: shortcuts are off while typing
    page.keyboard.type("a hat? no")
    assert page.input_value("#note") == "a hat? no"
    page.keyboard.press("Escape")
    page.keyboard.press("r")
    page.keyboard.press("/")
    page.keyboard.type("earr")
    assert [c for c in page.locator("[data-testid=reason]").evaluate_all("els => els.map(e => e.dataset.code)")] == \
        ["EARRINGS"]
    page.keyboard.press("Escape")  # leaves the filter
    page.keyboard.press("Escape")  # closes the dialog
    assert page.locator("[data-testid=reject-dialog]").is_hidden()
    page.keyboard.press("a")
    page.wait_for_function(f"() => !location.pathname.endsWith('/{attempt_id}')")
    page.keyboard.press("u")
    page.wait_for_function(f"() => location.pathname.endsWith('/{attempt_id}')")  # back on the undone case
    time.sleep(UNDO_S + 1.0)
    view = order_status(url, order_id, token)
    assert view["status"] == "in_review" and view["receipt"] is None
    queue = page.request.get(f"{url}/api/v1/review/queue").json()
    assert attempt_id in [c["attempt_id"] for c in queue["cases"]]


def test_second_session_sees_case_claimed_and_csrf_is_required(site: dict[str, Any]) -> None:
    url, page = site["url"], site["page"]
    attempt_id = current_attempt(page)  # alice holds it
    bob = login(site["browsers"].new(bypass_csp=False), url, "bob")  # the pages' CSP enforced
    violations: list[str] = []
    bob.on("console", lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None)
    bob.goto(f"{url}/review/cases/{attempt_id}")
    bob.wait_for_selector("[data-testid=banner][data-code=CASE_CLAIMED]")
    assert "alice" in bob.inner_text("[data-testid=banner]")
    assert bob.locator("[data-testid=approve]").is_disabled()
    bob.keyboard.press("a")  # refused on the page as well as by the server
    assert violations == []
    r = bob.request.post(f"{url}/api/v1/review/cases/{attempt_id}/decision", data=json.dumps({"approve": True}),
                         headers={"Content-Type": "application/json"})
    assert r.status == 403 and r.json()["error"]["code"] == "CSRF_FAILED"
    csrf = bob.get_attribute("meta[name=csrf-token]", "content")
    r = bob.request.post(f"{url}/api/v1/review/cases/{attempt_id}/decision", data=json.dumps({"approve": True}),
                         headers={"Content-Type": "application/json", "X-CSRF-Token": csrf})
    assert r.status == 409 and r.json()["error"]["code"] == "CASE_CLAIMED"
    bob.close()


def test_lockout_after_five_wrong_passwords(site: dict[str, Any]) -> None:
    url = site["url"]
    add_reviewer(site["rt"], "mallory")
    page = site["browsers"].new().new_page()
    page.goto(f"{url}/review/login")
    for _ in range(5):
        page.fill("#username", "mallory")
        page.fill("#password", "guess guess guess")
        page.keyboard.press("Enter")
        page.wait_for_selector("[data-testid=login-error][data-code=LOGIN_FAILED]")
        page.evaluate("document.querySelector('[data-testid=login-error]').removeAttribute('data-code')")
    page.fill("#password", PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_selector("[data-testid=login-error][data-code=LOGIN_THROTTLED]")
    assert "/review/login" in page.url


def test_an_appeal_reaches_the_queue(site: dict[str, Any]) -> None:
    url, rt, page = site["url"], site["rt"], site["page"]
    order_id, token, attempt_id = seed(rt, "reject")
    applicant = applicant_page(site["alice"], url, order_id, token)
    applicant.wait_for_selector("[data-testid=appeal]", state="visible", timeout=30_000)
    applicant.click("[data-testid=appeal]")
    applicant.wait_for_function("document.querySelector('[data-testid=status]').dataset.status === 'in_review'")
    applicant.close()
    page.goto(f"{url}/review/")
    page.wait_for_selector(f"[data-testid=queue-case][data-attempt='{attempt_id}'].k-appeal", timeout=10_000)


def test_admin_page(site: dict[str, Any]) -> None:
    url = site["url"]
    root = login(site["browsers"].new(), url, "root")
    root.goto(f"{url}/review/admin")
    root.wait_for_selector("[data-testid=agreement]")
    text = root.inner_text("[data-testid=reviewers]")
    assert "alice" in text and "bob" in text
    assert "HAT" in root.inner_text("[data-testid=agreement]")
    root.screenshot(path=str(SHOTS / "admin.png"), full_page=True)
    site["page"].goto(f"{url}/review/admin")  # alice is no admin
    assert "admins only" in site["page"].inner_text("main")
    # the case page at tablet width
    root.set_viewport_size(TABLET)
    root.goto(f"{url}/review/")
    root.wait_for_selector("[data-testid=queue-case]")
    root.keyboard.press("Enter")
    root.wait_for_selector("#rules tr")
    root.wait_for_function("document.getElementById('img-upload').naturalWidth > 0")
    root.screenshot(path=str(SHOTS / "case-tablet.png"))
    box = root.locator("[data-testid=approve]").bounding_box()
    assert box and box["x"] + box["width"] <= TABLET["width"]


TOKENS: dict[str, str] = {}  # order id -> bearer token of every order this module made


def seed(rt: Any, kind: str = "review") -> tuple[str, str, int]:
    order_id, token, attempt_id = seed_case(rt, kind)
    TOKENS[order_id] = token
    return order_id, token, attempt_id


def _order_of(rt: Any, attempt_id: int) -> tuple[str, str]:
    """The order of the case on screen and its token."""
    from receipt.service.db import Attempt

    with rt.db.session() as session:
        attempt = session.get(Attempt, attempt_id)
        assert attempt is not None
        return attempt.order_id, TOKENS[attempt.order_id]
