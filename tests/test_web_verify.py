"""POST /api/v1/verify and GET /api/v1/keys: for anyone, PR1 and PR2, across a key rotation."""

from __future__ import annotations

import base64
import json
from datetime import datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from receipt.issue import signing
from receipt.issue.signing import rotate_signing_key
from receipt.service.runtime import Runtime
from tests.card_fixtures import issue_rows

App = tuple[TestClient, Runtime]


def pr1(payload: str) -> str:
    """The same claims as a PR2 payload, re-signed the old way (no kid) by the current key."""
    _, _, body, _ = payload.split(".")
    signed = f"PR1.{body}"
    key = signing.signing_key().private
    assert key is not None
    return f"{signed}.{base64.urlsafe_b64encode(key.sign(signed.encode())).rstrip(b'=').decode()}"


def test_verify_a_receipt_payload_then_rotate_and_verify_again(card_app: App, monkeypatch: pytest.MonkeyPatch,
                                                              tmp_path: Path) -> None:
    monkeypatch.setenv("RECEIPT_KEY_DIR", str(tmp_path / "ring"))  # this test's rotation stays its own
    client, rt = card_app
    issued = issue_rows(rt)
    old_pr1 = pr1(issued.qr_payload)
    r = client.post("/api/v1/verify", json={"payload": issued.qr_payload})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["valid"] and body["number"] == issued.number and body["spec"] == "shenzhen-ssc"
    assert body["version"] == "PR2" and body["kid"] == issued.qr_payload.split(".")[1] and body["expired"] is False
    assert datetime.fromisoformat(body["issued_at"]) == issued.issued_at and body["issued_at"].endswith("+08:00")
    assert body["expires_on"] == issued.expires_on.isoformat()
    keys = client.get("/api/v1/keys").json()["keys"]
    assert keys[0]["kid"] == body["kid"] and keys[0]["alg"] == "Ed25519" and keys[0]["current"]
    assert "BEGIN PUBLIC KEY" in keys[0]["public_key_pem"]

    new = rotate_signing_key()
    after = client.get("/api/v1/keys").json()["keys"]
    assert [k["kid"] for k in after][0] == new.kid and body["kid"] in [k["kid"] for k in after]
    old = next(k for k in after if k["kid"] == body["kid"])
    assert old["retired_at"] is not None and not old["current"]
    for payload, version in ((issued.qr_payload, "PR2"), (old_pr1, "PR1")):
        again = client.post("/api/v1/verify", json={"payload": payload}).json()
        assert again["valid"] and again["version"] == version and again["kid"] == body["kid"], again
    fresh = issue_rows(rt)
    assert client.post("/api/v1/verify", json={"payload": fresh.qr_payload}).json()["kid"] == new.kid


def test_edited_and_junk_payloads_are_not_valid(card_app: App) -> None:
    client, rt = card_app
    issued = issue_rows(rt)
    head, kid, body, sig = issued.qr_payload.split(".")
    claims = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    claims["e"] = "2099-12-31"
    forged = base64.urlsafe_b64encode(json.dumps(claims, sort_keys=True, separators=(",", ":")).encode())
    edited = f"{head}.{kid}.{forged.rstrip(b'=').decode()}.{sig}"
    r = client.post("/api/v1/verify", json={"payload": edited})
    assert r.status_code == 200 and r.json()["valid"] is False and r.json()["error"]["code"] == "QR_BAD_SIGNATURE"
    assert client.post("/api/v1/verify", json={"payload": "hello"}).json()["error"]["code"] == "QR_MALFORMED"
    assert client.post("/api/v1/verify", json={}).status_code == 422


def test_ping_is_trivial(card_app: App) -> None:
    client, _ = card_app
    assert client.get("/api/v1/ping").json() == {"ok": True}
