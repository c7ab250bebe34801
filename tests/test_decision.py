"""What a rejected applicant reads: failures first, no reviewer promised, nothing they cannot fix."""

from __future__ import annotations

import re

from receipt.pipeline import check_photo
from receipt.rules.base import NO_FACE_EN, NO_FACE_ZH, RuleResult, not_assessed
from receipt.rules.decision import decide, for_rejection, reasons
from receipt.specs import get_spec
from tests.conftest import SAMPLES

PROMISE = re.compile(r"人工审核|审核员|reviewer")


def _r(code: str, verdict: str, zh: str = "x", en: str = "x") -> RuleResult:
    return RuleResult(code, 0.5, verdict, zh, en)  # type: ignore[arg-type]


def test_failures_come_first_and_unassessed_rules_are_left_out_of_a_reject() -> None:
    results = [_r("EARS_COVERED", "borderline"), _r("HAT", "pass"), not_assessed("NECKLACE", NO_FACE_ZH, NO_FACE_EN),
               _r("MOUTH_OPEN", "fail"), _r("POSE", "fail")]
    assert decide(results) == "reject"
    assert [r.code for r in reasons(results, "reject")] == ["MOUTH_OPEN", "POSE", "EARS_COVERED"]
    # in review the unassessed rule is the reason a person looks: it stays
    review = [r for r in results if r.verdict != "fail"]
    assert [r.code for r in reasons(review, "review")] == ["EARS_COVERED", "NECKLACE"]


def test_a_borderline_text_on_a_reject_promises_no_reviewer() -> None:
    for zh, en in [("头顶可能有帽子或头饰，需人工审核", "There may be a hat or head covering; a reviewer will check"),
                   ("照片可能模糊（需人工审核）", "The photo may be blurred (a reviewer will check)")]:
        (out,) = for_rejection([_r("HAT", "borderline", zh, en)])
        assert not PROMISE.search(out.message_zh) and not PROMISE.search(out.message_en), out
        assert out.message_zh.endswith("此项也可能不合格") and out.message_en.endswith("this may also need attention")
        assert out.message_zh.startswith(zh[:6]) and out.message_en.startswith(en[:10])


def test_real_reject_lists_the_failure_first_without_a_reviewer_promise() -> None:
    report = check_photo((SAMPLES / "london-067-ears-covered.jpg").read_bytes(), get_spec("guangdong-id"))
    assert report.verdict == "reject"
    problems = report.problems
    assert problems[0].code == "EARS_COVERED" and problems[0].verdict == "fail"
    # the white T-shirt on the white-only spec now fails by policy (GA 461) too; borderline texts on a
    # reject are covered by test_a_borderline_text_on_a_reject_promises_no_reviewer
    assert [p.code for p in problems if p.verdict == "fail"] == ["EARS_COVERED", "CLOTHES_BG"]
    # EARRINGS queries the bright backdrop between the strands over the left lobe (a stud-like spot)
    assert {p.code for p in problems if p.verdict != "fail"} <= {"EARRINGS"}
    for p in problems:
        assert not PROMISE.search(p.message_zh) and not PROMISE.search(p.message_en), p
