"""schemathesis against the served OpenAPI of the card-system routes: no 5xx, every answer as documented.

A real uvicorn on loopback (the app's lifespan runs once), SQLite, a few issued receipts. The
cases are generated from the app's OpenAPI document, which the first test checks is exactly what
the server serves at /openapi.json (schemathesis' lazy fixture loader does not run on pytest 9). Half of
the generated receipt numbers are swapped for real ones (valid, expired, revoked, out of scope)
so the 200 / 404 / 410 answers are exercised too, not only the 400s random text gets.
Bounded: a few dozen examples per operation, well under a minute.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from receipt.config import ServiceSettings
from receipt.web.app import create_app
from tests.card_fixtures import issue_rows, new_key, set_order_status
from tests.service_fixtures import LiveServer

SEEN: dict[str, set[int]] = {}  # operation -> statuses answered, for the last test
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_headers_conformance,
          response_schema_conformance]


def _settings(root: Path) -> ServiceSettings:
    return ServiceSettings(database_url=f"sqlite:///{root / 'receipts.db'}", storage_dir=root / "blobs",
                           redis_url=None, rate_client_failures="100000/minute", rate_verify="100000/minute")


schema = schemathesis.openapi.from_dict(create_app(_settings(Path("/nonexistent")), background=False,
                                                   plugins=False).openapi()).include(tag="card-systems")


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    root: Path = tmp_path_factory.mktemp("schemathesis")
    home = pytest.MonkeyPatch()
    home.setenv("PHOTO_RECEIPT_HOME", str(root / "home"))  # dev keys of this module stay in its tmp dir
    app = create_app(_settings(root), background=False, plugins=False)
    with LiveServer(app) as server:
        rt = app.state.rt
        valid = issue_rows(rt)
        expired = issue_rows(rt, issued_at=datetime.now(UTC) - timedelta(days=200))
        revoked = issue_rows(rt)
        set_order_status(rt, revoked.order_id, "revoked")
        hidden = issue_rows(rt, "dongguan-ssc")
        yield {"url": server.url, "key": new_key(rt, "shenzhen-ssc", "guangdong-id", rate=100_000),
               "numbers": [valid.number, expired.number, revoked.number, hidden.number],
               "payload": valid.qr_payload, "openapi": app.openapi()}
    home.undo()


def test_the_schema_tested_is_the_one_served(served: dict[str, Any]) -> None:
    import httpx

    assert httpx.get(f"{served['url']}/openapi.json").json() == served["openapi"]
    tags = {op.get("tags", [""])[0] for path in served["openapi"]["paths"].values() for op in path.values()}
    assert "card-systems" in tags
    assert len(list(schema.get_all_operations())) == 6  # lookup, photo, batch, use, verify, keys


_TURN = itertools.count()
_KEYLESS = itertools.count()


def _pick(real: list[str]) -> str | None:
    """Every other call a real number, taking them in turn (hypothesis is derandomized: runs reproduce)."""
    turn = next(_TURN)
    return real[(turn // 2) % len(real)] if turn % 2 else None


@schema.parametrize()
@settings(max_examples=50, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
def test_card_api_matches_its_schema(case: Any, served: dict[str, Any]) -> None:
    if case.path_parameters and "number" in case.path_parameters:
        case.path_parameters["number"] = _pick(served["numbers"]) or case.path_parameters["number"]
    if case.path == "/api/v1/receipts/lookup" and isinstance(case.body, dict) and isinstance(case.body.get("numbers"), list):
        case.body["numbers"] = [_pick(served["numbers"]) or n for n in case.body["numbers"]]
    if case.path == "/api/v1/verify" and isinstance(case.body, dict) and _pick([""]) is not None:
        case.body["payload"] = served["payload"]
    headers = {"X-API-Key": served["key"]} if next(_KEYLESS) % 5 else {}  # about 1 in 5 without a key
    response = case.call_and_validate(base_url=served["url"], headers=headers, checks=CHECKS)
    SEEN.setdefault(f"{case.method} {case.path}", set()).add(response.status_code)


def test_the_generated_cases_reached_past_the_number_check() -> None:
    """Without this the run above could pass on 400s alone."""
    print({op: sorted(codes) for op, codes in SEEN.items()})
    lookup = SEEN.get("GET /api/v1/receipts/{number}", set())
    assert {200, 400, 401}.issubset(lookup) and lookup & {404, 410}
    assert 200 in SEEN.get("POST /api/v1/receipts/lookup", set())
    assert 200 in SEEN.get("GET /api/v1/receipts/{number}/photo.jpg", set())
    assert SEEN.get("POST /api/v1/verify", set()) & {200}
