"""Schema migrations on SQLite and PostgreSQL: fresh databases, pre-Alembic ones, re-runs, races, new revisions."""

from __future__ import annotations

import logging
import os
import secrets
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Column, Engine, ForeignKey, MetaData, Table, Text, create_engine, inspect, text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError

from receipt.service.db import (
    Base,
    BigId,
    Database,
    Event,
    Order,
    UTCDateTime,
    alembic_config,
    current_revision,
    head_revision,
    make_engine,
    migrate,
    utcnow,
)
from receipt.service.db.migrate import MIGRATIONS_DIR, PG_MIGRATION_LOCK
from tests.conftest import ROOT, require
from tests.db_legacy import build_legacy_database
from tests.service_fixtures import PG_HOST, _pg_url, wait_for

NewDB = Callable[[], Engine]


@pytest.fixture(params=["sqlite", "postgresql"])
def new_db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[NewDB]:
    """A maker of empty databases: SQLite files, or PostgreSQL schemas in database `test` (dropped afterwards)."""
    engines: list[Engine] = []
    schemas: list[str] = []
    base = None
    if request.param == "postgresql":
        base = _pg_url()
        require(base is not None, f"PostgreSQL not reachable at {PG_HOST}")

    def make() -> Engine:
        if base is None:
            url = f"sqlite:///{tmp_path / f'db{len(engines)}.sqlite'}"
        else:
            schemas.append(schema := f"prt_{secrets.token_hex(6)}")
            with create_engine(base).begin() as conn:
                conn.execute(text(f"CREATE SCHEMA {schema}"))
            url = f"{base}?options=-csearch_path%3D{schema}"
        engines.append(engine := make_engine(url))
        return engine

    yield make
    for engine in engines:
        engine.dispose()
    if schemas:
        admin = create_engine(base)
        with admin.begin() as conn:
            for schema in schemas:
                conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


def url_of(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=False)


def _triggers(conn: Connection) -> list[tuple[Any, ...]]:
    if conn.dialect.name == "sqlite":
        return [tuple(r) for r in conn.execute(text("SELECT name, tbl_name, sql FROM sqlite_master "
                                                    "WHERE type = 'trigger' ORDER BY name"))]
    return [tuple(r) for r in conn.execute(text(
        "SELECT c.relname, t.tgname, t.tgtype, p.proname, p.prosrc FROM pg_trigger t "
        "JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_proc p ON p.oid = t.tgfoid "
        "WHERE c.relnamespace = current_schema()::regnamespace AND NOT t.tgisinternal ORDER BY t.tgname"))]


def schema_of(engine: Engine) -> dict[str, Any]:
    """Everything SQLAlchemy can see of a schema, plus its triggers, in a comparable form."""
    with engine.connect() as conn:
        insp = inspect(conn)
        tables: dict[str, Any] = {}
        for name in sorted(insp.get_table_names()):
            tables[name] = {
                "columns": [(c["name"], str(c["type"]), c["nullable"], str(c.get("default")), c.get("autoincrement"))
                            for c in insp.get_columns(name)],
                "pk": insp.get_pk_constraint(name)["constrained_columns"],
                "indexes": sorted((i["name"], tuple(i["column_names"]), bool(i["unique"])) for i in insp.get_indexes(name)),
                "unique": sorted((str(u["name"]), tuple(u["column_names"])) for u in insp.get_unique_constraints(name)),
                "fks": sorted((str(f["name"]), tuple(f["constrained_columns"]), f["referred_table"], tuple(f["referred_columns"]))
                              for f in insp.get_foreign_keys(name)),
            }
        return {"tables": tables, "triggers": _triggers(conn)}


def model_diff(engine: Engine, metadata: MetaData = Base.metadata) -> list[Any]:
    """What `alembic revision --autogenerate` would write: empty when the revisions match the models."""
    with engine.connect() as conn:
        return compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), metadata)


def assert_events_append_only(engine: Engine) -> None:
    db = Database(url_of(engine), auto_migrate=False)
    try:
        with db.session() as session:
            session.add(Order(id=f"o{secrets.token_hex(6)}", spec_id="shenzhen-ssc", status="received",
                              applicant_name="赵六", token_hash="0" * 64))
            session.flush()
            order_id = session.query(Order.id).order_by(Order.created_at.desc()).first()[0]
            session.add(Event(order_id=order_id, type="order.status", status="received", data={}))
        for stmt in ("UPDATE events SET status = 'issued'", "DELETE FROM events"):
            with pytest.raises(DBAPIError, match="append-only"), db.session() as session:
                session.execute(text(stmt))
    finally:
        db.dispose()


def test_a_fresh_database_gets_head_and_the_append_only_trigger(new_db: NewDB) -> None:
    engine = new_db()
    assert migrate(engine) == head_revision()
    with engine.connect() as conn:
        assert current_revision(conn) == head_revision()
        assert "schema_version" not in inspect(conn).get_table_names()
    assert model_diff(engine) == []
    assert_events_append_only(engine)


