"""A reviewer clears N queued cases with the keyboard alone, in headless Chromium.

    .venv/bin/python bench/review_bench.py [--cases 20] [--undo 8] [--out out/review-bench]

Photos: real uploads the current rule set sends to review on shenzhen-ssc, taken from
../shared/eval (read in place) and samples/, topped up with copies of samples/grace_hopper.jpg
(a distinct JPEG comment each). They go through the applicant API and the in-process worker
like any upload. The scripted reviewer decides as the eval labels say (label id_photo_ok ->
`A`; otherwise `R`, then `/` + the reason code + `Enter` for each labelled defect, `Enter`);
grace_hopper wears a cap: `R`, `1` (HAT), `Enter`. Reported from the audit records: the
median server-side time from case opened (claimed) to decision recorded, and the
machine/reviewer agreement table. The script types at machine speed, so the time is the
tool's own overhead per case (load, claim, render, decide), not a human's thinking time.
"""

from __future__ import annotations

import argparse
import json
import secrets
import statistics
import struct
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
SHARED_EVAL = ROOT.parent / "shared" / "eval"
SPEC = "shenzhen-ssc"
CHROMIUM = "/usr/bin/chromium"
PASSWORD = "bench password 123"


def with_comment(data: bytes) -> bytes:
    if data[:2] != b"\xff\xd8":
        return data
    comment = secrets.token_hex(8).encode()
    return data[:2] + b"\xff\xfe" + struct.pack(">H", len(comment) + 2) + comment + data[2:]


def review_photos(n: int) -> list[tuple[str, bytes, dict[str, Any] | None]]:
    """(id, bytes, eval label or None) of up to n photos the machine sends to review."""
    from receipt.eval.labels import load_labels
    from receipt.pipeline import process_photo
    from receipt.specs import get_spec

    spec = get_spec(SPEC)
    found: list[tuple[str, bytes, dict[str, Any] | None]] = []
    if (SHARED_EVAL / "labels.jsonl").exists():
        for scanned, (label, path) in enumerate(load_labels(SHARED_EVAL)):
            if len(found) >= n - 1 or scanned >= 4 * n:
                break
            if label.get("synthetic") or label.get("duplicate_of") or path.suffix.lower() not in (".jpg", ".jpeg"):
                continue
            data = path.read_bytes()
            try:
                result = process_photo(data, spec)
                if result.verdict == "review" and result.photo is not None:  # no spec photo: nothing to approve
                    found.append((str(label["id"]), data, label))
            except Exception:  # an unreadable file is simply not a case
                continue
    grace = (ROOT / "samples" / "grace_hopper.jpg").read_bytes()
    while len(found) < n:
        found.append(("grace_hopper", grace, {"id": "grace_hopper", "id_photo_ok": False, "hat": True}))
    return found


def intended(label: dict[str, Any] | None) -> list[str]:
    """Reason codes a careful reviewer would pick from the label (empty = approve)."""
    from receipt.eval.evaluate import LABEL_FOR_RULE

    if not label or label.get("id_photo_ok"):
        return []
    codes = [code for code, read in LABEL_FOR_RULE.items() if read(label) is False]
    return codes or ["OTHER"]


