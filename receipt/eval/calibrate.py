"""Fit the rules' pass / fail cut points on labelled results, and grade that fit by k-fold.

Thresholds are fitted and graded on the same small corpus, so in-sample figures flatter them.
`cross_validate` fits on k-1 folds and re-decides the held-out fold with those cut points; the
gap between the two figures says how much of the fit is memorised. It works on the recorded
scores (results.jsonl of `photo-receipt eval`), so no photo is analysed again.

Fitting is at the decision, not per rule: the cut points of every rule move (coordinate descent
from the spec's values) to lower one cost — false accepts weigh most, then false rejects, then
compliant photos sent to a reviewer — on the photos' id_photo_ok labels, with clothing colour
set aside as the labels are. The fitted values are advice for _defaults.toml, rounded by hand.
"""

from __future__ import annotations

import json
import logging
import random
from collections.abc import Iterable, Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np

from receipt.errors import ReceiptError
from receipt.eval.evaluate import PhotoResult
from receipt.eval.labels import load_labels
from receipt.eval.modes import SET_ASIDE, ModeFigures, mode_figures
from receipt.specs import RuleThreshold

log = logging.getLogger(__name__)

# what a wrong decision costs, in reviewer looks: a false accept is the worst outcome, a false
# reject sends a good applicant away, a compliant photo at review costs one look
COST_FALSE_ACCEPT = 25.0
COST_FALSE_REJECT = 6.0
COST_REVIEW_OK = 1.0
COST_REVIEW_NOT_OK = 0.3  # a violating photo at review is a look, but not a harm
ROUNDS = 3
def load_results(results: Path, folder: Path) -> list[PhotoResult]:
    """PhotoResults from an eval's results.jsonl, with the labels read again from `folder`."""
    labels = {str(label["id"]): label for label, _ in load_labels(folder)}
    if not results.is_file():
        raise ReceiptError("EVAL_NO_RESULTS", f"{results} not found (photo-receipt eval writes results.jsonl)")
    photos = []
    for number, line in enumerate(results.read_text(encoding="utf-8", errors="replace").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            if row["id"] not in labels:  # a duplicate row of an older run, or a label since removed
                continue
            rules = {code: (r["score"], r["verdict"]) for code, r in row["rules"].items()}
            photos.append(PhotoResult(row["id"], labels[row["id"]], row["verdict"], rules, row.get("error"),
                                      row.get("ms", 0.0), row.get("features", {})))
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise ReceiptError("EVAL_BAD_RESULTS", f"{results}:{number}: not a row of photo-receipt eval ({exc!r})") from exc
    return photos


class _Table:
    """Scores as a matrix (photos x rules) so a candidate cut point is judged in one vector step."""

    def __init__(self, photos: Sequence[PhotoResult], codes: Sequence[str], ignored: Iterable[str]) -> None:
        self.codes = list(codes)
        skip = set(ignored) | set(self.codes)
        self.scores = np.array([[np.nan if p.rules.get(c, (None, ""))[0] is None else p.rules[c][0]
                                 for c in self.codes] for p in photos], dtype=float).reshape(len(photos), -1)
        # rules not being fitted keep their recorded verdicts
        self.fixed_fail = np.array([p.error is not None or any(v == "fail" for c, (_, v) in p.rules.items()
                                                               if c not in skip) for p in photos], bool)
        self.fixed_review = np.array([any(v != "pass" for c, (_, v) in p.rules.items() if c not in skip)
                                      for p in photos], bool)
        self.ok = np.array([p.ok is True for p in photos], bool)
        self.not_ok = np.array([p.ok is False for p in photos], bool)

    def cost(self, pass_at: np.ndarray, fail_below: np.ndarray) -> float:
        with np.errstate(invalid="ignore"):
            fail = self.fixed_fail | (self.scores < fail_below).any(axis=1)
            review = ~fail & (self.fixed_review | ~(self.scores >= pass_at).all(axis=1))
        passed = ~fail & ~review
        return float(COST_FALSE_ACCEPT * (passed & self.not_ok).sum() + COST_FALSE_REJECT * (fail & self.ok).sum()
                     + COST_REVIEW_OK * (review & self.ok).sum() + COST_REVIEW_NOT_OK * (review & self.not_ok).sum())


def fit_thresholds(photos: Sequence[PhotoResult], start: dict[str, RuleThreshold],
                   ignored: Iterable[str] = SET_ASIDE["clothing"]) -> dict[str, RuleThreshold]:
    """Cut points that minimise the decision's cost on `photos`, by coordinate descent from `start`.

    Each rule's two cut points move in turn over the scores seen (midpoints), the others held;
    a move is kept only if it lowers the cost, ties keep the current value."""
    real = [p for p in photos if not p.synthetic and p.ok is not None]
    skip = set(ignored)
    codes = [c for c in start if c not in skip and any(p.rules.get(c, (None, ""))[0] is not None for p in real)]
    table = _Table(real, codes, ignored)
    pass_at = np.array([start[c].pass_at for c in codes], float)
    fail_below = np.array([start[c].fail_below for c in codes], float)
    best = table.cost(pass_at, fail_below)
    for _ in range(ROUNDS):
        moved = False
        for j in range(len(codes)):
            seen = np.unique(table.scores[:, j][~np.isnan(table.scores[:, j])])
            cuts = np.unique(np.round(np.concatenate([[0.0, 1.0], (seen[1:] + seen[:-1]) / 2, seen]), 3))
            for which, values in (("pass", pass_at), ("fail", fail_below)):
                for cut in cuts:
                    if (which == "pass" and cut < fail_below[j]) or (which == "fail" and cut > pass_at[j]):
                        continue
                    old = values[j]
                    values[j] = cut
                    cost = table.cost(pass_at, fail_below)
                    if cost < best - 1e-9:
                        best, moved = cost, True
                    else:
                        values[j] = old
        if not moved:
            break
    out = dict(start)
    out.update({c: RuleThreshold(float(pass_at[j]), float(fail_below[j])) for j, c in enumerate(codes)})
    return out


def reverdict(photo: PhotoResult, thresholds: dict[str, RuleThreshold]) -> PhotoResult:
    """The photo's rule verdicts again under other cut points (rules without one keep theirs)."""
    rules = {}
    for code, (score, verdict) in photo.rules.items():
        t = thresholds.get(code)
        if t is not None and score is not None:
            verdict = "pass" if score >= t.pass_at else "fail" if score < t.fail_below else "borderline"
        rules[code] = (score, verdict)
    return replace(photo, rules=rules)


def folds(photos: Sequence[PhotoResult], k: int, seed: int = 11) -> list[list[PhotoResult]]:
    """k folds, stratified by the id_photo_ok label so each holds its share of compliant photos."""
    rng = random.Random(seed)
    out: list[list[PhotoResult]] = [[] for _ in range(k)]
    for group in (True, False, None):
        members = [p for p in photos if p.ok is group]
        rng.shuffle(members)
        for i, p in enumerate(members):
            out[i % k].append(p)
    return out


def cross_validate(photos: Sequence[PhotoResult], start: dict[str, RuleThreshold], k: int = 5,
                   seed: int = 11) -> list[PhotoResult]:
    """Every real photo re-verdicted with cut points fitted on the other folds only."""
    real = [p for p in photos if not p.synthetic]
    held: list[PhotoResult] = []
    parts = folds(real, k, seed)
    for i, part in enumerate(parts):
        training = [p for j, other in enumerate(parts) if j != i for p in other]
        thresholds = fit_thresholds(training, start)
        held += [reverdict(p, thresholds) for p in part]
    return held


def figures(photos: Sequence[PhotoResult]) -> list[ModeFigures]:
    real = [p for p in photos if not p.synthetic]
    return [mode_figures(real, mode) for mode in SET_ASIDE]
