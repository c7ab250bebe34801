"""receipt.rules.learned: a committed logistic model scores a rule's features; without it the hand score stands."""

from __future__ import annotations

import pytest

from receipt.rules import learned
from receipt.rules.learned import LogisticModel, parse_model

MODEL = LogisticModel("EARRINGS", ("area", "golden"), (1.0, 0.0), (0.5, 1.0), (-2.0, -1.0), 0.5)


def test_probability_falls_as_the_evidence_grows() -> None:
    low = MODEL.probability({"area": 0.2, "golden": 0.0})
    high = MODEL.probability({"area": 3.0, "golden": 1.0})
    assert low is not None and high is not None
    assert 0.0 < high < 0.5 < low < 1.0


def test_a_missing_or_nan_feature_gives_no_probability() -> None:
    assert MODEL.probability({"area": 0.2}) is None
    assert MODEL.probability({"area": float("nan"), "golden": 0.0}) is None


def test_a_wild_value_is_clipped_not_overflowing() -> None:
    assert MODEL.probability({"area": 1e300, "golden": 0.0}) == pytest.approx(
        MODEL.probability({"area": 1.0 + 6 * 0.5, "golden": 0.0}))


def test_toml_round_trip() -> None:
    again = parse_model(MODEL.to_toml("fitted on nothing\nsecond line"), "memory")
    assert again == MODEL


@pytest.mark.parametrize("text", ["code = 'X'", "code='X'\nfeatures=['a']\nmean=[0]\nscale=[0]\nweights=[1]\nintercept=0",
                                  "code='X'\nfeatures=['a','b']\nmean=[0]\nscale=[1]\nweights=[1]\nintercept=0"])
def test_a_broken_model_file_is_refused_with_its_name(text: str) -> None:
    with pytest.raises(ValueError, match="broken.toml"):
        parse_model(text, "broken.toml")


def test_learned_score_uses_the_model_file_when_there_is_one(tmp_path, monkeypatch) -> None:
    (tmp_path / "learned").mkdir()
    (tmp_path / "learned" / "EARRINGS.toml").write_text(MODEL.to_toml(), encoding="utf-8")
    monkeypatch.setattr(learned, "specs_dir", lambda: tmp_path)
    learned.model_for.cache_clear()
    try:
        features = {"area": 3.0, "golden": 1.0}
        assert learned.learned_score("EARRINGS", features, 0.9) == MODEL.probability(features)
        assert learned.learned_score("EARRINGS", {"area": 3.0}, 0.9) == 0.9  # a feature missing: the hand score
        assert learned.learned_score("NECKLACE", features, 0.7) == 0.7  # no model file
    finally:
        learned.model_for.cache_clear()
