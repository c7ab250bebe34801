"""Framing within the spec's tolerances: tight crops derived from a compliant photo."""

from __future__ import annotations

import math

import pytest

from receipt.photo import framing
from receipt.photo.compose import compose, plan_crop
from receipt.photo.intake import load_image
from receipt.photo.verify import measure_output
from receipt.photo.vision import Analysis, analyse
from receipt.pipeline import check_photo
from receipt.specs import get_spec
from tests.images import encode, sample_image

SPEC = get_spec("guangdong-id")
_cache: dict[int, Analysis] = {}


def _cropped(bottom: int) -> tuple[bytes, Analysis]:
    """grace_hopper (chin at row ~335 of 600, face ~185 px wide) cut off at `bottom`."""
    image = sample_image()
    data = encode(image.crop((0, 0, image.width, bottom)), "PNG")
    if bottom not in _cache:
        _cache[bottom] = analyse(load_image(data).rgb)
    return data, _cache[bottom]


def test_search_prefers_the_middle_and_uses_the_ranges_when_room_is_short() -> None:
    geo = SPEC.geometry
    roomy = framing.search(geo, SPEC.photo.height_px, 200.0, 180.0, math.inf)[0]
    assert roomy.fits and roomy.cost == 0.0
    assert roomy.face_width_px == geo.face_width_px.mid and roomy.top_margin_px == pytest.approx(geo.top_margin_px.mid)
    # 215 source px from the eyes to the photo's end: the middle placement runs out of photo
    mid_scale = geo.face_width_px.mid / 200.0
    mid_eye = geo.top_margin_px.mid + mid_scale * 180.0
    assert mid_eye + mid_scale * 215.0 < SPEC.photo.height_px - framing.EXACT_ROWS
    tight = framing.search(geo, SPEC.photo.height_px, 200.0, 180.0, 215.0)[0]
    assert tight.fits and tight.face_width_px > geo.face_width_px.mid
    assert geo.face_width_px.contains(tight.face_width_px) and geo.top_margin_px.contains(tight.top_margin_px)
    hopeless = framing.search(geo, SPEC.photo.height_px, 200.0, 180.0, 120.0)[0]
    assert not hopeless.fits and hopeless.missing_rows > 20


def test_room_advice_is_in_fingers() -> None:
    zh, en = framing.room_advice(45, 214)
    assert "两指" in zh and "two fingers" in en and "below the chin" in en
    zh, en = framing.room_advice(200, 214)
    assert "掌" in zh and "hand" in en


def test_a_tight_crop_fits_inside_the_tolerances() -> None:
    _, analysis = _cropped(400)  # the middle of every range would need ~20 more rows below
    plan = plan_crop(analysis, SPEC)
    assert plan.problems == []
    assert plan.face_width_px > SPEC.geometry.face_width_px.mid
    measured = measure_output(compose(analysis, SPEC, plan).jpeg, SPEC)
    assert measured.ok, measured.failures


def test_a_small_shortfall_of_clothing_is_extended_and_goes_to_review() -> None:
    data, analysis = _cropped(385)
    plan = plan_crop(analysis, SPEC)
    assert [p.code for p in plan.problems] == ["BOTTOM_EXTENDED"] and plan.blocking == []
    photo = compose(analysis, SPEC, plan)  # composed so the reviewer sees it
    assert measure_output(photo.jpeg, SPEC).ok
    report = check_photo(data, SPEC)
    head = next(r for r in report.rules if r.code == "HEAD_SIZE")
    # in review the text promises a reviewer; when another rule rejects the photo (the white T-shirt on the
    # white-only spec) it says the point may also need attention instead (receipt.rules.decision.for_rejection)
    promise = "reviewer" in head.message_en or (report.verdict == "reject" and "also need attention" in head.message_en)
    assert head.verdict == "borderline" and promise, head.message_en
    assert report.verdict != "pass"


def test_too_little_room_is_refused_with_advice() -> None:
    _, analysis = _cropped(340)
    plan = plan_crop(analysis, SPEC)
    (problem,) = plan.blocking
    assert problem.code == "SHOULDERS_CUT"
    assert "指" in problem.message_zh and "finger" in problem.message_en
