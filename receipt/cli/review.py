"""`photo-receipt reviewer add|list|disable` (accounts) and `photo-receipt review export` (eval folder).

Configured by the same environment as `serve` (DATABASE_URL, STORAGE_DIR, ...). Passwords are
read from standard input only (`--password-stdin`), never from the command line.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from receipt.errors import ReceiptError


def _runtime():  # type: ignore[no-untyped-def]
    from receipt.service.runtime import Runtime

    return Runtime.create()


def cmd_reviewer_add(args: argparse.Namespace) -> int:
    from receipt.service.review.accounts import add_reviewer

    if not args.password_stdin:
        raise ReceiptError("PASSWORD_STDIN_REQUIRED", "pass --password-stdin and the password on standard input")
    password = sys.stdin.readline().rstrip("\r\n")
    rt = _runtime()
    try:
        info = add_reviewer(rt, args.name, password, admin=args.admin)
    finally:
        rt.close()
    print(f"reviewer {info.name} added ({info.role})")
    return 0


def cmd_reviewer_list(args: argparse.Namespace) -> int:
    from receipt.service.review.accounts import list_reviewers

    rt = _runtime()
    try:
        rows = list_reviewers(rt)
    finally:
        rt.close()
    for r in rows:
        last = r.last_login_at.isoformat(timespec="seconds") if r.last_login_at else "-"
        print(f"{r.name}\t{r.role}\t{'disabled' if r.disabled else 'active'}\tlast login {last}")
    if not rows:
        print("no reviewers yet: photo-receipt reviewer add NAME --password-stdin", file=sys.stderr)
    return 0


def cmd_reviewer_disable(args: argparse.Namespace) -> int:
    from receipt.service.review.accounts import disable_reviewer

    rt = _runtime()
    try:
        disable_reviewer(rt, args.name)
    finally:
        rt.close()
    print(f"reviewer {args.name} disabled")
    return 0


def cmd_review_export(args: argparse.Namespace) -> int:
    from receipt.service.review.export import export_decided

    rt = _runtime()
    try:
        count = export_decided(rt, Path(args.out), retention_days=args.days)
    finally:
        rt.close()
    print(f"{count} decided cases written to {args.out} (images/ + labels.jsonl); measure with: "
          f"photo-receipt eval {args.out}")
    return 0


def add_commands(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("reviewer", help="reviewer accounts: add, list, disable")
    accounts = p.add_subparsers(dest="reviewer_command", required=True)
    add = accounts.add_parser("add", help="add a reviewer (password on standard input, at least 10 characters)")
    add.add_argument("name")
    add.add_argument("--admin", action="store_true", help="admins also audit, revoke and see the admin page")
    add.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    add.set_defaults(func=cmd_reviewer_add)
    accounts.add_parser("list", help="list reviewers").set_defaults(func=cmd_reviewer_list)
    disable = accounts.add_parser("disable", help="disable a reviewer (ends their sessions)")
    disable.add_argument("name")
    disable.set_defaults(func=cmd_reviewer_disable)

    p = sub.add_parser("review", help="human review: export decided cases")
    review = p.add_subparsers(dest="review_command", required=True)
    export = review.add_parser("export", help="decided cases as an eval folder (images/ + labels.jsonl)")
    export.add_argument("--out", required=True)
    export.add_argument("--days", type=int, default=None, help="only decisions of the last N days "
                                                               "(default: PHOTO_RECEIPT_REVIEW_RETENTION_DAYS)")
    export.set_defaults(func=cmd_review_export)
