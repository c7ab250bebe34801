"""The per-process container: settings, database, blobs and (set later) a dispatcher.

The API process and every `worker.py` build one from the same environment
(`receipt.config.ServiceSettings.from_env`), so pointing them at one PostgreSQL, one Redis and
one shared STORAGE_DIR is all a multi-machine deployment needs.
"""

from __future__ import annotations

import os
import socket
import threading
from dataclasses import dataclass, field

from receipt.config import ServiceSettings
from receipt.service.blobs import BlobStore, DirectoryBlobStore
from receipt.service.blobs_db import DatabaseBlobStore
from receipt.service.db import Database
from receipt.service.queue import Dispatcher


@dataclass
class Runtime:
    """What a process needs to serve orders."""

    settings: ServiceSettings
    db: Database
    blobs: BlobStore
    dispatcher: Dispatcher | None = None
    identity: str = field(default_factory=lambda: f"{socket.gethostname()}:{os.getpid()}")

    @classmethod
    def create(cls, settings: ServiceSettings | None = None) -> Runtime:
        settings = settings or ServiceSettings.from_env()
        return cls(settings, Database(settings.database_url), open_blob_store(settings))

    def close(self) -> None:
        if self.dispatcher is not None:
            self.dispatcher.close()
        if isinstance(self.blobs, DatabaseBlobStore):
            self.blobs.close()
        self.db.dispose()


def open_blob_store(settings: ServiceSettings) -> BlobStore:
    """PostgreSQL when STORAGE_URL is set (it wins over STORAGE_DIR), else the directory."""
    if settings.storage_url:
        return DatabaseBlobStore(settings.storage_url)
    return DirectoryBlobStore(settings.storage_dir)


_default: Runtime | None = None
_default_lock = threading.Lock()


def get_runtime() -> Runtime:
    """The process-wide runtime: RQ job functions receive only an attempt id and find it here."""
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


def is_current(runtime: Runtime) -> bool:
    return _default is runtime
