"""Fixtures and helpers for the service tests (loaded from conftest.py via pytest_plugins).

- `backend`: the same tests on SQLite (a file, blobs in a directory) and PostgreSQL (a fresh
  random schema in database `test`, dropped afterwards; blobs in PostgreSQL too, STORAGE_URL);
  PostgreSQL and Redis skip with a reason when they are
  not reachable, and fail under PHOTO_RECEIPT_STRICT=1.
- `redis_url`: the machine's Redis; each test that uses it gets its own queue name.
- `start_worker`: real `python worker.py` subprocesses, killed at teardown.
- photos: a compliant photo that the current rule set passes (a shipped sample from samples/
  first, so a fresh clone without ../shared runs these tests; then ../shared/eval, read in place),
  and a derived two-face photo that every rule set rejects.
"""

from __future__ import annotations

import functools
import io
import os
import secrets
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT, SAMPLES, SHARED_EVAL, require

PG_USERS = ("postgres", "root")
PG_HOST = "127.0.0.1:5432"
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
# The London Set samples wear white T-shirts: on a white-only spec they go to review (GA 461), on
# exit-entry they are composed on the light blue and pass -- so the service tests order exit-entry.
TEST_SPEC = "guangdong-exit-entry"
# Shipped compliant samples, then compliant photos of ../shared/eval (read in place), then every photo labelled ok.
SAMPLE_CANDIDATES = ("london-005.jpg", "london-034.jpg", "london-006.jpg")
CANDIDATES = ("a_021", "b_045", "c_052", "a_029", "c_053")
FAST = {  # sweeps, leases and back-offs short enough for tests
    "PHOTO_RECEIPT_SWEEP_S": "0.3", "PHOTO_RECEIPT_LEASE_S": "30", "PHOTO_RECEIPT_REQUEUE_S": "2",
    "PHOTO_RECEIPT_RETRY_BASE_S": "0.2", "PHOTO_RECEIPT_MAX_TRIES": "3",
}
# The service tests upload far more than one address may; tests/test_web_limits.py tests the limits.
GENEROUS_LIMITS = {"PHOTO_RECEIPT_RATE_UPLOADS": "100000/hour", "PHOTO_RECEIPT_RATE_RESUBMISSIONS": "100000/hour",
                   "PHOTO_RECEIPT_RATE_ORDER_FAILURES": "100000/minute"}


# --- photos -------------------------------------------------------------------------------------

@functools.cache
def _passing_photo(spec_id: str) -> bytes | None:
    """The first compliant photo (samples/, then ../shared/eval) the current rule set passes for `spec_id`.

    Chosen at run time because the rule set is tuned over time: the service tests are about
    orders and queues, so any photo the pipeline issues will do, and none found is reported."""
    import json

    from receipt.pipeline import process_photo
    from receipt.specs import get_spec

    for name in SAMPLE_CANDIDATES:
        if process_photo(data := (SAMPLES / name).read_bytes(), get_spec(spec_id)).verdict == "pass":
            return data
    stems = list(CANDIDATES)
    labels = SHARED_EVAL / "labels.jsonl"
    if labels.exists():
        for line in labels.read_text(encoding="utf-8").splitlines():
            row = json.loads(line)
            if row.get("id_photo_ok") and not row.get("synthetic") and row["id"] not in stems:
                stems.append(row["id"])
    for stem in stems:
        matches = sorted((SHARED_EVAL / "images").glob(f"{stem}.*"))
        if matches and process_photo(data := matches[0].read_bytes(), get_spec(spec_id)).verdict == "pass":
            return data
    return None


def compliant_photo(spec_id: str = TEST_SPEC) -> bytes:
    """A real photo the pipeline passes (so an order gets issued)."""
    data = _passing_photo(spec_id)
    require(data is not None, f"no compliant sample or eval photo passes the current rule set for {spec_id}")
    assert data is not None
    return data


def unique_compliant_photo(spec_id: str = TEST_SPEC) -> bytes:
    """The compliant photo with a random JPEG comment segment: identical pixels, a blob of its own."""
    data = compliant_photo(spec_id)
    assert data[:2] == b"\xff\xd8"
    comment = secrets.token_hex(8).encode()
    return data[:2] + b"\xff\xfe" + struct.pack(">H", len(comment) + 2) + comment + data[2:]


def two_face_photo() -> bytes:
    """Two portraits side by side: rejected (FACE_COUNT) by any rule set."""
    from PIL import Image

    a = Image.open(SAMPLES / "london-005.jpg").convert("RGB")
    c = Image.open(SAMPLES / "london-034.jpg").convert("RGB")
    h = 600
    a = a.resize((round(a.width * h / a.height), h))
    c = c.resize((round(c.width * h / c.height), h))
    both = Image.new("RGB", (a.width + c.width, h))
    both.paste(a, (0, 0))
    both.paste(c, (a.width, 0))
    out = io.BytesIO()
    both.save(out, "JPEG", quality=90)
    return out.getvalue()


# --- services -----------------------------------------------------------------------------------