def test_create_all_and_upgrade_from_empty_give_the_same_schema(new_db: NewDB) -> None:
    """A model changed without a revision (or a revision that differs from the models) fails here."""
    created, upgraded = new_db(), new_db()
    migrate(created)  # empty: create_all + stamp head
    with upgraded.begin() as conn:
        command.upgrade(alembic_config(conn), "head")  # every revision, from nothing
    assert schema_of(upgraded) == schema_of(created)
    assert model_diff(upgraded) == []
    assert len(schema_of(upgraded)["triggers"]) >= 1
    assert_events_append_only(upgraded)


def test_revision_0001_is_the_pre_alembic_schema_and_the_revisions_walk_down_and_up(new_db: NewDB) -> None:
    """Stamping an old database 0001 is right only if 0001 builds what the old code built; downgrades work too."""
    legacy, walked = new_db(), new_db()
    build_legacy_database(legacy)
    old_schema = schema_of(legacy)
    with walked.begin() as conn:
        command.upgrade(alembic_config(conn), "0001")
    assert {k: v for k, v in schema_of(walked)["tables"].items() if k != "alembic_version"} == old_schema["tables"]
    assert schema_of(walked)["triggers"] == old_schema["triggers"]
    with walked.begin() as conn:
        command.upgrade(alembic_config(conn), "head")
        command.downgrade(alembic_config(conn), "0001")  # back to what the old code accepts
        assert conn.execute(text("SELECT version FROM schema_version")).scalars().all() == [1]
    assert {k: v for k, v in schema_of(walked)["tables"].items() if k != "alembic_version"} == old_schema["tables"]
    with walked.begin() as conn:
        command.downgrade(alembic_config(conn), "base")
    assert list(schema_of(walked)["tables"]) == ["alembic_version"] and schema_of(walked)["triggers"] == []
    assert migrate(walked) == head_revision()  # an Alembic database at base: upgraded from nothing
    assert model_diff(walked) == []


def test_a_pre_alembic_database_is_stamped_and_upgraded_keeping_its_rows(new_db: NewDB, caplog: pytest.LogCaptureFixture) -> None:
    legacy, fresh = new_db(), new_db()
    build_legacy_database(legacy)
    caplog.set_level(logging.INFO, logger="receipt.service.db.migrate")
    assert migrate(legacy) == head_revision()
    assert "numbered migration runner: stamping 0001" in caplog.text
    migrate(fresh)
    assert schema_of(legacy) == schema_of(fresh)  # schema_version gone, nothing else changed
    assert model_diff(legacy) == []
    db = Database(url_of(legacy), auto_migrate=False)
    try:
        with db.session() as session:
            order = session.get(Order, "legacyorder1")
            assert order is not None and order.applicant_name == "王五" and order.created_at.tzinfo is not None
            assert [a.seq for a in order.attempts] == [1]
            assert [e.status for e in session.query(Event).order_by(Event.id)] == ["received", "processing"]
            session.add(Event(order_id="legacyorder1", type="order.status", status="error", data={}, created_at=utcnow()))
    finally:
        db.dispose()
    assert_events_append_only(legacy)


def test_migrating_twice_changes_nothing(new_db: NewDB) -> None:
    fresh, legacy = new_db(), new_db()
    build_legacy_database(legacy)
    for engine in (fresh, legacy):
        assert migrate(engine) == head_revision()
        before = schema_of(engine)
        assert migrate(engine) == head_revision()
        assert schema_of(engine) == before
        with engine.connect() as conn:
            assert conn.execute(text("SELECT COUNT(*) FROM alembic_version")).scalar() == 1


@pytest.mark.parametrize("start", ["empty", "pre-alembic"])
def test_threads_starting_together_migrate_once(new_db: NewDB, start: str, caplog: pytest.LogCaptureFixture) -> None:
    """Four engines in one process (Database objects of several threads) migrate at the same instant."""
    target = new_db()
    if start == "pre-alembic":
        build_legacy_database(target)
    engines = [make_engine(url_of(target)) for _ in range(4)]
    barrier = threading.Barrier(len(engines))
    results: list[Any] = [None] * len(engines)
    caplog.set_level(logging.INFO, logger="receipt.service.db.migrate")

    def run(i: int) -> None:
        barrier.wait()
        try:
            results[i] = migrate(engines[i])
        except Exception as exc:  # reported by the assert below
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(engines))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    for engine in engines:
        engine.dispose()
    assert results == [head_revision()] * len(engines)
    changes = [r.getMessage() for r in caplog.records if r.getMessage().startswith("schema ")]
    assert changes == [f"schema {'empty' if start == 'empty' else '0001'} -> {head_revision()}"]
    with target.connect() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all() == [head_revision()]


