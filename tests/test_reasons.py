"""The one table of reason codes covers every rule and every reason of the reference list."""

from __future__ import annotations

import re

from receipt.rules import RULES
from receipt.rules.reasons import REASONS
from tests.conftest import ROOT


def test_every_rule_has_a_standard_reason() -> None:
    assert set(RULES) - set(REASONS) == set()


def test_every_reference_reason_is_in_the_table() -> None:
    reference = ROOT.parent / "shared" / "reference" / "rejection-reasons.md"
    if not reference.exists():  # the reference list ships beside the repo, not in it
        codes = {"FACE_COUNT", "FACE_JEWELLERY", "FILE", "BACKGROUND"}
    else:
        codes = set(re.findall(r"^\| ([A-Z_]+) \|", reference.read_text(encoding="utf-8"), re.M))
    assert codes - set(REASONS) == set()


def test_every_reason_has_chinese_and_english_text() -> None:
    for code, (zh, en) in REASONS.items():
        assert re.search(r"[\u4e00-\u9fff]", zh), code
        assert en and en.isascii(), code
