"""A photo lying on its side or upside down without an EXIF tag is turned upright, and the report says so."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from receipt.photo.orientation import make_upright
from receipt.photo.vision import analyse
from receipt.pipeline import process_photo
from receipt.specs import get_spec
from tests.images import encode, sample_image

SPEC = "guangdong-exit-entry"  # where the London samples pass


@pytest.mark.parametrize(("transpose", "turns"), [(Image.Transpose.ROTATE_90, 3), (Image.Transpose.ROTATE_270, 1),
                                                  (Image.Transpose.ROTATE_180, 2)])
def test_turned_photo_without_exif_is_processed_upright(transpose: Image.Transpose, turns: int) -> None:
    upright = sample_image("london-005.jpg")
    lying = encode(upright.transpose(transpose), "JPEG", quality=92)  # no EXIF orientation tag
    result = process_photo(lying, get_spec(SPEC))
    report = result.report.to_dict()
    assert report["orientation"]["turned"] and report["orientation"]["quarter_turns_anticlockwise"] == turns
    assert report["orientation"]["reason"]
    assert result.verdict == "pass", [(r.code, r.message_en) for r in result.report.problems]
    assert (report["input"]["width"], report["input"]["height"]) == upright.size
    assert abs(result.report.analysis.roll_deg or 0.0) < 10


def test_upright_and_merely_tilted_photos_are_not_turned() -> None:
    report = process_photo(encode(sample_image("london-005.jpg"), "JPEG", quality=92), get_spec(SPEC)).report
    assert report.orientation is not None and not report.orientation.turned
    tilted = sample_image("london-034.jpg").rotate(20, resample=Image.Resampling.BICUBIC, fillcolor=(222, 226, 229))
    report = process_photo(encode(tilted, "JPEG", quality=92), get_spec(SPEC)).report
    assert not report.orientation.turned  # type: ignore[union-attr]
    assert next(r for r in report.rules if r.code == "POSE").verdict == "fail"  # the applicant must hold it upright


def test_no_face_in_any_turn_keeps_the_photo_as_it_was() -> None:
    blank = np.full((500, 400, 3), 200, np.uint8)
    rgb, _, orientation = make_upright(blank, analyse(blank), analyse)
    assert rgb is blank and not orientation.turned and "no turn" in orientation.reason


def test_a_close_up_face_is_judged_as_uploaded_not_turned() -> None:
    """A face filling the frame (the full-range detector misses it) stays upright: no turn is tried
    that could find an upside-down 'face' instead."""
    from tests.test_vision import _close_up

    crop = _close_up()
    rgb, analysis, orientation = make_upright(crop, analyse(crop), analyse)
    assert not orientation.turned and orientation.reason == ""
    assert rgb is crop and analysis.mesh is not None
