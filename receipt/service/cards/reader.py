"""Read paths of the lookup API that must stay fast: a read-only engine and cached photo facts.

The service engine (receipt.service.db) opens every SQLite transaction with BEGIN IMMEDIATE,
which takes the write lock: right for the queue, wrong for lookups, which would then queue
behind each other. Lookups read through their own engine instead: on SQLite without that hook
(WAL readers never block), on PostgreSQL in autocommit (no BEGIN/ROLLBACK round trips) and
without a pre-ping per checkout. `RowReader` runs one fixed statement as driver SQL: compiled
once per dialect, results converted by the columns' own types, so a lookup does not pay
SQLAlchemy's per-execution compile and typed-result machinery (most of its time otherwise).
"""

from __future__ import annotations

import io
from typing import Any

from PIL import Image
from sqlalchemy import Engine, Select, create_engine, event

POOL_SIZE = 40  # SQLite: one connection per handler thread at most
PG_POOL_SIZE = 16  # PostgreSQL: per API process; mind max_connections when running several


def reader_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        # as many pooled connections as the server has handler threads (anyio's 40): an overflow
        # connection would be opened and closed again for every request beyond the pool
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False},
                               pool_size=POOL_SIZE, max_overflow=10)

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA busy_timeout=30000")
            cur.execute("PRAGMA query_only=ON")
            cur.close()

        return engine
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    return create_engine(url, isolation_level="AUTOCOMMIT", pool_size=PG_POOL_SIZE, max_overflow=8, pool_recycle=1800)


class RowReader:
    """`statement` (one bound parameter `name`) on the raw DBAPI cursor, typed like SQLAlchemy would."""

    def __init__(self, engine: Engine, statement: Select[Any], name: str) -> None:
        self.engine = engine
        dialect = engine.dialect
        compiled = statement.compile(dialect=dialect)
        self.sql = compiled.string
        self.positional = bool(compiled.positiontup)
        self.name = name
        self.processors = [col.type.dialect_impl(dialect).result_processor(dialect, None)
                           for col in statement.selected_columns]

    def rows(self, value: Any) -> list[tuple[Any, ...]]:
        # exec_driver_sql: no compiling, and the engine's events still see the statement
        with self.engine.connect() as conn:
            raw = conn.exec_driver_sql(self.sql, (value,) if self.positional else {self.name: value}).fetchall()
        procs = self.processors
        return [tuple(p(v) if p else v for p, v in zip(procs, row, strict=True)) for row in raw]


def photo_facts(data: bytes) -> tuple[int, int, int | None, int]:
    """(width, height, dpi or None, bytes) of a stored JPEG, from its header (callers cache it per hash)."""
    with Image.open(io.BytesIO(data)) as im:
        width, height = im.size
        dpi = im.info.get("dpi")
    return width, height, round(dpi[0]) if dpi and dpi[0] else None, len(data)
