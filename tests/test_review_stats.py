"""Admin figures: the per-rule agreement table, decisions per hour and time per decision."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from receipt.service.review.models import ReviewVerdict
from receipt.service.review.reasons import normalise_reasons
from receipt.service.review.stats import agreement, decision_seconds, median, per_hour

NOW = datetime(2026, 12, 1, 12, 30, tzinfo=UTC)


def verdict(approve: bool, reasons: list[str], seen: dict[str, str], opened_s: float | None = 4.0,
            ago_h: float = 0) -> ReviewVerdict:
    decided = NOW - timedelta(hours=ago_h)
    return ReviewVerdict(approve=approve, reasons=normalise_reasons(reasons),
                         rules_seen={code: [v, 0.5] for code, v in seen.items()}, decided_at=decided,
                         opened_at=None if opened_s is None else decided - timedelta(seconds=opened_s))


def test_agreement_counts_machine_verdicts_against_reviewer_findings() -> None:
    rows = {r["rule"]: r for r in agreement([
        verdict(True, [], {"HAT": "borderline", "POSE": "pass"}),
        verdict(False, ["HAT"], {"HAT": "borderline", "POSE": "pass"}),
        verdict(False, ["POSE"], {"HAT": "pass", "POSE": "pass"}),  # the machine missed a pose problem
        verdict(False, ["HAT"], {"HAT": "fail", "POSE": "fail"}),  # the machine's POSE fail was wrong
    ])}
    hat, pose = rows["HAT"], rows["POSE"]
    assert (hat["borderline_ok"], hat["borderline_reject"], hat["pass_ok"], hat["fail_reject"]) == (1, 1, 1, 1)
    assert hat["agreement"] == 1.0  # of its 2 clear verdicts, both agreed
    assert (pose["pass_ok"], pose["pass_reject"], pose["fail_ok"]) == (2, 1, 1)
    assert pose["agreement"] == 0.5 and pose["cases"] == 4
    assert list(rows) == ["POSE", "HAT"]  # disagreements first


def test_per_hour_and_median_time() -> None:
    vs = [verdict(True, [], {}, 2.0), verdict(True, [], {}, 6.0, ago_h=1), verdict(True, [], {}, None, ago_h=30)]
    hours = per_hour(vs, NOW)
    assert len(hours) == 24 and hours[-1]["count"] == 1 and hours[-2]["count"] == 1 and sum(h["count"] for h in hours) == 2
    assert hours[-1]["share"] == 1.0
    assert decision_seconds(vs) == [2.0, 6.0] and median(decision_seconds(vs)) == 4.0 and median([]) is None
