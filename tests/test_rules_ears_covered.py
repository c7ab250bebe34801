"""EARS_COVERED: the learned scorer on the worse ear's skin, the head's turn and the ear bands' fill."""

from __future__ import annotations

from functools import cache

import numpy as np

from receipt.pipeline import check_photo
from receipt.rules import ears_covered
from receipt.rules.base import RuleResult
from receipt.rules.learned import model_for
from receipt.specs import get_spec
from tests.conftest import SAMPLES

FEATURES = ("skin_worse_log", "yaw", "person_most")


@cache
def _ears(name: str, mirror: bool = False) -> RuleResult:
    data = (SAMPLES / name).read_bytes()
    if mirror:
        import io

        from PIL import Image

        image = Image.open(io.BytesIO(data)).convert("RGB").transpose(Image.Transpose.FLIP_LEFT_RIGHT)
        buffer = io.BytesIO()
        image.save(buffer, "PNG")
        data = buffer.getvalue()
    report = check_photo(data, get_spec("guangdong-id"))
    return next(r for r in report.rules if r.code == ears_covered.CODE)


def test_the_committed_model_reads_the_rules_own_features() -> None:
    model = model_for(ears_covered.CODE)
    assert model is not None and model.features == FEATURES
    # more skin beside the face raises the probability, a turned head lowers it
    weights = dict(zip(model.features, model.weights, strict=True))
    assert weights["skin_worse_log"] > 0 > weights["yaw"]


def test_visible_ears_pass_and_hair_over_them_fails() -> None:
    for name in ("london-005.jpg", "london-034.jpg"):
        result = _ears(name)
        assert result.verdict == "pass", (name, result.score, result.details)
        assert all(isinstance(result.details[f], float) for f in FEATURES)
    covered = _ears("london-067-ears-covered.jpg")
    assert covered.verdict == "fail", (covered.score, covered.details)
    assert covered.evidence and "Hair covers" in covered.message_en


def test_the_score_is_the_models_probability_of_the_recorded_features() -> None:
    result = _ears("london-005.jpg")
    model = model_for(ears_covered.CODE)
    assert model is not None
    assert result.score == model.probability(result.details)
    assert result.details["hand_score"] == 1.0


def test_a_frontal_face_has_little_yaw_and_a_mirror_keeps_it() -> None:
    straight, mirrored = _ears("london-005.jpg"), _ears("london-005.jpg", mirror=True)
    assert straight.details["yaw"] < 0.2
    assert np.isclose(straight.details["yaw"], mirrored.details["yaw"], atol=0.03)
    # the two ears swap sides in the mirror
    assert np.isclose(straight.details["right"], mirrored.details["left"], rtol=0.25, atol=0.05)


def test_nothing_beside_either_cheek_fails_as_ears_not_seen() -> None:
    # a close wide-angle selfie: both ears behind the cheeks, the ear bands empty backdrop. The model's
    # features read that as "no hair" (high probability); the rule caps it below fail_below.
    from receipt.photo.face_frame import regions_of
    from receipt.rules.base import RuleContext

    spec = get_spec("guangdong-id")
    report = check_photo((SAMPLES / "london-005.jpg").read_bytes(), spec)
    regions = regions_of(report.analysis)
    assert regions is not None
    regions.__dict__["person"] = np.zeros_like(regions.person)  # no person at all beside the face
    result = ears_covered.check(RuleContext(spec=spec, intake=report.intake, analysis=report.analysis,
                                            plan=report.plan))
    model = model_for(ears_covered.CODE)
    assert model is not None and model.probability(result.details) > ears_covered.UNSEEN_SCORE
    assert sorted(result.details["unseen"]) == ["left", "right"]
    assert result.score == ears_covered.UNSEEN_SCORE and result.verdict == "fail", (result.score, result.details)
    assert "cannot be seen" in result.message_en
