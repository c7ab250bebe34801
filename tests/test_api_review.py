"""Reviewer API end to end on SQLite and PostgreSQL: sessions, throttling, queue, claims, decisions
with their undo window, appeals, audits and revocation. A live server, one HTTP client per person."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from receipt.web.app import create_app
from tests.review_helpers import PASSWORD, add_reviewer, seed_case, unique_name
from tests.service_fixtures import Backend, LiveServer, compliant_photo, wait_for

UNDO_S = 1.0


@pytest.fixture(scope="module")
def server(backend: Backend) -> Iterator[tuple[LiveServer, Any]]:
    app = create_app(backend.settings(review_undo_s=UNDO_S, audit_share=0.0, appeals_per_hour=3))
    with LiveServer(app) as live:
        yield live, app.state.rt


def session_client(url: str, name: str | None = None, password: str = PASSWORD) -> httpx.Client:
    client = httpx.Client(base_url=url, timeout=30)
    if name:
        r = client.post("/api/v1/review/login", json={"username": name, "password": password})
        assert r.status_code == 200, r.text
        client.headers["X-CSRF-Token"] = r.json()["csrf_token"]
    return client


def code(r: httpx.Response) -> str:
    return r.json()["error"]["code"]  # type: ignore[no-any-return]


def order(client: httpx.Client, order_id: str, token: str) -> dict[str, Any]:
    return client.get(f"/api/v1/orders/{order_id}", headers={"Authorization": f"Bearer {token}"}).json()  # type: ignore[no-any-return]


def wait_order(client: httpx.Client, order_id: str, token: str, status: str, timeout: float = 20) -> dict[str, Any]:
    return wait_for(lambda: (v := order(client, order_id, token))["status"] == status and v, timeout,  # type: ignore[no-any-return]
                    what=f"order {order_id} to become {status}")


def test_everything_needs_a_session(server: tuple[LiveServer, Any]) -> None:
    live, rt = server
    order_id, _, attempt_id = seed_case(rt)
    anon = session_client(live.url)
    for method, path in [("GET", "/queue"), ("GET", f"/cases/{attempt_id}"), ("GET", f"/cases/{attempt_id}/upload.jpg"),
                         ("GET", f"/cases/{attempt_id}/photo.jpg"), ("GET", f"/cases/{attempt_id}/annotated.jpg"),
                         ("POST", f"/cases/{attempt_id}/claim"), ("DELETE", f"/cases/{attempt_id}/claim"),
                         ("POST", f"/cases/{attempt_id}/decision"), ("POST", "/decisions/1/undo"),
                         ("GET", "/reasons"), ("POST", "/logout")]:
        r = anon.request(method, "/api/v1/review" + path, json={"approve": True})
        assert r.status_code == 401 and code(r) == "REVIEW_AUTH_REQUIRED", (path, r.text)
        assert order_id not in r.text
    # a forged cookie is no session either
    anon.cookies.set("review_session", "eyJhbGciOi.forged.value")
    assert anon.get("/api/v1/review/queue").status_code == 401


def test_login_cookie_csrf_and_logout(server: tuple[LiveServer, Any]) -> None:
    live, rt = server
    name = unique_name()
    add_reviewer(rt, name)
    client = httpx.Client(base_url=live.url, timeout=30)
    bad = client.post("/api/v1/review/login", json={"username": name, "password": "wrong password!"})
    assert bad.status_code == 401 and code(bad) == "LOGIN_FAILED"
    r = client.post("/api/v1/review/login", json={"username": name, "password": PASSWORD})
    assert r.status_code == 200 and r.json()["reviewer"] == name and r.json()["role"] == "reviewer"
    cookie = r.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie and "secure" not in cookie  # plain http here
    csrf = r.json()["csrf_token"]
    assert client.get("/api/v1/review/queue").status_code == 200
    reasons = client.get("/api/v1/review/reasons").json()["reasons"]
    assert {"HAT", "EARS_COVERED", "FACE_JEWELLERY", "OTHER"} <= {x["code"] for x in reasons}
    assert all(x["zh"] and x["en"] for x in reasons)
    assert code(client.post("/api/v1/review/logout")) == "CSRF_FAILED"
    assert client.post("/api/v1/review/logout", headers={"X-CSRF-Token": csrf}).status_code == 200
    stolen = httpx.Client(base_url=live.url, cookies={"review_session": cookie.split(";")[0].split("=", 1)[1]})
    assert stolen.get("/api/v1/review/queue").status_code == 401  # logged out: the old cookie is dead
    assert client.get("/api/v1/review/queue").status_code == 401


def test_lockout_after_five_wrong_passwords_and_twenty_per_client(server: tuple[LiveServer, Any],
                                                                   caplog: pytest.LogCaptureFixture) -> None:
    live, rt = server
    name = unique_name()
    add_reviewer(rt, name)
    client = httpx.Client(base_url=live.url, timeout=30)
    for _ in range(5):
        assert client.post("/api/v1/review/login", json={"username": name, "password": "not it at all"}).status_code == 401
    with caplog.at_level(logging.WARNING, logger="receipt.service.review.accounts"):
        r = client.post("/api/v1/review/login", json={"username": name, "password": PASSWORD})  # right, but too late
    assert r.status_code == 429 and code(r) == "LOGIN_THROTTLED"
    assert any("cooling off" in rec.getMessage() for rec in caplog.records)
    # another name from the same address: 20 failures in all lock the address out
    other = unique_name()
    add_reviewer(rt, other)
    failures = 5
    while failures < 20:
        r = client.post("/api/v1/review/login", json={"username": unique_name("nobody"), "password": "x" * 12})
        assert r.status_code == 401
        failures += 1
    r = client.post("/api/v1/review/login", json={"username": other, "password": PASSWORD})
    assert r.status_code == 429
    from sqlalchemy import delete

    from receipt.service.review.models import LoginFailure

    with rt.db.session() as session:  # the other tests log in from the same loopback address
        session.execute(delete(LoginFailure))


def test_claim_decide_wait_issue(server: tuple[LiveServer, Any]) -> None:
    live, rt = server
    alice, bob = unique_name("alice"), unique_name("bob")
    add_reviewer(rt, alice)
    add_reviewer(rt, bob)
    a, b = session_client(live.url, alice), session_client(live.url, bob)
    order_id, token, attempt_id = seed_case(rt, id_number="440305199001011234"[:17] + _check("44030519900101123"))
    queue = a.get("/api/v1/review/queue").json()
    ours = [c for c in queue["cases"] if c["attempt_id"] == attempt_id]
    assert ours and ours[0]["kind"] == "review" and "HAT" in ours[0]["flagged"] and ours[0]["claimed_by"] is None
    waits = [c["waiting_s"] for c in queue["cases"]]
    assert waits == sorted(waits, reverse=True) and queue["oldest_waiting_s"] == waits[0]  # oldest first
    assert queue["counts"]["review"] >= 1 and "audit" not in queue["counts"]
    assert a.get("/api/v1/review/queue", params={"rule": "HAT"}).json()["cases"]
    assert not a.get("/api/v1/review/queue", params={"kind": "appeal", "rule": "NO_SUCH"}).json()["cases"]

    case = a.get(f"/api/v1/review/cases/{attempt_id}").json()
    assert case["applicant"]["id_number"].startswith("4403") and case["applicant"]["id_number"].count("*") == 10
    assert case["rules"][0]["flagged"] and case["rules"][0]["code"] == "HAT" and case["rules"][0]["score"] is not None
    assert any(r["evidence"] for r in case["rules"])
    import io

    from PIL import Image

    upload = Image.open(io.BytesIO(a.get(f"/api/v1/review/cases/{attempt_id}/upload.jpg").content))
    assert upload.size == (512, 600)  # the working copy: evidence regions are in its pixels
    assert a.get(f"/api/v1/review/cases/{attempt_id}/photo.jpg").content[:2] == b"\xff\xd8"

    assert a.post(f"/api/v1/review/cases/{attempt_id}/claim").status_code == 200
    taken = b.post(f"/api/v1/review/cases/{attempt_id}/claim")
    assert taken.status_code == 409 and code(taken) == "CASE_CLAIMED" and alice in taken.json()["error"]["message"]
    assert code(b.post(f"/api/v1/review/cases/{attempt_id}/decision", json={"approve": True})) == "CASE_CLAIMED"
    assert a.get("/api/v1/review/queue").json()["cases"][[c["attempt_id"] for c in
                                                           a.get("/api/v1/review/queue").json()["cases"]]
                                                          .index(attempt_id)]["claimed_by"] == alice
    no_csrf = a.post(f"/api/v1/review/cases/{attempt_id}/decision", json={"approve": True},
                     headers={"X-CSRF-Token": ""})
    assert no_csrf.status_code == 403 and code(no_csrf) == "CSRF_FAILED"
    wrong = a.post(f"/api/v1/review/cases/{attempt_id}/decision", json={"approve": True},
                   headers={"X-CSRF-Token": b.headers["X-CSRF-Token"]})  # bob's token is not alice's
    assert wrong.status_code == 403
    assert a.post(f"/api/v1/review/cases/{attempt_id}/decision", json={"approve": False}).status_code == 422
    assert code(a.post(f"/api/v1/review/cases/{attempt_id}/decision",
                       json={"approve": False, "reasons": ["NOPE"]})) == "REASON_UNKNOWN"

    started = time.monotonic()
    r = a.post(f"/api/v1/review/cases/{attempt_id}/decision", json={"approve": True, "note": "hair, not a hat"})
    assert r.status_code == 200, r.text
    decided = r.json()
    assert decided["order_status"] == "in_review" and decided["decision_id"] and decided["effective_at"]
    assert order(a, order_id, token)["status"] == "in_review"  # nothing has taken effect yet
    again = a.post(f"/api/v1/review/cases/{attempt_id}/decision", json={"approve": False, "reasons": ["HAT"]})
    assert again.status_code == 409 and code(again) == "REVIEW_ALREADY_DECIDED"
    assert attempt_id not in [c["attempt_id"] for c in a.get("/api/v1/review/queue").json()["cases"]]
    view = wait_order(a, order_id, token, "issued")
    assert time.monotonic() - started >= UNDO_S * 0.9
    assert view["receipt"]["approved_by"] == "reviewer"
    pdf = a.get(f"/api/v1/orders/{order_id}/receipt.pdf", headers={"Authorization": f"Bearer {token}"})
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    late = a.post(f"/api/v1/review/decisions/{decided['decision_id']}/undo")
    assert late.status_code == 409 and code(late) == "UNDO_TOO_LATE"
    events = a.get(f"/api/v1/orders/{order_id}/events", headers={"Authorization": f"Bearer {token}"}).text
    assert alice not in events and "review.decided" in events  # the outcome, never the reviewer


def _check(body: str) -> str:
    from receipt.service.applicants import id_check_character

    return id_check_character(body)


def test_undo_within_window_then_reject_with_two_reasons(server: tuple[LiveServer, Any]) -> None:
    live, rt = server
    carol = unique_name("carol")
    add_reviewer(rt, carol)
    c = session_client(live.url, carol)
    order_id, token, attempt_id = seed_case(rt)
    c.post(f"/api/v1/review/cases/{attempt_id}/claim")
    decided = c.post(f"/api/v1/review/cases/{attempt_id}/decision", json={"approve": True}).json()
    undone = c.post(f"/api/v1/review/decisions/{decided['decision_id']}/undo")
    assert undone.status_code == 200 and undone.json()["attempt_id"] == attempt_id
    time.sleep(UNDO_S + 1.0)  # past the window and a few sweeps: still nothing happened
    view = order(c, order_id, token)
    assert view["status"] == "in_review" and view["receipt"] is None
    back = [x for x in c.get("/api/v1/review/queue").json()["cases"] if x["attempt_id"] == attempt_id]
    assert back and back[0]["claimed_by"] is None  # back in the queue, unclaimed

    r = c.post(f"/api/v1/review/cases/{attempt_id}/decision", json={"approve": False, "reasons": ["HAT", "EARS_COVERED"]})
    assert r.status_code == 200
    view = wait_order(c, order_id, token, "rejected")
    reasons = view["attempts"][-1]["reasons"]
    assert [x["code"] for x in reasons] == ["HAT", "EARS_COVERED"] and reasons[0]["message_zh"] == "戴帽子或头饰"
    assert view["can_resubmit"]

    from sqlalchemy import select

    from receipt.service.review.models import ReviewAudit

    with rt.db.session() as session:
        actions = [(x.actor, x.action) for x in session.scalars(
            select(ReviewAudit).where(ReviewAudit.attempt_id == attempt_id).order_by(ReviewAudit.id))]
        seen = session.scalars(select(ReviewAudit.data).where(ReviewAudit.attempt_id == attempt_id,
                                                              ReviewAudit.action == "decision")).all()
    assert actions == [(carol, "claim"), (carol, "decision"), (carol, "undo"), (carol, "decision"), ("system", "applied")]
    assert all("HAT" in d["rules_seen"] for d in seen)  # which scores the reviewer saw
    from sqlalchemy import update
    from sqlalchemy.exc import DBAPIError

    with pytest.raises(DBAPIError), rt.db.session() as session:  # the trail cannot be rewritten
        session.execute(update(ReviewAudit).where(ReviewAudit.attempt_id == attempt_id).values(actor="nobody"))


def test_appeal_reaches_the_queue(server: tuple[LiveServer, Any]) -> None:
    live, rt = server
    dave = unique_name("dave")
    add_reviewer(rt, dave)
    d = session_client(live.url, dave)
    order_id, token, attempt_id = seed_case(rt, "reject")
    auth = {"Authorization": f"Bearer {token}"}
    assert order(d, order_id, token)["status"] == "rejected"
    assert d.post(f"/api/v1/orders/{order_id}/appeal").status_code == 401
    assert d.post(f"/api/v1/orders/{order_id}/appeal", headers={"Authorization": "Bearer wrong"}).status_code == 404
    r = d.post(f"/api/v1/orders/{order_id}/appeal", headers=auth)
    assert r.status_code == 202 and r.json()["status"] == "in_review"
    assert code(d.post(f"/api/v1/orders/{order_id}/appeal", headers=auth)) in ("APPEAL_EXISTS", "APPEAL_NOT_ALLOWED")
    appeals = d.get("/api/v1/review/queue", params={"kind": "appeal"}).json()["cases"]
    ours = [x for x in appeals if x["attempt_id"] == attempt_id]
    assert ours and "FACE_COUNT" in ours[0]["flagged"]
    d.post(f"/api/v1/review/cases/{attempt_id}/claim")
    assert d.post(f"/api/v1/review/cases/{attempt_id}/decision",
                  json={"approve": False, "reasons": ["FACE_COUNT"]}).status_code == 200
    view = wait_order(d, order_id, token, "rejected")
    assert view["attempts"][-1]["reviewed"] and view["can_resubmit"]
    # rate limit: appeals_per_hour=3 from one address (this test's first appeal counts)
    statuses = []
    for _ in range(3):
        oid, tok, _ = seed_case(rt, "reject")
        statuses.append(d.post(f"/api/v1/orders/{oid}/appeal", headers={"Authorization": f"Bearer {tok}"}).status_code)
    assert statuses == [202, 202, 429]


def test_audit_sample_revokes_and_the_order_is_issued_again(backend: Backend) -> None:
    app = create_app(backend.settings(review_undo_s=0.5, audit_share=1.0))
    with LiveServer(app) as live:
        rt = app.state.rt
        admin, plain = unique_name("admin"), unique_name("eve")
        add_reviewer(rt, admin, admin=True)
        add_reviewer(rt, plain)
        boss, eve = session_client(live.url, admin), session_client(live.url, plain)
        order_id, token, attempt_id = seed_case(rt, "pass")
        view = order(boss, order_id, token)
        assert view["status"] == "issued"
        number = view["receipt"]["number"]
        audits = [x for x in boss.get("/api/v1/review/queue").json()["cases"] if x["kind"] == "audit"]
        assert attempt_id in [x["attempt_id"] for x in audits]
        assert attempt_id not in [x["attempt_id"] for x in eve.get("/api/v1/review/queue").json()["cases"]]
        assert eve.get(f"/api/v1/review/cases/{attempt_id}").status_code == 404  # audits are for admins
        boss.post(f"/api/v1/review/cases/{attempt_id}/claim")
        r = boss.post(f"/api/v1/review/cases/{attempt_id}/decision", json={"approve": False, "reasons": ["EARRINGS"]})
        assert r.status_code == 200 and r.json()["order_status"] == "issued"
        view = wait_order(boss, order_id, token, "revoked")
        assert view["receipt"] is None and view["can_resubmit"]
        assert [x["code"] for x in view["attempts"][-1]["reasons"]] == ["EARRINGS"]
        auth = {"Authorization": f"Bearer {token}"}
        assert boss.get(f"/api/v1/orders/{order_id}/receipt.pdf", headers=auth).status_code == 404
        from receipt.service.review.apply import revocation_of

        revoked = revocation_of(rt, number)
        assert revoked and revoked["order_id"] == order_id and revoked["reasons"][0]["code"] == "EARRINGS"
        events = boss.get(f"/api/v1/orders/{order_id}/events", headers=auth).json()["events"]
        assert "receipt.revoked" in [e["type"] for e in events] and admin not in str(events)
        # a free resubmission on the same order is judged from scratch and issued with a new number
        r = boss.post(f"/api/v1/orders/{order_id}/attempts", headers=auth,
                      files={"photo": ("again.jpg", compliant_photo(), "image/jpeg")})
        assert r.status_code == 202, r.text
        view = wait_order(boss, order_id, token, "issued", timeout=60)
        assert view["receipt"]["number"] != number and len(view["attempts"]) == 2
        assert revocation_of(rt, view["receipt"]["number"]) is None
        # card systems: the revoked number stays revoked after the order was issued again; the new one serves
        from receipt.service.cards.apikeys import create_key

        _, key = create_key(rt.db, unique_name("card"), [view["spec"]])
        card = {"X-API-Key": key}
        old = boss.get(f"/api/v1/receipts/{number}", headers=card)
        assert old.status_code == 410 and old.json()["error"]["code"] == "RECEIPT_REVOKED"
        assert boss.get(f"/api/v1/receipts/{view['receipt']['number']}", headers=card).status_code == 200


def test_no_audit_cases_at_zero_share(server: tuple[LiveServer, Any]) -> None:
    live, rt = server
    admin = unique_name("root")
    add_reviewer(rt, admin, admin=True)
    boss = session_client(live.url, admin)
    _, _, attempt_id = seed_case(rt, "pass")
    assert attempt_id not in [x["attempt_id"] for x in boss.get("/api/v1/review/queue").json()["cases"]]


def test_idle_session_expires_and_a_disabled_reviewer_is_logged_out(backend: Backend) -> None:
    from receipt.service.review.accounts import disable_reviewer

    app = create_app(backend.settings(review_idle_s=1.0), background=False)
    with LiveServer(app) as live:
        rt = app.state.rt
        idle, gone = unique_name("idle"), unique_name("gone")
        add_reviewer(rt, idle)
        add_reviewer(rt, gone)
        a = session_client(live.url, idle)
        for _ in range(4):  # in use: the session stays alive past its idle time
            assert a.get("/api/v1/review/reasons").status_code == 200
            time.sleep(0.4)
        time.sleep(1.3)
        assert a.get("/api/v1/review/reasons").status_code == 401  # idle too long
        b = session_client(live.url, gone)
        assert b.get("/api/v1/review/queue").status_code == 200
        disable_reviewer(rt, gone)
        assert b.get("/api/v1/review/queue").status_code == 401
        r = httpx.post(f"{live.url}/api/v1/review/login", json={"username": gone, "password": PASSWORD})
        assert r.status_code == 401 and code(r) == "LOGIN_FAILED"
