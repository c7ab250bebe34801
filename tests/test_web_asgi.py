"""`photo-receipt serve --workers 2`: two API processes from the import-string factory.

With Redis they count rate limits together; with memory storage each process counts alone
(what stays per process), which also shows that both processes answered."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from receipt.config import ServiceSettings
from receipt.service.runtime import Runtime
from tests.card_fixtures import issue_rows, new_key
from tests.conftest import ROOT
from tests.service_fixtures import free_port, wait_for


@pytest.mark.parametrize("storage", ["redis", "memory"])
def test_two_processes_and_their_rate_counts(tmp_path: Path, redis_url: str, storage: str) -> None:
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'receipts.db'}", "STORAGE_DIR": str(tmp_path / "blobs"),
           "PHOTO_RECEIPT_HOME": str(tmp_path / "home"), "REDIS_URL": redis_url, "PHOTO_RECEIPT_WEB_PLUGINS": "none",
           "PHOTO_RECEIPT_QUEUE": f"asgi-{time.time_ns()}", "PHOTO_RECEIPT_RATE_STRATEGY": "moving-window",
           "PHOTO_RECEIPT_RATE_KEY_WINDOW_S": "60", "RATE_LIMIT_STORAGE_URL": redis_url if storage == "redis" else "memory://"}
    settings = ServiceSettings(database_url=env["DATABASE_URL"], storage_dir=tmp_path / "blobs", redis_url=None)
    rt = Runtime.create(settings)
    issued = issue_rows(rt)
    key = new_key(rt, "shenzhen-ssc", rate=1)  # 60 lookups per 60 s, counted in Redis by both processes
    rt.close()
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "receipt.cli", "serve", "--port", str(port), "--workers", "2",
                             "--log-level", "warning"], cwd=ROOT, env=env, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    try:
        def up() -> bool:
            try:
                return httpx.get(f"{url}/api/v1/ping", timeout=1).status_code == 200
            except httpx.HTTPError:
                return False
        wait_for(up, 60, 0.2, what="two API processes")
        with httpx.Client(base_url=url, headers={"X-API-Key": key}) as client:  # new connections: both processes
            codes = []
            for _ in range(130):
                with httpx.Client(base_url=url, headers={"X-API-Key": key}) as fresh:
                    codes.append(fresh.get(f"/api/v1/receipts/{issued.number}").status_code)
            if storage == "redis":
                assert codes.count(200) == 60 and codes.count(429) == 70, codes  # one budget for both processes
                assert client.get(f"/api/v1/receipts/{issued.number}").status_code == 429
            else:
                assert 60 < codes.count(200) <= 120, codes  # a budget per process: both of them answered
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
