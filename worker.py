"""RQ worker entry point: `python worker.py [--burst] [--name NAME]`.

Reads DATABASE_URL, STORAGE_DIR, REDIS_URL (required) and the other PHOTO_RECEIPT_* settings
from the environment, exactly like `photo-receipt serve`. Run as many as you like, on as many
machines as share the database, the Redis and the blob directory.
"""

from __future__ import annotations

import argparse
import logging
import sys

from receipt.cli.service import add_worker_arguments
from receipt.service.tracing import configure_logging
from receipt.service.worker import run_worker


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="worker.py", description="photo receipt queue worker (RQ)")
    add_worker_arguments(parser)
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args(argv)
    configure_logging(logging.INFO if args.verbose else logging.WARNING)  # lines carry the request id
    return run_worker(burst=args.burst, name=args.name)


if __name__ == "__main__":
    sys.exit(main())
