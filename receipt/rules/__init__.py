"""The rule table: every rule the decision uses, in the order applicants read them.

`run_rules` is the one place where a rule that raises is caught: it is logged with its
traceback and recorded as "could not assess" (borderline, so a person looks), and the other
rules still run -- as OFIQ's executor records a measure that throws as a failure to assess.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from receipt.rules import (
    beautified,
    blur,
    clothes_bg,
    colour,
    earrings,
    ears_covered,
    exposure,
    eyebrows_covered,
    eyes_closed,
    face_count,
    face_jewellery,
    face_shadow,
    glare_skin,
    glasses_glare,
    glasses_tinted,
    hair_accessory,
    hat,
    head_size,
    mouth_open,
    necklace,
    not_photo,
    pose,
    resolution,
    shoulders,
)
from receipt.rules.base import RuleContext, RuleResult, not_assessed

log = logging.getLogger(__name__)

Rule = Callable[[RuleContext], RuleResult]

RULES: dict[str, Rule] = {
    face_count.CODE: face_count.check,
    not_photo.CODE: not_photo.check,
    resolution.CODE: resolution.check,
    head_size.CODE: head_size.check,
    pose.CODE: pose.check,
    shoulders.CODE: shoulders.check,
    eyes_closed.CODE: eyes_closed.check,
    mouth_open.CODE: mouth_open.check,
    eyebrows_covered.CODE: eyebrows_covered.check,
    ears_covered.CODE: ears_covered.check,
    hat.CODE: hat.check,
    hair_accessory.CODE: hair_accessory.check,
    earrings.CODE: earrings.check,
    necklace.CODE: necklace.check,
    face_jewellery.CODE: face_jewellery.check,
    glasses_tinted.CODE: glasses_tinted.check,
    glasses_glare.CODE: glasses_glare.check,
    face_shadow.CODE: face_shadow.check,
    glare_skin.CODE: glare_skin.check,
    exposure.CODE: exposure.check,
    blur.CODE: blur.check,
    colour.CODE: colour.check,
    beautified.CODE: beautified.check,
    clothes_bg.CODE: clothes_bg.check,
}


def run_rules(ctx: RuleContext) -> tuple[list[RuleResult], dict[str, float]]:
    results: list[RuleResult] = []
    timings: dict[str, float] = {}
    for code, rule in RULES.items():
        start = time.perf_counter()
        try:
            results.append(rule(ctx))
        except Exception as exc:  # one broken rule must not fail the attempt: a reviewer decides
            log.exception("rule %s raised on this photo; recorded as not assessed", code)
            results.append(not_assessed(code, "此项无法自动判断，需人工审核",
                                        "This check could not be made automatically; a reviewer will look",
                                        error=type(exc).__name__))
        timings[code] = round((time.perf_counter() - start) * 1000, 2)
    return results, timings
