"""Service benchmark: upload-to-verdict latency and photos per second with one and two workers.

    .venv/bin/python bench/service_bench.py [--count 24] [--latency-count 8] [--max-seconds 120]

What it runs, all on loopback:
1. baseline: the in-process pipeline alone (process_photo + issue_receipt on pass), one photo
   after another in this process, models warm;
2. the service as deployed: `photo-receipt serve` (subprocess) with REDIS_URL, and 1 then 2
   `python worker.py` processes; a client uploads over HTTP and polls each order until it has a
   verdict. "one at a time" = an applicant on an idle service; "burst" = `--count` uploads at
   once, throughput = photos / (last verdict - first upload).
Latency = client's POST start -> the server's timestamp of the verdict event (same machine clock),
so the client can poll lazily (every 250 ms) without its polling loading the API it measures.
Bounded: at most --count photos per phase and --max-seconds per phase. SQLite in a temporary
directory unless --database-url is given; the machine's Redis with a queue of its own.
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from urllib.parse import urlparse

import httpx

ROOT = Path(__file__).resolve().parents[1]
EVAL = ROOT.parent / "shared" / "eval"
SPEC = "shenzhen-ssc"
FINAL = {"issued", "rejected", "in_review", "error"}
LOOPBACK = {"127.0.0.1", "localhost", "::1"}
POLL_OLDEST = 3  # orders polled per round in a burst


def photos(limit: int) -> list[tuple[str, bytes]]:
    """Compliant labelled photos of ../shared/eval (read in place), else the shipped samples."""
    from receipt.eval.labels import compliant_photos

    found = [(path.name, path.read_bytes()) for _, path in compliant_photos(EVAL)]
    if not found:
        found = [(p.name, p.read_bytes()) for p in sorted((ROOT / "samples").iterdir()) if p.suffix in (".jpg", ".png")]
    return found[:limit] if limit else found


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def summary(values: list[float]) -> str:
    return f"median {statistics.median(values) * 1000:6.0f} ms   p95 {pct(values, 0.95) * 1000:6.0f} ms"


def baseline(inputs: list[tuple[str, bytes]], count: int) -> tuple[list[float], dict[str, int]]:
    from receipt.errors import ReceiptError
    from receipt.issue.issuer import issue_receipt
    from receipt.photo.vision import warm_up
    from receipt.pipeline import process_photo
    from receipt.specs import get_spec

    warm_up()
    spec = get_spec(SPEC)
    times: list[float] = []
    verdicts: dict[str, int] = {}
    for i in range(count):
        data = inputs[i % len(inputs)][1]
        t = time.perf_counter()
        try:
            result = process_photo(data, spec)
            verdict = result.verdict
            if verdict == "pass" and result.photo is not None:
                issue_receipt(spec, result.photo.jpeg)
        except ReceiptError:
            verdict = "error"
        times.append(time.perf_counter() - t)
        verdicts[verdict] = verdicts.get(verdict, 0) + 1
    return times, verdicts


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of one process so far (from /proc; 0 where there is no /proc)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime


def redis_pid(url: str) -> int | None:
    from redis import Redis

    try:
        return int(Redis.from_url(url).info("server")["process_id"])
    except Exception:  # noqa: BLE001 - a remote or restricted Redis: its CPU is just not shown
        return None


class CpuMeter:
    """CPU seconds each part of the service spends during one phase: where the cores go."""

    def __init__(self, parts: dict[str, list[int]]) -> None:
        self.parts = parts
        self.start = self._read()
        self.laps: dict[str, dict[str, float]] = {}

    def _read(self) -> dict[str, float]:
        return {name: sum(cpu_seconds(pid) for pid in pids) for name, pids in self.parts.items()}

    def lap(self) -> dict[str, float]:
        """CPU seconds per part since the start or the last lap."""
        now = self._read()
        spent = {name: now[name] - self.start[name] for name in self.parts}
        self.start = now
        return spent


def _side_by_side_worker(args: tuple[list[tuple[str, bytes]], int, object]) -> tuple[float, float]:
    inputs, count, barrier = args
    baseline(inputs[:1], 1)  # models warm before the clock starts
    barrier.wait()  # type: ignore[attr-defined]
    start = time.perf_counter()
    baseline(inputs, count)
    return start, time.perf_counter()


def side_by_side(inputs: list[tuple[str, bytes]], count: int, processes: int) -> float:
    """photos/s of `processes` in-process pipelines running at once, no service: the machine's own ceiling."""
    import multiprocessing

    ctx = multiprocessing.get_context("spawn")
    with ctx.Manager() as manager:
        barrier = manager.Barrier(processes)
        with ctx.Pool(processes) as pool:
            spans = pool.map(_side_by_side_worker, [(inputs, count, barrier)] * processes)
    return processes * count / (max(e for _, e in spans) - min(s for s, _ in spans))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Service:
    def __init__(self, env: dict[str, str], logs: Path) -> None:
        self.env, self.logs = env, logs
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.workers: list[subprocess.Popen[bytes]] = []
        self.api = self._spawn([sys.executable, "-m", "receipt.cli", "serve", "--port", str(self.port),
                                "--log-level", "warning"], "api")
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(self.url + "/api/v1/health", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.2)
        raise SystemExit("the API did not start; see " + str(logs))

    def _spawn(self, cmd: list[str], name: str) -> subprocess.Popen[bytes]:
        log = open(self.logs / f"{name}.log", "ab")  # noqa: SIM115 - owned by the child
        return subprocess.Popen(cmd, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT)

    def scale(self, n: int) -> None:
        from redis import Redis
        from rq import Queue, Worker

        while len(self.workers) < n:
            self.workers.append(self._spawn([sys.executable, "worker.py"], f"worker{len(self.workers)}"))
        queue = Queue(self.env["PHOTO_RECEIPT_QUEUE"], connection=Redis.from_url(self.env["REDIS_URL"]))
        deadline = time.monotonic() + 60
        while len(Worker.all(queue=queue)) < n:  # registered = models loaded
            if time.monotonic() > deadline:
                raise SystemExit("workers did not start")
            time.sleep(0.2)

    def close(self) -> None:
        for proc in [*self.workers, self.api]:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in [*self.workers, self.api]:
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()


