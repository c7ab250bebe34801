"""Key ring: rotation makes a new signing key current; PR1 and older PR2 payloads keep verifying."""

from __future__ import annotations

import base64
import json
import stat
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from receipt.errors import ReceiptError
from receipt.issue import signing
from receipt.issue.numbers import new_receipt_number
from receipt.issue.signing import photo_digest, rotate_signing_key, sign_receipt, verification_keys, verify_payload

ISSUED = datetime(2025, 3, 14, 6, 30, 12, tzinfo=UTC)
PHOTO = b"\xff\xd8 photo bytes \xff\xd9"


@pytest.fixture(autouse=True)
def home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    monkeypatch.delenv("RECEIPT_SIGNING_KEY", raising=False)
    monkeypatch.delenv("RECEIPT_VERIFY_KEY", raising=False)
    monkeypatch.delenv("RECEIPT_KEY_DIR", raising=False)
    monkeypatch.setenv("PHOTO_RECEIPT_HOME", str(tmp_path))
    return tmp_path


def pr1_payload(number: str) -> str:
    """A payload as issued before key ids existed: PR1.<data>.<signature>, signed by the current key."""
    claims = {"n": number, "s": "shenzhen-ssc", "t": "2025-03-14T06:30:12Z", "e": "2025-09-10",
              "h": photo_digest(PHOTO)[:16]}
    body = base64.urlsafe_b64encode(json.dumps(claims, sort_keys=True, separators=(",", ":")).encode())
    signed = f"PR1.{body.rstrip(b'=').decode()}"
    key = signing.signing_key().private
    assert key is not None
    return f"{signed}.{base64.urlsafe_b64encode(key.sign(signed.encode())).rstrip(b'=').decode()}"


def test_rotation_keeps_old_payloads_verifying(home: Path) -> None:
    old_number = new_receipt_number("BA2")
    old_pr1 = pr1_payload(old_number)  # signed by the development key
    old_pr2 = sign_receipt(new_receipt_number("BA2"), "shenzhen-ssc", ISSUED, date(2025, 9, 10), photo_digest(PHOTO))
    dev_kid = old_pr2.split(".")[1]
    assert verify_payload(old_pr2).kid == dev_kid and verify_payload(old_pr1).kid == dev_kid

    first = rotate_signing_key()
    second = rotate_signing_key()
    assert second.kid not in (first.kid, dev_kid)
    new_pr2 = sign_receipt(new_receipt_number("BA2"), "shenzhen-ssc", ISSUED, None, photo_digest(PHOTO))
    assert new_pr2.split(".")[1] == second.kid
    got = verify_payload(old_pr1)
    assert got.number == old_number and got.version == "PR1" and got.kid == dev_kid
    assert verify_payload(old_pr2).kid == dev_kid
    assert verify_payload(new_pr2).kid == second.kid and verify_payload(new_pr2).version == "PR2"

    keys = {k.kid: k for k in verification_keys()}
    assert set(keys) == {dev_kid, first.kid, second.kid}
    assert keys[second.kid].retired_at is None and keys[first.kid].retired_at is not None
    assert keys[dev_kid].retired_at is not None
    ring = home / "signing_keys"
    for kid in keys:
        assert stat.S_IMODE((ring / f"{kid}.pem").stat().st_mode) == 0o600
    assert json.loads((ring / "ring.json").read_text())["current"] == second.kid


def test_a_payload_naming_an_unknown_key_is_refused() -> None:
    payload = sign_receipt(new_receipt_number("BA2"), "shenzhen-ssc", ISSUED, None, photo_digest(PHOTO))
    _, kid, body, sig = payload.split(".")
    with pytest.raises(ReceiptError) as err:
        verify_payload(f"PR2.aaaaaaaa.{body}.{sig}")
    assert err.value.code == "QR_BAD_SIGNATURE" and "aaaaaaaa" in err.value.message
    with pytest.raises(ReceiptError) as err:  # kid is signed: no moving a payload to another key's name
        verify_payload(f"PR1.{body}.{sig}")
    assert err.value.code == "QR_BAD_SIGNATURE"
    with pytest.raises(ReceiptError) as err:
        verify_payload(f"PR2.NOT-A-KID.{body}.{sig}")
    assert err.value.code == "QR_MALFORMED"


def test_rotation_is_refused_while_a_key_is_configured(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RECEIPT_SIGNING_KEY", signing.generate_private_key_pem().decode())
    with pytest.raises(ReceiptError) as err:
        rotate_signing_key()
    assert err.value.code == "KEY_CONFIGURED"


def test_ring_in_a_configured_directory(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("RECEIPT_KEY_DIR", str(tmp_path / "elsewhere"))
    key = rotate_signing_key()
    assert (tmp_path / "elsewhere" / f"{key.kid}.pem").exists()
    assert signing.signing_key().kid == key.kid and signing.signing_key().origin == "ring"
    assert not (tmp_path / "signing_key.pem").exists()  # no development key was needed
