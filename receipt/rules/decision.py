"""From rule results to pass / review / reject."""

from __future__ import annotations

import re
from dataclasses import replace
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


# How a borderline message promises a reviewer; on a rejected attempt nobody reviews it.
_REVIEW_ZH = re.compile(r"\s*[，,；;]?\s*[（(]?需人工审核[）)]?\s*$")
_REVIEW_EN = re.compile(r"\s*[;,]?\s*\(?a reviewer will (?:check|look)\)?\.?\s*$")


def for_rejection(results: list[RuleResult]) -> list[RuleResult]:
    """The results as a rejected applicant reads them: borderline texts lose the reviewer promise.

    A reject is final until the applicant resubmits, so "a reviewer will check" would be untrue;
    the doubt is kept as "this may also need attention" so they fix it in the same retake.
    """
    out = []
    for r in results:
        if r.verdict == "borderline" and r.assessed:
            zh = _REVIEW_ZH.sub("", r.message_zh) + "，此项也可能不合格"
            en = _REVIEW_EN.sub("", r.message_en) + "; this may also need attention"
            r = replace(r, message_zh=zh, message_en=en)
        out.append(r)
    return out


def reasons(results: list[RuleResult], decision: Decision) -> list[RuleResult]:
    """The non-pass results an applicant is shown, failures first.

    On a reject, rules that could not assess (e.g. "the features could not be located" after a
    failed face count) are left out: they say nothing the applicant can fix."""
    flagged = [r for r in results if r.verdict != "pass"]
    if decision == "reject":
        flagged = [r for r in flagged if r.verdict == "fail" or r.assessed]
    return sorted(flagged, key=lambda r: r.verdict != "fail")
