"""The decision again with some rules set aside, and per-rule catch / false-alarm counts.

The labels ignore clothing colour, and the framing rules (HEAD_SIZE, SHOULDERS, RESOLUTION)
can hide how weak the content rules are, so the evaluation re-decides every photo from its
recorded rule verdicts with those rules left out: "clothing" sets CLOTHES_BG aside, "framing"
sets the framing rules aside as well. The re-decision is `receipt.rules.decision.decide`'s
logic on the recorded verdicts: any fail rejects, anything not a pass goes to review.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

log = logging.getLogger(__name__)

FRAMING_RULES = ("HEAD_SIZE", "SHOULDERS", "RESOLUTION")
SET_ASIDE: dict[str, tuple[str, ...]] = {
    "none": (),
    "clothing": ("CLOTHES_BG",),
    "framing": ("CLOTHES_BG", *FRAMING_RULES),
}


@dataclass(frozen=True)
class DecisionRates:
    """The decision's counts and the FAR, FRR and automation they give (shared by eval and its modes)."""

    photos: int
    labelled_ok: int
    labelled_not_ok: int
    false_accept: int  # labelled not OK, passed
    false_reject: int  # labelled OK, rejected
    reviewed: int

    @property
    def far(self) -> float:
        return self.false_accept / self.labelled_not_ok if self.labelled_not_ok else 0.0

    @property
    def frr(self) -> float:
        return self.false_reject / self.labelled_ok if self.labelled_ok else 0.0

    @property
    def automation(self) -> float:
        return 1.0 - self.reviewed / self.photos if self.photos else 0.0


class Judged(Protocol):
    """What the re-decision needs of an evaluated photo (evaluate.PhotoResult)."""

    label: dict[str, Any]
    rules: dict[str, tuple[float | None, str]]
    error: str | None

    @property
    def ok(self) -> bool | None: ...


def redecide(photo: Judged, ignored: Iterable[str] = ()) -> str:
    """pass / review / reject from the recorded verdicts, rules in `ignored` left out."""
    if photo.error is not None:
        return "reject"  # refused at intake: no rule can change that
    skip = set(ignored)
    verdicts = [v for code, (_, v) in photo.rules.items() if code not in skip]
    if "fail" in verdicts:
        return "reject"
    if any(v != "pass" for v in verdicts):  # borderline or not assessed
        return "review"
    return "pass"


@dataclass(frozen=True)
class ModeFigures(DecisionRates):
    mode: str
    ignored: tuple[str, ...]
    passed_ok: int  # labelled OK, passed at once

    @property
    def pass_at_once(self) -> float:
        return self.passed_ok / self.labelled_ok if self.labelled_ok else 0.0



def mode_figures(photos: Sequence[Judged], mode: str,
                 decide: Callable[[Judged, tuple[str, ...]], str] = redecide) -> ModeFigures:
    ignored = SET_ASIDE[mode]
    verdicts = [decide(p, ignored) for p in photos]
    return ModeFigures(
        mode=mode, ignored=ignored, photos=len(photos),
        labelled_ok=sum(p.ok is True for p in photos), labelled_not_ok=sum(p.ok is False for p in photos),
        false_accept=sum(p.ok is False and v == "pass" for p, v in zip(photos, verdicts, strict=True)),
        false_reject=sum(p.ok is True and v == "reject" for p, v in zip(photos, verdicts, strict=True)),
        passed_ok=sum(p.ok is True and v == "pass" for p, v in zip(photos, verdicts, strict=True)),
        reviewed=sum(v == "review" for v in verdicts),
    )


def _pct(value: float) -> str:
    return f"{100 * value:.1f} %"


def mode_rows(figures: Iterable[ModeFigures]) -> list[str]:
    lines = ["| rules set aside | OK / not OK | FAR | FRR | passed at once (OK) | automation |",
             "|---|---|---|---|---|---|"]
    for f in figures:
        aside = ", ".join(f.ignored) or "none"
        lines.append(f"| {aside} | {f.labelled_ok} / {f.labelled_not_ok} | {_pct(f.far)} ({f.false_accept}) "
                     f"| {_pct(f.frr)} ({f.false_reject}) | {_pct(f.pass_at_once)} ({f.passed_ok}) "
                     f"| {_pct(f.automation)} ({f.reviewed} reviewed) |")
    return lines


@dataclass(frozen=True)
class RuleCatch:
    """One rule against its own label: how many violations it caught, how often it cried wolf."""

    code: str
    labelled: int  # photos labelled as violating this rule
    caught: int  # of those, failed by the rule
    flagged: int  # of those, failed or sent to review by the rule
    compliant: int  # photos labelled as complying with this rule
    false_alarms: int  # of those, failed by the rule
    false_reviews: int  # of those, sent to review by the rule


def rule_catch(photos: Iterable[Judged], code: str, read: Callable[[dict[str, Any]], bool | None]) -> RuleCatch:
    labelled = caught = flagged = compliant = alarms = reviews = 0
    for photo in photos:
        truth = read(photo.label)
        if truth is None or code not in photo.rules:
            continue
        verdict = photo.rules[code][1]
        if truth:
            compliant += 1
            alarms += verdict == "fail"
            reviews += verdict in ("borderline", "n/a")
        else:
            labelled += 1
            caught += verdict == "fail"
            flagged += verdict != "pass"
    return RuleCatch(code, labelled, caught, flagged, compliant, alarms, reviews)
