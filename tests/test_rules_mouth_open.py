"""MOUTH_OPEN: an open, toothy smile fails; a closed-lip smile alone is left to a reviewer."""

from __future__ import annotations

from receipt.pipeline import check_photo
from receipt.rules import mouth_open
from receipt.specs import get_spec
from tests.conftest import SAMPLES

SPEC = get_spec("guangdong-id")


def test_a_closed_lip_smile_alone_is_borderline_with_the_default_thresholds() -> None:
    threshold = SPEC.threshold(mouth_open.CODE)
    assert threshold.fail_below <= mouth_open.SMILE_FLOOR < threshold.pass_at


def test_a_smile_with_teeth_still_fails() -> None:
    report = check_photo((SAMPLES / "astronaut.png").read_bytes(), SPEC)
    result = next(r for r in report.rules if r.code == mouth_open.CODE)
    assert result.verdict == "fail", result.details
    assert result.details["worst"] == "open"


def test_a_closed_mouth_passes() -> None:
    report = check_photo((SAMPLES / "london-005.jpg").read_bytes(), SPEC)
    assert next(r for r in report.rules if r.code == mouth_open.CODE).verdict == "pass"
