"""Memory benchmark: the API's RSS under worst-case uploads and over a soak.

    .venv/bin/python bench/memory_bench.py [--parallel 8] [--count 1000] [--process-every 5] [--max-seconds 900]

All on loopback: `photo-receipt serve` as a subprocess on a free port with a temporary
PHOTO_RECEIPT_HOME (SQLite, blobs, in-process jobs: the worker decodes inside the same
process, so its decodes count too). RSS is read from /proc/<pid>/status, sampled every 20 ms.
1. warm-up: one real photo to a verdict (models loaded), then RSS "before";
2. `--parallel` uploads at once of the 138 KB 16-bit 7999×7999 PNG (128 MB if decoded; the
   header probe refuses it), then as many at once of a 16-bit 7000×7000 PNG (98 MB decoded,
   under the budget: accepted, decoded by the in-process worker a few at a time);
3. soak: `--count` uploads, `--parallel` at a time, cycling through refused files (the bomb,
   a truncated JPEG, a tiny photo) and every `--process-every`-th one a file that is processed
   (a real photo or the 7000 px PNG); waits for the queue to drain, then RSS "after".
Prints before / peak / after for each phase and exits 1 when a goal is missed:
phase 2 raises RSS by less than 300 MB; after the soak RSS is within 20 % of its start.
"""

from __future__ import annotations

import argparse
import io
import os
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
SPEC = "guangdong-exit-entry"  # the spec the shipped samples pass (a fresh clone has no other compliant photo)
FINAL = {"issued", "rejected", "in_review", "error"}


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


class Sampler:
    """The peak RSS of a process between start() and stop()."""

    def __init__(self, pid: int) -> None:
        self.pid, self.peak, self._stop = pid, 0.0, threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, rss_mb(self.pid))
            time.sleep(0.02)

    def __enter__(self) -> Sampler:
        self.peak = rss_mb(self.pid)
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, rss_mb(self.pid))


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(home: str, port: int) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "DATABASE_URL", "STORAGE_DIR")}
    env.update(PHOTO_RECEIPT_HOME=home, PHOTO_RECEIPT_WEB_PLUGINS="none")
    exe = Path(sys.executable).with_name("photo-receipt")
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "receipt.cli"]
    log = open(Path(home) / "server.log", "wb")  # noqa: SIM115 - the server writes it until the end
    proc = subprocess.Popen([*cmd, "serve", "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"],
                            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/api/v1/health", timeout=2).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError(f"server did not start; see {home}/server.log")


def files() -> dict[str, bytes]:
    from PIL import Image

    from tests.images import big_sixteen_bit_png
    from tests.service_fixtures import compliant_photo

    photo = compliant_photo(SPEC)
    tiny = io.BytesIO()
    Image.open(io.BytesIO(photo)).convert("RGB").resize((120, 160)).save(tiny, "JPEG")
    return {"bomb": big_sixteen_bit_png(7999, 7999), "big": big_sixteen_bit_png(7000, 7000),
            "photo": photo, "truncated": photo[: len(photo) // 2], "tiny": tiny.getvalue()}


def upload(client: httpx.Client, data: bytes) -> tuple[int, str | None, str | None]:
    r = client.post("/api/v1/orders", files={"photo": ("p.png", data, "application/octet-stream")},
                    data={"spec": SPEC, "applicant_name": "张三"})
    body = r.json()
    return r.status_code, body.get("order_id"), body.get("token")


def wait_settled(client: httpx.Client, orders: list[tuple[str, str]], deadline: float) -> int:
    """Poll until every accepted order has a verdict (or the deadline); returns how many have none."""
    pending = list(orders)
    while pending and time.monotonic() < deadline:
        order_id, token = pending[0]
        view = client.get(f"/api/v1/orders/{order_id}", headers={"Authorization": f"Bearer {token}"}).json()
        if view["status"] in FINAL:
            pending.pop(0)
        else:
            time.sleep(0.25)
    return len(pending)


def burst(client: httpx.Client, data: bytes, n: int) -> list[tuple[int, str | None, str | None]]:
    with ThreadPoolExecutor(n) as pool:
        return list(pool.map(lambda _: upload(client, data), range(n)))


def run(args: argparse.Namespace) -> tuple[bool, dict[str, dict[str, float]]]:
    """Runs the phases; returns (goals met, {phase: {before, peak, after}}) and prints a line per phase."""
    blobs = files()
    ok = True
    figures: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory(prefix="memory-bench-") as home:
        port = free_port()
        server = start_server(home, port)
        pid = server.pid
        try:
            with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=120,
                              limits=httpx.Limits(max_connections=args.parallel * 2)) as client:
                deadline = time.monotonic() + args.max_seconds
                _, oid, tok = upload(client, blobs["photo"])
                wait_settled(client, [(oid, tok)], deadline)  # models loaded: the baseline is a warm server
                start = rss_mb(pid)
                print(f"server pid {pid}; RSS after warm-up: {start:.0f} MB")
                for name in ("bomb", "big"):
                    before = rss_mb(pid)
                    with Sampler(pid) as sampler:
                        results = burst(client, blobs[name], args.parallel)
                        accepted = [(o, t) for s, o, t in results if s == 202 and o and t]
                        wait_settled(client, accepted, deadline)
                    after = rss_mb(pid)
                    statuses = sorted({s for s, _, _ in results})
                    grew = sampler.peak - before
                    figures[name] = {"before": before, "peak": sampler.peak, "after": after}
                    print(f"{args.parallel} parallel {name:5} ({len(blobs[name]) // 1024} KB, HTTP {statuses}): "
                          f"RSS before {before:.0f} / peak {sampler.peak:.0f} / after {after:.0f} MB "
                          f"(peak +{grew:.0f} MB)")
                    ok &= grew < 300
                cycle = ["bomb", "truncated", "tiny", "bomb"]
                processed = ["photo", "big"]
                soak_start = rss_mb(pid)
                with Sampler(pid) as sampler:
                    def one(i: int) -> tuple[int, str | None, str | None]:
                        name = processed[(i // args.process_every) % 2] if i % args.process_every == 0 \
                            else cycle[i % len(cycle)]
                        return upload(client, blobs[name])
                    with ThreadPoolExecutor(args.parallel) as pool:
                        results = list(pool.map(one, range(args.count)))
                    accepted = [(o, t) for s, o, t in results if s == 202 and o and t]
                    left = wait_settled(client, accepted, deadline)
                time.sleep(2)
                soak_end = rss_mb(pid)
                errors = sum(1 for s, _, _ in results if s >= 500)
                figures["soak"] = {"before": soak_start, "peak": sampler.peak, "after": soak_end, "start": start,
                                   "errors": errors, "unsettled": left}
                print(f"soak {args.count} uploads ({len(accepted)} processed, {left} unsettled, {errors} 5xx): "
                      f"RSS before {soak_start:.0f} / peak {sampler.peak:.0f} / after {soak_end:.0f} MB "
                      f"({(soak_end - soak_start) / soak_start * 100:+.0f} %)")
                ok &= soak_end <= soak_start * 1.2 and errors == 0 and left == 0
        finally:
            server.terminate()
            try:
                server.wait(20)
            except subprocess.TimeoutExpired:
                server.kill()
    print("goals met" if ok else "GOAL MISSED")
    return ok, figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--parallel", type=int, default=8)
    parser.add_argument("--count", type=int, default=1000, help="soak uploads")
    parser.add_argument("--process-every", type=int, default=5, help="every n-th soak upload is a processed one")
    parser.add_argument("--max-seconds", type=float, default=900, help="bound on the whole run")
    ok, _ = run(parser.parse_args(argv))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
