"""The background colour: a white top is composed on an allowed colour it stands out from, and the report says so."""

from __future__ import annotations

import dataclasses
import functools

import numpy as np

from receipt.photo.background import choose_background
from receipt.photo.intake import load_image
from receipt.photo.vision import Analysis, analyse
from receipt.pipeline import process_photo
from receipt.specs import get_spec, hex_to_rgb
from tests.conftest import SAMPLES

WHITE_TOP = "london-005.jpg"  # white T-shirt: near the white background, far from the light blue


@functools.cache
def _analysis(name: str) -> Analysis:
    return analyse(load_image((SAMPLES / name).read_bytes()).rgb)


def test_white_top_gets_the_allowed_colour_it_contrasts_with() -> None:
    spec = get_spec("guangdong-exit-entry")
    choice = choose_background(_analysis(WHITE_TOP), spec)
    assert choice.nominal == "#FFFFFF" and choice.changed
    assert choice.colour in spec.background_allowed
    assert choice.near_share[choice.colour] < 0.1 < 0.5 < choice.near_share["#FFFFFF"]
    assert choice.near_share[choice.colour] == min(choice.near_share.values())


def test_white_only_spec_and_fixed_policy_keep_the_nominal_colour() -> None:
    only_white = choose_background(_analysis(WHITE_TOP), get_spec("guangdong-id"))
    assert (only_white.colour, only_white.reason) == ("#FFFFFF", "only allowed colour")
    fixed = dataclasses.replace(get_spec("guangdong-exit-entry"), background_choice="fixed")
    assert choose_background(_analysis(WHITE_TOP), fixed).colour == "#FFFFFF"


def test_a_dark_top_keeps_white() -> None:
    # grace_hopper's navy uniform contrasts with white: no reason to change
    choice = choose_background(_analysis("grace_hopper.jpg"), get_spec("guangdong-exit-entry"))
    assert choice.colour == "#FFFFFF" and choice.reason == "clothes contrast"


def test_compliant_sample_passes_on_the_chosen_colour_and_the_report_says_which() -> None:
    result = process_photo((SAMPLES / WHITE_TOP).read_bytes(), get_spec("guangdong-exit-entry"))
    assert result.verdict == "pass", [(r.code, r.message_en) for r in result.report.problems]
    report = result.report.to_dict()
    chosen = report["background"]["colour"]
    assert report["background"]["changed"] and chosen != "#FFFFFF"
    assert result.report.spec.background_colour == chosen
    assert result.photo is not None and result.measurement is not None and result.measurement.background_ok
    corners = np.concatenate([result.photo.rgb[:6, :6].reshape(-1, 3), result.photo.rgb[:6, -6:].reshape(-1, 3)])
    assert np.abs(corners.astype(int) - np.array(hex_to_rgb(chosen))).max() <= 3
