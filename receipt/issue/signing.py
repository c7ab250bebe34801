"""Signed QR payloads: anyone holding the public key can check a receipt offline.

Payload (ASCII, ~250 characters, a version-10-ish QR at level M)::

    PR2.<kid>.<base64url(canonical JSON)>.<base64url(Ed25519 signature)>

The signature covers everything before the last dot (version tag and key id included, so a
payload can never be re-read under another version's rules or another key). ``kid`` names
the signing key (see receipt.issue.keyring), so a verifier picks the key without trying
them all; the key ring and ``GET /api/v1/keys`` publish every key still trusted. The JSON is
canonical (sorted keys, no spaces, ASCII) and holds:

    n  receipt number          s  spec id
    t  issued at, ISO 8601 UTC to the second ("2025-01-31T08:15:00Z")
    e  expiry date "YYYY-MM-DD" (China time), or null for no expiry
    h  first 16 hex characters of sha256(issued photo JPEG)

``PR1.<data>.<signature>`` (no kid, issued before key rotation existed) still verifies,
against every key of the ring. Where keys come from: receipt.issue.keyring (configured
``RECEIPT_SIGNING_KEY``, the ring, or a development key; never commit a key).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import logging
import os
import re
import tempfile
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import cache, lru_cache
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from receipt.config import (
    SIGNING_KEY_ENV,
    VERIFY_KEY_ENV,
    data_dir,
    signing_key_setting,
    signing_keys_dir,
    verify_key_setting,
)
from receipt.errors import ReceiptError
from receipt.issue import keyring, numbers
from receipt.issue.clock import china_today
from receipt.issue.keyring import RingKey, key_id
from receipt.specs import load_all

log = logging.getLogger(__name__)

VERSION = "PR2"  # what new receipts carry
VERSIONS = ("PR1", "PR2")  # what still verifies
DEV_KEY_FILE = "signing_key.pem"
HASH_CHARS = 16
MAX_PAYLOAD = 1024  # far above a real payload; refuses junk before any decoding work

_B64URL_RE = re.compile(r"^[A-Za-z0-9_-]+$")
_HASH_RE = re.compile(r"^[0-9a-f]{16}$")
_TIME_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")
_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_KID_RE = re.compile(r"^[a-z2-7]{8}$")
_FIELDS = frozenset("nsteh")


@dataclass(frozen=True)
class VerifiedReceipt:
    """What a QR payload asserts, after its signature and fields were checked."""

    number: str
    spec_id: str
    issued_at: datetime  # UTC, aware
    expires_on: date | None  # None = no expiry
    photo_hash: str  # first 16 hex chars of sha256(photo JPEG)
    kid: str | None = None  # the key that signed it
    version: str = VERSION

    def matches_photo(self, photo_jpeg: bytes) -> bool:
        return photo_digest(photo_jpeg)[:HASH_CHARS] == self.photo_hash

    def is_expired(self, today: date | None = None) -> bool:
        """Valid through its expiry day, in China time."""
        today = today or china_today()
        return self.expires_on is not None and today > self.expires_on


def photo_digest(photo_jpeg: bytes) -> str:
    """Full sha256 hex digest of the issued photo; `sign_receipt` keeps the first 16 chars."""
    return hashlib.sha256(photo_jpeg).hexdigest()


# ---------------------------------------------------------------- keys


def _pem_from_setting(value: str, env_name: str) -> bytes:
    """A setting holds either the PEM text itself or a path to a PEM file."""
    if "-----BEGIN" in value:
        return value.encode("ascii")
    path = Path(value).expanduser()
    try:
        return path.read_bytes()
    except OSError as exc:
        raise ReceiptError("KEY_UNREADABLE", f"{env_name}: cannot read key file {path}: {exc.strerror}",
                           status=500) from None


@lru_cache(maxsize=8)
def _load_private(pem: bytes, origin: str) -> Ed25519PrivateKey:
    try:
        key = serialization.load_pem_private_key(pem, password=None)
    except (ValueError, TypeError) as exc:
        raise ReceiptError("KEY_INVALID", f"{origin}: not an unencrypted PEM private key ({exc})",
                           status=500) from None
    if not isinstance(key, Ed25519PrivateKey):
        raise ReceiptError("KEY_INVALID", f"{origin}: the key must be Ed25519, got {type(key).__name__}",
                           status=500)
    return key


@lru_cache(maxsize=8)
def _load_public(pem: bytes, origin: str) -> Ed25519PublicKey:
    try:
        key = serialization.load_pem_public_key(pem)
    except (ValueError, TypeError) as exc:
        raise ReceiptError("KEY_INVALID", f"{origin}: not a PEM public key ({exc})", status=500) from None
    if not isinstance(key, Ed25519PublicKey):
        raise ReceiptError("KEY_INVALID", f"{origin}: the key must be Ed25519, got {type(key).__name__}",
                           status=500)
    return key


def generate_private_key_pem() -> bytes:
    """A new Ed25519 private key as unencrypted PKCS#8 PEM (for tests and key set-up)."""
    return Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())


