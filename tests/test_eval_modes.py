"""Re-deciding with rules set aside, per-rule catch counts, and the k-fold cut-point fit."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from receipt.errors import ReceiptError
from receipt.eval.calibrate import cross_validate, fit_thresholds, folds, load_results, reverdict
from receipt.eval.evaluate import LABEL_FOR_RULE, PhotoResult, summarise
from receipt.eval.labels import load_labels
from receipt.eval.modes import SET_ASIDE, mode_figures, redecide, rule_catch
from receipt.specs import RuleThreshold


def _photo(i: int, ok: bool, **rules: tuple[float | None, str]) -> PhotoResult:
    return PhotoResult(f"p{i}", {"id": f"p{i}", "id_photo_ok": ok, "earrings": "no" if ok else "yes"}, "?", dict(rules))


def test_redecide_sets_rules_aside() -> None:
    p = _photo(0, True, CLOTHES_BG=(0.5, "borderline"), SHOULDERS=(0.1, "fail"), EARRINGS=(1.0, "pass"))
    assert redecide(p) == "reject"
    assert redecide(p, SET_ASIDE["clothing"]) == "reject"
    assert redecide(p, SET_ASIDE["framing"]) == "pass"
    q = _photo(1, True, CLOTHES_BG=(0.5, "borderline"), EARRINGS=(None, "n/a"))
    assert redecide(q, SET_ASIDE["clothing"]) == "review"  # not assessed is never a pass
    refused = PhotoResult("r", {"id_photo_ok": True}, "reject", {}, error="IMAGE_TOO_SMALL")
    assert redecide(refused, SET_ASIDE["framing"]) == "reject"


def test_mode_figures_and_rule_catch() -> None:
    photos = [_photo(0, True, EARRINGS=(1.0, "pass"), CLOTHES_BG=(0.2, "borderline")),
              _photo(1, True, EARRINGS=(0.1, "fail")),
              _photo(2, False, EARRINGS=(0.1, "fail")),
              _photo(3, False, EARRINGS=(0.9, "pass")),
              _photo(4, False, EARRINGS=(0.5, "borderline"))]
    none, clothing = mode_figures(photos, "none"), mode_figures(photos, "clothing")
    assert (none.passed_ok, none.false_accept, none.false_reject, none.reviewed) == (0, 1, 1, 2)
    assert (clothing.passed_ok, clothing.pass_at_once, clothing.reviewed) == (1, 0.5, 1)
    assert clothing.far == pytest.approx(1 / 3) and clothing.automation == pytest.approx(4 / 5)
    catch = rule_catch(photos, "EARRINGS", LABEL_FOR_RULE["EARRINGS"])
    assert (catch.labelled, catch.caught, catch.flagged) == (3, 1, 2)
    assert (catch.compliant, catch.false_alarms, catch.false_reviews) == (2, 1, 0)
    report = summarise("guangdong-id", photos, "clothing")
    assert [m.mode for m in report.modes] == list(SET_ASIDE)
    assert report.real.false_accept == 1 and report.real.reviewed == 1


def test_duplicates_are_counted_once(tmp_path: Path) -> None:
    (tmp_path / "images").mkdir()
    for name in ("a", "b"):
        (tmp_path / "images" / f"{name}.jpg").write_bytes(b"x")
    rows = [{"id": "a", "id_photo_ok": True}, {"id": "b", "id_photo_ok": True, "duplicate_of": "a"}]
    (tmp_path / "labels.jsonl").write_text("\n".join(json.dumps(r) for r in rows))
    assert [label["id"] for label, _ in load_labels(tmp_path)] == ["a"]
    assert len(load_labels(tmp_path, distinct=False)) == 2
    results = tmp_path / "results.jsonl"
    results.write_text("\n".join(json.dumps({"id": i, "verdict": "pass", "rules": {"POSE": {"score": 1.0,
                                                                                          "verdict": "pass"}}})
                                 for i in ("a", "b")))
    assert [p.id for p in load_results(results, tmp_path)] == ["a"]


@pytest.mark.parametrize(("content", "code"), [(None, "EVAL_NO_RESULTS"), ("not json", "EVAL_BAD_RESULTS"),
                                               ('{"id": "a"}', "EVAL_BAD_RESULTS"),
                                               ('{"id": "a", "verdict": "pass", "rules": [1]}', "EVAL_BAD_RESULTS")])
def test_a_missing_or_foreign_results_file_is_a_reason_code(tmp_path: Path, content: str | None, code: str) -> None:
    (tmp_path / "images").mkdir()
    (tmp_path / "images" / "a.jpg").write_bytes(b"x")
    (tmp_path / "labels.jsonl").write_text(json.dumps({"id": "a"}))
    results = tmp_path / "results.jsonl"
    if content is not None:
        results.write_text(content)
    with pytest.raises(ReceiptError) as raised:
        load_results(results, tmp_path)
    assert raised.value.code == code


def test_fit_moves_a_cut_point_to_lower_the_cost_and_kfold_holds_out() -> None:
    # EARRINGS scores: compliant photos 0.8..0.95, violating ones 0.3..0.6; the start cut (0.2 / 0.1)
    # lets every violation pass, the fit must move pass_at above them
    photos = [_photo(i, True, EARRINGS=(0.8 + 0.01 * i, "pass")) for i in range(15)]
    photos += [_photo(20 + i, False, EARRINGS=(0.3 + 0.02 * i, "pass")) for i in range(15)]
    start = {"EARRINGS": RuleThreshold(0.2, 0.1)}
    fitted = fit_thresholds(photos, start)["EARRINGS"]
    assert 0.58 < fitted.pass_at <= 0.8
    again = [reverdict(p, {"EARRINGS": fitted}) for p in photos]
    assert mode_figures(again, "clothing").false_accept == 0
    parts = folds(photos, 5)
    assert sorted(p.id for part in parts for p in part) == sorted(p.id for p in photos)
    assert all(sum(p.ok is True for p in part) == 3 for part in parts)
    held = cross_validate(photos, start, 5)
    assert sorted(p.id for p in held) == sorted(p.id for p in photos)
    assert mode_figures(held, "clothing").false_accept <= 1


def test_cli_eval_set_aside_and_calibrate(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from receipt.cli import main
    from tests.conftest import SHARED_EVAL, require

    require((SHARED_EVAL / "labels.jsonl").exists(), f"shared eval corpus not found at {SHARED_EVAL}")
    out = tmp_path / "out"
    assert main(["eval", str(SHARED_EVAL), "--limit", "3", "--out", str(out), "--no-progress",
                 "--set-aside", "framing"]) == 0
    printed = capsys.readouterr().out
    assert "Headline with CLOTHES_BG, HEAD_SIZE, SHOULDERS, RESOLUTION set aside" in printed
    assert "caught / labelled" in printed
    assert main(["calibrate", str(out / "results.jsonl"), "--folder", str(SHARED_EVAL), "--k", "2"]) == 0
    printed = capsys.readouterr().out
    assert "2-fold cross-validated" in printed and "| rules set aside |" in printed
