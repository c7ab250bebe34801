"""POSE: a frontal head passes, a rolled or turned one does not; the learned model scores it."""

from __future__ import annotations

import numpy as np
from PIL import Image

from receipt.photo.intake import load_image
from receipt.pipeline import check_photo
from receipt.rules import pose
from receipt.rules.learned import model_for
from receipt.specs import get_spec
from tests.conftest import SAMPLES
from tests.images import encode

SPEC = get_spec("guangdong-id")


def _pose(image: Image.Image):  # type: ignore[no-untyped-def]
    report = check_photo(encode(image, "JPEG", quality=92), SPEC)
    return next(r for r in report.rules if r.code == pose.CODE)


def test_the_learned_model_reads_the_rules_features() -> None:
    model = model_for(pose.CODE)
    assert model is not None
    assert set(model.features) == {"roll_off", "turn_off", "nod_face_off", "nod_body_off"}


def test_a_frontal_head_passes() -> None:
    result = _pose(Image.open(SAMPLES / "london-005.jpg").convert("RGB"))
    assert result.verdict == "pass", result.details
    assert abs(result.details["turn_off"]) < 5 and result.details["roll_off"] < 4


def test_a_rolled_head_fails_and_says_so() -> None:
    upright = Image.open(SAMPLES / "london-005.jpg").convert("RGB")
    tilted = upright.rotate(16, resample=Image.Resampling.BICUBIC, fillcolor=(200, 200, 200))
    result = _pose(tilted)
    assert result.verdict == "fail", result.details
    assert "tilted" in result.message_en


def test_the_contour_turn_follows_a_mirrored_face() -> None:
    rgb = load_image((SAMPLES / "london-034.jpg").read_bytes()).rgb
    from receipt.photo.vision import analyse

    mesh = analyse(rgb, with_pose=False).mesh
    mirrored = analyse(np.ascontiguousarray(rgb[:, ::-1]), with_pose=False).mesh
    assert mesh is not None and mirrored is not None
    assert abs(pose.contour_turn(mesh) + pose.contour_turn(mirrored)) < 2.0
