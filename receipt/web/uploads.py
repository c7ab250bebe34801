"""Reading an upload: a capped multipart body, the photo refused early when it is broken or tiny."""

from __future__ import annotations

import unicodedata
from typing import Any

from fastapi import Request
from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser

from receipt.errors import ReceiptError
from receipt.photo.intake import intake_message_zh, probe_image
from receipt.service.metrics import UPLOADS
from receipt.specs import get_spec, load_all

FORM_OVERHEAD = 64 * 1024  # multipart boundaries + the text fields, on top of the photo itself

# How an intake failure found at upload time is reported: the caller's mistake, 4xx.
_INTAKE_STATUS = {"FILE_TOO_LARGE": 413, "FILE_NOT_IMAGE": 415, "FILE_FORMAT_UNSUPPORTED": 415}

UPLOAD_SCHEMA = {
    "type": "object",
    "required": ["photo", "spec", "applicant_name"],
    "properties": {
        "photo": {"type": "string", "format": "binary", "description": "JPEG, PNG, WebP or HEIC portrait"},
        "spec": {"type": "string", "description": "spec id from GET /api/v1/specs, e.g. shenzhen-ssc"},
        "applicant_name": {"type": "string"},
        "id_number": {"type": "string", "description": "18-character resident ID number (GB 11643), optional"},
        "phone": {"type": "string", "description": "11-digit mainland mobile, optional"},
        "guardian_name": {"type": "string", "description": "required when the ID number says the applicant is under 16"},
    },
}
PHOTO_SCHEMA = {"type": "object", "required": ["photo"],
                 "properties": {"photo": {"type": "string", "format": "binary"}}}


async def read_upload(request: Request, limit: int, max_fields: int) -> tuple[dict[str, str], bytes, str | None]:
    """Parse a multipart upload without ever holding more than `limit` (+ form overhead) bytes.

    A declared Content-Length above the ceiling is refused before the body is read; a body
    without one (chunked) is counted as it streams in and cut off at the ceiling."""
    body_cap = limit + FORM_OVERHEAD
    declared = request.headers.get("content-length")
    if declared is not None:
        try:
            size = int(declared)
        except ValueError:
            raise ReceiptError("BAD_REQUEST", "invalid Content-Length", status=400) from None
        if size > body_cap:
            raise too_large(limit)
    content_type = request.headers.get("content-type", "")
    if not content_type.lower().startswith("multipart/form-data"):
        raise ReceiptError("UNSUPPORTED_MEDIA_TYPE", "send the photo as multipart/form-data", status=415)
    received = 0
    inner = request.receive

    async def capped_receive() -> dict[str, Any]:
        nonlocal received
        message = await inner()
        if message["type"] == "http.request":
            received += len(message.get("body", b""))
            if received > body_cap:
                raise too_large(limit)
        return message  # type: ignore[no-any-return]

    capped = Request(request.scope, capped_receive)
    parser = StrictTextParser(capped.headers, capped.stream(), max_files=1, max_fields=max_fields,
                              max_part_size=16 * 1024)
    try:
        form = await parser.parse()
    except MultiPartException as exc:
        raise ReceiptError("BAD_MULTIPART", f"the multipart body is malformed: {exc.message}", status=400) from None
    fields: dict[str, str] = {}
    photo: UploadFile | None = None
    for key, value in form.multi_items():
        if isinstance(value, UploadFile):
            if key == "photo":
                photo = value
        else:
            fields[key] = value
    if photo is None:
        raise ReceiptError("PHOTO_REQUIRED", "请选择照片 / the 'photo' file field is missing", status=422)
    data = await photo.read(limit + 1)
    await form.close()
    if len(data) > limit:
        raise too_large(limit)
    if not data:
        raise ReceiptError("FILE_EMPTY", "照片文件为空 / the photo file is empty", status=422)
    return fields, data, _safe_filename(photo.filename)


class StrictTextParser(MultiPartParser):
    """Starlette's multipart parser, but a text field that is not valid UTF-8 keeps U+FFFD marks
    (which the field checks refuse) instead of being silently re-read as Latin-1 (garbled)."""

    def on_part_end(self) -> None:
        part = self._current_part
        if part.file is None and self._charset in ("", "utf-8"):
            self.items.append((part.field_name, bytes(part.data).decode("utf-8", errors="replace")))
        else:
            super().on_part_end()


def _safe_filename(name: str | None) -> str | None:
    """The client's file name is only a label: control and bidi characters are dropped, not refused."""
    if not name:
        return None
    kept = "".join(c for c in name if not unicodedata.category(c).startswith("C") and c != "\ufffd")
    return kept.strip()[:255] or None


def too_large(limit: int) -> ReceiptError:
    return ReceiptError("UPLOAD_TOO_LARGE", f"照片文件过大，上限为{limit // 1048576} MB / the photo is larger than the "
                                            f"{limit / 1048576:.0f} MB limit", status=413)


def check_image(data: bytes, spec_id: str, limit: int, kind: str = "order") -> None:
    """Probe the header at upload so a broken, tiny or bomb file is refused now, not minutes later.

    No pixel is decoded here (that is the worker's job, a few at a time): an upload costs its bytes."""
    spec = get_spec(spec_id)
    try:
        probe_image(data, min_size=spec.photo.min_upload_px, max_bytes=limit)
        UPLOADS.labels(kind, "accepted").inc()
    except ReceiptError as exc:
        UPLOADS.labels(kind, exc.code).inc()
        zh = intake_message_zh(exc.code)
        raise ReceiptError(exc.code, f"{zh} / {exc.message}", status=_INTAKE_STATUS.get(exc.code, 422)) from None


def spec_or_422(spec_id: str | None) -> str:
    if not spec_id:
        raise ReceiptError("SPEC_REQUIRED", "请选择城市和证件 / choose the city and document ('spec')", status=422)
    if spec_id not in load_all():
        raise ReceiptError("SPEC_UNKNOWN", f"未知的证件规格 / unknown spec {spec_id!r}; see GET /api/v1/specs",
                           status=422)
    return spec_id
