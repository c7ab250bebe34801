"""Response models of the applicant API: what the OpenAPI documents for every route and status.

The models describe the JSON the routes already build (extra fields are allowed, so a new field
never breaks a response); `errors(...)` lists the 4xx/5xx a route can answer, each with the one
error body every failure has.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class _Open(BaseModel):
    model_config = ConfigDict(extra="allow")


class ErrorDetail(BaseModel):
    code: str = Field(description="stable reason code, e.g. IMAGE_TOO_SMALL")
    message: str = Field(description="Chinese / English text for the applicant")


class ErrorBody(BaseModel):
    error: ErrorDetail


class Links(_Open):
    self: str
    events: str
    attempts: str
    receipt_pdf: str
    photo: str
    annotated: str


class OrderCreated(_Open):
    order_id: str
    token: str = Field(description="bearer token for every later request on this order; shown once")
    status: str
    attempt: int
    links: Links


class AppealCreated(_Open):
    order_id: str
    status: str = Field(description="in_review: the appeal is in the reviewers' queue")
    attempt: int


class AttemptCreated(_Open):
    order_id: str
    status: str
    attempt: int
    links: Links


class Reason(_Open):
    code: str
    verdict: str | None = None
    message_zh: str | None = None
    message_en: str | None = None


class AttemptView(_Open):
    attempt: int
    status: str
    verdict: str | None = None
    reasons: list[Reason] = []
    reviewed: bool = False
    created_at: str | None = None
    finished_at: str | None = None
    tries: int = 0
    error: str | None = None
    has_photo: bool = False
    has_annotated: bool = False


class ReceiptView(_Open):
    number: str
    issued_at: str | None = None
    expires_on: str | None = None
    spec: str
    approved_by: str


class OrderView(_Open):
    order_id: str
    status: str
    spec: str
    applicant_name: str | None = None
    created_at: str | None = None
    updated_at: str | None = None
    can_resubmit: bool
    attempts: list[AttemptView]
    last_event_id: int
    receipt: ReceiptView | None = None
    links: Links | None = None


class EventView(_Open):
    id: int
    type: str
    status: str | None = None
    data: dict[str, Any] | None = None
    created_at: str | None = None


class EventList(_Open):
    status: str
    events: list[EventView]


class SpecView(_Open):
    id: str
    city: str | None = None
    document: str | None = None
    title: str | None = None
    width_px: int
    height_px: int
    validity_days: int | None = None


class SpecList(_Open):
    specs: list[SpecView]


class Health(_Open):
    database: str
    queue: str
    jobs: str | None = None


_WHAT = {
    400: "malformed request (Content-Length, multipart body, Idempotency-Key)",
    401: "no bearer token",
    404: "no such order, or the token does not match (or the file does not exist yet)",
    409: "the order is not in a state that allows this",
    410: "the file was erased under the retention policy",
    413: "the photo or the body is over the size limit",
    415: "not multipart/form-data, or not a JPEG/PNG/WebP/HEIC photo",
    422: "invalid parameter, field or photo (reason code in the body)",
    429: "too many requests (Retry-After says when to try again)",
    503: "the database is unreachable",
}


def errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The `responses` entry for these error statuses: each documented with the error body."""
    return {status: {"model": ErrorBody, "description": _WHAT[status]} for status in statuses}
