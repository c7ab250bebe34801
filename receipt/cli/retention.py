"""`photo-receipt purge [--dry-run]` (retention) and `photo-receipt keys rotate-pii` (ID number key)."""

from __future__ import annotations

import argparse
import json
import logging

log = logging.getLogger(__name__)


def cmd_purge(args: argparse.Namespace) -> int:
    from receipt.service.jobs import start_runtime
    from receipt.service.retention import purge

    rt = start_runtime(with_jobs=False)
    try:
        report = purge(rt, dry_run=args.dry_run)
    finally:
        rt.close()
    s = rt.settings
    print(json.dumps({**report.to_dict(), "retention_days": {
        "uploads": s.retention_upload_days, "personal": s.retention_personal_days,
        "issued_without_expiry": s.retention_issued_max_days}}, ensure_ascii=False))
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
    p = sub.add_parser("purge", help="erase personal data and photos past their retention (see receipt.config)")
    p.add_argument("--dry-run", action="store_true", help="only report what would be erased")
    p.set_defaults(func=cmd_purge)

    keys = sub.add_parser("keys", help="key management").add_subparsers(dest="keys_command", required=True)
    p = keys.add_parser("rotate-pii", help="re-encrypt stored ID numbers under the current (or a new dev) key")
    p.set_defaults(func=cmd_rotate_pii)
