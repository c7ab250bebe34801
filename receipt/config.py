"""Run-time configuration from the environment; every default works on a bare machine."""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def specs_dir() -> Path:
    return Path(os.environ.get("SPECS_DIR", PROJECT_ROOT / "specs"))


def data_dir() -> Path:
    """Where local state lives when nothing else is configured (SQLite file, blobs, dev keys)."""
    path = Path(os.environ.get("PHOTO_RECEIPT_HOME", PROJECT_ROOT / "var"))
    path.mkdir(parents=True, exist_ok=True)
    return path


def storage_dir() -> Path:
    return Path(os.environ.get("STORAGE_DIR", data_dir() / "blobs"))


def database_url() -> str:
    return os.environ.get("DATABASE_URL", f"sqlite:///{data_dir() / 'receipts.db'}")


def redis_url() -> str | None:
    return os.environ.get("REDIS_URL") or None
