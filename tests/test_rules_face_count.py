"""FACE_COUNT: a second, smaller face beside the main one is not passed, even when the whole-photo pass misses it."""

from __future__ import annotations

import cv2
import numpy as np
from PIL import Image

from receipt.photo.intake import load_image
from receipt.photo.side_faces import side_face_confidence
from receipt.photo.vision import Face, main_first
from receipt.pipeline import check_photo
from receipt.rules import face_count
from receipt.specs import get_spec
from tests.conftest import SAMPLES
from tests.images import encode

SPEC = get_spec("guangdong-id")


def _rgb(name: str) -> np.ndarray:
    return load_image((SAMPLES / name).read_bytes()).rgb


def _with_bystander(main: np.ndarray, other: np.ndarray, size: float = 0.35, cut: float = 0.4) -> np.ndarray:
    """`other` shrunk to `size` and pasted at the right edge, `cut` of it beyond the frame."""
    out = main.copy()
    h, w = out.shape[:2]
    small = cv2.resize(other, None, fx=size, fy=size, interpolation=cv2.INTER_AREA)
    x0, y0 = w - int(small.shape[1] * (1 - cut)), int(h * 0.45)
    part = small[: h - y0, : w - x0]
    out[y0:y0 + part.shape[0], x0:] = part
    return out


def _face_count(rgb: np.ndarray):  # type: ignore[no-untyped-def]
    report = check_photo(encode(Image.fromarray(rgb), "JPEG", quality=92), SPEC)
    return next(r for r in report.rules if r.code == face_count.CODE)


def test_one_face_passes_and_the_second_look_finds_nothing_beside_it() -> None:
    result = _face_count(_rgb("london-005.jpg"))
    assert result.verdict == "pass", result.details
    assert result.details["side_face"] < face_count.SIDE_GOOD


def test_a_cut_off_bystander_beside_the_main_face_goes_to_a_reviewer() -> None:
    result = _face_count(_with_bystander(_rgb("london-005.jpg"), _rgb("london-034.jpg")))
    assert result.verdict != "pass", result.details
    assert result.details["side_face"] > face_count.SIDE_GOOD


def test_the_second_look_skips_strips_too_narrow_to_hold_a_face() -> None:
    rgb = _rgb("london-005.jpg")
    h, w = rgb.shape[:2]
    assert side_face_confidence(rgb, (0.02 * w, 0.0, 0.96 * w, float(h))) == 0.0


def test_tiles_share_a_detector_run_only_at_the_scale_they_would_have_alone() -> None:
    from receipt.photo.side_faces import _gap, _mosaics

    tall = [(0, 0, 0, 250, 1000), (0, 0, 200, 250, 1200), (1, 700, 0, 900, 1000), (1, 700, 200, 900, 1200)]
    groups = _mosaics(tall)
    for group in groups:
        height = group[0][4] - group[0][2]
        assert all(t[4] - t[2] == height for t in group)  # one height per run
        assert sum(t[3] - t[1] for t in group) + _gap(height) * (len(group) - 1) <= height  # no wider than tall
    assert sorted(t for g in groups for t in g) == sorted(tall)
    assert len(groups) < len(tall)


def _face(width: float, ear_span: float, x: float = 0.0) -> Face:
    keypoints = np.zeros((6, 2), np.float32)
    keypoints[4], keypoints[5] = (x, 0.0), (x + ear_span, 0.0)
    return Face(box=(x, 0.0, width, width), score=0.9, keypoints=keypoints)


def test_of_two_faces_alike_in_box_size_the_one_wider_between_the_ears_is_the_main_face() -> None:
    man, woman = _face(344, 266), _face(341, 280, x=500)  # a couple side by side: boxes within 2 %
    assert main_first([man, woman]) == [woman, man]
    assert main_first([woman, man])[0] is woman


def test_a_clearly_larger_face_stays_the_main_face_whatever_its_ear_points() -> None:
    applicant, bystander = _face(300, 200), _face(250, 230, x=400)  # 69 % of the area: not alike
    assert main_first([bystander, applicant]) == [applicant, bystander]
    small = _face(80, 60, x=800)
    assert main_first([small, bystander, applicant]) == [applicant, bystander, small]
