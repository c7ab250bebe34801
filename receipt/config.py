"""Every environment variable the project reads, with its default, in one place.

Other modules call the functions here (or take a `ServiceSettings`); none reads `os.environ`
itself, so this file is the whole configuration reference. Every default works on a bare
machine: SQLite file, blob folder and development keys under PHOTO_RECEIPT_HOME, in-process
jobs without REDIS_URL.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, fields, replace
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
MAX_UPLOAD_BYTES = 20 * 1024 * 1024  # bytes accepted before any decoding (intake and the API agree)

SIGNING_KEY_ENV = "RECEIPT_SIGNING_KEY"  # Ed25519 private key, PEM text or a path
VERIFY_KEY_ENV = "RECEIPT_VERIFY_KEY"  # its public half, PEM text or a path
CJK_FONT_ENV = "RECEIPT_CJK_FONT"  # a TTF/TTC tried before searching the system fonts
WEB_PLUGINS_ENV = "PHOTO_RECEIPT_WEB_PLUGINS"  # extra `module:function` web plugins; "none" turns them off


def _text(name: str) -> str | None:
    return os.environ.get(name) or None


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
    return _text("REDIS_URL")


def signing_key_setting() -> str | None:
    return _text(SIGNING_KEY_ENV)


def verify_key_setting() -> str | None:
    return _text(VERIFY_KEY_ENV)


def cjk_font_setting() -> str | None:
    return _text(CJK_FONT_ENV)


DECODE_BUDGET_BYTES = 120_000_000  # pixels × bytes per pixel one full decode may hold (16-bit 7999² PNG: 128 MB)


def decode_budget_bytes() -> int:
    return int(os.environ.get("PHOTO_RECEIPT_DECODE_BUDGET", "") or DECODE_BUDGET_BYTES)


def decode_slots() -> int:
    """Full photo decodes one process runs at once (default: one per core)."""
    return max(1, int(os.environ.get("PHOTO_RECEIPT_DECODE_SLOTS", "") or os.cpu_count() or 1))


def prometheus_multiproc_dir() -> str | None:
    """prometheus-client's multiprocess directory (the library reads the same variable itself)."""
    return _text("PROMETHEUS_MULTIPROC_DIR")


def log_json() -> bool:
    """PHOTO_RECEIPT_LOG_JSON=1: log one JSON object per line (with the request id)."""
    return os.environ.get("PHOTO_RECEIPT_LOG_JSON", "") in ("1", "true", "yes")


PII_KEYS_ENV = "PHOTO_RECEIPT_PII_KEYS"  # "kid:base64-32-byte-key,..." first encrypts, all decrypt


def pii_keys_setting() -> str | None:
    return _text(PII_KEYS_ENV)


def web_plugins_setting() -> str:
    return os.environ.get(WEB_PLUGINS_ENV, "").strip()


@dataclass(frozen=True)
class ServiceSettings:
    """What the API process and every worker read; the defaults below are the only copy.

    Each field but the first three can be set by the environment variable named in ENV_NAMES."""

    database_url: str
    storage_dir: Path
    redis_url: str | None  # None: jobs run in-process (embedded mode)
    queue_name: str = "photo-receipt"
    upload_max_bytes: int = MAX_UPLOAD_BYTES
    lease_s: float = 15.0  # a claim not renewed (heartbeat every lease/3 s) for this long: its worker is gone
    sweep_interval_s: float = 5.0
    max_tries: int = 3  # claims per attempt, counting workers that died on it
    retry_base_s: float = 2.0  # back-off: base, 2*base, 4*base ...
    requeue_after_s: float = 60.0  # a queued attempt whose job is gone from Redis is re-enqueued after this
    job_timeout_s: int = 60  # RQ kills a job that runs longer than this (its heartbeat stops with it)
    webhook_url: str | None = None
    webhook_secret: str | None = None
    webhook_max_tries: int = 8
    webhook_timeout_s: float = 5.0
    retention_upload_days: int = 30  # uploads, annotated and unissued spec photos: erased this long after the order ends
    retention_personal_days: int = 30  # applicant name, ID number, phone, guardian: erased this long after the end
    retention_issued_max_days: int = 3650  # issued photo + PDF of a spec without expiry (validity_days = 0)
    purge_interval_s: float = 3600.0  # the sweeper purges at most this often
    test_job_delay_s: float = 0.0  # tests/bench only: hold a claimed job this long (to kill a worker mid-job)

    @classmethod
    def from_env(cls) -> ServiceSettings:
        values: dict[str, object] = {"database_url": database_url(), "storage_dir": storage_dir(),
                                     "redis_url": redis_url()}
        for f in fields(cls):
            env = ENV_NAMES.get(f.name)
            raw = os.environ.get(env) if env else None
            if raw in (None, ""):
                continue
            kind = type(f.default) if f.default is not None else str
            try:
                values[f.name] = kind(raw)
            except ValueError:
                raise ValueError(f"{env}={raw!r} is not a valid {kind.__name__}") from None
        return cls(**values)  # type: ignore[arg-type]

    def with_(self, **changes: object) -> ServiceSettings:
        return replace(self, **changes)  # type: ignore[arg-type]


# field -> environment variable (fields not listed here are set in code only)
ENV_NAMES: dict[str, str] = {
    "queue_name": "PHOTO_RECEIPT_QUEUE",
    "upload_max_bytes": "UPLOAD_MAX_BYTES",
    "lease_s": "PHOTO_RECEIPT_LEASE_S",
    "sweep_interval_s": "PHOTO_RECEIPT_SWEEP_S",
    "max_tries": "PHOTO_RECEIPT_MAX_TRIES",
    "retry_base_s": "PHOTO_RECEIPT_RETRY_BASE_S",
    "requeue_after_s": "PHOTO_RECEIPT_REQUEUE_S",
    "job_timeout_s": "PHOTO_RECEIPT_JOB_TIMEOUT_S",
    "webhook_url": "WEBHOOK_URL",
    "webhook_secret": "WEBHOOK_SECRET",
    "webhook_max_tries": "WEBHOOK_MAX_TRIES",
    "webhook_timeout_s": "WEBHOOK_TIMEOUT_S",
    "retention_upload_days": "PHOTO_RECEIPT_RETENTION_UPLOAD_DAYS",
    "retention_personal_days": "PHOTO_RECEIPT_RETENTION_PERSONAL_DAYS",
    "retention_issued_max_days": "PHOTO_RECEIPT_RETENTION_ISSUED_MAX_DAYS",
    "purge_interval_s": "PHOTO_RECEIPT_PURGE_INTERVAL_S",
    "test_job_delay_s": "PHOTO_RECEIPT_TEST_JOB_DELAY_S",
}
