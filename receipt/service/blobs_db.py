"""Blobs kept in PostgreSQL (STORAGE_URL), for deployments of several machines without a shared disk.

Content-addressed like the directory store: one row per SHA-256, written with
INSERT … ON CONFLICT DO NOTHING, so the same content uploaded twice is stored once and a row is
never overwritten. The table lives in its own schema-less `photo_blobs` table created on first use
(it may be a different database from DATABASE_URL, so it is not part of the main migrations).
Photos are at most a few MB; PostgreSQL keeps such bytea values TOASTed and compressed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from sqlalchemy import Column, DateTime, Integer, LargeBinary, MetaData, String, Table, create_engine, func, select
from sqlalchemy.dialects.postgresql import insert

from receipt.service.blobs import check_sha, missing

_metadata = MetaData()
blobs_table = Table(
    "photo_blobs", _metadata,
    Column("sha256", String(64), primary_key=True),
    Column("size", Integer, nullable=False),
    Column("data", LargeBinary, nullable=False),
    Column("created_at", DateTime(timezone=True), server_default=func.now(), nullable=False),
)


class DatabaseBlobStore:
    def __init__(self, url: str) -> None:
        if url.startswith("postgresql://"):
            url = "postgresql+psycopg://" + url[len("postgresql://"):]
        if not url.startswith("postgresql"):
            raise ValueError("STORAGE_URL must be a postgresql:// URL")
        self.engine = create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=10)
        _metadata.create_all(self.engine)  # CREATE TABLE IF NOT EXISTS; concurrent starts are harmless

    def put(self, data: bytes) -> str:
        sha = hashlib.sha256(data).hexdigest()
        with self.engine.begin() as conn:
            conn.execute(insert(blobs_table).values(sha256=sha, size=len(data), data=data)
                         .on_conflict_do_nothing(index_elements=["sha256"]))
        return sha

    def put_chunks(self, chunks: Iterable[bytes]) -> str:
        return self.put(b"".join(chunks))

    def get(self, sha256: str) -> bytes:
        with self.engine.connect() as conn:
            data = conn.scalar(select(blobs_table.c.data).where(blobs_table.c.sha256 == check_sha(sha256)))
        if data is None:
            raise missing(sha256)
        return bytes(data)

    def exists(self, sha256: str) -> bool:
        with self.engine.connect() as conn:
            return conn.scalar(select(blobs_table.c.size).where(blobs_table.c.sha256 == check_sha(sha256))) is not None

    def delete(self, sha256: str) -> bool:
        with self.engine.begin() as conn:
            return conn.execute(blobs_table.delete().where(blobs_table.c.sha256 == check_sha(sha256))).rowcount == 1

    def stored_at(self, sha256: str) -> float | None:
        with self.engine.connect() as conn:
            moment = conn.scalar(select(blobs_table.c.created_at).where(blobs_table.c.sha256 == check_sha(sha256)))
        return None if moment is None else moment.timestamp()

    def close(self) -> None:
        self.engine.dispose()
