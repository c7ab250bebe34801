"""CLOTHES_BG policy (spec data): a clearly white top is refused on a white-only spec, judged
against the most contrasting colour (review at most) where a spec allows several."""

from __future__ import annotations

from receipt.pipeline import check_photo
from receipt.specs import get_spec
from tests.conftest import eval_image


def _clothes(stem: str, spec_id: str):  # type: ignore[no-untyped-def]
    report = check_photo(eval_image(stem).read_bytes(), get_spec(spec_id))
    return next(r for r in report.rules if r.code == "CLOTHES_BG")


def test_white_top_on_a_white_only_spec_is_refused_with_advice() -> None:
    spec = get_spec("guangdong-id")
    assert spec.background_allowed == ("#FFFFFF",) and spec.threshold("CLOTHES_BG").fail_below > 0
    result = _clothes("c_052", "guangdong-id")  # London set: white V-neck T-shirt
    assert result.verdict == "fail", result.details
    assert "深色" in result.message_zh and "darker top" in result.message_en


def test_a_multi_colour_spec_judges_the_most_contrasting_colour_and_never_refuses() -> None:
    spec = get_spec("guangdong-exit-entry")
    assert len(spec.background_allowed) > 1 and spec.threshold("CLOTHES_BG").fail_below == 0.0
    result = _clothes("c_052", "guangdong-exit-entry")
    assert result.verdict in ("pass", "borderline")
    assert result.details["against"] in spec.background_allowed


def test_a_dark_top_passes() -> None:
    assert _clothes("a_021", "guangdong-id").verdict == "pass"
