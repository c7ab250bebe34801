"""The applicant page: choose city and document, read the rules, upload, watch, download, resubmit.

A web plugin of the receipt API: `register(app)` is found through the `photo_receipt.web`
entry point (pyproject.toml) by receipt.web.app.create_app. The page is one HTML document plus
static JS/CSS that talk to the public /api/v1 endpoints only, like any other client.
"""

from __future__ import annotations

import json
from pathlib import Path

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from review_ui import share

HERE = Path(__file__).resolve().parent
templates = Jinja2Templates(directory=str(HERE / "templates"))
router = APIRouter()

# The rules shown before upload (zh, en) and which example photo illustrates a rejection.
RULES = [
    ("本人近期正面免冠彩色照片，画面中只有申请人一人", "A recent colour photo of you alone, facing the camera, no hat"),
    ("头部居中、端正，双眼平视镜头，不歪头不侧脸", "Head centred and straight, eyes looking into the camera"),
    ("表情自然，双眼睁开，嘴巴闭合，不露齿", "Neutral expression: eyes open, mouth closed, no teeth"),
    ("露出眉毛和双耳，头发不遮挡面部", "Eyebrows and both ears visible; hair off the face"),
    ("不戴帽子、头饰、耳环、项链和有色眼镜", "No hat, head covering, earrings, necklace or tinted glasses"),
    ("光线均匀，面部无阴影、无反光，不美颜不修图", "Even light, no shadow or glare, no beauty filters or retouching"),
    ("拍到双肩，衣服颜色与背景颜色区分明显", "Both shoulders in the picture; clothes not the background colour"),
    ("使用原图，像素不少于 300×400，文件不超过 20 MB", "Upload the original: at least 300×400 pixels, at most 20 MB"),
]
EXAMPLES = [
    ("ex-hat.jpg", "戴帽子", "Hat"),
    ("ex-smile.jpg", "露齿笑", "Open-mouth smile"),
    ("ex-faces.jpg", "多人入镜", "More than one person"),
    ("ex-cut.jpg", "头部不完整", "Head cut off"),
    ("ex-dark.jpg", "光线过暗", "Too dark"),
    ("ex-tilt.jpg", "头部倾斜", "Head tilted"),
]


def _specs() -> list[dict[str, object]]:
    from receipt.specs import load_all

    return [{"id": s.id, "city": s.city, "city_zh": s.city_zh, "document": s.document, "document_zh": s.document_zh,
             "title": s.title, "width_px": s.photo.width_px, "height_px": s.photo.height_px,
             "width_mm": s.photo.width_mm, "height_mm": s.photo.height_mm, "dpi": s.photo.dpi,
             "file_kb": [s.photo.file_kb.low, s.photo.file_kb.high], "background": s.background_colour,
             "validity_days": s.validity_days} for s in load_all().values()]


@router.get("/", response_class=HTMLResponse, include_in_schema=False)
def applicant_page(request: Request) -> HTMLResponse:
    specs = _specs()
    return templates.TemplateResponse(request, "applicant.html", {
        # "<\/" keeps a "</script>" inside a spec title from closing the script element
        "specs_json": json.dumps(specs, ensure_ascii=False).replace("</", "<\\/"),
        "rules": RULES, "examples": EXAMPLES,
        "max_mb": request.app.state.rt.settings.upload_max_bytes // (1024 * 1024),
    }, headers={"Cache-Control": "no-cache"})


def register(app: FastAPI) -> None:
    """Entry point `photo_receipt.web: applicant`: mount the page and its static files."""
    app.include_router(router)
    app.include_router(share.router)  # link / QR code to open an order on another device
    app.mount("/static/applicant", StaticFiles(directory=str(HERE / "static")), name="applicant-static")
