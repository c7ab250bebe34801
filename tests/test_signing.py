"""Signed QR payloads: round trip, and refusal of anything edited or signed by someone else."""

from __future__ import annotations

import base64
import json
import logging
import stat
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

import pytest
import qrcode
import qrcode.constants

from receipt.errors import ReceiptError
from receipt.issue import signing
from receipt.issue.numbers import check_character, new_receipt_number
from receipt.issue.signing import (
    generate_private_key_pem,
    photo_digest,
    public_key_pem,
    sign_receipt,
    verify_payload,
)

ISSUED = datetime(2025, 3, 14, 6, 30, 12, 999_000, tzinfo=UTC)
PHOTO = b"\xff\xd8 not really a jpeg, but bytes to hash \xff\xd9"


@pytest.fixture(autouse=True)
def signing_key(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> str:
    pem = generate_private_key_pem().decode("ascii")
    monkeypatch.setenv("RECEIPT_SIGNING_KEY", pem)
    monkeypatch.delenv("RECEIPT_VERIFY_KEY", raising=False)
    monkeypatch.setenv("PHOTO_RECEIPT_HOME", str(tmp_path))
    return pem


def make_payload(number: str | None = None, expires_on: date | None = date(2025, 9, 10)) -> tuple[str, str]:
    number = number or new_receipt_number("BA2")
    return number, sign_receipt(number, "shenzhen-ssc", ISSUED, expires_on, photo_digest(PHOTO))


def reencode(payload: str, **changes: object) -> str:
    """The payload with fields changed but the original signature kept."""
    *head, body, sig = payload.split(".")
    claims = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    claims.update(changes)
    raw = json.dumps(claims, sort_keys=True, separators=(",", ":")).encode()
    return f"{'.'.join(head)}.{base64.urlsafe_b64encode(raw).rstrip(b'=').decode()}.{sig}"


def test_roundtrip() -> None:
    number, payload = make_payload()
    got = verify_payload(payload)
    assert got.number == number
    assert got.spec_id == "shenzhen-ssc"
    assert got.issued_at == ISSUED.replace(microsecond=0)
    assert got.expires_on == date(2025, 9, 10)
    assert got.photo_hash == photo_digest(PHOTO)[:16]
    assert got.matches_photo(PHOTO) and not got.matches_photo(PHOTO + b"x")
    assert not got.is_expired(date(2025, 9, 10)) and got.is_expired(date(2025, 9, 11))


def test_no_expiry_and_other_timezones() -> None:
    beijing = ISSUED.astimezone(timezone(timedelta(hours=8)))
    number = new_receipt_number("EA2")
    payload = sign_receipt(number, "foshan-ssc", beijing, None, photo_digest(PHOTO))
    got = verify_payload(payload)
    assert got.expires_on is None and not got.is_expired(date(2099, 1, 1))
    assert got.issued_at == ISSUED.replace(microsecond=0)  # stored as UTC
    assert '"t":"2025-03-14T06:30:12Z"' in base64.urlsafe_b64decode(payload.split(".")[2] + "==").decode()


def test_payload_is_compact_ascii_and_fits_a_small_qr() -> None:
    _, payload = make_payload()
    assert payload.isascii() and payload.startswith("PR2.") and len(payload) < 270
    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M)
    code.add_data(payload)
    code.make(fit=True)
    assert code.version <= 12


def test_every_edited_character_is_refused() -> None:
    _, payload = make_payload()
    for i, ch in enumerate(payload):
        for replacement in ("A", "B", "_"):
            if replacement == ch:
                continue
            edited = payload[:i] + replacement + payload[i + 1:]
            with pytest.raises(ReceiptError) as err:
                verify_payload(edited)
            assert err.value.code in {"QR_MALFORMED", "QR_BAD_SIGNATURE"}, (i, edited)


def test_truncated_or_extended_payloads_are_refused() -> None:
    _, payload = make_payload()
    for edited in (payload[:-1], payload + "A", payload[1:], payload + ".x", payload.replace(".", "", 1)):
        with pytest.raises(ReceiptError):
            verify_payload(edited)


@pytest.mark.parametrize("field,value", [
    ("n", None), ("s", "guangzhou-ssc"), ("t", "2025-03-15T06:30:12Z"), ("e", "2026-09-10"),
    ("e", None), ("h", "0000000000000000"),
])
def test_every_edited_field_is_refused(field: str, value: object) -> None:
    _, payload = make_payload()
    if field == "n":
        value = new_receipt_number("BA2")
    with pytest.raises(ReceiptError) as err:
        verify_payload(reencode(payload, **{field: value}))
    assert err.value.code == "QR_BAD_SIGNATURE"


def test_a_different_key_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    _, payload = make_payload()
    monkeypatch.setenv("RECEIPT_SIGNING_KEY", generate_private_key_pem().decode())
    other_public = public_key_pem()
    with pytest.raises(ReceiptError) as err:
        verify_payload(payload)
    assert err.value.code == "QR_BAD_SIGNATURE"
    with pytest.raises(ReceiptError):
        verify_payload(payload, public_key_pem=other_public)


