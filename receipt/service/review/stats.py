"""Figures from the audit records: throughput, time per decision, waiting, machine/reviewer agreement.

Time per decision is server-side: from the reviewer's claim of the case (the case page claims it
when it opens) to the decision being recorded. Agreement is per rule: the machine's verdict on
the rule as the reviewer saw it against the reviewer's decision (the rule's reason chosen = the
reviewer found the defect; approved, or rejected for other reasons = not).
"""

from __future__ import annotations

import logging
import statistics
from collections import Counter, defaultdict
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from receipt.service.db import utcnow
from receipt.service.review.cases import queue
from receipt.service.review.models import ReviewAudit, Reviewer, ReviewVerdict
from receipt.service.runtime import Runtime

log = logging.getLogger(__name__)


def standing_decisions(rt: Runtime, since: datetime | None = None) -> list[ReviewVerdict]:
    with rt.db.session() as session:
        stmt = select(ReviewVerdict).where(ReviewVerdict.undone_at.is_(None)).order_by(ReviewVerdict.decided_at)
        if since is not None:
            stmt = stmt.where(ReviewVerdict.decided_at >= since)
        return list(session.scalars(stmt))


def decision_seconds(verdicts: list[ReviewVerdict]) -> list[float]:
    return [(v.decided_at - v.opened_at).total_seconds() for v in verdicts if v.opened_at is not None]


def median(values: list[float]) -> float | None:
    return round(statistics.median(values), 3) if values else None


def agreement(verdicts: list[ReviewVerdict]) -> list[dict[str, Any]]:
    """Per rule: counts of (machine verdict -> reviewer finding) and the agreement on clear verdicts."""
    table: dict[str, Counter[str]] = defaultdict(Counter)
    for v in verdicts:
        found = {r["code"] for r in v.reasons} if not v.approve else set()
        for code, seen in (v.rules_seen or {}).items():
            machine = seen[0] if isinstance(seen, list) and seen else "n/a"
            table[code][f"{machine}/{'reject' if code in found else 'ok'}"] += 1
    rows = []
    for code in sorted(table):
        c = table[code]
        clear = c["pass/ok"] + c["pass/reject"] + c["fail/ok"] + c["fail/reject"]
        agreed = c["pass/ok"] + c["fail/reject"]
        rows.append({"rule": code, "cases": sum(c.values()),
                     "pass_ok": c["pass/ok"], "pass_reject": c["pass/reject"],
                     "borderline_ok": c["borderline/ok"], "borderline_reject": c["borderline/reject"],
                     "fail_ok": c["fail/ok"], "fail_reject": c["fail/reject"],
                     "agreement": round(agreed / clear, 3) if clear else None})
    # the rules reviewers had to think about first: disagreements and borderlines, then the rest
    return sorted(rows, key=lambda r: (-(r["pass_reject"] + r["fail_ok"]), -(r["borderline_ok"] + r["borderline_reject"]),
                                       r["rule"]))


def per_hour(verdicts: list[ReviewVerdict], now: datetime, hours: int = 24) -> list[dict[str, Any]]:
    start = (now - timedelta(hours=hours - 1)).replace(minute=0, second=0, microsecond=0)
    counts = Counter(v.decided_at.replace(minute=0, second=0, microsecond=0) for v in verdicts if v.decided_at >= start)
    top = max(counts.values(), default=0)
    out = []
    for i in range(hours):
        hour = start + timedelta(hours=i)
        out.append({"hour": hour.isoformat(), "label": hour.strftime("%H:00"), "count": counts.get(hour, 0),
                    "share": round(counts.get(hour, 0) / top, 3) if top else 0.0})
    return out


def admin_stats(rt: Runtime) -> dict[str, Any]:
    now = utcnow()
    verdicts = standing_decisions(rt)
    by_reviewer: dict[str, list[ReviewVerdict]] = defaultdict(list)
    for v in verdicts:
        by_reviewer[v.reviewer].append(v)
    with rt.db.session() as session:
        accounts = list(session.scalars(select(Reviewer).order_by(Reviewer.name)))
        undone = session.scalar(select(func.count()).select_from(ReviewVerdict)
                                .where(ReviewVerdict.undone_at.is_not(None))) or 0
        claims = dict(session.execute(select(ReviewAudit.actor, func.count()).where(ReviewAudit.action == "claim")
                                      .group_by(ReviewAudit.actor)).all())
    waiting = queue(rt, admin=True)
    oldest = waiting["cases"][0] if waiting["cases"] else None
    alert = bool(oldest and oldest["waiting_s"] > rt.settings.review_alert_wait_s)
    if alert:
        log.warning("review queue: oldest case waits %.0f s (alert above %.0f s)", oldest["waiting_s"],
                    rt.settings.review_alert_wait_s)
    last_hour = [v for v in verdicts if v.decided_at > now - timedelta(hours=1)]
    return {
        "generated_at": now.isoformat(),
        "reviewers": [{"name": a.name, "role": a.role, "disabled": a.disabled,
                       "last_login_at": a.last_login_at.isoformat() if a.last_login_at else None,
                       "decisions": len(by_reviewer.get(a.name, [])), "claims": claims.get(a.name, 0),
                       "median_s": median(decision_seconds(by_reviewer.get(a.name, [])))} for a in accounts],
        "decisions": len(verdicts), "undone": undone, "last_hour": len(last_hour),
        "approved": sum(1 for v in verdicts if v.approve), "per_hour": per_hour(verdicts, now),
        "median_s": median(decision_seconds(verdicts)),
        "queue": waiting["counts"], "oldest": oldest, "alert": alert, "alert_after_s": rt.settings.review_alert_wait_s,
        "agreement": agreement(verdicts),
    }
