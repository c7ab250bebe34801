"""`photo-receipt` command line: one module per command group, each with `add_commands(sub)`.

- receipt.cli.photo: specs, check, process, verify, public-key
- receipt.cli.demo: demo (the main job)
- receipt.cli.eval: eval, derive
- receipt.cli.service: serve, worker, migrate, sweep, retry-order
- receipt.cli.review: reviewer add|list|disable, review export
- receipt.cli.cards: apikey, audit, keys (card-system lookup API)
- receipt.cli.retention: purge
- receipt.cli.keys: keys rotate | list | rotate-pii
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence

from receipt.cli import cards, demo, keys, photo, retention, review, service
from receipt.cli import eval as eval_commands
from receipt.errors import ReceiptError

log = logging.getLogger(__name__)

COMMAND_GROUPS = (photo, demo, eval_commands, service, review, cards, retention, keys)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="photo-receipt", description="Photo receipt (照片回执) system")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress to stderr")
    sub = parser.add_subparsers(dest="command", required=True)
    for group in COMMAND_GROUPS:
        group.add_commands(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    from receipt.service.tracing import configure_logging

    configure_logging(logging.INFO if args.verbose else logging.WARNING)  # lines carry the request id
    try:
        return int(args.func(args) or 0)
    except ReceiptError as exc:
        print(f"error: {exc.code}: {exc.message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("error: INTERRUPTED: stopped by the user", file=sys.stderr)
        return 130
    except BrokenPipeError:  # the reader went away (`check A B C --json | head`): stop quietly, as Unix tools do
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # so the interpreter's final flush does not complain again
        return 141
    except Exception as exc:  # one line for the user; the traceback only with -v
        log.debug("internal error", exc_info=True)
        if args.verbose:
            log.exception("internal error")
        print(f"error: INTERNAL: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1

