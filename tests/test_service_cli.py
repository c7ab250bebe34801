"""`photo-receipt serve` as a real process: API, applicant page (entry-point plugin) and in-process jobs."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx

from tests.conftest import ROOT
from tests.service_fixtures import TEST_SPEC, Backend, compliant_photo, free_port, wait_for


def test_serve_runs_api_page_and_in_process_jobs(tmp_path: Path) -> None:
    (tmp_path / "home").mkdir()
    backend = Backend("sqlite", f"sqlite:///{tmp_path / 'serve.db'}", tmp_path)
    port = free_port()
    log = open(tmp_path / "serve.log", "wb")  # noqa: SIM115 - closed below
    proc = subprocess.Popen([sys.executable, "-m", "receipt.cli", "serve", "--port", str(port)], cwd=ROOT,
                            env=backend.env(REDIS_URL=None), stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        def up() -> bool:
            try:
                return httpx.get(url + "/api/v1/health", timeout=1).json()["jobs"] == "in-process"
            except httpx.HTTPError:
                return proc.poll() is not None  # died: stop waiting, the asserts below say why
        wait_for(up, 60, 0.2, what="photo-receipt serve to start")
        assert proc.poll() is None, (tmp_path / "serve.log").read_text()
        page = httpx.get(url + "/")
        assert page.status_code == 200 and "照片回执" in page.text and 'capture="user"' in page.text
        order = httpx.post(url + "/api/v1/orders", files={"photo": ("p.jpg", compliant_photo(), "image/jpeg")},
                           data={"spec": TEST_SPEC, "applicant_name": "张三"}).json()
        auth = {"Authorization": f"Bearer {order['token']}"}
        view = wait_for(lambda: (v := httpx.get(f"{url}/api/v1/orders/{order['order_id']}", headers=auth).json())
                        ["status"] in ("issued", "rejected", "in_review", "error") and v, 60, 0.2, what="a verdict")
        assert view["status"] == "issued"
    finally:
        proc.terminate()
        proc.wait(20)
        log.close()
