"""Annotated photos: Chinese name + code per flagged region, no overlaps, boxes only on the person."""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from receipt.photo.annotate import _overlaps, _place, annotate, label_font, on_person
from receipt.pipeline import process_photo
from receipt.rules import NAMES_ZH, RULES
from receipt.rules.base import Region
from receipt.specs import get_spec
from tests.conftest import SAMPLES, require

WQY = Path("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc")


@dataclass
class F:
    code: str
    verdict: str
    evidence: tuple[Region, ...]


def _decode(jpeg: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(jpeg)).convert("RGB")).astype(int)


def test_every_rule_has_a_chinese_name_and_the_font_draws_it() -> None:
    assert set(NAMES_ZH) == set(RULES)
    require(WQY.exists(), f"CJK font not installed at {WQY} (apt-get install fonts-wqy-zenhei)")
    font, chinese = label_font(20)
    assert chinese
    assert font.getbbox("帽子头饰")[2] > font.getbbox("H")[2] * 3  # real glyphs, not boxes of one width


def test_labels_never_overlap_each_other_or_leave_the_photo() -> None:
    taken: list[tuple[float, float, float, float]] = []
    for i in range(12):  # twelve regions stacked on one spot (e.g. several ear and hair rules)
        spot = _place((180, 24), (100 + i, 100, 200, 160), taken, (500, 600))
        assert 0 <= spot[0] and spot[2] <= 500 and 0 <= spot[1] and spot[3] <= 600
        assert not any(_overlaps(spot, t) for t in taken)
        taken.append(spot)


def test_legend_lives_below_the_photo() -> None:
    rgb = np.full((400, 300, 3), 128, np.uint8)
    findings = [F("EXPOSURE", "fail", ()), F("HAT", "borderline", (Region("HAT", box=(100, 20, 100, 60)),))]
    out = _decode(annotate(rgb, findings, NAMES_ZH))
    assert out.shape[1] == 300 and out.shape[0] > 400  # a strip below for two legend lines
    assert (np.abs(out[:400] - 128).max(axis=2) > 60).any()  # the HAT box is drawn on the photo
    assert np.abs(out[200:400, :90] - 128).max() <= 8  # nothing else drawn over the photo


def test_hat_borderline_has_a_box_and_boxes_stay_on_the_person() -> None:
    result = process_photo((SAMPLES / "grace_hopper.jpg").read_bytes(), get_spec("guangdong-id"))
    hat = next(r for r in result.report.rules if r.code == "HAT")
    assert hat.verdict == "borderline" and hat.evidence, "a borderline HAT shows where it looked"
    mask = result.report.analysis.person_mask
    h, w = mask.shape
    # the flag at the top left is not the person: a region there is not drawn
    assert on_person((0, 0, w * 0.12, h * 0.3), mask) is None
    face = result.report.analysis.main_face
    assert face is not None
    x, y, fw, fh = face.box
    clipped = on_person((x - fw, y, x + fw, y + fh), mask)  # half of it over the background
    assert clipped is not None and clipped[0] > x - fw + 0.2 * fw
    plain = _decode(annotate(result.report.analysis.image, []))
    off = _decode(annotate(result.report.analysis.image, [F("EARRINGS", "fail", (Region("x", box=(0, 0, w * 0.12,
                                                                                                   h * 0.3)),))],
                           NAMES_ZH, mask))
    flag = (slice(0, int(h * 0.3) + 8), slice(0, int(w * 0.12) + 8))
    assert np.abs(off[flag] - plain[flag]).max() <= 40  # JPEG noise only: no red box on the flag
