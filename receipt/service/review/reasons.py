"""The standard reasons a reviewer picks (../shared/reference/rejection-reasons.md), in zh and en,
and how each maps onto a label field of the eval format (../shared/eval/labels.jsonl).

A leaf module: the reviewer API, the applicant-facing texts and `review export` all read it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from receipt.errors import ReceiptError
from receipt.rules.reasons import REASONS

# The one table of codes (receipt.rules.reasons) is what a reviewer picks from.
REVIEW_REASONS = REASONS

# reason code -> (label field, the value that means "this defect is present") for `review export`
LABEL_FIELDS: dict[str, tuple[str, Any]] = {
    "NOT_PHOTO": ("photo", False), "POSE": ("frontal", False), "SHOULDERS": ("shoulders_visible", False),
    "EYES_CLOSED": ("eyes_open", False), "MOUTH_OPEN": ("mouth_closed", False),
    "EYEBROWS_COVERED": ("eyebrows_visible", "partial"), "EARS_COVERED": ("ears_visible", "one"),
    "HAT": ("hat", True), "EARRINGS": ("earrings", "yes"), "NECKLACE": ("necklace", "yes"),
    "HAIR_ACCESSORY": ("hair_accessory", True), "GLASSES_TINTED": ("glasses", "tinted"),
    "GLASSES_GLARE": ("glasses_glare", True), "FACE_SHADOW": ("face_shadow", "strong"),
    "BEAUTIFIED": ("beautified", "yes"), "BLUR": ("blur", True),
}
# and the value of each field when a reviewer approved the photo (every defect absent; `glasses` is left
# out: an approval says no tinted glasses, not whether there are clear ones or none)
LABEL_OK: dict[str, Any] = {
    "faces": 1, "photo": True, "frontal": True, "eyes_open": True, "mouth_closed": True, "eyebrows_visible": "both",
    "ears_visible": "both", "shoulders_visible": True, "hat": False, "earrings": "no", "necklace": "no",
    "hair_accessory": False, "glasses_glare": False, "face_shadow": "none", "beautified": "no", "blur": False,
}


def reason_list() -> list[dict[str, str]]:
    return [{"code": code, "zh": zh, "en": en} for code, (zh, en) in REVIEW_REASONS.items()]


def check_codes(codes: Iterable[str]) -> list[str]:
    """Upper-cased codes, each a standard one (422 otherwise), without repeats, in the given order."""
    out: list[str] = []
    for raw in codes:
        code = str(raw).strip().upper()
        if code not in REVIEW_REASONS:
            raise ReceiptError("REASON_UNKNOWN", f"未知的原因代码 / unknown reason code {code!r}; see GET /api/v1/review/reasons",
                               status=422)
        if code not in out:
            out.append(code)
    return out


def normalise_reasons(reasons: Iterable[str | dict[str, Any]]) -> list[dict[str, Any]]:
    """Reasons as the applicant sees them: {code, verdict, message_zh, message_en}."""
    out: list[dict[str, Any]] = []
    for reason in reasons:
        if isinstance(reason, str):
            code = reason.strip().upper()
            zh, en = REVIEW_REASONS.get(code, REVIEW_REASONS["OTHER"])
            out.append({"code": code, "verdict": "fail", "message_zh": zh, "message_en": en})
        else:
            code = str(reason.get("code", "OTHER")).upper()
            zh, en = REVIEW_REASONS.get(code, REVIEW_REASONS["OTHER"])
            out.append({"code": code, "verdict": "fail", "message_zh": reason.get("message_zh") or zh,
                        "message_en": reason.get("message_en") or en})
    return out