def test_explicit_and_configured_verify_keys(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    number, payload = make_payload()
    right = public_key_pem()
    assert verify_payload(payload, public_key_pem=right).number == number
    assert verify_payload(payload, public_key_pem=right.encode()).number == number
    # A verifier without the private key: RECEIPT_VERIFY_KEY as PEM text, then as a path.
    monkeypatch.setenv("RECEIPT_SIGNING_KEY", generate_private_key_pem().decode())
    monkeypatch.setenv("RECEIPT_VERIFY_KEY", right)
    assert verify_payload(payload).number == number
    path = tmp_path / "verify.pem"
    path.write_text(right)
    monkeypatch.setenv("RECEIPT_VERIFY_KEY", str(path))
    assert verify_payload(payload).number == number


def test_signing_key_from_a_path(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, signing_key: str) -> None:
    path = tmp_path / "sign.pem"
    path.write_text(signing_key)
    monkeypatch.setenv("RECEIPT_SIGNING_KEY", str(path))
    _, payload = make_payload()
    monkeypatch.setenv("RECEIPT_SIGNING_KEY", signing_key)
    assert verify_payload(payload)


def test_bad_key_settings_say_what_is_wrong(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("RECEIPT_SIGNING_KEY", str(tmp_path / "missing.pem"))
    with pytest.raises(ReceiptError) as err:
        make_payload()
    assert err.value.code == "KEY_UNREADABLE" and "missing.pem" in err.value.message
    monkeypatch.setenv("RECEIPT_SIGNING_KEY", "-----BEGIN PRIVATE KEY-----\nnope\n-----END PRIVATE KEY-----\n")
    with pytest.raises(ReceiptError) as err:
        make_payload()
    assert err.value.code == "KEY_INVALID"


def test_development_key_is_created_once_with_mode_0600(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.delenv("RECEIPT_SIGNING_KEY")
    signing._warn_dev_key.cache_clear()
    with caplog.at_level(logging.WARNING, logger="receipt.issue.signing"):
        _, payload = make_payload()
    key_file = tmp_path / "signing_key.pem"
    assert key_file.exists()
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert "development signing key" in caplog.text
    first = key_file.read_bytes()
    assert verify_payload(payload)  # the same key is read back, not regenerated
    make_payload()
    assert key_file.read_bytes() == first
    assert [p.name for p in tmp_path.iterdir()] == ["signing_key.pem"]  # no temp files left


def sign_raw(key_pem: str, claims: object) -> str:
    """Sign arbitrary JSON with the real key, bypassing sign_receipt's own checks."""
    from cryptography.hazmat.primitives import serialization

    key = serialization.load_pem_private_key(key_pem.encode(), password=None)
    body = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    signed = f"PR1.{body}"
    sig = base64.urlsafe_b64encode(key.sign(signed.encode())).rstrip(b"=").decode()  # type: ignore[union-attr]
    return f"{signed}.{sig}"


def test_embedded_number_is_validated(signing_key: str) -> None:
    body = "BA2" + "12345678901"
    bad_check = body + ("0" if check_character(body) != "0" else "1")
    claims = {"n": bad_check, "s": "shenzhen-ssc", "t": "2025-03-14T06:30:12Z", "e": None,
              "h": photo_digest(PHOTO)[:16]}
    with pytest.raises(ReceiptError) as err:
        verify_payload(sign_raw(signing_key, claims))
    assert err.value.code == "QR_NUMBER_INVALID" and "typing mistake" in err.value.message
    # A well-formed number of another spec is not this spec's receipt.
    with pytest.raises(ReceiptError) as err:
        verify_payload(sign_raw(signing_key, {**claims, "n": new_receipt_number("AA2")}))
    assert err.value.code == "QR_NUMBER_INVALID"


def test_invalid_numbers_are_not_signed() -> None:
    body = "BA2" + "12345678901"
    bad_check = body + ("0" if check_character(body) != "0" else "1")
    with pytest.raises(ReceiptError) as err:
        make_payload(bad_check)
    assert err.value.code == "NUMBER_CHECK"


def test_unknown_spec_is_reported(signing_key: str) -> None:
    claims = {"n": new_receipt_number("BA2"), "s": "atlantis-ssc", "t": "2025-03-14T06:30:12Z",
              "e": None, "h": photo_digest(PHOTO)[:16]}
    with pytest.raises(ReceiptError) as err:
        verify_payload(sign_raw(signing_key, claims))
    assert err.value.code == "QR_SPEC_UNKNOWN"


@pytest.mark.parametrize("junk", ["", "   ", "hello", "PR2.abc.def", "PR1..", "PR1.!!!.abc",
                                  "PR1.eyJ9.AAAA", "https://example.com/?r=1", "PR1.回执.x", "P" * 5000])
def test_malformed_payloads(junk: str) -> None:
    with pytest.raises(ReceiptError) as err:
        verify_payload(junk)
    assert err.value.code == "QR_MALFORMED"


def test_signed_but_wrong_shape_is_malformed(signing_key: str) -> None:
    # Field checks run after the signature, so odd JSON signed with the real key must still fail.
    for claims in ({"n": "x"}, [], {"n": 1, "s": "a", "t": "b", "e": None, "h": "c"},
                   {"n": "BA2", "s": "a", "t": "2025-02-30T00:00:00Z", "e": None, "h": "0" * 16}):
        with pytest.raises(ReceiptError) as err:
            verify_payload(sign_raw(signing_key, claims))
        assert err.value.code == "QR_MALFORMED"


def test_naive_time_and_bad_hash_are_refused() -> None:
    with pytest.raises(ReceiptError) as err:
        sign_receipt(new_receipt_number("BA2"), "shenzhen-ssc", datetime(2025, 1, 1), None, photo_digest(PHOTO))
    assert err.value.code == "TIME_NAIVE"
    with pytest.raises(ReceiptError) as err:
        sign_receipt(new_receipt_number("BA2"), "shenzhen-ssc", ISSUED, None, "not-hex")
    assert err.value.code == "PHOTO_HASH_INVALID"
