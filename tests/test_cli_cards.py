"""`photo-receipt apikey | audit | keys` against a real database."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest

from receipt.cli import main
from receipt.service.cards.apikeys import hash_key, list_keys
from receipt.service.cards.audit import AuditLog
from receipt.service.db import Database
from tests.service_fixtures import Backend


@pytest.fixture
def env(backend: Backend, monkeypatch: pytest.MonkeyPatch, tmp_path: object) -> Backend:
    monkeypatch.setenv("DATABASE_URL", backend.database_url)
    monkeypatch.setenv("PHOTO_RECEIPT_HOME", str(tmp_path))
    monkeypatch.delenv("RECEIPT_SIGNING_KEY", raising=False)
    monkeypatch.delenv("RECEIPT_KEY_DIR", raising=False)
    return backend


def test_apikey_add_prints_the_key_alone_on_the_last_line(env: Backend, capsys: pytest.CaptureFixture[str]) -> None:
    name = f"yss-{time.time_ns()}"
    assert main(["apikey", "add", name, "--specs", "shenzhen-ssc,guangdong-id", "--rate", "50", "--expires", "30"]) == 0
    out = capsys.readouterr().out.splitlines()
    key = out[-1]
    assert key.startswith("pr_live_") and key.strip() == key and len(key.split()) == 1
    db = Database(env.database_url)
    record = next(r for r in list_keys(db) if r.name == name)
    assert record.scopes == {"shenzhen-ssc", "guangdong-id"} and record.rate_per_s == 50
    assert record.key_hint == key[:12]
    with db.session() as session:  # only the hash is stored
        from sqlalchemy import select

        from receipt.service.cards.models import ApiKey
        assert session.scalar(select(ApiKey.key_hash).where(ApiKey.name == name)) == hash_key(key)

    assert main(["apikey", "list"]) == 0
    listed = capsys.readouterr().out
    assert name in listed and key not in listed and key[:12] in listed and "active" in listed
    assert main(["apikey", "revoke", name]) == 0
    assert "revoked" in capsys.readouterr().out
    main(["apikey", "list"])
    assert next(line for line in capsys.readouterr().out.splitlines() if line.startswith(name)).endswith("revoked")
    assert main(["apikey", "add", "x", "--specs", "atlantis-ssc"]) == 2
    assert "SPEC_UNKNOWN" in capsys.readouterr().err

    log = AuditLog(db)
    log.record(key_id=record.id, action="lookup", number="BA27Q2M5XZ4K9FX", result="ok", status=200, client="1.2.3.4")
    log.flush()
    assert main(["audit", "--key", name, "--since", datetime.now(UTC).date().isoformat()]) == 0
    audit = capsys.readouterr().out
    assert "BA27Q2M5XZ4K9FX" in audit and "1.2.3.4" in audit and "+08:00" in audit
    assert main(["audit", "--key", name, "--since", "2999-01-01"]) == 0
    assert "BA27Q2M5XZ4K9FX" not in capsys.readouterr().out
    assert main(["audit", "--key", "no-such-key"]) == 2
    db.dispose()


def test_keys_rotate_and_list(env: Backend, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["keys", "list"]) == 0
    first = capsys.readouterr().out.splitlines()[1].split("\t")[0]
    assert main(["keys", "rotate"]) == 0
    assert "is current" in capsys.readouterr().out
    main(["keys", "list"])
    rows = [line.split("\t") for line in capsys.readouterr().out.splitlines()[1:]]
    assert len(rows) == 2 and rows[0][4] == "yes" and rows[1][0] == first and rows[1][3] != "-"