@cache
def _warn_dev_key(path: str) -> None:
    """Once per process and key file, so the warning is seen without flooding the log."""
    log.warning("%s is not set: using a development signing key in %s. Receipts signed with it "
                "cannot be verified anywhere else; configure a real key in production.",
                SIGNING_KEY_ENV, path)


def _dev_key_pem() -> bytes:
    """Read, or create once, the development key; safe when several workers start together."""
    path = data_dir() / DEV_KEY_FILE
    _warn_dev_key(str(path))
    if not path.exists():
        # Write a private temp file, then hard-link it into place: the link fails if another
        # process won the race, and nobody ever sees a half-written key.
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".signing_key.")  # mode 0600
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(generate_private_key_pem())
            os.link(tmp, path)
        except FileExistsError:
            pass
        finally:
            os.unlink(tmp)
    return path.read_bytes()


def _configured_private() -> Ed25519PrivateKey | None:
    setting = signing_key_setting()
    return _load_private(_pem_from_setting(setting, SIGNING_KEY_ENV), SIGNING_KEY_ENV) if setting else None


def _ring() -> tuple[str | None, list[RingKey]]:
    directory = signing_keys_dir()
    return _read_ring_cached(str(directory), keyring.manifest_stamp(directory))


@lru_cache(maxsize=8)
def _read_ring_cached(directory: str, stamp: tuple[int, int] | None) -> tuple[str | None, list[RingKey]]:
    return keyring.read_ring(Path(directory)) if stamp else (None, [])


def signing_key() -> RingKey:
    """The key new receipts are signed with: configured, else the ring's current, else the development key."""
    configured = _configured_private()
    if configured is not None:
        return RingKey(key_id(configured.public_key()), configured.public_key(), configured, None, None, "configured")
    current, keys = _ring()
    for key in keys:
        if key.kid == current:
            return key
    if keys:
        raise ReceiptError("KEY_RING_INVALID", f"{signing_keys_dir()}: the current key {current} is not in the ring",
                           status=500)
    dev = _load_private(_dev_key_pem(), str(data_dir() / DEV_KEY_FILE))
    return RingKey(key_id(dev.public_key()), dev.public_key(), dev, None, None, "development")


def _private_key() -> Ed25519PrivateKey:
    key = signing_key().private
    assert key is not None
    return key


def verification_keys() -> list[RingKey]:
    """Every key a payload may be signed with: the current or verify-only key first, then the ring."""
    setting = verify_key_setting()
    if setting:
        public = _load_public(_pem_from_setting(setting, VERIFY_KEY_ENV), VERIFY_KEY_ENV)
        first = RingKey(key_id(public), public, None, None, None, "verify-only")
    else:
        first = signing_key()
    out = [first]
    for key in reversed(_ring()[1]):  # newest first: most payloads are recent
        if key.kid != first.kid:
            out.append(key)
    return out


