"""Every "这些照片不合格" example on the applicant page is rejected by the checker, for the reason it shows."""

from __future__ import annotations

import pytest

from review_ui.applicant import EXAMPLES
from review_ui.examples import EXPECTED, OUT, SPEC


def test_the_page_shows_exactly_the_built_examples() -> None:
    assert {file for file, _, _ in EXAMPLES} == set(EXPECTED)


@pytest.mark.parametrize("file", sorted(EXPECTED))
def test_each_example_is_rejected_for_what_it_illustrates(file: str) -> None:
    from receipt.pipeline import check_photo
    from receipt.specs import get_spec

    report = check_photo((OUT / file).read_bytes(), get_spec(SPEC))
    fails = {r.code for r in report.rules if r.verdict == "fail"}
    assert report.verdict == "reject" and EXPECTED[file] in fails, (file, report.verdict, fails)
