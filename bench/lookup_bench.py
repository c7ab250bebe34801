"""Card-system lookup benchmark (not a test): requests/s and p50/p99 on loopback with wrk.

    .venv/bin/python bench/lookup_bench.py [--duration 5] [--connections 16] [--receipts 300]
                                           [--configs embedded,pg-redis] [--workers 1,2]

Needs `wrk` (Debian package `wrk`: apt-get install -y wrk). For each configuration
- embedded: SQLite file, rate limits in memory (the default without REDIS_URL),
- pg-redis: PostgreSQL (a fresh schema in database `test` on 127.0.0.1:5432, dropped after)
  and Redis at 127.0.0.1:6379 for the rate limits (REDIS_URL set),
and for 1 and 2 API processes (`photo-receipt serve --workers N`; with memory limits each
process counts on its own, and each process has its own key cache and audit batcher), it
starts the real server, seeds receipts (rows written like the issuing service does, one PDF
blob shared by all: this measures lookups, not issuing), makes an API key, and runs wrk for
`--duration` seconds against, in one run of one server:
- ping: GET /api/v1/ping, the trivial endpoint of the same app (async, touches nothing);
- health: GET /api/v1/health (one SELECT 1 per request) for reference;
- lookup: GET /api/v1/receipts/{number} over all seeded numbers (metadata);
- photo: GET /api/v1/receipts/{number}/photo.jpg (about 15 KB each).
Then a single client alternates "exists but out of scope" and "does not exist" lookups and
reports each one's median latency (both must answer the same 404, and should take as long).
The goal the issue sets: lookups >= 60 % of ping's rate with p99 <= 20 ms at that load, and
>= 1500 requests/s with PostgreSQL + Redis on this 2-core machine. wrk, the server, PostgreSQL
and Redis all share the 2 cores, so the figures are a lower bound for a real deployment.
Loopback only; every run is bounded by --duration.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import re
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
PG_BASE = "postgresql+psycopg://{user}@127.0.0.1:5432/test"
REDIS = "redis://127.0.0.1:6379/0"


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def spec_photo(rng: bytes) -> bytes:
    from PIL import Image

    img = Image.new("RGB", (358, 441), (255, 255, 255))
    img.paste(Image.frombytes("RGB", (16, 16), rng), (0, 0))
    out = io.BytesIO()
    img.save(out, "JPEG", quality=90, dpi=(350, 350))
    return out.getvalue()


def seed(env: dict[str, str], count: int) -> tuple[list[str], list[str], str]:
    """(shenzhen-ssc numbers, dongguan-ssc numbers, API key for shenzhen-ssc) written into env's database."""
    saved = dict(os.environ)
    os.environ.update(env)
    try:
        from receipt.issue.issuer import expiry_for, issue_receipt
        from receipt.issue.numbers import new_receipt_number
        from receipt.issue.signing import sign_receipt
        from receipt.service.cards.apikeys import create_key
        from receipt.service.db import Attempt, Order, Receipt
        from receipt.service.runtime import Runtime
        from receipt.specs import get_spec

        rt = Runtime.create()
        pdf_sha = rt.blobs.put(issue_receipt(get_spec("shenzhen-ssc"), spec_photo(secrets.token_bytes(768))).pdf)
        numbers: dict[str, list[str]] = {"shenzhen-ssc": [], "dongguan-ssc": []}
        with rt.db.session() as session:
            for i in range(count + count // 10):
                spec = get_spec("shenzhen-ssc" if i < count else "dongguan-ssc")
                photo = spec_photo(secrets.token_bytes(768))
                sha = rt.blobs.put(photo)
                now = datetime.now(UTC).replace(microsecond=0)
                number = new_receipt_number(spec.number_prefix)
                order = Order(id=secrets.token_hex(10), spec_id=spec.id, status="issued", applicant_name="bench",
                              token_hash="0" * 64)
                session.add(order)
                session.flush()
                attempt = Attempt(order_id=order.id, seq=1, status="done", upload_sha256=sha, upload_bytes=len(photo),
                                  verdict="pass")
                session.add(attempt)
                session.flush()
                expires = expiry_for(spec, now)
                session.add(Receipt(order_id=order.id, attempt_id=attempt.id, number=number, spec_id=spec.id,
                                    issued_at=now, expires_on=expires, photo_sha256=sha, pdf_sha256=pdf_sha,
                                    qr_payload=sign_receipt(number, spec.id, now, expires, sha), approved_by="machine"))
                numbers[spec.id].append(number)
        _, key = create_key(rt.db, f"bench-{secrets.token_hex(3)}", ["shenzhen-ssc"], rate_per_s=100_000)
        rt.close()
        return numbers["shenzhen-ssc"], numbers["dongguan-ssc"], key
    finally:
        os.environ.clear()
        os.environ.update(saved)


def start_server(env: dict[str, str], workers: int, log: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    out = open(log, "wb")  # noqa: SIM115
    proc = subprocess.Popen([sys.executable, "-m", "receipt.cli", "serve", "--port", str(port), "--log-level", "warning",
                             "--workers", str(workers)], cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
                            start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/api/v1/ping", timeout=1).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            pass
        if proc.poll() is not None:
            break
        time.sleep(0.2)
    stop_server(proc)
    raise SystemExit(f"server did not start; see {log}:\n{log.read_text()[-3000:]}")


def stop_server(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def group_cpu_s(pgid: int) -> float:
    """CPU seconds (user + system) used so far by every live process of the server's process group."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid:  # field 5 of /proc/PID/stat: process group
            total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / tick


def _ms(text: str) -> float:
    value, unit = re.match(r"([\d.]+)(us|ms|s)", text).groups()  # type: ignore[union-attr]
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def wrk(url: str, paths: list[str], key: str | None, duration: float, connections: int, work: Path,
        pgid: int | None = None) -> dict[str, float]:
    """wrk over `paths` in turn (a Lua script): rps, p50, p99 (ms), non-2xx count, and the server's
    CPU per request (us; the server processes only, not PostgreSQL, Redis or wrk)."""
    script = work / f"wrk-{secrets.token_hex(3)}.lua"
    headers = f'["X-API-Key"] = "{key}"' if key else ""
    script.write_text("local paths = {" + ",".join(json.dumps(p) for p in paths) + "}\n"
                      "local i = 0\n"
                      "request = function()\n  i = i + 1\n"
                      f"  return wrk.format('GET', paths[(i % #paths) + 1], {{{headers}}})\nend\n")
    cpu0 = group_cpu_s(pgid) if pgid else 0.0
    out = subprocess.run(["wrk", "-t1", f"-c{connections}", f"-d{duration:g}s", "--latency", "-s", str(script), url],
                         capture_output=True, text=True, timeout=duration + 30).stdout
    cpu = group_cpu_s(pgid) - cpu0 if pgid else 0.0
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    lat = dict(re.findall(r"^\s+(50|99)%\s+(\S+)", out, re.M))
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    done = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    return {"rps": rps, "p50": _ms(lat["50"]), "p99": _ms(lat["99"]), "non2xx": int(bad.group(1)) if bad else 0,
            "cpu_us": 1e6 * cpu / done if done else 0.0}


def side_channel(url: str, key: str, hidden: list[str], count: int = 400) -> dict[str, float]:
    """Median latency (ms) of 404s for existing-but-out-of-scope vs non-existent numbers, alternating."""
    from receipt.issue.numbers import new_receipt_number

    times: dict[str, list[float]] = {"out_of_scope": [], "absent": []}
    with httpx.Client(base_url=url, headers={"X-API-Key": key}) as client:
        for i in range(count * 2):
            kind = "out_of_scope" if i % 2 else "absent"
            number = hidden[i // 2 % len(hidden)] if kind == "out_of_scope" else new_receipt_number("SA2")
            start = time.perf_counter()
            r = client.get(f"/api/v1/receipts/{number}")
            times[kind].append((time.perf_counter() - start) * 1000)
            assert r.status_code == 404, r.text
    return {k: statistics.median(v) for k, v in times.items()}


def pg_schema() -> tuple[str, str, object] | None:
    import psycopg
    from sqlalchemy import create_engine, text

    for user in ("postgres", "root"):
        try:
            with psycopg.connect(f"postgresql://{user}@127.0.0.1:5432/test", connect_timeout=2):
                pass
        except psycopg.Error:
            continue
        schema = f"bench_{secrets.token_hex(4)}"
        admin = create_engine(PG_BASE.format(user=user))
        with admin.begin() as conn:
            conn.execute(text(f"CREATE SCHEMA {schema}"))
        return schema, f"{PG_BASE.format(user=user)}?options=-csearch_path%3D{schema}", admin
    return None


def run_config(name: str, workers_list: list[int], args: argparse.Namespace, work: Path) -> list[dict[str, object]]:
    home = work / name
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "DATABASE_URL", "RECEIPT_SIGNING_KEY")}
    env.update({"PHOTO_RECEIPT_HOME": str(home), "STORAGE_DIR": str(home / "blobs"), "PHOTO_RECEIPT_WEB_PLUGINS": "none",
                "PHOTO_RECEIPT_RATE_CLIENT_FAILURES": "10000000/minute", "PYTHONUNBUFFERED": "1"})
    cleanup = None
    if name == "embedded":
        env["DATABASE_URL"] = f"sqlite:///{home / 'receipts.db'}"
    else:
        made = pg_schema()
        if made is None:
            print(f"{name}: PostgreSQL not reachable, skipped")
            return []
        schema, env["DATABASE_URL"], admin = made
        env["REDIS_URL"] = REDIS
        env["PHOTO_RECEIPT_QUEUE"] = f"bench-{secrets.token_hex(3)}"

        def cleanup() -> None:
            from sqlalchemy import text

            with admin.begin() as conn:  # type: ignore[attr-defined]
                conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
    rows: list[dict[str, object]] = []
    try:
        numbers, hidden, key = seed(env, args.receipts)
        for workers in workers_list:
            proc, url = start_server(env, workers, home / f"serve-{workers}.log")
            try:
                time.sleep(args.settle)  # in-process mode warms the vision models at start: let it finish
                wrk(url, ["/api/v1/ping"], None, 2, args.connections, work)  # warm-up, not reported
                wrk(url, [f"/api/v1/receipts/{n}" for n in numbers], key, 2, args.connections, work)
                row: dict[str, object] = {"config": name, "workers": workers}
                for label, paths, with_key in (
                        ("ping", ["/api/v1/ping"], False), ("health", ["/api/v1/health"], False),
                        ("lookup", [f"/api/v1/receipts/{n}" for n in numbers], True),
                        ("photo", [f"/api/v1/receipts/{n}/photo.jpg" for n in numbers], True)):
                    row[label] = wrk(url, paths, key if with_key else None, args.duration, args.connections, work,
                                     pgid=proc.pid)
                row["side_channel_ms"] = side_channel(url, key, hidden)
                rows.append(row)
                report(row)
            finally:
                stop_server(proc)
    finally:
        if cleanup:
            cleanup()
    return rows


def report(row: dict[str, object]) -> None:
    ping = row["ping"]["rps"]  # type: ignore[index]
    load = ", ".join(f"{v:.1f}" for v in os.getloadavg())
    print(f"\n{row['config']}, {row['workers']} API process(es)  (load average {load} on {os.cpu_count()} cores):")
    for label in ("ping", "health", "lookup", "photo"):
        r = row[label]  # type: ignore[assignment]
        share = f"{100 * r['rps'] / ping:5.1f} % of ping" if label != "ping" else "   (baseline)"  # type: ignore[index]
        print(f"  {label:<7} {r['rps']:8.0f} req/s  p50 {r['p50']:6.2f} ms  p99 {r['p99']:6.2f} ms  "  # type: ignore[index]
              f"server CPU {r['cpu_us']:5.0f} us/req  {share}"  # type: ignore[index]
              f"{'  NON-2XX: ' + str(r['non2xx']) if r['non2xx'] else ''}")  # type: ignore[index]
    sc = row["side_channel_ms"]
    print(f"  404 median: exists out of scope {sc['out_of_scope']:.2f} ms, does not exist {sc['absent']:.2f} ms")  # type: ignore[index]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=5.0, help="seconds per wrk run (bounded)")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--receipts", type=int, default=300)
    parser.add_argument("--configs", default="embedded,pg-redis")
    parser.add_argument("--workers", default="1,2")
    parser.add_argument("--settle", type=float, default=6.0, help="seconds to wait after start-up")
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        print("wrk not found: apt-get install -y wrk", file=sys.stderr)
        return 2
    work = Path(tempfile.mkdtemp(prefix="lookup-bench-"))
    rows: list[dict[str, object]] = []
    try:
        for name in args.configs.split(","):
            rows += run_config(name, [int(w) for w in args.workers.split(",")], args, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
