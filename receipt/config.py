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
KEY_DIR_ENV = "RECEIPT_KEY_DIR"  # the signing key ring (`photo-receipt keys rotate`); default data_dir()/signing_keys
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


def storage_url() -> str | None:
    """postgresql://… : blobs in PostgreSQL instead of STORAGE_DIR (several machines, no shared disk)."""
    return _text("STORAGE_URL")


def database_url() -> str:
    return os.environ.get("DATABASE_URL", f"sqlite:///{data_dir() / 'receipts.db'}")


def redis_url() -> str | None:
    return _text("REDIS_URL")


def signing_key_setting() -> str | None:
    return _text(SIGNING_KEY_ENV)


def verify_key_setting() -> str | None:
    return _text(VERIFY_KEY_ENV)


def signing_keys_dir() -> Path:
    return Path(os.environ.get(KEY_DIR_ENV) or data_dir() / "signing_keys")


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

    Each field but the first four can be set by the environment variable named in ENV_NAMES."""

    database_url: str
    storage_dir: Path
    redis_url: str | None  # None: jobs run in-process (embedded mode)
    storage_url: str | None = None  # blobs in PostgreSQL; wins over storage_dir
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
    # human review (receipt.service.review_*)
    review_undo_s: float = 8.0  # a decision takes effect (receipt, notification) only after this grace window
    review_claim_s: float = 300.0  # a claim on a case lasts this long unless the open page renews it
    review_idle_s: float = 1800.0  # a reviewer session ends after this long without a request
    review_session_max_s: float = 43200.0  # and at the latest this long after login
    review_lockout_s: float = 900.0  # cooling-off period after too many failed logins
    review_fails_per_name: int = 5  # failed logins for one name within the cooling-off period
    review_fails_per_client: int = 20  # failed logins from one client address within it
    review_secret: str | None = None  # signs session cookies; unset: a key file under data_dir()
    audit_share: float = 0.02  # share of machine passes that also go to the queue as kind `audit`
    review_alert_wait_s: float = 1800.0  # oldest waiting case older than this raises the alert metric
    appeals_per_hour: int = 10  # appeals accepted from one client address per hour
    review_retention_days: int = 365  # decided cases older than this are left out of `review export`
    # card-system lookup API (receipt.service.cards.lookup, receipt.web.receipts)
    api_key_cache_s: float = 5.0  # the API key table is cached this long: a revocation takes effect within it
    rate_limit_storage: str | None = None  # a `limits` storage URL; default: REDIS_URL if set, else memory://
    rate_strategy: str = "sliding-window-counter"  # or moving-window (exact, O(requests)) / fixed-window
    rate_key_window_s: int = 5  # a key's --rate N allows N * window requests per moving window (bursts)
    rate_client_failures: str = "30/minute"  # failed lookups (400/404) and bad keys per client address
    rate_verify: str = "600/minute"  # POST /api/v1/verify per client address
    # the applicant API, per client address (receipt.web.limits); partners on the allow-list are not counted
    rate_uploads: str = "30/hour"  # new orders
    rate_resubmissions: str = "30/hour"  # free resubmissions
    rate_order_failures: str = "20/minute"  # order requests answered 401 / 404 (wrong or missing token)
    rate_allow: str = ""  # comma-separated addresses or networks (a photo studio), e.g. "10.0.0.0/8,203.0.113.7"
    audit_flush_s: float = 1.0  # audit rows are written in batches at least this often

    @classmethod
    def from_env(cls) -> ServiceSettings:
        values: dict[str, object] = {"database_url": database_url(), "storage_dir": storage_dir(),
                                     "redis_url": redis_url(), "storage_url": storage_url()}
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
    "review_undo_s": "PHOTO_RECEIPT_REVIEW_UNDO_S",
    "review_claim_s": "PHOTO_RECEIPT_REVIEW_CLAIM_S",
    "review_idle_s": "PHOTO_RECEIPT_REVIEW_IDLE_S",
    "review_session_max_s": "PHOTO_RECEIPT_REVIEW_SESSION_MAX_S",
    "review_lockout_s": "PHOTO_RECEIPT_REVIEW_LOCKOUT_S",
    "review_fails_per_name": "PHOTO_RECEIPT_REVIEW_FAILS_PER_NAME",
    "review_fails_per_client": "PHOTO_RECEIPT_REVIEW_FAILS_PER_CLIENT",
    "review_secret": "REVIEW_SESSION_SECRET",
    "audit_share": "PHOTO_RECEIPT_AUDIT_SHARE",
    "review_alert_wait_s": "PHOTO_RECEIPT_REVIEW_ALERT_WAIT_S",
    "appeals_per_hour": "PHOTO_RECEIPT_APPEALS_PER_HOUR",
    "review_retention_days": "PHOTO_RECEIPT_REVIEW_RETENTION_DAYS",
    "api_key_cache_s": "PHOTO_RECEIPT_API_KEY_CACHE_S",
    "rate_limit_storage": "RATE_LIMIT_STORAGE_URL",
    "rate_strategy": "PHOTO_RECEIPT_RATE_STRATEGY",
    "rate_key_window_s": "PHOTO_RECEIPT_RATE_KEY_WINDOW_S",
    "rate_client_failures": "PHOTO_RECEIPT_RATE_CLIENT_FAILURES",
    "rate_verify": "PHOTO_RECEIPT_RATE_VERIFY",
    "rate_uploads": "PHOTO_RECEIPT_RATE_UPLOADS",
    "rate_resubmissions": "PHOTO_RECEIPT_RATE_RESUBMISSIONS",
    "rate_order_failures": "PHOTO_RECEIPT_RATE_ORDER_FAILURES",
    "rate_allow": "PHOTO_RECEIPT_RATE_ALLOW",
    "audit_flush_s": "PHOTO_RECEIPT_AUDIT_FLUSH_S",
}
