"""The rule table: every rule the decision uses, in the order applicants read them."""

from __future__ import annotations

import time
from collections.abc import Callable

from receipt.rules import face_count, head_size, resolution
from receipt.rules.base import RuleContext, RuleResult

Rule = Callable[[RuleContext], RuleResult]

RULES: dict[str, Rule] = {
    face_count.CODE: face_count.check,
    resolution.CODE: resolution.check,
    head_size.CODE: head_size.check,
}


def run_rules(ctx: RuleContext) -> tuple[list[RuleResult], dict[str, float]]:
    results: list[RuleResult] = []
    timings: dict[str, float] = {}
    for code, rule in RULES.items():
        start = time.perf_counter()
        results.append(rule(ctx))
        timings[code] = round((time.perf_counter() - start) * 1000, 2)
    return results, timings
