"""receipt.eval.disputes: the photos a rule scores most confidently against their label, listed and drawn."""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from receipt.cli import main
from receipt.eval.disputes import OUTLINE, TILE, Dispute, contact_sheet, disputes, label_field, markdown, tile
from receipt.eval.evaluate import PhotoResult

SAMPLES = Path(__file__).resolve().parents[1] / "samples"


def _photo(pid: str, ears: str, score: float, **label: object) -> PhotoResult:
    verdict = "pass" if score >= 0.75 else "fail" if score < 0.4 else "borderline"
    return PhotoResult(pid, {"id": pid, "ears_visible": ears, "notes": f"note of {pid}", **label}, "pass",
                       {"EARS_COVERED": (score, verdict)})


def _corpus() -> list[PhotoResult]:
    good = [_photo(f"g{i}", "both", s) for i, s in enumerate((0.9, 0.85, 0.8, 0.7, 0.2))]  # g4: scored against its label
    bad = [_photo(f"b{i}", "one" if i % 2 else "none", s) for i, s in enumerate((0.1, 0.15, 0.3, 0.95))]  # b3 too
    return good + bad


def test_the_surest_disagreements_come_first_and_agreeing_photos_are_left_out() -> None:
    threshold, found = disputes(_corpus(), "EARS_COVERED")
    assert threshold is not None and 0.3 < threshold <= 0.7
    assert [d.id for d in found] == sorted([d.id for d in found], key=lambda i: -abs(
        {"g4": 0.2, "b3": 0.95}[i] - threshold))
    assert {d.id for d in found} == {"g4", "b3"}
    b3 = next(d for d in found if d.id == "b3")
    assert not b3.compliant and b3.label_value == "one" and b3.verdict == "pass" and b3.notes == "note of b3"
    assert b3.margin == pytest.approx(0.95 - threshold)


def test_synthetic_unlabelled_and_unscored_photos_do_not_count() -> None:
    photos = _corpus() + [_photo("s", "both", 0.0, synthetic=True), _photo("u", "unknown", 0.0)]
    photos.append(PhotoResult("n", {"ears_visible": "both"}, "pass", {"EARS_COVERED": (None, "n/a")}))
    _, found = disputes(photos, "EARS_COVERED")
    assert {d.id for d in found} == {"g4", "b3"}
    assert len(disputes(photos, "EARS_COVERED", count=1)[1]) == 1


def test_too_few_labels_give_no_threshold_and_an_unlabelled_rule_is_refused() -> None:
    threshold, found = disputes(_corpus()[:2], "EARS_COVERED")
    assert threshold is None and found == []
    assert "too few" in markdown("EARS_COVERED", threshold, found)
    with pytest.raises(ValueError, match="no label"):
        disputes(_corpus(), "EXPOSURE")


def test_label_fields_are_named_for_every_labelled_rule() -> None:
    assert label_field("EARS_COVERED") == "ears_visible"
    assert label_field("FACE_COUNT") == "faces"
    assert label_field("EXPOSURE") is None


def test_the_list_gives_label_score_and_note_and_keeps_the_table_whole() -> None:
    threshold, found = disputes(_corpus(), "EARS_COVERED")
    found = [Dispute(**{**d.__dict__, "notes": "a | b"}) if d.id == "g4" else d for d in found]
    text = markdown("EARS_COVERED", threshold, found)
    assert "| g4 | complies (both) | 0.20 | fail |" in text
    assert "| b3 | violates (one) | 0.95 | pass |" in text
    assert "a / b" in text  # a pipe in a note would split the row


def test_a_tile_outlines_the_region_inside_the_face_crop() -> None:
    rgb = np.full((400, 300, 3), 200, np.uint8)
    square = ((140.0, 150.0), (180.0, 150.0), (180.0, 190.0), (140.0, 190.0))
    out = np.asarray(tile(rgb, (100, 100, 100, 120), [square], ["line one", "line two"]))
    assert out.shape[1] == TILE
    hits = np.argwhere(np.all(out == OUTLINE, axis=2))
    assert hits.size
    # face box grown by 0.45 of its larger side (54 px) each way: the crop starts at x=46, y=46
    factor = TILE / (254 - 46)
    assert hits[:, 1].min() == pytest.approx((140 - 46) * factor, abs=2)
    assert hits[:, 0].min() == pytest.approx((150 - 46) * factor, abs=2)
    caption = out[-40:]
    assert (caption.mean(axis=2) < 100).any()  # the caption's text is drawn


def test_the_sheet_checks_real_photos_again_and_draws_them(tmp_path: Path) -> None:
    images = {"ears": SAMPLES / "london-067-ears-covered.jpg", "grace": SAMPLES / "grace_hopper.jpg"}
    found = [Dispute("ears", True, "both", 0.1, "fail", 0.4, "labelled as showing both ears"),
             Dispute("grace", False, "none", 0.9, "pass", 0.4, ""), Dispute("missing", True, "both", 0.1, "fail", 0.4, "")]
    with Image.open(io.BytesIO(contact_sheet(found, "EARS_COVERED", images, "guangdong-id", columns=2))) as sheet:
        assert sheet.format == "PNG"
        assert sheet.size[0] == 2 * (TILE + 6)
        pixels = np.asarray(sheet.convert("RGB"))
    assert pixels.shape[0] < 2 * pixels.shape[1]  # two tiles, one row: the missing photo is skipped
    assert np.all(pixels == OUTLINE, axis=2).sum() > 50  # the ear bands the rule read are outlined


def test_cli_writes_the_list_and_the_sheet(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "corpus"
    (folder / "images").mkdir(parents=True)
    rows, labels = [], []
    for i, (sample, ears, score) in enumerate([("london-005.jpg", "both", 0.9), ("london-006.jpg", "both", 0.8),
                                                ("london-034.jpg", "both", 0.2), ("grace_hopper.jpg", "none", 0.1),
                                                ("astronaut.png", "none", 0.15),
                                                ("london-067-ears-covered.jpg", "none", 0.3)]):
        pid = f"p{i}"
        shutil.copy(SAMPLES / sample, folder / "images" / f"{pid}{Path(sample).suffix}")
        labels.append({"id": pid, "ears_visible": ears, "notes": sample})
        rows.append(_photo(pid, ears, score).to_dict())
    (folder / "labels.jsonl").write_text("\n".join(json.dumps(r) for r in labels), encoding="utf-8")
    results = tmp_path / "results.jsonl"
    results.write_text("\n".join(json.dumps(r) for r in rows), encoding="utf-8")
    out = tmp_path / "out"
    assert main(["disputes", str(results), "--rule", "EARS_COVERED", "--folder", str(folder), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "| p2 | complies (both) | 0.20 |" in printed
    assert (out / "EARS_COVERED.md").read_text(encoding="utf-8").startswith("# EARS_COVERED")
    with Image.open(out / "EARS_COVERED.png") as sheet:
        assert sheet.format == "PNG" and sheet.size[0] == 4 * (TILE + 6)
    assert main(["disputes", str(results), "--rule", "NO_SUCH_RULE", "--folder", str(folder)]) == 2
    assert "DISPUTES_NO_LABEL" in capsys.readouterr().out