def serve(settings: Any) -> tuple[Any, str, Any]:
    import uvicorn

    from receipt.web.app import create_app

    app = create_app(settings)
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.05)
    return app, f"http://127.0.0.1:{port}", server


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cases", type=int, default=20)
    ap.add_argument("--undo", type=float, default=8.0, help="undo window, seconds")
    ap.add_argument("--database", help="DATABASE_URL (default: a SQLite file in a temporary folder)")
    ap.add_argument("--out", default="out/review-bench")
    args = ap.parse_args()

    import os

    home = Path(tempfile.mkdtemp(prefix="review-bench-"))
    os.environ.setdefault("PHOTO_RECEIPT_HOME", str(home))
    from receipt.config import ServiceSettings
    from receipt.service.review.accounts import add_reviewer

    settings = ServiceSettings(database_url=args.database or f"sqlite:///{home / 'bench.db'}",
                               storage_dir=home / "blobs", redis_url=None).with_(
        review_undo_s=args.undo, audit_share=0.0, sweep_interval_s=0.5)
    print(f"finding {args.cases} photos the machine sends to review ...", file=sys.stderr)
    photos = review_photos(args.cases)
    app, url, server = serve(settings)
    rt = app.state.rt
    add_reviewer(rt, "bench", PASSWORD)
    plan: dict[str, tuple[str, list[str]]] = {}  # order id -> (photo id, intended reasons)
    for pid, data, label in photos:
        r = httpx.post(f"{url}/api/v1/orders", data={"spec": SPEC, "applicant_name": "测试"}, timeout=60,
                       files={"photo": (f"{pid}.jpg", with_comment(data), "image/jpeg")})
        r.raise_for_status()
        plan[r.json()["order_id"]] = (pid, intended(label))
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        queue = httpx.Client(base_url=url)
        queue.post("/api/v1/review/login", json={"username": "bench", "password": PASSWORD}).raise_for_status()
        if len(queue.get("/api/v1/review/queue").json()["cases"]) >= len(plan):
            break
        time.sleep(1)
    print(f"{len(plan)} cases queued; the reviewer starts", file=sys.stderr)

    from playwright.sync_api import sync_playwright

    per_case: list[float] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"], headless=True)
        page = browser.new_page(viewport={"width": 1366, "height": 768}, bypass_csp=True)  # wait_for_function evals
        page.goto(f"{url}/review/login")
        page.fill("#username", "bench")
        page.fill("#password", PASSWORD)
        page.keyboard.press("Enter")
        page.wait_for_selector("[data-testid=queue-case]")
        page.keyboard.press("Enter")  # the oldest case
        order_of = {c["attempt_id"]: c["order_id"] for c in queue.get("/api/v1/review/queue").json()["cases"]}
        started = time.monotonic()
        for _ in range(len(plan)):
            t = time.monotonic()
            page.wait_for_selector("#btn-approve:not([disabled])", timeout=30_000)
            attempt_id = int(page.url.rsplit("/", 1)[1])
            pid, reasons = plan[order_of[attempt_id]]
            if not reasons:
                page.keyboard.press("a")
            else:
                page.keyboard.press("r")
                page.wait_for_selector("[data-testid=reject-dialog]", state="visible")
                if pid == "grace_hopper":
                    page.keyboard.press("1")  # the flagged rule's reason: HAT
                else:
                    for code in reasons:
                        page.keyboard.press("/")
                        page.keyboard.type(code.lower().replace("_", " ").split()[0])
                        page.wait_for_selector(f"[data-testid=reason][data-code={code}]")
                        # the filter may match more than one: pick ours by its number
                        items = page.locator("[data-testid=reason]").evaluate_all("els => els.map(e => e.dataset.code)")
                        page.keyboard.press("Escape")
                        if items.index(code) < 9:
                            page.keyboard.press(str(items.index(code) + 1))
                page.keyboard.press("Enter")
            # the next case opens at once; after the last one the page says the queue is empty
            page.wait_for_function(f"() => !location.pathname.endsWith('/{attempt_id}') || "
                                   "document.querySelector('[data-testid=banner][data-code=QUEUE_EMPTY]')", timeout=30_000)
            per_case.append(time.monotonic() - t)
            print(f"  #{attempt_id} {pid}: {'approve' if not reasons else 'reject ' + ','.join(reasons)} "
                  f"({per_case[-1]:.2f} s)", file=sys.stderr)
        wall = time.monotonic() - started
        page.wait_for_selector("[data-testid=banner][data-code=QUEUE_EMPTY]", timeout=30_000)
        browser.close()

    time.sleep(args.undo + 1.5)  # every decision takes effect
    from receipt.service.review.stats import agreement, decision_seconds, standing_decisions

    verdicts = standing_decisions(rt)
    seconds = decision_seconds(verdicts)
    table = agreement(verdicts)
    from sqlalchemy import func, select

    from receipt.service.db import Order

    with rt.db.session() as session:
        final = dict(session.execute(select(Order.status, func.count()).group_by(Order.status)).all())
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    result = {"cases": len(plan), "decisions": len(verdicts), "keyboard_wall_s": round(wall, 2),
              "client_per_case_median_s": round(statistics.median(per_case), 3),
              "server_open_to_decision_median_s": round(statistics.median(seconds), 3) if seconds else None,
              "server_open_to_decision_p90_s": round(sorted(seconds)[int(0.9 * (len(seconds) - 1))], 3) if seconds else None,
              "orders_after_window": final, "agreement": table,
              "photos": [pid for pid, _, _ in photos]}
    (out / "review_bench.json").write_text(json.dumps(result, indent=2, ensure_ascii=False))
    print(f"\n{len(verdicts)} decisions on {len(plan)} cases, keyboard only, in {wall:.1f} s "
          f"(client median {result['client_per_case_median_s']} s per case)")
    print(f"server-side, case opened (claimed) -> decision recorded: median {result['server_open_to_decision_median_s']} s, "
          f"p90 {result['server_open_to_decision_p90_s']} s")
    print(f"orders after the undo window: {final}")
    print("\n| rule | cases | pass→ok | pass→reject | borderline→ok | borderline→reject | fail→ok | fail→reject | agreement |")
    print("|---|---|---|---|---|---|---|---|---|")
    for row in table:
        if row["cases"] and (row["pass_reject"] or row["fail_ok"] or row["borderline_ok"] or row["borderline_reject"]
                             or row["fail_reject"]):
            agree = "—" if row["agreement"] is None else f"{row['agreement'] * 100:.0f} %"
            print(f"| {row['rule']} | {row['cases']} | {row['pass_ok']} | {row['pass_reject']} | {row['borderline_ok']} | "
                  f"{row['borderline_reject']} | {row['fail_ok']} | {row['fail_reject']} | {agree} |")
    quiet = [r["rule"] for r in table if not (r["pass_reject"] or r["fail_ok"] or r["borderline_ok"]
                                               or r["borderline_reject"] or r["fail_reject"])]
    print(f"(rules the machine passed and no reviewer contradicted: {', '.join(quiet)})")
    server.should_exit = True
    return 0


if __name__ == "__main__":
    sys.exit(main())
