"""ID numbers at rest: AES-GCM under a configured key ring, shown masked everywhere.

The ring is PHOTO_RECEIPT_PII_KEYS ("kid:base64key,kid:base64key", the first encrypts, all
decrypt) or, when unset, a development ring created once under data_dir() (like the signing
key; never commit it). Each ciphertext names its key: "v1:<kid>:<base64 nonce+ct>", so
`photo-receipt keys rotate-pii` can re-encrypt rows under a new key while old ones still open.
The plain number never enters the orders table, the events or the logs; views use the mask.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import secrets
import tempfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import ForeignKey, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from receipt.config import PII_KEYS_ENV, data_dir, pii_keys_setting
from receipt.errors import ReceiptError
from receipt.service.db import Base, Order, UTCDateTime, utcnow

log = logging.getLogger(__name__)
DEV_RING_FILE = "pii_keys.json"


class OrderPII(Base):
    """The encrypted ID number of an order (new table; the orders.id_number column stays empty)."""

    __tablename__ = "order_pii"

    order_id: Mapped[str] = mapped_column(String(32), ForeignKey("orders.id"), primary_key=True)
    id_number_enc: Mapped[str] = mapped_column(String(200))  # v1:<kid>:<base64(nonce + ciphertext)>
    key_id: Mapped[str] = mapped_column(String(32), index=True)
    id_number_mask: Mapped[str] = mapped_column(String(24))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


def mask_id_number(number: str | None) -> str | None:
    """4401**********1234: region prefix and last four, never the birth date."""
    if not number:
        return None
    return number[:4] + "*" * max(0, len(number) - 8) + number[-4:] if len(number) > 8 else "*" * len(number)


@dataclass(frozen=True)
class KeyRing:
    current: str
    keys: dict[str, bytes]

    def encrypt(self, plain: str) -> str:
        nonce = secrets.token_bytes(12)
        sealed = AESGCM(self.keys[self.current]).encrypt(nonce, plain.encode(), self.current.encode())
        return f"v1:{self.current}:{base64.b64encode(nonce + sealed).decode()}"

    def decrypt(self, token: str) -> str:
        version, kid, payload = token.split(":", 2)
        if version != "v1" or kid not in self.keys:
            raise ReceiptError("PII_KEY_UNKNOWN", f"no key {kid!r} in the PII key ring", status=500)
        raw = base64.b64decode(payload)
        return AESGCM(self.keys[kid]).decrypt(raw[:12], raw[12:], kid.encode()).decode()


def _parse_ring(text: str) -> KeyRing:
    keys: dict[str, bytes] = {}
    order: list[str] = []
    for item in filter(None, (p.strip() for p in text.split(","))):
        kid, _, b64 = item.partition(":")
        key = base64.b64decode(b64)
        if len(key) != 32 or not kid:
            raise ValueError(f"{PII_KEYS_ENV}: each entry is kid:base64 of a 32-byte key")
        keys[kid] = key
        order.append(kid)
    if not order:
        raise ValueError(f"{PII_KEYS_ENV} is empty")
    return KeyRing(order[0], keys)


def _dev_ring_path() -> Path:
    return data_dir() / DEV_RING_FILE


def _write_dev_ring(ring: KeyRing) -> None:
    path = _dev_ring_path()
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".pii_keys.")  # mode 0600
    with os.fdopen(fd, "w") as fh:
        json.dump({"current": ring.current,
                   "keys": {k: base64.b64encode(v).decode() for k, v in ring.keys.items()}}, fh)
    os.replace(tmp, path)


def key_ring() -> KeyRing:
    setting = pii_keys_setting()
    if setting:
        return _parse_ring(setting)
    path = _dev_ring_path()
    if not path.exists():
        log.warning("%s is not set: using a development PII key ring in %s; configure one in production",
                    PII_KEYS_ENV, path)
        ring = KeyRing("dev1", {"dev1": AESGCM.generate_key(bit_length=256)})
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)  # first process wins
            with os.fdopen(fd, "w") as fh:
                json.dump({"current": ring.current,
                           "keys": {k: base64.b64encode(v).decode() for k, v in ring.keys.items()}}, fh)
        except FileExistsError:
            pass
    data = json.loads(path.read_text())
    return KeyRing(data["current"], {k: base64.b64decode(v) for k, v in data["keys"].items()})


def new_dev_key() -> KeyRing:
    """Add a fresh key to the development ring and make it current (for rotate-pii without the env)."""
    ring = key_ring()
    kid = f"dev{len(ring.keys) + 1}-{secrets.token_hex(2)}"
    rotated = KeyRing(kid, {**ring.keys, kid: AESGCM.generate_key(bit_length=256)})
    _write_dev_ring(rotated)
    return rotated


def store_id_number(session: Session, order_id: str, number: str | None, ring: KeyRing | None = None) -> None:
    if not number:
        return
    ring = ring or key_ring()
    session.add(OrderPII(order_id=order_id, id_number_enc=ring.encrypt(number), key_id=ring.current,
                         id_number_mask=mask_id_number(number) or ""))


def id_number_of(session: Session, order_id: str, ring: KeyRing | None = None) -> str | None:
    """The plain number, for the code that must compare it (never for display: use the mask)."""
    row = session.get(OrderPII, order_id)
    return None if row is None else (ring or key_ring()).decrypt(row.id_number_enc)


def masked_id_number(session: Session, order_id: str) -> str | None:
    row = session.get(OrderPII, order_id)
    return None if row is None else row.id_number_mask


def encrypt_legacy(session: Session, ring: KeyRing, batch: int = 500) -> int:
    """Move plain ID numbers left in orders.id_number (rows from before order_pii) into order_pii."""
    done = 0
    while True:
        orders = session.scalars(select(Order).where(Order.id_number.isnot(None)).limit(batch)).all()
        if not orders:
            return done
        for order in orders:
            if session.get(OrderPII, order.id) is None:
                store_id_number(session, order.id, order.id_number, ring)
            order.id_number = None
        session.flush()
        done += len(orders)


def rotate(session: Session, ring: KeyRing, batch: int = 500) -> int:
    """Re-encrypt every ID number not under the ring's current key (and encrypt legacy plain ones)."""
    done = encrypt_legacy(session, ring, batch)
    while True:
        rows = session.scalars(select(OrderPII).where(OrderPII.key_id != ring.current).limit(batch)).all()
        if not rows:
            return done
        for row in rows:
            row.id_number_enc = ring.encrypt(ring.decrypt(row.id_number_enc))
            row.key_id = ring.current
        session.flush()
        done += len(rows)
