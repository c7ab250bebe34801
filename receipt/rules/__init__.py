"""The rule table: every rule the decision uses, in the order applicants read them."""

from __future__ import annotations

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
from receipt.rules.base import RuleContext, RuleResult

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
        results.append(rule(ctx))
        timings[code] = round((time.perf_counter() - start) * 1000, 2)
    return results, timings
