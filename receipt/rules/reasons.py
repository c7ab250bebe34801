"""Every standard reason code with its zh / en text: the rules' codes and the reasons a reviewer
can pick are one table (codes as in ../shared/reference/rejection-reasons.md)."""

from __future__ import annotations

REASONS: dict[str, tuple[str, str]] = {
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
    "FACE_JEWELLERY": ("佩戴面部饰品（鼻环、鼻钉、唇钉、眉钉）", "jewellery on the face (nose, lip or brow piercings)"),
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
