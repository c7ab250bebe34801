"""The canonical face frame: the person mask warped as 8-bit codes stays the float warp's, to 1/255."""

from __future__ import annotations

import numpy as np
from PIL import Image

from receipt.photo.face_frame import HEIGHT, WIDTH, regions_of
from receipt.photo.vision import analyse
from tests.conftest import SAMPLES


def test_the_person_canvas_is_the_float_warp_to_within_a_code() -> None:
    for name in ("london-005.jpg", "grace_hopper.jpg"):
        a = analyse(np.asarray(Image.open(SAMPLES / name).convert("RGB")))
        r = regions_of(a)
        assert r is not None
        person = r.person
        assert person.dtype == np.float32 and person.shape == (HEIGHT, WIDTH)
        # the float warp the codes stand in for, through the same (cheaper) reduction
        exact = r._warp(a.person_mask, exact_reduction=False)
        assert float(np.abs(person - exact).max()) <= 1.5 / 255
        assert person.max() > 0.99 and person.min() == 0.0  # the person and the backdrop both show
        # the cuts the rules read flip on a few edge pixels at most
        for cut in (0.1, 0.3, 0.5):
            assert np.count_nonzero((person > cut) != (exact > cut)) < 0.001 * person.size, (name, cut)


def test_image_ones_marks_every_working_pixel() -> None:
    a = analyse(np.asarray(Image.open(SAMPLES / "london-005.jpg").convert("RGB")))
    r = regions_of(a)
    assert r is not None
    assert r.image_ones.shape == a.image.shape[:2] and r.image_ones.dtype == np.uint8 and r.image_ones.all()