def _pg_url(schema: str | None = None) -> str | None:
    """A working PostgreSQL URL for database `test`, or None."""
    import psycopg

    for user in PG_USERS:
        try:
            with psycopg.connect(f"postgresql://{user}@{PG_HOST}/test", connect_timeout=2):
                pass
        except psycopg.Error:
            continue
        url = f"postgresql+psycopg://{user}@{PG_HOST}/test"
        return f"{url}?options=-csearch_path%3D{schema}" if schema else url
    return None


def redis_available(url: str = REDIS_URL) -> bool:
    from redis import Redis
    from redis.exceptions import RedisError

    try:
        return bool(Redis.from_url(url, socket_connect_timeout=1).ping())
    except RedisError:
        return False


@pytest.fixture(scope="session")
def redis_url() -> str:
    require(redis_available(), f"Redis not reachable at {REDIS_URL}")
    return REDIS_URL


@dataclass
class Backend:
    name: str  # sqlite | postgresql
    database_url: str
    root: Path  # scratch directory: blobs, home, logs
    env_extra: dict[str, str] = field(default_factory=dict)

    def env(self, **overrides: str | None) -> dict[str, str]:
        """Environment for a subprocess (worker.py) or for ServiceSettings.from_env."""
        env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "WEBHOOK_URL", "DATABASE_URL")}
        env.update({"DATABASE_URL": self.database_url, "STORAGE_DIR": str(self.root / "blobs"),
                    "PHOTO_RECEIPT_HOME": str(self.root / "home"), "PYTHONUNBUFFERED": "1", **FAST, **GENEROUS_LIMITS,
                    **self.env_extra})
        for key, value in overrides.items():
            if value is None:
                env.pop(key, None)
            else:
                env[key] = value
        return env

    def settings(self, **overrides: Any) -> Any:
        from receipt.config import ServiceSettings

        env = self.env()
        settings = ServiceSettings(
            database_url=self.database_url, storage_dir=Path(env["STORAGE_DIR"]), redis_url=None,
            storage_url=self.env_extra.get("STORAGE_URL"),
            sweep_interval_s=float(FAST["PHOTO_RECEIPT_SWEEP_S"]), lease_s=float(FAST["PHOTO_RECEIPT_LEASE_S"]),
            requeue_after_s=float(FAST["PHOTO_RECEIPT_REQUEUE_S"]), retry_base_s=float(FAST["PHOTO_RECEIPT_RETRY_BASE_S"]),
            max_tries=int(FAST["PHOTO_RECEIPT_MAX_TRIES"]), rate_uploads=GENEROUS_LIMITS["PHOTO_RECEIPT_RATE_UPLOADS"],
            rate_resubmissions=GENEROUS_LIMITS["PHOTO_RECEIPT_RATE_RESUBMISSIONS"],
            rate_order_failures=GENEROUS_LIMITS["PHOTO_RECEIPT_RATE_ORDER_FAILURES"])
        return settings.with_(**overrides)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Backend]:
    root = tmp_path_factory.mktemp(f"svc-{request.param}")
    (root / "home").mkdir()
    if request.param == "sqlite":
        yield Backend("sqlite", f"sqlite:///{root / 'receipts.db'}", root)
        return
    schema = f"prt_{secrets.token_hex(6)}"
    base = _pg_url()
    require(base is not None, f"PostgreSQL not reachable at {PG_HOST} (database 'test', user postgres or root)")
    assert base is not None
    from sqlalchemy import create_engine, text

    admin = create_engine(base)
    with admin.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    try:
        url = f"{base}?options=-csearch_path%3D{schema}"
        # PostgreSQL runs keep the blobs in the database too: the several-machines set-up, no shared disk
        yield Backend("postgresql", url, root, env_extra={"STORAGE_URL": url})
    finally:
        with admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


# --- processes ----------------------------------------------------------------------------------

class Workers:
    def __init__(self, log_dir: Path) -> None:
        self.log_dir = log_dir
        self.procs: list[subprocess.Popen[bytes]] = []

    def start(self, env: dict[str, str], *args: str) -> subprocess.Popen[bytes]:
        log = open(self.log_dir / f"worker-{len(self.procs)}-{secrets.token_hex(3)}.log", "wb")  # noqa: SIM115
        proc = subprocess.Popen([sys.executable, str(ROOT / "worker.py"), "-v", *args], cwd=ROOT, env=env,
                                stdout=log, stderr=subprocess.STDOUT)
        proc.log_path = Path(log.name)  # type: ignore[attr-defined]
        log.close()
        self.procs.append(proc)
        return proc

    def stop_all(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


@pytest.fixture
def workers(tmp_path: Path) -> Iterator[Workers]:
    pool = Workers(tmp_path)
    yield pool
    pool.stop_all()
    for proc in pool.procs:  # shown by pytest only when the test failed
        text = proc.log_path.read_text(errors="replace")  # type: ignore[attr-defined]
        print(f"--- worker pid {proc.pid} exit {proc.returncode} ---\n{text[-4000:]}")


def wait_for(predicate: Callable[[], Any], timeout: float = 30.0, interval: float = 0.1, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class LiveServer:
    """uvicorn serving an app in a background thread on a free loopback port."""

    def __init__(self, app: Any) -> None:
        import uvicorn

        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning",
                                                    lifespan="on"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> LiveServer:
        self.thread.start()
        wait_for(lambda: self.server.started, 30, what="uvicorn start")
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(15)
