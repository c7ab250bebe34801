"""The signing key ring: one current Ed25519 key signs, every older one still verifies.

Where keys come from, first match wins for signing:
1. ``RECEIPT_SIGNING_KEY`` (PEM or a path): the configured key signs; ring keys still verify.
2. the ring in ``RECEIPT_KEY_DIR`` (default ``data_dir()/signing_keys``), made by
   ``photo-receipt keys rotate``: ``ring.json`` names the current key, ``<kid>.pem`` hold the
   private keys (mode 0600). Never inside the repository.
3. neither: the development key ``data_dir()/signing_key.pem`` (created once, with a warning).
``RECEIPT_VERIFY_KEY`` (a public key) adds a key that only verifies.

A key id (kid) is derived from the public key (8 base32 characters of its SHA-256), so the same
key has the same kid wherever it is configured. `rotate` seeds a new ring with the development
key when there is one, so receipts signed before the first rotation keep verifying.
"""

from __future__ import annotations

import base64
import fcntl
import hashlib
import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from receipt.errors import ReceiptError

MANIFEST = "ring.json"


@dataclass(frozen=True)
class RingKey:
    kid: str
    public: Ed25519PublicKey
    private: Ed25519PrivateKey | None  # None: verification only
    created_at: datetime | None  # None: configured outside the ring, its age unknown
    retired_at: datetime | None  # set when a newer key became current
    origin: str  # "ring" | "configured" | "development" | "verify-only"

    @property
    def public_key_pem(self) -> str:
        return self.public.public_bytes(serialization.Encoding.PEM,
                                        serialization.PublicFormat.SubjectPublicKeyInfo).decode("ascii")


def key_id(public: Ed25519PublicKey) -> str:
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return base64.b32encode(hashlib.sha256(raw).digest()[:5]).decode("ascii").lower()


def _pem_private(key: Ed25519PrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _parse_time(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _write_private(path: Path, data: bytes) -> None:
    """Atomically, mode 0600 (mkstemp), never replacing a file already there."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".key.")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.link(tmp, path)
    except FileExistsError:
        pass
    finally:
        os.unlink(tmp)


@contextmanager
def _locked(directory: Path) -> Iterator[None]:
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    with open(directory / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # two `keys rotate` at once: one after the other
        yield


def manifest_stamp(directory: Path) -> tuple[int, int] | None:
    """Changes whenever the ring is rotated (checked on every sign/verify: one stat)."""
    try:
        st = (directory / MANIFEST).stat()
    except FileNotFoundError:
        return None
    return st.st_mtime_ns, st.st_size


def read_ring(directory: Path) -> tuple[str | None, list[RingKey]]:
    """(current kid, keys oldest first) of the ring in `directory`; (None, []) if there is none."""
    path = directory / MANIFEST
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None, []
    except (OSError, ValueError) as exc:
        raise ReceiptError("KEY_RING_INVALID", f"{path}: cannot read the key ring ({exc})", status=500) from None
    keys = []
    for entry in manifest.get("keys", []):
        pem_path = directory / f"{entry['kid']}.pem"
        try:
            private = serialization.load_pem_private_key(pem_path.read_bytes(), password=None)
        except (OSError, ValueError) as exc:
            raise ReceiptError("KEY_RING_INVALID", f"{pem_path}: {exc}", status=500) from None
        if not isinstance(private, Ed25519PrivateKey) or key_id(private.public_key()) != entry["kid"]:
            raise ReceiptError("KEY_RING_INVALID", f"{pem_path}: not the Ed25519 key {entry['kid']}", status=500)
        keys.append(RingKey(entry["kid"], private.public_key(), private, _parse_time(entry.get("created_at")),
                            _parse_time(entry.get("retired_at")), "ring"))
    return manifest.get("current"), keys


def _write_manifest(directory: Path, current: str, keys: list[RingKey]) -> None:
    body = {"current": current, "keys": [
        {"kid": k.kid, "created_at": k.created_at.isoformat() if k.created_at else None,
         "retired_at": k.retired_at.isoformat() if k.retired_at else None} for k in keys]}
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".ring.")
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(body, fh, indent=1)
    os.replace(tmp, directory / MANIFEST)


def rotate(directory: Path, seed: Ed25519PrivateKey | None = None, now: datetime | None = None) -> RingKey:
    """Make a fresh key current; the previous keys stay (retired) for verification.

    `seed` is the key signing today when no ring exists yet (the development key): it joins
    the ring first, so what it signed keeps verifying."""
    now = (now or datetime.now(UTC)).replace(microsecond=0)
    with _locked(directory):
        current, keys = read_ring(directory)
        if not keys and seed is not None:
            _write_private(directory / f"{key_id(seed.public_key())}.pem", _pem_private(seed))
            keys = [RingKey(key_id(seed.public_key()), seed.public_key(), seed, None, None, "ring")]
            current = keys[0].kid
        fresh = Ed25519PrivateKey.generate()
        kid = key_id(fresh.public_key())
        _write_private(directory / f"{kid}.pem", _pem_private(fresh))
        keys = [RingKey(k.kid, k.public, k.private, k.created_at, k.retired_at or now, k.origin)
                if k.kid == current else k for k in keys]
        new = RingKey(kid, fresh.public_key(), fresh, now, None, "ring")
        _write_manifest(directory, kid, [*keys, new])
        return new
