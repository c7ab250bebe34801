"""A database as the code before Alembic left it: the numbered runner's version 1.

The DDL below is what that code's `Base.metadata.create_all` emitted (captured from commit
d91c8fd, receipt/service/db.py, on both dialects), frozen here as text so the upgrade tests do
not depend on today's models or revisions. The runner then wrote `schema_version` row 1.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Engine, text

_TYPES = {  # what create_all rendered per dialect: timestamps, 64-bit ids, references to them, the serial
    "sqlite": {"ts": "DATETIME", "id": "INTEGER", "ref": "INTEGER", "serial": "INTEGER"},
    "postgresql": {"ts": "TIMESTAMP WITH TIME ZONE", "id": "BIGSERIAL", "ref": "BIGINT", "serial": "SERIAL"},
}

_TABLES = """
CREATE TABLE orders (
    id VARCHAR(32) NOT NULL, spec_id VARCHAR(64) NOT NULL, status VARCHAR(16) NOT NULL,
    applicant_name VARCHAR(100) NOT NULL, id_number VARCHAR(18), birth_date DATE, phone VARCHAR(20),
    guardian_name VARCHAR(100), token_hash VARCHAR(64) NOT NULL, idempotency_key_hash VARCHAR(64),
    request_fingerprint VARCHAR(64), token_sealed VARCHAR(200), created_at {ts} NOT NULL, updated_at {ts} NOT NULL,
    PRIMARY KEY (id), UNIQUE (idempotency_key_hash)
);
CREATE INDEX ix_orders_status ON orders (status);
CREATE TABLE schema_version (version {serial} NOT NULL, applied_at {ts} NOT NULL, PRIMARY KEY (version));
CREATE TABLE attempts (
    id {id} NOT NULL, order_id VARCHAR(32) NOT NULL, seq INTEGER NOT NULL, status VARCHAR(16) NOT NULL,
    upload_sha256 VARCHAR(64) NOT NULL, upload_bytes INTEGER NOT NULL, upload_name VARCHAR(255),
    idempotency_key_hash VARCHAR(64), verdict VARCHAR(16), tries INTEGER NOT NULL, last_error TEXT,
    claim_token VARCHAR(32), claimed_by VARCHAR(120), lease_expires_at {ts}, enqueued_at {ts}, not_before {ts},
    created_at {ts} NOT NULL, started_at {ts}, finished_at {ts},
    PRIMARY KEY (id),
    CONSTRAINT uq_attempt_order_seq UNIQUE (order_id, seq),
    CONSTRAINT uq_attempt_idempotency UNIQUE (order_id, idempotency_key_hash),
    FOREIGN KEY(order_id) REFERENCES orders (id)
);
CREATE INDEX ix_attempts_order_id ON attempts (order_id);
CREATE INDEX ix_attempt_status_lease ON attempts (status, lease_expires_at);
CREATE TABLE analyses (
    id {id} NOT NULL, attempt_id {ref} NOT NULL, verdict VARCHAR(16) NOT NULL, reasons TEXT NOT NULL,
    report TEXT NOT NULL, photo_sha256 VARCHAR(64), annotated_sha256 VARCHAR(64), worker VARCHAR(120),
    duration_ms INTEGER, created_at {ts} NOT NULL,
    PRIMARY KEY (id), UNIQUE (attempt_id), FOREIGN KEY(attempt_id) REFERENCES attempts (id)
);
CREATE TABLE receipts (
    id {id} NOT NULL, order_id VARCHAR(32) NOT NULL, attempt_id {ref} NOT NULL, number VARCHAR(32) NOT NULL,
    spec_id VARCHAR(64) NOT NULL, issued_at {ts} NOT NULL, expires_on DATE, qr_payload TEXT NOT NULL,
    photo_sha256 VARCHAR(64) NOT NULL, pdf_sha256 VARCHAR(64) NOT NULL, approved_by VARCHAR(120) NOT NULL,
    PRIMARY KEY (id),
    CONSTRAINT uq_receipt_order UNIQUE (order_id),
    CONSTRAINT uq_receipt_attempt UNIQUE (attempt_id),
    CONSTRAINT uq_receipt_number UNIQUE (number),
    FOREIGN KEY(order_id) REFERENCES orders (id), FOREIGN KEY(attempt_id) REFERENCES attempts (id)
);
CREATE TABLE review_decisions (
    id {id} NOT NULL, attempt_id {ref} NOT NULL, order_id VARCHAR(32) NOT NULL, reviewer VARCHAR(120) NOT NULL,
    approve BOOLEAN NOT NULL, reasons TEXT NOT NULL, note TEXT, decided_at {ts} NOT NULL,
    PRIMARY KEY (id), UNIQUE (attempt_id),
    FOREIGN KEY(attempt_id) REFERENCES attempts (id), FOREIGN KEY(order_id) REFERENCES orders (id)
);
CREATE INDEX ix_review_decisions_order_id ON review_decisions (order_id);
CREATE TABLE events (
    id {id} NOT NULL, order_id VARCHAR(32) NOT NULL, attempt_id {ref}, type VARCHAR(40) NOT NULL,
    status VARCHAR(16), data TEXT NOT NULL, created_at {ts} NOT NULL,
    PRIMARY KEY (id), FOREIGN KEY(order_id) REFERENCES orders (id), FOREIGN KEY(attempt_id) REFERENCES attempts (id)
);
CREATE INDEX ix_event_order ON events (order_id, id);
CREATE TABLE webhook_deliveries (
    id {id} NOT NULL, event_id {ref} NOT NULL, url TEXT NOT NULL, state VARCHAR(16) NOT NULL, tries INTEGER NOT NULL,
    next_attempt_at {ts} NOT NULL, lease_expires_at {ts}, last_error TEXT, delivered_at {ts},
    PRIMARY KEY (id), CONSTRAINT uq_delivery_event_url UNIQUE (event_id, url), FOREIGN KEY(event_id) REFERENCES events (id)
);
CREATE INDEX ix_delivery_due ON webhook_deliveries (state, next_attempt_at)
"""

_TRIGGERS = {
    "sqlite": [
        "CREATE TRIGGER IF NOT EXISTS events_no_update BEFORE UPDATE ON events "
        "BEGIN SELECT RAISE(ABORT, 'events are append-only'); END",
        "CREATE TRIGGER IF NOT EXISTS events_no_delete BEFORE DELETE ON events "
        "BEGIN SELECT RAISE(ABORT, 'events are append-only'); END",
    ],
    "postgresql": [
        "CREATE OR REPLACE FUNCTION events_append_only() RETURNS trigger LANGUAGE plpgsql AS "
        "$$ BEGIN RAISE EXCEPTION 'events are append-only'; END $$",
        "CREATE TRIGGER events_append_only BEFORE UPDATE OR DELETE ON events "
        "FOR EACH ROW EXECUTE FUNCTION events_append_only()",
    ],
}


def build_legacy_database(engine: Engine) -> None:
    """The pre-Alembic schema at version 1, with one order, one attempt and two events in it."""
    dialect = engine.dialect.name
    ddl = _TABLES.format(**_TYPES[dialect])
    now = datetime.now(UTC)
    stamp = now.replace(tzinfo=None) if dialect == "sqlite" else now  # the old UTCDateTime stored naive UTC on SQLite
    with engine.begin() as conn:
        for stmt in [s for s in ddl.split(";") if s.strip()] + _TRIGGERS[dialect]:
            conn.exec_driver_sql(stmt)
        conn.execute(text("INSERT INTO schema_version (version, applied_at) VALUES (1, :t)"), {"t": stamp})
        conn.execute(text("INSERT INTO orders (id, spec_id, status, applicant_name, token_hash, created_at, updated_at) "
                          "VALUES ('legacyorder1', 'shenzhen-ssc', 'received', '王五', :h, :t, :t)"),
                     {"h": "ab" * 32, "t": stamp})
        conn.execute(text("INSERT INTO attempts (order_id, seq, status, upload_sha256, upload_bytes, tries, created_at) "
                          "VALUES ('legacyorder1', 1, 'queued', :h, 123, 0, :t)"), {"h": "cd" * 32, "t": stamp})
        for status in ("received", "processing"):
            conn.execute(text("INSERT INTO events (order_id, type, status, data, created_at) "
                              "VALUES ('legacyorder1', 'order.status', :s, '{}', :t)"), {"s": status, "t": stamp})