def rotate_signing_key() -> RingKey:
    """`photo-receipt keys rotate`: a new current key in the ring; the old ones keep verifying."""
    if signing_key_setting():
        raise ReceiptError("KEY_CONFIGURED", f"{SIGNING_KEY_ENV} is set, so the signing key comes from configuration; "
                                             f"unset it to sign with the key ring in {signing_keys_dir()}", status=409)
    seed = None
    if not _ring()[1] and (data_dir() / DEV_KEY_FILE).exists():
        seed = _load_private(_dev_key_pem(), str(data_dir() / DEV_KEY_FILE))
    return keyring.rotate(signing_keys_dir(), seed)


def _public_key(public_key_pem: str | bytes | None = None) -> Ed25519PublicKey:
    if public_key_pem is not None:
        pem = public_key_pem.encode("ascii") if isinstance(public_key_pem, str) else public_key_pem
        return _load_public(pem, "public_key_pem argument")
    return verification_keys()[0].public


def public_key_pem() -> str:
    """The verification key (SubjectPublicKeyInfo PEM) matching the configured signing key."""
    return signing_key().public_key_pem


# ---------------------------------------------------------------- payloads


def _b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64decode(text: str, what: str) -> bytes:
    if not _B64URL_RE.match(text):
        raise ReceiptError("QR_MALFORMED", f"the {what} is not base64url")
    try:
        data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise ReceiptError("QR_MALFORMED", f"the {what} is not valid base64url") from None
    # Only the canonical spelling: otherwise an edit to the unused low bits of the last
    # character would decode to the same bytes and pass as an untouched payload.
    if _b64encode(data) != text:
        raise ReceiptError("QR_MALFORMED", f"the {what} is not canonical base64url")
    return data


