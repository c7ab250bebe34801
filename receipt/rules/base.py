"""What every rule takes and returns.

A rule is one module with a CODE and one `check(ctx) -> RuleResult`. It computes a score
(0..1, higher = more compliant); the verdict comes from the spec's thresholds for that
code, so tuning a rule never means editing code.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from receipt.errors import ReceiptError
from receipt.photo.compose import CropPlan
from receipt.photo.intake import IntakeImage
from receipt.photo.vision import Analysis
from receipt.specs import Spec

Verdict = Literal["pass", "borderline", "fail"]


@dataclass(frozen=True)
class Region:
    """An area a rule looked at, in working-image pixels, for overlays."""

    label: str
    box: tuple[float, float, float, float] | None = None  # x, y, width, height
    polygon: tuple[tuple[float, float], ...] | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"label": self.label}
        if self.box is not None:
            out["box"] = [round(v, 1) for v in self.box]
        if self.polygon is not None:
            out["polygon"] = [[round(x, 1), round(y, 1)] for x, y in self.polygon]
        return out


@dataclass(frozen=True)
class RuleResult:
    code: str
    score: float | None  # None: the rule could not assess the photo
    verdict: Verdict
    message_zh: str
    message_en: str
    evidence: tuple[Region, ...] = ()
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def assessed(self) -> bool:
        return self.score is not None

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.code, "verdict": self.verdict,
            "score": None if self.score is None else round(self.score, 3), "assessed": self.assessed,
            "message_zh": self.message_zh, "message_en": self.message_en,
            "evidence": [r.to_dict() for r in self.evidence], "details": self.details,
        }


@dataclass
class RuleContext:
    """The shared analysis every rule reads; nothing here is recomputed per rule."""

    spec: Spec
    intake: IntakeImage
    analysis: Analysis
    plan: CropPlan | None
    plan_error: ReceiptError | None = None
    # Evaluation: gather every feature a learned model reads, even where a first-stage model settles
    # the score without the dearer evidence (the verdicts stay the same; the fit can then see them all)
    all_features: bool = False


def verdict_for(score: float, ctx: RuleContext, code: str) -> Verdict:
    threshold = ctx.spec.threshold(code)
    if score >= threshold.pass_at:
        return "pass"
    if score < threshold.fail_below:
        return "fail"
    return "borderline"


def judged(ctx: RuleContext, code: str, score: float, messages: dict[Verdict, tuple[str, str]],
           evidence: tuple[Region, ...] = (), **details: Any) -> RuleResult:
    """Build a result whose verdict comes from the spec and whose message fits that verdict.

    Evidence is kept for every verdict but pass, so a borderline call always shows where it looked."""
    score = float(min(1.0, max(0.0, score)))
    verdict = verdict_for(score, ctx, code)
    zh, en = messages[verdict]
    return RuleResult(code, score, verdict, zh, en, evidence if verdict != "pass" else (), details)


def not_assessed(code: str, zh: str, en: str, **details: Any) -> RuleResult:
    """The rule could not look (no face, no landmarks): never a pass, a human decides."""
    return RuleResult(code, None, "borderline", zh, en, (), details)


def face_region(ctx: RuleContext, label: str) -> tuple[Region, ...]:
    face = ctx.analysis.main_face
    return (Region(label, box=face.box),) if face else ()


def ramp(value: float, good: float, bad: float) -> float:
    """1.0 at `good` or better, 0.0 at `bad` or worse, linear between (either direction)."""
    if good == bad:
        return 1.0 if value == good else 0.0
    return float(min(1.0, max(0.0, (bad - value) / (bad - good))))


def box_region(regions: Any, label: str, box: tuple[float, float, float, float]) -> Region:
    """A canonical-frame box (x0, y0, x1, y1) of FaceRegions as an evidence polygon in image pixels."""
    return Region(label, polygon=regions.image_polygon(box))


NO_FACE_ZH = "未能定位五官，无法判断，需人工审核"
NO_FACE_EN = "The facial features could not be located, so this cannot be judged; a reviewer will check"
