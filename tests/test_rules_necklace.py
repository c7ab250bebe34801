"""NECKLACE: a bare-necked compliant sample passes; a thin ball chain at the side of the neck
(a_023, otherwise a compliant photo) is sent to a reviewer (skips without ../shared/eval)."""

from __future__ import annotations

from receipt.pipeline import check_photo
from receipt.rules import necklace
from receipt.specs import get_spec
from tests.conftest import SAMPLES, SHARED_EVAL, eval_image, require

SPEC = get_spec("guangdong-id")


def _result(data: bytes):  # type: ignore[no-untyped-def]
    report = check_photo(data, SPEC)
    return next(r for r in report.rules if r.code == necklace.CODE)


def test_a_bare_neck_passes() -> None:
    result = _result((SAMPLES / "london-005.jpg").read_bytes())
    assert result.verdict == "pass", result.details
    assert result.details["area"] < necklace.AREA_GOOD


def test_a_thin_ball_chain_is_not_passed() -> None:
    require(SHARED_EVAL.is_dir(), f"shared eval corpus not found at {SHARED_EVAL}")
    result = _result(eval_image("a_023").read_bytes())
    assert result.verdict == "borderline", result.details
    assert result.evidence
