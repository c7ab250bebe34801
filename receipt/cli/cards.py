"""`photo-receipt apikey add|list|revoke`, `photo-receipt audit`, `photo-receipt keys rotate|list`.

For operators of the card-system API. They use DATABASE_URL like `serve` (and the key ring
directory RECEIPT_KEY_DIR, default under PHOTO_RECEIPT_HOME). `apikey add` prints the new key
once, alone on the last line of standard output; only its SHA-256 is stored.
"""

from __future__ import annotations

import argparse
from datetime import datetime, time
from typing import TYPE_CHECKING

from receipt.errors import ReceiptError

if TYPE_CHECKING:
    from receipt.service.db import Database


def _db() -> Database:
    from receipt.service.db import Database

    return Database()


def _when(moment: datetime | None) -> str:
    from receipt.issue.clock import china_iso

    return china_iso(moment) if moment else "-"


def cmd_apikey_add(args: argparse.Namespace) -> int:
    from receipt.service.cards.apikeys import create_key

    db = _db()
    try:
        record, key = create_key(db, args.name, args.specs.split(","), args.rate, args.expires)
    finally:
        db.dispose()
    print(f"API key {record.name}: specs {','.join(sorted(record.scopes))}, {record.rate_per_s}/s, "
          f"expires {_when(record.expires_at)}")
    print("Shown once; only its SHA-256 is stored. Send it as the X-API-Key header:")
    print(key)
    return 0


def cmd_apikey_list(args: argparse.Namespace) -> int:
    from receipt.service.cards.apikeys import list_keys

    db = _db()
    try:
        records = list_keys(db)
    finally:
        db.dispose()
    print("name\tkey\tspecs\trate/s\tcreated\texpires\tstate")
    for r in records:
        state = "revoked" if r.revoked_at else ("expired" if not r.usable() else "active")
        print(f"{r.name}\t{r.key_hint}…\t{','.join(sorted(r.scopes))}\t{r.rate_per_s}\t{_when(r.created_at)}\t"
              f"{_when(r.expires_at)}\t{state}")
    return 0


def cmd_apikey_revoke(args: argparse.Namespace) -> int:
    from receipt.config import ServiceSettings
    from receipt.service.cards.apikeys import revoke_key

    db = _db()
    try:
        record = revoke_key(db, args.name)
    finally:
        db.dispose()
    ttl = ServiceSettings.from_env().api_key_cache_s
    print(f"API key {record.name} revoked at {_when(record.revoked_at)}; running servers refuse it within {ttl:g} s")
    return 0


def _since(text: str | None) -> datetime | None:
    """A date (start of that day, China time) or an ISO time; a time without offset is China time."""
    from receipt.issue.clock import CHINA_TIME

    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ReceiptError("DATE_INVALID", f"--since {text!r}: give a date (2025-03-14) or an ISO time") from None
    if len(text) == 10:
        moment = datetime.combine(moment.date(), time(0))
    return moment if moment.tzinfo else moment.replace(tzinfo=CHINA_TIME)


def cmd_audit(args: argparse.Namespace) -> int:
    from receipt.service.cards.apikeys import key_by_name
    from receipt.service.cards.audit import read_audit

    db = _db()
    try:
        if args.key:
            key_by_name(db, args.key)  # an unknown name is an error, not an empty list
        rows = read_audit(db, args.key, _since(args.since), limit=args.limit)
    finally:
        db.dispose()
    print("time (China)\tkey\taction\tnumber\tresult\tstatus\tclient")
    for row in rows:
        print(f"{_when(row.created_at)}\t{row.key_name or '-'}\t{row.action}\t{row.number or '-'}\t{row.result}\t"
              f"{row.status}\t{row.client}")
    return 0


def add_commands(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("apikey", help="API keys of card systems (lookup API)")
    keys = p.add_subparsers(dest="apikey_command", required=True)
    add = keys.add_parser("add", help="create a key; printed once, alone on the last line")
    add.add_argument("name")
    add.add_argument("--specs", required=True, help="comma-separated spec ids the key may see, e.g. shenzhen-ssc")
    add.add_argument("--rate", type=int, default=20, help="requests (numbers) per second, default 20")
    add.add_argument("--expires", type=float, metavar="DAYS", help="the key stops working after DAYS days")
    add.set_defaults(func=cmd_apikey_add)
    keys.add_parser("list", help="every key: name, first characters, scope, rate, state").set_defaults(
        func=cmd_apikey_list)
    revoke = keys.add_parser("revoke", help="revoke a key (takes effect within the key cache time)")
    revoke.add_argument("name")
    revoke.set_defaults(func=cmd_apikey_revoke)

    p = sub.add_parser("audit", help="lookups, photo fetches and uses recorded for card systems")
    p.add_argument("--key", help="only this key's records")
    p.add_argument("--since", help="from this date (China time) or ISO time on")
    p.add_argument("--limit", type=int, default=10_000)
    p.set_defaults(func=cmd_audit)
