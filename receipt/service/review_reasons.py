"""The standard reasons a reviewer picks (../shared/reference/rejection-reasons.md), in zh and en,
and how each maps onto a label field of the eval format (../shared/eval/labels.jsonl).

A leaf module: the reviewer API, the applicant-facing texts and `review export` all read it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from receipt.errors import ReceiptError

# Standard reasons a reviewer can pick (codes as in ../shared/reference/rejection-reasons.md).
REVIEW_REASONS: dict[str, tuple[str, str]] = {
    "FACE_COUNT": ("未检测到人脸或有多张人脸", "no face, or more than one face"),
    "NOT_PHOTO": ("非真实照片（翻拍、截图或绘画）", "not a real photo (re-photographed print, screenshot, drawing)"),
    "POSE": ("头部倾斜、侧脸或未平视镜头", "head tilted or turned, or not looking at the camera"),
    "SHOULDERS": ("双肩不可见或不平", "shoulders not visible or not level"),
    "HEAD_SIZE": ("头部过大、过小或不居中", "head too large, too small or off centre"),
    "EYES_CLOSED": ("闭眼或眯眼", "eyes closed or squinting"),
    "MOUTH_OPEN": ("张嘴或露齿笑", "mouth open or a toothy smile"),
    "EYEBROWS_COVERED": ("头发遮挡眉毛", "hair covers the eyebrows"),
    "EARS_COVERED": ("头发遮挡耳朵", "hair covers the ears"),
    "HAT": ("戴帽子或头饰", "hat or head covering"),
    "EARRINGS": ("佩戴耳环或耳钉", "earrings or ear studs"),
    "NECKLACE": ("佩戴项链", "necklace"),
    "HAIR_ACCESSORY": ("佩戴发卡或发饰", "hair clip or headband"),
    "FACE_JEWELLERY": ("佩戴面部饰品（鼻环、鼻钉、唇钉、眉钉）", "piercings or jewellery on the face"),
    "GLASSES_TINTED": ("佩戴有色眼镜", "tinted glasses"),
    "GLASSES_GLARE": ("镜片反光", "reflections on the lenses"),
    "FACE_SHADOW": ("面部有阴影或阴阳脸", "shadow on the face"),
    "GLARE_SKIN": ("面部反光", "shiny spots on the skin"),
    "EXPOSURE": ("照片过亮或过暗", "photo too dark or too bright"),
    "BEAUTIFIED": ("照片经过美颜或修图", "beautified or retouched photo"),
    "BLUR": ("照片模糊", "photo blurred or noisy"),
    "COLOUR": ("照片偏色或为黑白", "colour cast or black and white"),
    "CLOTHES_BG": ("衣服颜色与背景相近", "clothing too close to the background colour"),
    "BACKGROUND": ("背景不合格", "background not acceptable"),
    "RESOLUTION": ("照片像素不足", "not enough pixels"),
    "FILE": ("文件格式或大小不符", "wrong file format or size"),
    "OTHER": ("其他原因，请按说明重新拍摄", "other reason; please retake the photo following the rules"),
}

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
