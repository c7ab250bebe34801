"""The analysis pass: a close-up face the full-range detector misses is found by the short-range one."""

from __future__ import annotations

import numpy as np
from PIL import Image

from receipt.photo.vision import MODELS, _detect_faces, analyse
from tests.conftest import SAMPLES


def _close_up() -> np.ndarray:
    """london-005 cropped to a square a little smaller than its face box: the face fills the frame."""
    rgb = np.asarray(Image.open(SAMPLES / "london-005.jpg").convert("RGB"))
    face = analyse(rgb).main_face
    assert face is not None
    x, y, w, h = face.box
    side = 0.9 * max(w, h)
    cx, cy = x + w / 2, y + h / 2
    return np.ascontiguousarray(rgb[int(cy - side / 2):int(cy + side / 2), int(cx - side / 2):int(cx + side / 2)])


def test_a_face_filling_the_frame_is_found_with_its_keypoints() -> None:
    crop = _close_up()
    assert not MODELS.get("faces").process(crop).detections  # type: ignore[attr-defined]  # why the fallback exists
    faces = _detect_faces(crop)
    assert len(faces) == 1 and faces[0].score > 0.5
    assert np.any(faces[0].keypoints)  # real detector keypoints, so the photo is not taken for a turned one
    right_eye, left_eye, nose = faces[0].keypoints[:3]
    assert right_eye[1] < nose[1] and left_eye[1] < nose[1]  # upright: eyes above the nose


def test_faces_are_listed_largest_first() -> None:
    rgb = np.asarray(Image.open(SAMPLES / "astronaut.png").convert("RGB"))
    faces = _detect_faces(rgb)
    assert faces and all(a.area >= b.area for a, b in zip(faces, faces[1:], strict=False))
