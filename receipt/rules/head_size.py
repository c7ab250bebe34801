"""HEAD_SIZE: the spec's crop geometry (face width, top margin, eye line, shoulders) can be met."""

from __future__ import annotations

from receipt.rules.base import RuleContext, RuleResult, face_region, judged, not_assessed

CODE = "HEAD_SIZE"
REVIEW_SCORE = 0.75  # between the spec's fail_below and pass_at: a person looks, never a pass


def check(ctx: RuleContext) -> RuleResult:
    if ctx.plan is None:
        reason = ctx.plan_error.message if ctx.plan_error else "no crop could be planned"
        return not_assessed(CODE, "无法按规格裁切照片，需人工审核", f"The photo could not be cropped to spec: {reason}")
    problems = ctx.plan.problems
    if problems:
        # a blocking problem fails; a review-only one (clothing extended at the bottom) is borderline
        first = (ctx.plan.blocking or problems)[0]
        why = (first.message_zh, first.message_en)
        score = REVIEW_SCORE if not ctx.plan.blocking else 0.0
        return judged(ctx, CODE, score, {"fail": why, "borderline": why, "pass": why},
                      face_region(ctx, first.code), problems=[p.code for p in problems])
    fits = ("可按规格裁切", "The photo can be cropped to the spec")
    return judged(ctx, CODE, 1.0, {"pass": fits, "borderline": fits, "fail": fits},
                  top_margin_px=round(ctx.plan.top_margin_px, 1),
                  eye_line_from_bottom_px=round(ctx.plan.eye_line_from_bottom_px, 1),
                  hair_cut_for_eye_rule=ctx.plan.hair_cut_for_eye_rule)
