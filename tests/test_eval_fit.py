"""receipt.eval.fit: a logistic scorer fitted on recorded features, graded in-sample and by k-fold."""

from __future__ import annotations

import numpy as np
import pytest

from receipt.eval.evaluate import PhotoResult
from receipt.eval.fit import fit_rule, training_rows, write_model
from receipt.rules.learned import parse_model


def _photos(n: int = 60, noise: float = 0.0, seed: int = 3) -> list[PhotoResult]:
    rng = np.random.default_rng(seed)
    photos = []
    for i in range(n):
        wearing = i % 3 == 0
        area = (2.0 if wearing else 0.3) + rng.normal(0, 0.3 + noise)
        photos.append(PhotoResult(f"p{i}", {"earrings": "yes" if wearing else "no"}, "pass",
                                  {"EARRINGS": (0.5, "borderline")}, features={"EARRINGS": {
                                      "area": float(area), "unrelated": float(rng.normal())}}))
    return photos


def test_rows_keep_only_labelled_photos_with_every_feature() -> None:
    photos = _photos(9)
    photos.append(PhotoResult("x", {"earrings": "unknown"}, "pass", {}, features={"EARRINGS": {"area": 1.0}}))
    photos.append(PhotoResult("y", {"earrings": "no"}, "pass", {}, features={"EARRINGS": {}}))
    photos.append(PhotoResult("z", {"earrings": "no", "synthetic": True}, "pass", {},
                              features={"EARRINGS": {"area": 1.0, "unrelated": 0.0}}))
    x, y, _ = training_rows(photos, "EARRINGS", ["area", "unrelated"])
    assert x.shape == (9, 2) and y.sum() == 6


def test_a_separating_feature_fits_with_low_error_and_the_fold_figure_is_reported() -> None:
    report = fit_rule(_photos(), "EARRINGS", ["area", "unrelated"])
    assert report.n_compliant == 40 and report.n_noncompliant == 20
    assert report.eer_hand == pytest.approx(0.5, abs=0.01)  # a constant recorded score separates nothing
    assert report.eer_in_sample is not None and report.eer_in_sample < 0.1
    assert report.eer_k_fold is not None and report.eer_k_fold < 0.15
    assert report.model.weights[0] < 0  # more jewel area, less likely to comply


def test_noise_only_features_do_not_grade_well_out_of_fold() -> None:
    photos = _photos(noise=0.0)
    for p in photos:
        p.features["EARRINGS"]["area"] = float(np.random.default_rng(len(p.id)).normal())
    report = fit_rule(photos, "EARRINGS", ["unrelated"])
    assert report.eer_k_fold is not None and report.eer_k_fold > 0.25


def test_too_few_labels_refuse_to_fit() -> None:
    with pytest.raises(ValueError, match="too few"):
        fit_rule(_photos(5), "EARRINGS", ["area"])


def test_written_model_reads_back(tmp_path) -> None:
    report = fit_rule(_photos(), "EARRINGS", ["area"])
    path = write_model(report, "test corpus", tmp_path)
    model = parse_model(path.read_text(encoding="utf-8"), str(path))
    assert model.features == report.model.features
    assert model.weights == pytest.approx(report.model.weights, abs=1e-8)
    assert "5-fold" in path.read_text(encoding="utf-8")


def test_cross_validated_photos_score_each_photo_with_a_model_that_never_saw_it() -> None:
    from receipt.eval.fit import cross_validated_photos
    from receipt.specs import RuleThreshold

    photos = _photos()
    for p in photos:
        p.label["id_photo_ok"] = p.label["earrings"] == "no"
    model = fit_rule(photos, "EARRINGS", ["area"]).model
    held = cross_validated_photos(photos, [model], {"EARRINGS": RuleThreshold(0.5, 0.5)})
    assert sorted(p.id for p in held) == sorted(p.id for p in photos)
    right = sum((p.rules["EARRINGS"][1] == "pass") == (p.label["earrings"] == "no") for p in held)
    assert right >= 0.9 * len(held)
    # the out-of-fold score differs from the in-sample one: each photo was scored by another fit
    in_sample = {p.id: model.probability(p.features["EARRINGS"]) for p in photos}
    assert any(abs(p.rules["EARRINGS"][0] - in_sample[p.id]) > 1e-6 for p in held)


def test_cross_validation_lets_a_sure_first_stage_settle_a_photo_as_the_rule_does() -> None:
    from receipt.eval.fit import cross_validated_photos
    from receipt.rules.learned import first_stage_for, model_for
    from receipt.specs import RuleThreshold

    first, full = first_stage_for("POSE"), model_for("POSE")
    assert first is not None and first.settled is not None and full is not None
    rng = np.random.default_rng(5)
    odd = range(1, 90, 18)  # turned by the body pose, but plainly frontal to the face-only stage
    photos = []
    for i in range(90):
        frontal = i % 3 != 0 and i not in odd
        values = {name: float(abs(rng.normal(0, 1.0 if frontal else 9.0))) for name in full.features}
        if i in odd:
            values.update(roll_off=0.0, turn_off=0.0, nod_face_off=0.0, nod_body_off=40.0)
        photos.append(PhotoResult(f"p{i}", {"frontal": frontal, "id_photo_ok": frontal}, "pass",
                                  {"POSE": (0.5, "borderline")}, features={"POSE": values}))
    held = {p.id: p.rules["POSE"][0] for p in cross_validated_photos(photos, [full], {"POSE": RuleThreshold(0.62, 0.45)})}
    # the full model, fitted on the other folds, reads that body pose as turned; as in the rule, the
    # sure first stage settles those photos first
    assert all(held[f"p{i}"] >= first.settled[0] for i in odd)
    frontal = [held[p.id] for p in photos if p.label["frontal"]]
    turned = [held[p.id] for i, p in enumerate(photos) if not p.label["frontal"] and i not in odd]
    assert np.median(frontal) > 0.5 > np.median(turned)
