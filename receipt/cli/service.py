"""`photo-receipt serve` (API + web page) and `photo-receipt worker`, configured by environment.

DATABASE_URL (default: SQLite under receipt.config.data_dir()), STORAGE_DIR, REDIS_URL
(unset: jobs run inside `serve`, nothing else to start), WEBHOOK_URL / WEBHOOK_SECRET.
`python worker.py` and `photo-receipt worker` read the same variables.
"""

from __future__ import annotations

import argparse
import logging
import sys

log = logging.getLogger(__name__)


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from receipt.config import ServiceSettings
    from receipt.web.app import create_app

    settings = ServiceSettings.from_env()
    mode = f"RQ at {settings.redis_url}" if settings.redis_url else "in-process (no REDIS_URL)"
    print(f"photo receipt service on http://{args.host}:{args.port}/  (API docs /docs; jobs: {mode})",
          file=sys.stderr)
    http = "receipt.web.protocol:JSONErrorH11Protocol"  # malformed requests get the JSON error body
    if args.workers > 1:  # several processes need an import string; see receipt.web.asgi for what stays per process
        if not (settings.redis_url or settings.rate_limit_storage):
            print("note: without REDIS_URL each process counts rate limits and runs jobs on its own", file=sys.stderr)
        uvicorn.run("receipt.web.asgi:app_from_env", factory=True, workers=args.workers, host=args.host,
                    port=args.port, log_level=args.log_level, proxy_headers=args.proxy_headers,
                    timeout_graceful_shutdown=10, http=http)
        return 0
    uvicorn.run(create_app(settings), host=args.host, port=args.port, log_level=args.log_level,
                proxy_headers=args.proxy_headers, timeout_graceful_shutdown=10, http=http)
    return 0


def cmd_worker(args: argparse.Namespace) -> int:
    from receipt.service.worker import run_worker

    return run_worker(burst=args.burst, name=args.name)


def cmd_sweep(args: argparse.Namespace) -> int:
    """One sweep by hand: requeue stuck attempts, enqueue waiting ones, send due webhooks."""
    from receipt.service.jobs import start_runtime
    from receipt.service.sweeper import sweep_once

    rt = start_runtime()
    stats = sweep_once(rt)
    print(stats)
    rt.close()
    return 0


def cmd_migrate(args: argparse.Namespace) -> int:
    """`alembic upgrade head` on DATABASE_URL, under the migration lock (every process also does this at start)."""
    from receipt.service.db import Database

    db = Database(auto_migrate=False)
    revision = db.migrate()
    print(f"{db.dialect} schema at revision {revision} (head)")
    db.dispose()
    return 0


def cmd_retry_order(args: argparse.Namespace) -> int:
    """Operator action: a fresh attempt (same photo) for an order that ended in error."""
    from receipt.config import redis_url
    from receipt.service.jobs import dispatch, start_runtime
    from receipt.service.orders import retry_order

    rt = start_runtime(with_jobs=redis_url() is not None)  # no Redis: `serve` sweeps it up
    attempt_id = retry_order(rt, args.order_id)
    queued = dispatch(rt, attempt_id)
    print(f"order {args.order_id}: attempt {attempt_id} {'enqueued' if queued else 'queued for the sweeper'}")
    rt.close()
    return 0


def add_worker_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--burst", action="store_true", help="exit when the queue is empty")
    parser.add_argument("--name", help="worker name shown by `rq info` (default: host + pid)")


def add_commands(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("serve", help="run the applicant API and page (uvicorn)")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--log-level", default="info")
    p.add_argument("--proxy-headers", action="store_true", help="trust X-Forwarded-* from a reverse proxy")
    p.add_argument("--workers", type=int, default=1, help="API processes (uvicorn workers), default 1")
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("worker", help="run a queue worker (same as python worker.py; needs REDIS_URL)")
    add_worker_arguments(p)
    p.set_defaults(func=cmd_worker)

    p = sub.add_parser("migrate", help="create or upgrade the database schema")
    p.set_defaults(func=cmd_migrate)

    p = sub.add_parser("retry-order", help="give an order in error a fresh attempt with the same photo")
    p.add_argument("order_id")
    p.set_defaults(func=cmd_retry_order)

    p = sub.add_parser("sweep", help="requeue stuck or waiting attempts and send due webhooks, once")
    p.set_defaults(func=cmd_sweep)
