"""FACE_JEWELLERY: a bright metal stud painted on a compliant face's nostril wing is seen; the face alone is not."""

from __future__ import annotations

import cv2
import pytest
from PIL import Image

from receipt.photo.intake import load_image
from receipt.photo.landmarks import BROW_OUTER_L, NOSE_ALA_L
from receipt.photo.vision import analyse
from receipt.pipeline import check_photo
from receipt.rules import face_jewellery
from receipt.specs import get_spec
from tests.conftest import eval_image
from tests.images import encode

SPEC = get_spec("guangdong-id")


def _with_stud(stem: str, landmark: int) -> bytes:
    """The photo with a small polished stud (bright centre, dark rim) painted at a mesh point."""
    data = eval_image(stem).read_bytes()
    intake = load_image(data)
    analysis = analyse(intake.rgb, with_pose=False)
    assert analysis.mesh is not None and analysis.face_width_px is not None
    rgb = intake.rgb.copy()
    x, y = (int(round(v)) for v in analysis.mesh[landmark, :2])
    radius = max(3, int(0.014 * analysis.face_width_px))
    cv2.circle(rgb, (x, y), radius + 1, (70, 70, 75), -1)
    cv2.circle(rgb, (x, y), radius, (248, 248, 250), -1)
    return encode(Image.fromarray(rgb), "PNG")


def _result(data: bytes):  # type: ignore[no-untyped-def]
    report = check_photo(data, SPEC)
    return next(r for r in report.rules if r.code == face_jewellery.CODE)


def test_a_bare_face_passes() -> None:
    result = _result(eval_image("c_052").read_bytes())
    assert result.verdict == "pass", result.details


@pytest.mark.parametrize(("landmark", "zone"), [(NOSE_ALA_L, "nose"), (BROW_OUTER_L, "brows")])
def test_a_stud_is_seen_and_sent_to_review(landmark: int, zone: str) -> None:
    result = _result(_with_stud("c_052", landmark))
    assert result.verdict != "pass", result.details
    assert result.details[zone] > 0
    # on a rejected photo (its white T-shirt on the white-only spec) a borderline text says "may also need attention"
    assert any(w in result.message_en for w in ("reviewer", "remove", "also need attention")), result.message_en