def run_orders(url: str, inputs: list[tuple[str, bytes]], count: int, concurrent: bool, max_seconds: float,
               meter: CpuMeter | None = None) -> tuple[list[float], float, dict[str, int]]:
    """Upload `count` photos (all at once, or one after another); returns latencies, wall time, verdicts.

    With a meter, a burst records two CPU laps: the uploads, then the processing until the last verdict."""
    client = httpx.Client(base_url=url, timeout=60)

    def upload(i: int) -> tuple[float, str, str]:
        name, data = inputs[i % len(inputs)]
        start = time.time()
        r = client.post("/api/v1/orders", files={"photo": (name, data, "image/jpeg")},
                        data={"spec": SPEC, "applicant_name": "测试"})
        r.raise_for_status()
        body = r.json()
        return start, body["order_id"], body["token"]

    def verdict_time(order_id: str, token: str) -> float:
        events = client.get(f"/api/v1/orders/{order_id}/events", headers={"Authorization": f"Bearer {token}"}).json()
        final = [e for e in events["events"] if e["type"] == "order.status" and e["status"] in FINAL]
        return datetime.fromisoformat(final[-1]["created_at"]).timestamp()

    def wait(pending: dict[str, tuple[float, str]], deadline: float) -> tuple[dict[str, float], dict[str, int]]:
        done: dict[str, float] = {}
        verdicts: dict[str, int] = {}
        while pending and time.perf_counter() < deadline:
            # the queue is first in, first out: only the oldest few can have finished, so only they
            # are polled (latency comes from the server's timestamps, so lazy polling costs no accuracy)
            for order_id, (start, token) in list(pending.items())[:POLL_OLDEST]:
                view = client.get(f"/api/v1/orders/{order_id}", headers={"Authorization": f"Bearer {token}"}).json()
                if view["status"] in FINAL:
                    done[order_id] = verdict_time(order_id, token) - start
                    verdicts[view["status"]] = verdicts.get(view["status"], 0) + 1
                    del pending[order_id]
            time.sleep(0.25)
        if pending:
            verdicts["unfinished"] = len(pending)
        return done, verdicts

    def last_verdict_wall(started: list[tuple[float, str, str]], done: dict[str, float]) -> float:
        first = min(s for s, _, _ in started)
        return max(s + done[o] for s, o, _ in started if o in done) - first

    began = time.perf_counter()
    deadline = began + max_seconds
    latencies: list[float] = []
    verdicts: dict[str, int] = {}
    if concurrent:
        with ThreadPoolExecutor(8) as pool:
            started = list(pool.map(upload, range(count)))
        if meter is not None:
            meter.laps["upload"] = meter.lap()
        done, verdicts = wait({o: (s, t) for s, o, t in started}, deadline)
        if meter is not None:
            meter.laps["processing"] = meter.lap()
        latencies = list(done.values())
        client.close()
        return latencies, last_verdict_wall(started, done), verdicts
    else:
        for i in range(count):
            start, order_id, token = upload(i)
            done, v = wait({order_id: (start, token)}, deadline)
            latencies += done.values()
            for k, n in v.items():
                verdicts[k] = verdicts.get(k, 0) + n
    wall = time.perf_counter() - began
    client.close()
    return latencies, wall, verdicts