@pytest.mark.parametrize("new_db", ["postgresql"], indirect=True)  # SQLite: BEGIN IMMEDIATE, covered above
@pytest.mark.parametrize("start", ["empty", "pre-alembic"])
def test_photo_receipt_migrate_processes_waiting_on_the_lock_migrate_once(new_db: NewDB, start: str, tmp_path: Path) -> None:
    """Three `photo-receipt migrate` processes queue on the advisory lock the test holds, then all go at once."""
    target = new_db()
    if start == "pre-alembic":
        build_legacy_database(target)
    app = f"migrate_test_{secrets.token_hex(4)}"  # tells our processes' sessions from other users of the database
    env = {**os.environ, "DATABASE_URL": f"{url_of(target)}&application_name={app}", "PHOTO_RECEIPT_HOME": str(tmp_path)}
    waiting = text("SELECT COUNT(*) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
                   "WHERE a.application_name = :app AND l.locktype = 'advisory' AND NOT l.granted "
                   "AND l.objid = :lo AND l.classid = :hi")
    key = {"app": app, "lo": PG_MIGRATION_LOCK & 0xFFFFFFFF, "hi": PG_MIGRATION_LOCK >> 32}
    with target.connect() as holder:
        holder.execute(text("SELECT pg_advisory_lock(:k)"), {"k": PG_MIGRATION_LOCK})
        holder.commit()
        procs = [subprocess.Popen([sys.executable, "-m", "receipt.cli", "-v", "migrate"], cwd=ROOT, env=env,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(3)]
        try:
            wait_for(lambda: holder.execute(waiting, key).scalar() == len(procs) or holder.rollback(), 60,
                     what="three migrate processes waiting on the lock")
        finally:
            holder.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": PG_MIGRATION_LOCK})
            holder.commit()
            outputs = [p.communicate(timeout=60) for p in procs]
    assert [p.returncode for p in procs] == [0] * len(procs), outputs
    assert [out for out, _ in outputs] == [f"postgresql schema at revision {head_revision()} (head)\n"] * len(procs)
    # log lines carry the request id since the hardening work: "… receipt.service.db.migrate [-]: schema …"
    changes = [line for _, err in outputs for line in err.splitlines()
               if "receipt.service.db.migrate" in line and ": schema " in line]
    assert len(changes) == 1 and changes[0].endswith(f"{'empty' if start == 'empty' else '0001'} -> {head_revision()}")
    with target.connect() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all() == [head_revision()]


def test_autogenerate_writes_the_next_numbered_revision_and_it_upgrades(new_db: NewDB, tmp_path: Path) -> None:
    """How a later issue adds a table: a model on Base, `alembic revision --autogenerate`, `upgrade head`."""
    engine = new_db()
    migrate(engine)
    metadata = MetaData()
    for table in Base.metadata.sorted_tables:
        table.to_metadata(metadata)
    Table("reviewer_notes", metadata, Column("id", BigId, primary_key=True, autoincrement=True),
          Column("order_id", ForeignKey("orders.id"), nullable=False, index=True),
          Column("note", Text, nullable=False), Column("written_at", UTCDateTime, nullable=False))
    versions = tmp_path / "versions"
    versions.mkdir()
    with engine.begin() as conn:
        cfg = alembic_config(conn, metadata)
        cfg.set_main_option("path_separator", "os")
        cfg.set_main_option("version_locations", os.pathsep.join([str(MIGRATIONS_DIR / "versions"), str(versions)]))
        command.revision(cfg, message="add reviewer notes", autogenerate=True, version_path=str(versions))
        written = sorted(versions.glob("*.py"))
        assert [p.name for p in written] == [f"{int(head_revision()) + 1:04d}_add_reviewer_notes.py"]
        source = written[0].read_text(encoding="utf-8")
        assert "op.create_table('reviewer_notes'" in source and "sa.DateTime(timezone=True)" in source
        assert "receipt" not in source  # frozen history: no import of today's models
        assert "op.drop_table('reviewer_notes')" in source
        command.upgrade(cfg, "head")
        assert current_revision(conn) == f"{int(head_revision()) + 1:04d}"
    assert model_diff(engine, metadata) == []
    assert "reviewer_notes" in inspect(engine).get_table_names()


def test_the_alembic_scripts_are_installed_with_the_package() -> None:
    """A wheel carries packages' .py files and the package-data globs: every migrations file must be one of them."""
    import fnmatch
    import tomllib

    globs = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]["package-data"]
    for path in MIGRATIONS_DIR.rglob("*"):
        if path.is_dir() or "__pycache__" in path.parts:
            continue
        package_dir = path.parent
        assert (package_dir / "__init__.py").is_file(), f"{package_dir} is no package: a wheel would leave it out"
        if path.suffix != ".py":
            package = ".".join(package_dir.relative_to(ROOT).parts)
            assert any(fnmatch.fnmatch(path.name, g) for g in globs.get(package, [])), f"{path} is not package data"
    assert head_revision() in {p.name.split("_")[0] for p in (MIGRATIONS_DIR / "versions").glob("*.py")}
