"""Service settings from the environment, and the per-process runtime built from them.

The API process and every `worker.py` read the same variables, so pointing them at one
PostgreSQL, one Redis and one shared STORAGE_DIR is all a multi-machine deployment needs.
"""

from __future__ import annotations

import os
import socket
import threading
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from receipt.config import database_url, redis_url, storage_dir
from receipt.photo.intake import MAX_UPLOAD_BYTES
from receipt.service.blobs import BlobStore
from receipt.service.db import Database

if TYPE_CHECKING:
    from receipt.service.jobs import Dispatcher


def _env_float(name: str, default: float) -> float:
    value = os.environ.get(name)
    return float(value) if value not in (None, "") else default


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value not in (None, "") else default


@dataclass(frozen=True)
class ServiceSettings:
    database_url: str
    storage_dir: Path
    redis_url: str | None  # None: jobs run in-process (embedded mode)
    queue_name: str = "photo-receipt"
    upload_max_bytes: int = MAX_UPLOAD_BYTES
    lease_s: float = 90.0  # a claimed attempt not finished by then is taken to have lost its worker
    sweep_interval_s: float = 5.0
    max_tries: int = 3  # claims per attempt, counting workers that died on it
    retry_base_s: float = 2.0  # back-off: base, 2*base, 4*base ...
    requeue_after_s: float = 60.0  # a queued attempt whose job is gone from Redis is re-enqueued after this
    job_timeout_s: int = 60  # RQ kills a job after this; keep it below lease_s
    webhook_url: str | None = None
    webhook_secret: str | None = None
    webhook_max_tries: int = 8
    webhook_timeout_s: float = 5.0
    test_job_delay_s: float = 0.0  # tests/bench only: hold a claimed job this long (to kill a worker mid-job)

    @classmethod
    def from_env(cls) -> ServiceSettings:
        return cls(
            database_url=database_url(),
            storage_dir=storage_dir(),
            redis_url=redis_url(),
            queue_name=os.environ.get("PHOTO_RECEIPT_QUEUE", "photo-receipt"),
            upload_max_bytes=_env_int("UPLOAD_MAX_BYTES", MAX_UPLOAD_BYTES),
            lease_s=_env_float("PHOTO_RECEIPT_LEASE_S", 90.0),
            sweep_interval_s=_env_float("PHOTO_RECEIPT_SWEEP_S", 5.0),
            max_tries=_env_int("PHOTO_RECEIPT_MAX_TRIES", 3),
            retry_base_s=_env_float("PHOTO_RECEIPT_RETRY_BASE_S", 2.0),
            requeue_after_s=_env_float("PHOTO_RECEIPT_REQUEUE_S", 60.0),
            job_timeout_s=_env_int("PHOTO_RECEIPT_JOB_TIMEOUT_S", 60),
            webhook_url=os.environ.get("WEBHOOK_URL") or None,
            webhook_secret=os.environ.get("WEBHOOK_SECRET") or None,
            webhook_max_tries=_env_int("WEBHOOK_MAX_TRIES", 8),
            test_job_delay_s=_env_float("PHOTO_RECEIPT_TEST_JOB_DELAY_S", 0.0),
        )

    def with_(self, **changes: object) -> ServiceSettings:
        return replace(self, **changes)  # type: ignore[arg-type]


@dataclass
class Runtime:
    """What a process needs to serve orders: settings, database, blobs and (set later) a dispatcher."""

    settings: ServiceSettings
    db: Database
    blobs: BlobStore
    dispatcher: Dispatcher | None = None
    identity: str = field(default_factory=lambda: f"{socket.gethostname()}:{os.getpid()}")

    @classmethod
    def create(cls, settings: ServiceSettings | None = None) -> Runtime:
        settings = settings or ServiceSettings.from_env()
        return cls(settings, Database(settings.database_url), BlobStore(settings.storage_dir))

    def close(self) -> None:
        if self.dispatcher is not None:
            self.dispatcher.close()
        self.db.dispose()


_default: Runtime | None = None
_default_lock = threading.Lock()


def get_runtime() -> Runtime:
    """The process-wide runtime built from the environment (workers, record_review callers)."""
    global _default
    with _default_lock:
        if _default is None:
            _default = Runtime.create()
        return _default


def set_runtime(runtime: Runtime | None) -> None:
    """Install the runtime the API or a worker built, so job functions find the same one."""
    global _default
    with _default_lock:
        _default = runtime
