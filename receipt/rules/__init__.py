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


# Short Chinese names, for the labels on annotated photos (the messages say what to do).
NAMES_ZH: dict[str, str] = {
    face_count.CODE: "人数", not_photo.CODE: "非真实照片", resolution.CODE: "像素不足", head_size.CODE: "头部大小",
    pose.CODE: "头部姿态", shoulders.CODE: "双肩", eyes_closed.CODE: "闭眼", mouth_open.CODE: "张嘴",
    eyebrows_covered.CODE: "眉毛遮挡", ears_covered.CODE: "耳朵遮挡", hat.CODE: "帽子头饰",
    hair_accessory.CODE: "发饰", earrings.CODE: "耳饰", necklace.CODE: "项链", glasses_tinted.CODE: "有色眼镜",
    glasses_glare.CODE: "镜片反光", face_shadow.CODE: "面部阴影", glare_skin.CODE: "面部反光",
    exposure.CODE: "曝光", blur.CODE: "模糊", colour.CODE: "偏色", beautified.CODE: "美颜修图",
    clothes_bg.CODE: "衣服与背景", face_jewellery.CODE: "面部饰品",
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
