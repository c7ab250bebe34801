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


def test_a_clearly_frontal_head_is_settled_without_the_body_pose() -> None:
    report = check_photo((SAMPLES / "london-034.jpg").read_bytes(), SPEC)
    result = next(r for r in report.rules if r.code == pose.CODE)
    assert result.verdict == "pass"
    assert "nod_body_off" not in result.details  # the face-only first stage was sure
    assert "body_pose" not in vars(report.analysis)  # so the pose model never ran


def test_an_unclear_head_gets_the_body_pose() -> None:
    upright = Image.open(SAMPLES / "london-034.jpg").convert("RGB")
    for angle in (0, 3, 5, 7, 9, 11, 13):  # somewhere in between the first stage is not sure
        report = check_photo(encode(upright.rotate(angle, resample=Image.Resampling.BICUBIC,
                                                   fillcolor=(200, 200, 200)), "JPEG", quality=92), SPEC)
        result = next(r for r in report.rules if r.code == pose.CODE)
        if "nod_body_off" in result.details:
            assert "body_pose" in vars(report.analysis)
            return
    raise AssertionError("no rotation left the first stage unsure")


def test_the_first_stage_carries_its_settled_bounds() -> None:
    gate = model_for(pose.FACE_ONLY_MODEL)
    assert gate is not None and gate.settled is not None
    above, below = gate.settled
    assert 0.5 < above <= 1.0 and 0.0 <= below < 0.5
    assert set(gate.features) == {"roll_off", "turn_off", "nod_face_off"}


def test_an_evaluation_records_the_body_pose_feature_of_a_settled_head_without_changing_its_score() -> None:
    data = (SAMPLES / "london-034.jpg").read_bytes()
    settled = next(r for r in check_photo(data, SPEC).rules if r.code == pose.CODE)
    report = check_photo(data, SPEC, all_features=True)
    recorded = next(r for r in report.rules if r.code == pose.CODE)
    assert "nod_body_off" in recorded.details and "body_pose" in vars(report.analysis)
    assert recorded.score == settled.score and recorded.verdict == settled.verdict
