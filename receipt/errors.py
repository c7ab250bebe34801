"""Errors that carry a reason code, so every caller (CLI, API, worker) can report them uniformly."""

from __future__ import annotations


class ReceiptError(Exception):
    """A failure the caller can act on. `code` is stable and machine-readable."""

    def __init__(self, code: str, message: str, *, status: int = 400) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status = status

    def to_dict(self) -> dict[str, str]:
        return {"code": self.code, "message": self.message}


class SpecError(ReceiptError):
    """A spec file is missing, malformed or names an unknown spec."""

    def __init__(self, message: str, *, code: str = "SPEC_INVALID") -> None:
        super().__init__(code, message)
