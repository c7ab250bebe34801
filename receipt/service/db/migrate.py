"""Schema migrations with Alembic, run by every process at start-up and by `photo-receipt migrate`.

`migrate(engine)` looks at what the database holds and brings it to the newest revision in
migrations/versions, inside one transaction under a lock (PostgreSQL: an advisory lock; SQLite:
BEGIN IMMEDIATE, see engine.py), so several processes starting together migrate once:
- nothing of ours yet: `create_all` from the models (triggers included) and stamp head — the
  same schema `upgrade head` from empty gives (tests/test_service_db.py compares the two);
- a `schema_version` table and no `alembic_version`: a database of the numbered runner this
  replaced; its version 1 is revision 0001, so it is stamped 0001 and upgraded from there;
- an `alembic_version` table: `upgrade head`.
No alembic.ini is read: the configuration is built here and points into this package.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, MetaData, inspect, text
from sqlalchemy.engine import Connection

from receipt.service.db.models import Base

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).resolve().with_name("migrations")
LEGACY_TABLE = "schema_version"  # the numbered runner's bookkeeping (before Alembic)
LEGACY_REVISIONS = {1: "0001"}  # its version -> the Alembic revision with the same schema
PG_MIGRATION_LOCK = 0x70686F746F  # any constant; pg_advisory_xact_lock key for "photo"
# Alembic's `context` and `op` are process-wide proxies: one migration at a time per process
# (the database lock below serialises processes).
_in_process = threading.Lock()


def alembic_config(connection: Connection | None = None, metadata: MetaData | None = None) -> Config:
    """Alembic's configuration, built in code; `connection` makes commands run on it (and in its transaction)."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    if connection is not None:
        cfg.attributes["connection"] = connection
    if metadata is not None:  # what autogenerate compares with (default: the models)
        cfg.attributes["target_metadata"] = metadata
    return cfg


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:  # also raised by Alembic when there are several heads (a merge needs `alembic merge`)
        raise RuntimeError(f"no Alembic revision in {MIGRATIONS_DIR / 'versions'}")
    return head


def current_revision(conn: Connection) -> str | None:
    return MigrationContext.configure(conn).get_current_revision()


def _legacy_revision(conn: Connection) -> str:
    version = conn.execute(text(f"SELECT MAX(version) FROM {LEGACY_TABLE}")).scalar()
    if version not in LEGACY_REVISIONS:
        raise RuntimeError(f"{LEGACY_TABLE} says version {version}; only {sorted(LEGACY_REVISIONS)} can be upgraded")
    return LEGACY_REVISIONS[version]


def migrate(engine: Engine) -> str:
    """Create or upgrade the schema to the newest revision and return it; safe to call from every process."""
    # SQLite: BEGIN IMMEDIATE (see engine._sqlite_setup) serialises this
    with _in_process, engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": PG_MIGRATION_LOCK})
        tables = set(inspect(conn).get_table_names())
        cfg = alembic_config(conn)
        before = current_revision(conn) if "alembic_version" in tables else None
        if "alembic_version" in tables:
            command.upgrade(cfg, "head")
        elif LEGACY_TABLE in tables:
            before = _legacy_revision(conn)
            log.info("database from the numbered migration runner: stamping %s", before)
            command.stamp(cfg, before)
            command.upgrade(cfg, "head")
        elif tables & set(Base.metadata.tables):
            raise RuntimeError(f"tables {sorted(tables & set(Base.metadata.tables))} exist but neither "
                               f"alembic_version nor {LEGACY_TABLE}: check them, then `alembic stamp` a revision")
        else:
            Base.metadata.create_all(conn)
            command.stamp(cfg, "head")
        after = current_revision(conn)
        if after != before:
            log.info("schema %s -> %s", before or "empty", after)
        assert after is not None
        return after
