"""From rule results to pass / review / reject."""

from __future__ import annotations

from typing import Literal

from receipt.rules.base import RuleResult

Decision = Literal["pass", "review", "reject"]


def decide(results: list[RuleResult]) -> Decision:
    """Reject on any confident failure; pass only when every rule assessed and passed.

    A rule that could not assess is borderline, so such a photo always reaches a human.
    """
    if any(r.verdict == "fail" for r in results):
        return "reject"
    if any(r.verdict != "pass" or not r.assessed for r in results):
        return "review"
    return "pass"
