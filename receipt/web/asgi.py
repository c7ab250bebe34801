"""Import-string app factory for several server processes: `uvicorn --factory receipt.web.asgi:app_from_env`.

uvicorn (and gunicorn) start N processes only from an import string; each builds its own app
from the environment, like `photo-receipt serve`. What each process keeps for itself: the API
key cache, the audit batcher, the sweeper thread, in-process jobs when REDIS_URL is unset, and
the rate counters when they live in memory (set REDIS_URL or RATE_LIMIT_STORAGE_URL so that all
processes count together).
"""

from __future__ import annotations

from fastapi import FastAPI

from receipt.config import ServiceSettings
from receipt.web.app import create_app


def app_from_env() -> FastAPI:
    return create_app(ServiceSettings.from_env())
