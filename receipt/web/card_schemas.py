"""Request and response models of the card-system API, with the examples shown in /docs."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from receipt.service.cards.lookup import MAX_BATCH

_NUMBER = "BA27Q2M5XZ4K9FX"
RECEIPT_EXAMPLE: dict[str, Any] = {
    "number": _NUMBER, "spec": "shenzhen-ssc", "city": "shenzhen", "document": "ssc", "status": "valid",
    "issued_at": "2025-03-14T14:30:12+08:00", "expires_on": "2025-09-10",
    "photo": {"sha256": "9f2c" + "0" * 60, "width": 358, "height": 441, "dpi": 350, "bytes": 15872},
    "accepted_for": ["guangdong-id", "guangdong-residence"],
    "uses": [{"system": "yss-ssc", "purpose": "社会保障卡申领", "used_at": "2025-03-15T09:02:44+08:00"}],
}
USE_EXAMPLE: dict[str, Any] = {"number": _NUMBER, "system": "yss-ssc", "purpose": "社会保障卡申领",
                               "used_at": "2025-03-15T09:02:44+08:00"}
ERROR_EXAMPLES: dict[int, dict[str, Any]] = {
    400: {"code": "RECEIPT_NUMBER_INVALID", "message": "相片回执号无效 / the receipt number is not valid",
          "detail": {"code": "NUMBER_CHECK", "message": "相片回执号校验位不符……（注意区分0和O、1和I）…… / The check "
                                                        "character does not match: … mind 0/O and 1/I …",
                     "suggestions": []}},
    401: {"code": "API_KEY_INVALID", "message": "API密钥无效、已吊销或已过期 / the API key is unknown, revoked or expired"},
    404: {"code": "RECEIPT_NOT_FOUND",
          "message": "没有这个相片回执号，或本系统无权查看 / no receipt with this number that this key may see"},
    409: {"code": "IDEMPOTENCY_KEY_REUSED",
          "message": "该Idempotency-Key已用于另一次请求 / this Idempotency-Key was used for a different request"},
    410: {"code": "RECEIPT_EXPIRED", "message": "该回执已于2025-09-10过期，不能延期，请重新采集 / this receipt expired on "
                                                "2025-09-10 and cannot be extended; the applicant makes a new one",
          "detail": {"expires_on": "2025-09-10"}},
    422: {"code": "INVALID_REQUEST", "message": "body.numbers: List should have at most 100 items"},
    429: {"code": "RATE_LIMITED", "message": "请求过于频繁，请2秒后重试 / too many requests, retry after 2 s"},
}
_DESCRIPTIONS = {
    400: "RECEIPT_NUMBER_INVALID (detail: the reason validate() gives, e.g. NUMBER_CHECK; no database read "
         "was made), IDEMPOTENCY_KEY_REQUIRED, or a body that is not JSON",
    401: "API_KEY_REQUIRED / API_KEY_INVALID (unknown, revoked or expired key)",
    404: "RECEIPT_NOT_FOUND: no such receipt, or one outside the key's scope (the same answer)",
    409: "IDEMPOTENCY_KEY_REUSED: the key was used for another number or purpose",
    410: "RECEIPT_EXPIRED (detail.expires_on) or RECEIPT_REVOKED: the applicant needs a new receipt",
    422: "The request body or a parameter has the wrong shape (or a batch larger than the key's rate allows)",
    429: "RATE_LIMITED: the key's rate, or the address's budget of failed lookups; see Retry-After",
}


class CardErrorInfo(BaseModel):
    code: str
    message: str = Field(description="中文 / English")
    detail: dict[str, Any] | None = None


class CardErrorBody(BaseModel):
    error: CardErrorInfo


def rate_headers() -> dict[str, Any]:
    return {"RateLimit": {"schema": {"type": "string"}, "description": "limit=N, remaining=N, reset=SECONDS"},
            "RateLimit-Policy": {"schema": {"type": "string"}, "description": "N;w=WINDOW_SECONDS"}}


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    out: dict[int | str, dict[str, Any]] = {}
    for status in statuses:
        headers = rate_headers()
        if status == 429:
            headers["Retry-After"] = {"schema": {"type": "string"}, "description": "seconds to wait"}
        out[status] = {"model": CardErrorBody, "description": _DESCRIPTIONS[status], "headers": headers,
                       "content": {"application/json": {"example": {"error": ERROR_EXAMPLES[status]}}}}
    return out


class PhotoFacts(BaseModel):
    sha256: str
    width: int
    height: int
    dpi: int | None
    bytes: int


class UseInfo(BaseModel):
    system: str | None = Field(description="name of the card system's key")
    purpose: str
    used_at: str = Field(description="China time, ISO 8601 with +08:00")


class ReceiptInfo(BaseModel):
    model_config = ConfigDict(json_schema_extra={"example": RECEIPT_EXAMPLE})

    number: str
    spec: str
    city: str | None
    document: str | None
    status: Literal["valid"]
    issued_at: str = Field(description="China time, ISO 8601 with +08:00")
    expires_on: str | None = Field(description="last valid day (China time); null: no expiry")
    photo: PhotoFacts
    accepted_for: list[str] = Field(description="other spec ids whose card systems accept this receipt")
    uses: list[UseInfo]
    photo_base64: str | None = Field(None, description="only with ?photo=base64")


class BatchError(BaseModel):
    number: str
    error: CardErrorInfo


class BatchOut(BaseModel):
    results: list[ReceiptInfo | BatchError] = Field(description="one per number, in the order given")


BATCH_EXAMPLE: dict[str, Any] = {"results": [RECEIPT_EXAMPLE, {"number": "BA27Q2M5XZ4K9FY",
                                                               "error": ERROR_EXAMPLES[400]}]}


class BatchIn(BaseModel):
    numbers: list[Annotated[str, Field(max_length=64)]] = Field(min_length=1, max_length=MAX_BATCH)


class UseIn(BaseModel):
    purpose: str = Field(min_length=1, max_length=200, description="what the photo was used for, e.g. 社会保障卡申领")


class UseOut(BaseModel):
    number: str
    system: str
    purpose: str
    used_at: str


class VerifyIn(BaseModel):
    payload: str = Field(max_length=4096, description="the text of the receipt's QR code (PR1.… or PR2.…)")


class VerifyOut(BaseModel):
    valid: bool
    number: str | None = None
    spec: str | None = None
    issued_at: str | None = Field(None, description="China time, ISO 8601 with +08:00")
    expires_on: str | None = None
    expired: bool | None = Field(None, description="past expires_on in China time (the signature can still be valid)")
    kid: str | None = Field(None, description="the key that signed it (GET /api/v1/keys)")
    version: str | None = None
    error: CardErrorInfo | None = Field(None, description="why it is not valid")


class PublicKey(BaseModel):
    kid: str
    alg: Literal["Ed25519"]
    public_key_pem: str
    created_at: str | None
    retired_at: str | None
    current: bool


class KeysOut(BaseModel):
    keys: list[PublicKey]
