"""The share QR code is made only for the order its bearer token opens; the link keeps the token in the fragment."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from receipt.web.app import create_app
from review_ui.share import share_link
from tests.service_fixtures import TEST_SPEC, Backend, two_face_photo


def test_share_qr_needs_the_orders_token(tmp_path: Path) -> None:
    (tmp_path / "home").mkdir()
    backend = Backend("sqlite", f"sqlite:///{tmp_path / 's.db'}", tmp_path)
    with TestClient(create_app(backend.settings(), background=False)) as client:
        body = client.post("/api/v1/orders", files={"photo": ("p.jpg", two_face_photo(), "image/jpeg")},
                           data={"spec": TEST_SPEC, "applicant_name": "王五"}).json()
        url = f"/applicant/share-qr.svg?order={body['order_id']}"
        assert client.get(url).status_code == 401
        assert client.get(url, headers={"Authorization": "Bearer not-the-token"}).status_code == 404
        ok = client.get(url, headers={"Authorization": f"Bearer {body['token']}"})
        assert ok.status_code == 200 and ok.headers["content-type"].startswith("image/svg+xml")
        assert b"<svg" in ok.content[:200] and body["token"].encode() not in ok.content
        assert ok.headers["cache-control"] == "private, no-store"


def test_the_link_carries_the_token_in_the_fragment_only() -> None:
    link = share_link("http://host:8000/", "0123456789abcdef0123", "tok")
    assert link == "http://host:8000/#order=0123456789abcdef0123&token=tok"
    assert "tok" not in link.split("#")[0]
