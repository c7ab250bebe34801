"""A request id that follows an order: API request -> attempt (attempt_traces row) -> worker logs.

The API takes the client's X-Request-ID (or makes one) and binds it for the request; dispatch
stores it beside the attempt, and the job binds it again while it runs — in this process, in an
RQ worker, or after the sweeper re-enqueued it. Every log record carries `request_id` ("-" when
there is none); PHOTO_RECEIPT_LOG_JSON=1 writes one JSON object per line instead of text.
"""

from __future__ import annotations

import json
import logging
import re
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from sqlalchemy import BigInteger, String
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Mapped, mapped_column

from receipt.config import log_json
from receipt.service.db import Base
from receipt.service.runtime import Runtime

log = logging.getLogger(__name__)
REQUEST_ID: ContextVar[str | None] = ContextVar("request_id", default=None)
_VALID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s]: %(message)s"


class AttemptTrace(Base):
    """The request id an attempt was created under (new table)."""

    __tablename__ = "attempt_traces"

    attempt_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    request_id: Mapped[str] = mapped_column(String(64))


def accept_request_id(value: str | None) -> str:
    """The client's X-Request-ID when it is a sane token, else a new one."""
    return value if value and _VALID.match(value) else secrets.token_hex(8)


@contextmanager
def bound(request_id: str | None) -> Iterator[None]:
    token = REQUEST_ID.set(request_id)
    try:
        yield
    finally:
        REQUEST_ID.reset(token)


def remember(rt: Runtime, attempt_id: int) -> None:
    request_id = REQUEST_ID.get()
    if not request_id:
        return
    try:
        with rt.db.session() as session:
            if session.get(AttemptTrace, attempt_id) is None:
                session.add(AttemptTrace(attempt_id=attempt_id, request_id=request_id))
    except IntegrityError:
        pass  # a concurrent dispatch of the same attempt stored it first
    except SQLAlchemyError:  # tracing must never cost an upload (e.g. the table not migrated yet)
        log.warning("attempt %s: request id not stored", attempt_id, exc_info=True)


def recall(rt: Runtime, attempt_id: int) -> str | None:
    try:
        with rt.db.session() as session:
            row = session.get(AttemptTrace, attempt_id)
            return row.request_id if row else None
    except SQLAlchemyError:
        log.warning("attempt %s: request id not readable", attempt_id, exc_info=True)
        return None


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {"ts": self.formatTime(record), "level": record.levelname, "logger": record.name,
                                 "request_id": getattr(record, "request_id", "-"), "message": record.getMessage()}
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


_installed = False


def install_log_context() -> None:
    """Every record gets `request_id` from the context (idempotent; call before logging is configured)."""
    global _installed
    if _installed:
        return
    _installed = True
    previous = logging.getLogRecordFactory()

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        record.request_id = REQUEST_ID.get() or "-"
        return record
    logging.setLogRecordFactory(factory)


def log_formatter() -> logging.Formatter:
    return JsonFormatter() if log_json() else logging.Formatter(LOG_FORMAT)


def configure_logging(level: int) -> None:
    """basicConfig with the request id in every line (text, or JSON lines when configured)."""
    install_log_context()
    handler = logging.StreamHandler()
    handler.setFormatter(log_formatter())
    logging.basicConfig(level=level, handlers=[handler])
