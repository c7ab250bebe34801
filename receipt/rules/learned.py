"""Learned scorers: a logistic model on a rule's own hand-made features.

Where landmarks, mask and colour statistics give several weak clues (an earring: a bright
spot, a golden hue, how far below the ear root), a small logistic model fitted on the
labelled corpus weighs them better than hand-set ramps. The model is data, like a threshold:
`specs/learned/CODE.toml`, written by `photo-receipt fit` (receipt.eval.fit), which also
records the in-sample and k-fold figures it was graded on. A rule without a model file, or a
photo missing one of the model's features, keeps the rule's own hand-made score.
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from receipt.config import specs_dir

Z_LIMIT = 6.0  # standardised features are clipped here: one wild value cannot decide alone


@dataclass(frozen=True)
class LogisticModel:
    code: str
    features: tuple[str, ...]
    mean: tuple[float, ...]
    scale: tuple[float, ...]
    weights: tuple[float, ...]
    intercept: float
    c: float = 1.0  # the fit's inverse L2 strength, kept so a cross-validation refits it the same way
    # A first-stage model may settle a photo on its own: at or above the first, below the second
    # probability its answer stands and the dearer evidence of the full model is not gathered.
    settled: tuple[float, float] | None = None

    def probability(self, values: Mapping[str, float]) -> float | None:
        """Probability that the photo complies with the rule; None when a feature is missing."""
        total = self.intercept
        for name, mean, scale, weight in zip(self.features, self.mean, self.scale, self.weights, strict=True):
            value = values.get(name)
            if value is None or value != value:
                return None
            z = max(-Z_LIMIT, min(Z_LIMIT, (float(value) - mean) / scale))
            total += weight * z
        return 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, total))))

    def to_toml(self, comment: str = "") -> str:
        def floats(values: tuple[float, ...]) -> str:
            return "[" + ", ".join(repr(round(v, 9)) for v in values) + "]"

        head = "".join(f"# {line}\n" for line in comment.splitlines())
        return (f"{head}code = \"{self.code}\"\n"
                f"features = [{', '.join(chr(34) + f + chr(34) for f in self.features)}]\n"
                f"mean = {floats(self.mean)}\nscale = {floats(self.scale)}\n"
                f"weights = {floats(self.weights)}\nintercept = {round(self.intercept, 9)!r}\nc = {self.c!r}\n"
                + ("" if self.settled is None else
                   f"settled_above = {self.settled[0]!r}\nsettled_below = {self.settled[1]!r}\n"))


def model_file(code: str, directory: Path | None = None) -> Path:
    return (directory or specs_dir()) / "learned" / f"{code}.toml"


def parse_model(text: str, source: str) -> LogisticModel:
    data = tomllib.loads(text)
    try:
        features = tuple(str(f) for f in data["features"])
        columns = [tuple(float(v) for v in data[key]) for key in ("mean", "scale", "weights")]
        settled = ((float(data["settled_above"]), float(data["settled_below"]))
                   if "settled_above" in data else None)
        model = LogisticModel(str(data["code"]), features, *columns, float(data["intercept"]),
                              float(data.get("c", 1.0)), settled)
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"{source}: not a learned model ({exc})") from exc
    if any(len(c) != len(features) for c in columns) or any(s <= 0 for s in model.scale):
        raise ValueError(f"{source}: features, mean, scale and weights must match, scales > 0")
    return model


@lru_cache(maxsize=64)
def model_for(code: str) -> LogisticModel | None:
    """The committed model of a rule, read once per process; None when the rule has none."""
    path = model_file(code)
    if not path.exists():
        return None
    return parse_model(path.read_text(encoding="utf-8"), str(path))


def first_stage_name(code: str) -> str:
    """The model file (specs/learned/NAME.toml) of a rule's first stage: its cheap features only, with
    the probabilities at which it settles a photo by itself."""
    return f"{code}.face"


def first_stage_for(code: str) -> LogisticModel | None:
    """A rule's committed first-stage model, or None when the rule has none."""
    model = model_for(first_stage_name(code))
    return model if model is not None and model.settled is not None else None


def settled_score(name: str, features: Mapping[str, float]) -> float | None:
    """A first-stage model's probability when it settles the photo on its own (see `settled`), else None."""
    model = model_for(name)
    if model is None or model.settled is None:
        return None
    probability = model.probability(features)
    if probability is None or model.settled[1] <= probability < model.settled[0]:
        return None
    return probability


def learned_score(code: str, features: Mapping[str, float], hand_score: float) -> float:
    """The model's probability where the rule has a model and every feature is there, else the hand score."""
    model = model_for(code)
    if model is None:
        return hand_score
    probability = model.probability(features)
    return hand_score if probability is None else probability
