"""`photo-receipt keys rotate | list | rotate-pii`: the receipt signing key ring and the key of stored ID numbers."""

from __future__ import annotations

import argparse
from datetime import datetime


def _when(moment: datetime | None) -> str:
    from receipt.issue.clock import china_iso

    return china_iso(moment) if moment else "-"


def cmd_keys_rotate(args: argparse.Namespace) -> int:
    from receipt.config import signing_keys_dir
    from receipt.issue.signing import rotate_signing_key

    key = rotate_signing_key()
    print(f"new signing key {key.kid} is current (ring in {signing_keys_dir()}); older keys still verify")
    return 0


def cmd_keys_list(args: argparse.Namespace) -> int:
    from receipt.issue.signing import verification_keys

    ring = verification_keys()
    print("kid\torigin\tcreated\tretired\tcurrent")
    for k in ring:
        print(f"{k.kid}\t{k.origin}\t{_when(k.created_at)}\t{_when(k.retired_at)}\t{'yes' if k is ring[0] else ''}")
    return 0


def cmd_rotate_pii(args: argparse.Namespace) -> int:
    from receipt.config import pii_keys_setting
    from receipt.service.jobs import start_runtime
    from receipt.service.pii import key_ring, new_dev_key, rotate

    # configured ring: put the new key first in PHOTO_RECEIPT_PII_KEYS (old ones after), then run this;
    # development ring: a new key is added to it here
    ring = key_ring() if pii_keys_setting() else new_dev_key()
    rt = start_runtime(with_jobs=False)
    try:
        with rt.db.session() as session:
            count = rotate(session, ring)
    finally:
        rt.close()
    print(f"re-encrypted {count} ID number(s) under key {ring.current}")
    return 0


def add_commands(sub: argparse._SubParsersAction) -> None:
    ring = sub.add_parser("keys", help="signing keys of receipts, the key of stored ID numbers").add_subparsers(
        dest="keys_command", required=True)
    ring.add_parser("rotate", help="make a new signing key current; old keys keep verifying").set_defaults(
        func=cmd_keys_rotate)
    ring.add_parser("list", help="the keys receipts are verified with").set_defaults(func=cmd_keys_list)
    p = ring.add_parser("rotate-pii", help="re-encrypt stored ID numbers under the current (or a new dev) key")
    p.set_defaults(func=cmd_rotate_pii)
