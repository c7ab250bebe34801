"""Fit a rule's learned scorer (receipt.rules.learned) on an eval's results and grade it by k-fold.

The features are the rule's own numeric details as `photo-receipt eval` recorded them
(results.jsonl); the label is the one that rule answers (evaluate.LABEL_FOR_RULE). The fit is a
standardised, L2-regularised logistic regression with balanced classes (scikit-learn). It is
graded three ways on the same photos: the rule's hand-made score, the model in-sample, and the
model's out-of-fold probabilities from stratified k-fold — the gap between the last two says how
much the fit memorises.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from receipt.eval.calibrate import folds, reverdict
from receipt.eval.evaluate import LABEL_FOR_RULE, PhotoResult, equal_error_rate
from receipt.rules.learned import LogisticModel, first_stage_for, model_file
from receipt.specs import RuleThreshold


@dataclass(frozen=True)
class FitReport:
    code: str
    features: tuple[str, ...]
    n_compliant: int
    n_noncompliant: int
    eer_hand: float | None  # the rule's score as recorded by the eval
    eer_in_sample: float | None
    eer_k_fold: float | None
    k: int
    model: LogisticModel

    def summary(self) -> str:
        def pct(v: float | None) -> str:
            return "–" if v is None else f"{100 * v:.1f} %"

        return (f"{self.code}: {self.n_compliant} compliant / {self.n_noncompliant} not; EER recorded score "
                f"{pct(self.eer_hand)}, model in-sample {pct(self.eer_in_sample)}, {self.k}-fold {pct(self.eer_k_fold)}")


def training_rows(photos: Sequence[PhotoResult], code: str, features: Sequence[str]
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(X, y, recorded score) of the real photos labelled for the rule that have every feature; y = 1 complies."""
    read = LABEL_FOR_RULE[code]
    xs, ys, hand = [], [], []
    for photo in photos:
        if photo.synthetic or photo.error is not None:
            continue
        label = read(photo.label)
        values = photo.features.get(code, {})
        if label is None or any(f not in values for f in features):
            continue
        xs.append([values[f] for f in features])
        ys.append(1 if label else 0)
        score = photo.rules.get(code, (None, ""))[0]
        hand.append(np.nan if score is None else score)
    return np.array(xs, dtype=float).reshape(-1, len(features)), np.array(ys), np.array(hand, dtype=float)


def _eer(scores: np.ndarray, y: np.ndarray) -> float | None:
    keep = ~np.isnan(scores)
    return equal_error_rate(list(scores[keep & (y == 1)]), list(scores[keep & (y == 0)]))[0]


def _fit(x: np.ndarray, y: np.ndarray, c: float):  # type: ignore[no-untyped-def]
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    scaler = StandardScaler().fit(x)
    scaler.scale_[scaler.scale_ <= 0] = 1.0
    model = LogisticRegression(C=c, class_weight="balanced", max_iter=1000).fit(scaler.transform(x), y)
    return scaler, model


def fit_rule(photos: Sequence[PhotoResult], code: str, features: Sequence[str], *, c: float = 1.0,
             k: int = 5, seed: int = 11) -> FitReport:
    from sklearn.model_selection import StratifiedKFold

    x, y, hand = training_rows(photos, code, features)
    n_ok, n_bad = int(y.sum()), int(len(y) - y.sum())
    if min(n_ok, n_bad) < 3:
        raise ValueError(f"{code}: {n_ok} compliant / {n_bad} non-compliant photos with these features: too few to fit")
    scaler, model = _fit(x, y, c)
    in_sample = model.predict_proba(scaler.transform(x))[:, 1]
    out_of_fold = np.full(len(y), np.nan)
    splits = StratifiedKFold(n_splits=min(k, n_bad, n_ok), shuffle=True, random_state=seed)
    for train, test in splits.split(x, y):
        fold_scaler, fold_model = _fit(x[train], y[train], c)
        out_of_fold[test] = fold_model.predict_proba(fold_scaler.transform(x[test]))[:, 1]
    learned = LogisticModel(code, tuple(features), tuple(float(v) for v in scaler.mean_),
                            tuple(float(v) for v in scaler.scale_), tuple(float(v) for v in model.coef_[0]),
                            float(model.intercept_[0]), c)
    return FitReport(code, tuple(features), n_ok, n_bad, _eer(hand, y), _eer(in_sample, y), _eer(out_of_fold, y),
                     splits.get_n_splits(), learned)


def write_model(report: FitReport, corpus: str, directory: Path | None = None) -> Path:
    path = model_file(report.code, directory)
    path.parent.mkdir(parents=True, exist_ok=True)
    comment = (f"Learned scorer of {report.code}, written by `photo-receipt fit` on {corpus}.\n"
               f"{report.summary()}\nProbability that the photo complies; the spec's pass_at / fail_below cut it.")
    path.write_text(report.model.to_toml(comment), encoding="utf-8")
    return path


def _probability(scaler, model, values: dict[str, float], features: Sequence[str]) -> float | None:  # type: ignore[no-untyped-def]
    if any(f not in values for f in features):
        return None
    return float(model.predict_proba(scaler.transform(np.array([[values[f] for f in features]])))[0, 1])


def cross_validated_photos(photos: Sequence[PhotoResult], models: Sequence[LogisticModel],
                           thresholds: dict[str, RuleThreshold], k: int = 5, seed: int = 11) -> list[PhotoResult]:
    """Every real photo with each learned rule's score replaced by a model fitted on the other folds only.

    The same features and regularisation as the committed model; the verdict comes from the spec's
    cut points. The decision figures of these photos are the learned models' k-fold figures."""
    real = [p for p in photos if not p.synthetic]
    parts = folds(real, k, seed)
    held: list[PhotoResult] = []
    for i, part in enumerate(parts):
        training = [p for j, other in enumerate(parts) if j != i for p in other]
        fitted, first_stages = {}, {}
        for model in models:
            x, y, _ = training_rows(training, model.code, model.features)
            if min(int(y.sum()), int(len(y) - y.sum())) >= 2:
                fitted[model.code] = (model, *_fit(x, y, model.c))
            first = first_stage_for(model.code)
            if first is not None:
                x, y, _ = training_rows(training, model.code, first.features)
                if min(int(y.sum()), int(len(y) - y.sum())) >= 2:
                    first_stages[model.code] = (first, *_fit(x, y, first.c))
        for photo in part:
            rules = dict(photo.rules)
            for code, (model, scaler, fold_model) in fitted.items():
                values = photo.features.get(code, {})
                score = None
                if code in first_stages:  # the rule as it runs: a sure first stage settles the photo
                    first, first_scaler, first_model = first_stages[code]
                    early = _probability(first_scaler, first_model, values, first.features)
                    assert first.settled is not None
                    if early is not None and not first.settled[1] <= early < first.settled[0]:
                        score = early
                if score is None:
                    score = _probability(scaler, fold_model, values, model.features)
                if score is not None and code in rules:
                    rules[code] = (score, rules[code][1])
            held.append(reverdict(replace(photo, rules=rules), thresholds))
    return held