def check_loopback(url: str, what: str) -> None:
    host = urlparse(url).hostname
    if host not in LOOPBACK:
        raise SystemExit(f"{what} must be on loopback for this benchmark, not {host}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--count", type=int, default=24, help="photos per burst (and for the baseline)")
    parser.add_argument("--latency-count", type=int, default=8, help="one-at-a-time uploads per worker count")
    parser.add_argument("--max-seconds", type=float, default=120, help="time limit per phase")
    parser.add_argument("--redis-url", default=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"))
    parser.add_argument("--database-url", help="default: a SQLite file in a temporary directory")
    args = parser.parse_args()
    args.count = max(1, min(args.count, 200))
    args.latency_count = max(1, min(args.latency_count, 50))
    check_loopback(args.redis_url, "Redis")
    if args.database_url and not args.database_url.startswith("sqlite"):
        check_loopback(args.database_url.replace("+psycopg", ""), "the database")

    inputs = photos(12)
    print(f"{len(inputs)} distinct input photos, spec {SPEC}, {os.cpu_count()} CPU cores")
    baseline(inputs[:1], 1)  # models built and warm before the clocks start
    cpu_start = time.process_time()
    base_times, base_verdicts = baseline(inputs, args.count)
    base_cpu = (time.process_time() - cpu_start) / len(base_times)
    base_rate = len(base_times) / sum(base_times)
    print(f"\nbaseline: in-process pipeline, {len(base_times)} photos, one after another  {base_verdicts}")
    print(f"  per photo        {summary(base_times)}   {base_rate:5.2f} photos/s   CPU {base_cpu * 1000:.0f} ms "
          f"(= {base_cpu * base_rate:.2f} cores busy: the models' own threads)")

    two_pipelines = side_by_side(inputs, max(4, args.count // 2), 2)
    print(f"  two in-process pipelines side by side (no service): {two_pipelines:5.2f} photos/s "
          f"= {two_pipelines / base_rate:4.2f}x one  (what this machine's cores give at best)")

    tmp = Path(tempfile.mkdtemp(prefix="service-bench-"))
    env = {**os.environ, "PHOTO_RECEIPT_RATE_ALLOW": "127.0.0.0/8,::1",  # the bench is one address
           "PHOTO_RECEIPT_HOME": str(tmp / "home"), "STORAGE_DIR": str(tmp / "blobs"),
           "DATABASE_URL": args.database_url or f"sqlite:///{tmp / 'bench.db'}", "REDIS_URL": args.redis_url,
           "PHOTO_RECEIPT_QUEUE": f"bench-{secrets.token_hex(4)}", "PHOTO_RECEIPT_SWEEP_S": "2"}
    env.pop("WEBHOOK_URL", None)
    service = Service(env, tmp)
    results = []
    try:
        for n in (1, 2):
            service.scale(n)
            lat, _, v1 = run_orders(service.url, inputs, args.latency_count, False, args.max_seconds)
            meter = CpuMeter({"workers": [w.pid for w in service.workers], "API": [service.api.pid],
                              "Redis": [pid] if (pid := redis_pid(args.redis_url)) else [],
                              "client (this bench)": [os.getpid()]})
            burst, wall, v2 = run_orders(service.url, inputs, args.count, True, args.max_seconds, meter)
            rate = len(burst) / wall
            results.append((n, lat, burst, rate))
            print(f"\nservice, {n} worker{'s' if n > 1 else ''} (API + Redis + {env['DATABASE_URL'].split(':')[0]})")
            print(f"  one at a time    {summary(lat)}   ({len(lat)} uploads) {v1}")
            print(f"  burst of {args.count:<3}     {summary(burst)}   {rate:5.2f} photos/s  "
                  f"= {rate / base_rate:4.2f}x baseline  {v2}")
            print(f"  per worker process {rate / n:5.2f} photos/s = {rate / n / base_rate:4.2f}x the in-process pipeline")
            for lap, spent in meter.laps.items():
                print(f"  CPU per photo, {lap:<10} " + ", ".join(
                    f"{k} {v / max(1, len(burst)) * 1000:.0f} ms" for k, v in spent.items()))
            print(f"  (the in-process pipeline: {statistics.median(base_times) * 1000:.0f} ms wall per photo)")
    finally:
        service.close()
        shutil.rmtree(tmp, ignore_errors=True)
    one = results[0]
    print("\nsummary")
    print(f"  upload-to-verdict, idle service (1 worker): median {statistics.median(one[1]) * 1000:.0f} ms, "
          f"p95 {pct(one[1], 0.95) * 1000:.0f} ms  (baseline pipeline median "
          f"{statistics.median(base_times) * 1000:.0f} ms = "
          f"{statistics.median(one[1]) / statistics.median(base_times):.2f}x)")
    for n, _, _, rate in results:
        print(f"  throughput with {n} worker{'s' if n > 1 else ' '}: {rate:.2f} photos/s = {rate / base_rate:.2f}x baseline")
    if len(results) == 2:
        print(f"  2 workers / 1 worker: {results[1][3] / results[0][3]:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
