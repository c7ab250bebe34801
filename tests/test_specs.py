"""Specs are data: every file loads, every error names the file and the field, a new city needs no code."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from receipt.errors import SpecError
from receipt.specs import get_spec, load_all
from tests.conftest import ROOT

REQUIRED = ["guangdong-id", "guangzhou-ssc", "shenzhen-ssc", "zhuhai-ssc", "foshan-ssc", "huizhou-ssc",
            "dongguan-ssc", "zhongshan-ssc", "guangdong-residence", "guangdong-driving", "guangdong-exit-entry"]


def test_required_specs_exist_and_are_consistent() -> None:
    specs = load_all()
    assert set(REQUIRED) <= set(specs)
    prefixes = [s.number_prefix for s in specs.values()]
    assert len(prefixes) == len(set(prefixes)), "each spec needs its own receipt-number prefix"
    for spec in specs.values():
        assert spec.photo.width_px / spec.photo.dpi * 25.4 == pytest.approx(spec.photo.width_mm, abs=0.6)
        assert spec.background_colour in spec.background_allowed
        for code in ("FACE_COUNT", "RESOLUTION", "HEAD_SIZE"):
            assert spec.threshold(code).fail_below <= spec.threshold(code).pass_at


def test_ga461_numbers() -> None:
    spec = get_spec("guangdong-id")
    assert (spec.photo.width_px, spec.photo.height_px, spec.photo.dpi) == (358, 441, 350)
    assert spec.geometry.face_width_px.low == 193 and spec.geometry.face_width_px.high == 221
    assert spec.geometry.eye_line_from_bottom_min_px == 207
    assert get_spec("shenzhen-ssc").photo.file_kb.high == 20
    assert len(get_spec("guangdong-exit-entry").background_allowed) == 3


def test_unknown_spec_is_a_reason_code() -> None:
    with pytest.raises(SpecError) as caught:
        get_spec("atlantis-ssc")
    assert caught.value.code == "SPEC_UNKNOWN"


def _copy_specs(tmp_path: Path) -> Path:
    target = tmp_path / "specs"
    shutil.copytree(ROOT / "specs", target)
    return target


@pytest.mark.parametrize(("old", "new", "field"), [
    ('dpi = 350', 'dpi = "350"', "photo.dpi"),
    ('file_kb = [9, 20]', 'file_kb = [20, 9]', "photo.file_kb"),
    ('face_width_px = [193, 221]', 'face_width_px = [193]', "geometry.face_width_px"),
    ('colour = "#FFFFFF"', 'colour = "white"', "background.colour"),
    ('number_prefix = "BA2"', 'number_prefix = "B2"', "number_prefix"),
    ('layout = "ssc"', 'layout = "poster"', "receipt.layout"),
    ('width_mm = 26.0', 'width_mm = 30.0', "photo.width_mm"),
    ('title = "(广东·深圳)社会保障卡数字相片采集回执"\n', '', "receipt.title"),
    ('accepted_for = ["guangdong-id", "guangdong-residence"]', 'accepted_for = ["guangdong-passport"]',
     "accepted_for"),
    ('accepted_for = ["guangdong-id", "guangdong-residence"]', 'accepted_for = ["shenzhen-ssc"]', "accepted_for"),
    ('accepted_for = ["guangdong-id", "guangdong-residence"]', 'accepted_for = "guangdong-id"', "accepted_for"),
    ('accepted_for_source = ', 'accepted_for_note = ', "accepted_for_source"),
])
def test_broken_spec_names_file_and_field(tmp_path: Path, old: str, new: str, field: str) -> None:
    directory = _copy_specs(tmp_path)
    path = directory / "shenzhen-ssc.toml"
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new), encoding="utf-8")
    with pytest.raises(SpecError) as caught:
        load_all(directory)
    assert "shenzhen-ssc.toml" in caught.value.message and f"'{field}'" in caught.value.message


def test_adding_a_city_is_adding_a_file(tmp_path: Path) -> None:
    directory = _copy_specs(tmp_path)
    text = (directory / "shenzhen-ssc.toml").read_text(encoding="utf-8")
    text = (text.replace('id = "shenzhen-ssc"', 'id = "shantou-ssc"').replace('city = "shenzhen"', 'city = "shantou"')
            .replace('city_zh = "深圳"', 'city_zh = "汕头"').replace('"BA2"', '"DA2"').replace("深圳", "汕头"))
    (directory / "shantou-ssc.toml").write_text(text, encoding="utf-8")
    specs = load_all(directory)
    assert specs["shantou-ssc"].title == "(广东·汕头)社会保障卡数字相片采集回执"
    assert specs["shantou-ssc"].number_prefix == "DA2"


def test_spec_rule_threshold_override(tmp_path: Path) -> None:
    directory = _copy_specs(tmp_path)
    path = directory / "guangdong-id.toml"
    path.write_text(path.read_text(encoding="utf-8") + "\n[rules.RESOLUTION]\npass_at = 0.95\nfail_below = 0.6\n",
                    encoding="utf-8")
    specs = load_all(directory)
    assert specs["guangdong-id"].threshold("RESOLUTION").pass_at == 0.95
    assert specs["shenzhen-ssc"].threshold("RESOLUTION").pass_at != 0.95


def test_which_documents_a_receipt_serves() -> None:
    specs = load_all()
    shenzhen = specs["shenzhen-ssc"]
    assert shenzhen.accepted_for == ("guangdong-id", "guangdong-residence")
    assert "photo-specs.md" in shenzhen.accepted_for_source
    assert shenzhen.serves == {"shenzhen-ssc", "guangdong-id", "guangdong-residence"}
    # "深圳拍的社保回执在东莞不可以用": nothing makes a Shenzhen receipt serve Dongguan, nor the reverse
    assert "dongguan-ssc" not in shenzhen.serves and specs["dongguan-ssc"].serves == {"dongguan-ssc"}
    for spec in specs.values():
        assert all(other in specs for other in spec.accepted_for)
        assert bool(spec.accepted_for) == bool(spec.accepted_for_source)
