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


def add_commands(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("purge", help="erase personal data and photos past their retention (see receipt.config)")
    p.add_argument("--dry-run", action="store_true", help="only report what would be erased")
    p.set_defaults(func=cmd_purge)