def _utc_seconds(moment: datetime) -> str:
    if moment.tzinfo is None or moment.utcoffset() is None:
        # A naive time is ambiguous (server local? UTC?); refuse rather than guess.
        raise ReceiptError("TIME_NAIVE", "issued_at must be timezone-aware", status=500)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def sign_receipt(number: str, spec_id: str, issued_at: datetime, expires_on: date | None,
                 photo_sha256: str) -> str:
    """The signed QR payload for an issued receipt.

    `photo_sha256` is the hex sha256 of the issued photo JPEG (see `photo_digest`); only its
    first 16 characters go into the payload, enough to tell photos apart and keep the QR small.
    """
    digest = photo_sha256.strip().lower()
    if not re.match(r"^[0-9a-f]{16,64}$", digest):
        raise ReceiptError("PHOTO_HASH_INVALID", "photo_sha256 must be a hex sha256 digest", status=500)
    check = numbers.validate(number)
    if not check.ok:  # never put a number into circulation that verification would refuse
        raise ReceiptError(check.code or "NUMBER_INVALID", f"cannot sign: {check.message_en}", status=500)
    if isinstance(expires_on, datetime):  # a datetime is a date too; only the day is meant
        expires_on = expires_on.date()
    claims = {
        "n": numbers.normalise(number),
        "s": spec_id,
        "t": _utc_seconds(issued_at),
        "e": expires_on.isoformat() if expires_on is not None else None,
        "h": digest[:HASH_CHARS],
    }
    body = json.dumps(claims, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode("ascii")
    key = signing_key()
    assert key.private is not None
    signed = f"{VERSION}.{key.kid}.{_b64encode(body)}"
    return f"{signed}.{_b64encode(key.private.sign(signed.encode('ascii')))}"


def _authenticate(parts: list[str], signature: bytes, public_key_pem: str | bytes | None) -> str | None:
    """Check the signature; returns the kid of the key that made it (None: an explicit key was given)."""
    signed = ".".join(parts[:-1]).encode("ascii")
    if public_key_pem is not None:
        candidates: list[tuple[str | None, Ed25519PublicKey]] = [(None, _public_key(public_key_pem))]
    elif parts[0] == "PR2":
        candidates = [(k.kid, k.public) for k in verification_keys() if k.kid == parts[1]]
        if not candidates:
            raise ReceiptError("QR_BAD_SIGNATURE", f"signed with key {parts[1]}, which is not one of ours "
                                                   "(see GET /api/v1/keys)")
    else:  # PR1 carries no kid: any key of the ring may have signed it
        candidates = [(k.kid, k.public) for k in verification_keys()]
    for kid, public in candidates:
        try:
            public.verify(signature, signed)
            return kid
        except InvalidSignature:
            continue
    raise ReceiptError("QR_BAD_SIGNATURE",
                       "the signature does not match: the QR code was altered or not issued by us")


def verify_payload(payload: str, public_key_pem: str | bytes | None = None) -> VerifiedReceipt:
    """Check a scanned QR payload and return what it asserts, or raise ReceiptError.

    Codes: QR_MALFORMED (not a payload of ours), QR_BAD_SIGNATURE (edited, or signed with
    another key), QR_NUMBER_INVALID (the embedded number fails `numbers.validate`, or its
    prefix is not the spec's), QR_SPEC_UNKNOWN (signed, but names a spec no longer loaded).
    Expiry is not judged here: see `VerifiedReceipt.is_expired`.
    """
    text = payload.strip() if isinstance(payload, str) else ""
    if not text or len(text) > MAX_PAYLOAD or not text.isascii():
        raise ReceiptError("QR_MALFORMED", "not a receipt QR code")
    parts = text.split(".")
    if not ((parts[0] == "PR1" and len(parts) == 3) or (parts[0] == "PR2" and len(parts) == 4)):
        raise ReceiptError("QR_MALFORMED", f"not a receipt QR code (expected {VERSION}.<kid>.<data>.<signature>)")
    if parts[0] == "PR2" and not _KID_RE.match(parts[1]):
        raise ReceiptError("QR_MALFORMED", "the key id is malformed")
    body = _b64decode(parts[-2], "data part")
    signature = _b64decode(parts[-1], "signature")
    if len(signature) != 64:
        raise ReceiptError("QR_MALFORMED", "the signature has the wrong length")

    # Authenticate before reading anything the payload claims.
    kid = _authenticate(parts, signature, public_key_pem)

    try:
        claims = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise ReceiptError("QR_MALFORMED", "the data part is not JSON") from None
    if not isinstance(claims, dict) or set(claims) != _FIELDS:
        raise ReceiptError("QR_MALFORMED", f"the data must hold exactly the fields {sorted(_FIELDS)}")
    n, s, t, e, h = (claims[k] for k in "nsteh")
    if not (isinstance(s, str) and isinstance(t, str) and _TIME_RE.match(t)
            and (e is None or (isinstance(e, str) and _DATE_RE.match(e)))
            and isinstance(h, str) and _HASH_RE.match(h) and isinstance(n, str)):
        raise ReceiptError("QR_MALFORMED", "a field of the data has the wrong type or format")
    try:
        issued_at = datetime.strptime(t, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
        expires_on = date.fromisoformat(e) if e is not None else None
    except ValueError:
        raise ReceiptError("QR_MALFORMED", "a date in the data does not exist") from None

    check = numbers.validate(n)
    if not check.ok:
        raise ReceiptError("QR_NUMBER_INVALID",
                           f"the receipt number in the QR code is invalid: {check.message_en}")
    spec = load_all().get(s)
    if spec is None:
        raise ReceiptError("QR_SPEC_UNKNOWN", f"the QR code names an unknown spec {s!r}")
    if spec.number_prefix != n[:3]:
        raise ReceiptError("QR_NUMBER_INVALID",
                           f"receipt number {n} does not belong to spec {s} (prefix {spec.number_prefix})")
    return VerifiedReceipt(number=n, spec_id=s, issued_at=issued_at, expires_on=expires_on, photo_hash=h,
                           kid=kid if kid is not None else (parts[1] if parts[0] == "PR2" else None), version=parts[0])
