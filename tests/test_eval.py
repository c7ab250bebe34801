"""`photo-receipt eval` and its core: labels, per-rule figures, headline rates, report files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image

from receipt.cli import main
from receipt.eval.derive import write_folder
from receipt.eval.evaluate import (
    LABEL_FOR_RULE,
    PhotoResult,
    equal_error_rate,
    evaluate,
    headline,
    markdown,
    rule_figures,
    write_report,
)
from receipt.eval.labels import load_labels
from receipt.rules import RULES
from tests.conftest import SHARED_EVAL, require


def _eval_folder() -> Path:
    require((SHARED_EVAL / "labels.jsonl").exists(), f"shared eval corpus not found at {SHARED_EVAL}")
    return SHARED_EVAL


def test_equal_error_rate() -> None:
    assert equal_error_rate([0.9, 0.8, 0.95, 0.7], [0.1, 0.2, 0.3]) == (0.0, 0.7)
    eer, _ = equal_error_rate([0.9, 0.8, 0.2, 0.7], [0.1, 0.85, 0.3, 0.4])
    assert eer == pytest.approx(0.25)
    assert equal_error_rate([0.9, 0.8], [0.1, 0.2]) == (None, None)  # too few to mean anything


def test_labels_map_to_rules() -> None:
    label = {"faces": 1, "photo": True, "frontal": False, "ears_visible": "one", "earrings": "unknown",
             "face_shadow": "mild", "beautified": "yes", "hat": False, "glasses": "tinted"}
    assert LABEL_FOR_RULE["FACE_COUNT"](label) is True
    assert LABEL_FOR_RULE["POSE"](label) is False
    assert LABEL_FOR_RULE["EARS_COVERED"](label) is False
    assert LABEL_FOR_RULE["EARRINGS"](label) is None  # unknown stays out of the figures
    assert LABEL_FOR_RULE["FACE_SHADOW"](label) is None  # mild is a judgement call
    assert LABEL_FOR_RULE["BEAUTIFIED"](label) is False
    assert LABEL_FOR_RULE["HAT"](label) is True
    assert LABEL_FOR_RULE["GLASSES_TINTED"](label) is False


def test_headline_rates_count_only_automatic_decisions() -> None:
    def photo(i: int, ok: bool, verdict: str) -> PhotoResult:
        return PhotoResult(f"p{i}", {"id": f"p{i}", "id_photo_ok": ok}, verdict, ms=100.0 + i)

    photos = [photo(0, True, "pass"), photo(1, True, "review"), photo(2, True, "reject"), photo(3, False, "pass"),
              photo(4, False, "reject"), photo(5, False, "reject"), photo(6, False, "review"), photo(7, False, "reject")]
    h = headline(photos)
    assert (h.labelled_ok, h.labelled_not_ok) == (3, 5)
    assert h.far == pytest.approx(1 / 5) and h.frr == pytest.approx(1 / 3)
    assert h.automation == pytest.approx(6 / 8)
    assert h.ms_median == pytest.approx(103.5)


def test_rule_figures_confusion_matrix() -> None:
    def photo(i: int, frontal: bool, score: float, verdict: str) -> PhotoResult:
        return PhotoResult(f"p{i}", {"frontal": frontal}, "review", {"POSE": (score, verdict)})

    photos = [photo(0, True, 0.9, "pass"), photo(1, True, 0.8, "pass"), photo(2, True, 0.5, "borderline"),
              photo(3, False, 0.1, "fail"), photo(4, False, 0.3, "fail"), photo(5, False, 0.85, "pass")]
    (pose,) = rule_figures(photos, ["POSE"])
    assert pose.confusion["compliant"] == {"pass": 2, "borderline": 1, "fail": 0, "n/a": 0}
    assert pose.confusion["non-compliant"] == {"pass": 1, "borderline": 0, "fail": 2, "n/a": 0}
    assert pose.eer == pytest.approx(1 / 3)


def test_evaluate_real_photos_and_write_the_report(tmp_path: Path) -> None:
    folder = _eval_folder()
    report = evaluate(folder, limit=8, progress=False)
    assert len(report.photos) == 8
    assert report.real.photos + (report.synthetic.photos if report.synthetic else 0) == 8
    for photo in report.photos:
        assert photo.verdict in ("pass", "review", "reject")
        assert photo.error or len(photo.rules) == len(RULES)
    paths = write_report(report, folder, tmp_path / "eval")
    text = paths["markdown"].read_text(encoding="utf-8")
    assert "| real (headline) |" in text and "| MOUTH_OPEN |" in text and "FAR" in text
    with Image.open(paths["chart"]) as chart:
        assert chart.format == "PNG" and chart.size[0] > 600
    rows = [json.loads(line) for line in paths["results"].read_text(encoding="utf-8").splitlines()]
    assert [r["id"] for r in rows] == [p.id for p in report.photos]


def test_synthetic_photos_are_reported_apart(tmp_path: Path) -> None:
    folder = _eval_folder()
    sources = [(label, path) for label, path in load_labels(folder) if label["id"] == "c_054"]
    require(bool(sources), "eval photo c_054 not found")
    count = write_folder(sources, tmp_path / "derived")
    assert count == 14
    labels = [json.loads(line) for line in (tmp_path / "derived" / "labels.jsonl").read_text().splitlines()]
    assert all(row["synthetic"] and not row["id_photo_ok"] for row in labels)
    report = evaluate(tmp_path / "derived", limit=4, progress=False)
    assert report.real.photos == 0
    assert report.synthetic is not None and report.synthetic.photos == 4
    assert report.synthetic.false_accept == 0
    assert "synthetic (apart)" in markdown(report, tmp_path / "derived")


def test_cli_eval_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = _eval_folder()
    out = tmp_path / "out"
    assert main(["eval", str(folder), "--limit", "3", "--out", str(out), "--no-progress"]) == 0
    printed = capsys.readouterr().out
    assert "FAR" in printed and "automation" in printed
    assert (out / "report.md").exists() and (out / "report.png").exists() and (out / "results.jsonl").exists()


def test_cli_eval_refuses_a_folder_without_labels(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["eval", str(tmp_path), "--no-progress"]) == 2
    assert "EVAL_NO_LABELS" in capsys.readouterr().err
