"""Every spec: a good photo becomes exact pixels, dpi and KB, and measures inside the spec again from scratch."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from receipt.errors import ReceiptError
from receipt.photo.compose import compose, plan_crop
from receipt.photo.intake import load_image
from receipt.photo.verify import measure_output
from receipt.photo.vision import Analysis, analyse
from receipt.specs import load_all
from tests.conftest import SAMPLES, SHARED_EVAL, eval_image
from tests.images import encode, sample_image

SPECS = load_all()
_cache: dict[str, Analysis] = {}


def _analysis(source: str) -> Analysis:
    if source not in _cache:
        path = SAMPLES / source if (SAMPLES / source).exists() else eval_image(source)
        _cache[source] = analyse(load_image(path.read_bytes()).rgb)
    return _cache[source]


# grace_hopper and the London Set photos ship with the project; b_045 and a_021 are large real
# photos of ../shared/eval, added where it is there
SOURCES = ["grace_hopper.jpg", "london-005.jpg", "london-006.jpg"] + (["b_045", "a_021"] if SHARED_EVAL.is_dir() else [])


@pytest.mark.parametrize("source", SOURCES)
@pytest.mark.parametrize("spec_id", sorted(SPECS))
def test_output_meets_spec_when_measured_again(source: str, spec_id: str) -> None:
    spec = SPECS[spec_id]
    photo = compose(_analysis(source), spec)
    measured = measure_output(photo.jpeg, spec)
    assert measured.ok, measured.failures
    assert (measured.width_px, measured.height_px) == (spec.photo.width_px, spec.photo.height_px)
    assert measured.dpi == (spec.photo.dpi, spec.photo.dpi)
    assert spec.photo.file_kb.low <= len(photo.jpeg) / 1024 <= spec.photo.file_kb.high
    assert photo.quality >= spec.photo.jpeg_quality_min


def test_roll_is_levelled() -> None:
    tilted = sample_image().rotate(9, resample=Image.Resampling.BICUBIC, expand=True, fillcolor=(90, 110, 160))
    analysis = analyse(load_image(encode(tilted, "JPEG", quality=92)).rgb)
    assert abs(analysis.roll_deg) > 6
    photo = compose(analysis, SPECS["guangdong-id"])
    again = analyse(np.asarray(Image.open(io.BytesIO(photo.jpeg)).convert("RGB")), with_pose=False)
    assert abs(again.roll_deg) < 1.5


def test_background_is_replaced_with_the_spec_colour() -> None:
    spec = SPECS["guangdong-exit-entry"]
    rgb = compose(_analysis("grace_hopper.jpg"), spec).rgb
    corners = np.concatenate([rgb[:20, :20].reshape(-1, 3), rgb[:20, -20:].reshape(-1, 3)])
    assert np.abs(corners.astype(int) - np.array(spec.background_rgb)).max() <= 2


def test_head_cut_at_top_is_refused_not_cropped_badly() -> None:
    image = sample_image()
    cut = image.crop((0, 160, image.width, image.height))  # slices through the top of the head
    cut = cut.resize((cut.width, cut.height))
    analysis = analyse(load_image(encode(cut, "PNG")).rgb)
    plan = plan_crop(analysis, SPECS["guangdong-id"])
    assert "HEAD_CUT_TOP" in [p.code for p in plan.problems]
    with pytest.raises(ReceiptError) as caught:
        compose(analysis, SPECS["guangdong-id"], plan)
    assert caught.value.code == "HEAD_CUT_TOP"


def test_shoulders_cut_is_refused() -> None:
    image = sample_image()
    # ends 0.03 face widths below the chin: no shoulders (a crop at row 400 now fits inside the
    # spec's tolerances, see tests/test_framing.py)
    cut = image.crop((0, 0, image.width, 340))
    analysis = analyse(load_image(encode(cut, "PNG", optimize=False)).rgb)
    plan = plan_crop(analysis, SPECS["guangdong-id"])
    assert "SHOULDERS_CUT" in [p.code for p in plan.problems]


def test_jpeg_size_search_respects_the_floor() -> None:
    spec = SPECS["shenzhen-ssc"]  # 9-20 KB is the tightest range
    noisy = np.asarray(sample_image(), dtype=np.int16) + np.random.default_rng(1).normal(0, 12, (600, 512, 3))
    analysis = analyse(load_image(encode(Image.fromarray(np.clip(noisy, 0, 255).astype(np.uint8)), "PNG")).rgb)
    photo = compose(analysis, spec)
    assert len(photo.jpeg) <= 20 * 1024 and photo.quality >= 70


def test_the_middle_placements_crown_is_not_searched_twice(monkeypatch: pytest.MonkeyPatch) -> None:
    """When the chosen placement is the middle one (most portraits), the crown found there stands:
    one guided-filter search, and the same top margin a second search gives."""
    from receipt.photo import compose as compose_module

    real = compose_module._refined_crown
    calls: list[int] = []

    def counted(*args, **kwargs):  # type: ignore[no-untyped-def]
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(compose_module, "_refined_crown", counted)
    spec = load_all()["guangdong-id"]
    plan = plan_crop(_analysis("london-005.jpg"), spec)
    assert plan.eye_center_x_px == spec.geometry.eye_center_x_px.mid and not plan.problems
    assert len(calls) == 1
    assert plan.canvas_image is not None and plan.canvas_mask is not None
    again = real(plan.canvas_image, plan.canvas_mask, plan.eye_center_x_px, plan.face_width_px, spec.photo.height_px)
    assert again is not None and again - plan.canvas_offset == plan.top_margin_px
