"""schemathesis against the served OpenAPI (every route: the applicant's, health, metrics): no 5xx,
no undocumented status, responses that match their documented schema and content type.
Bounded: at most MAX_EXAMPLES generated cases per route, derandomized (the same cases every run)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

schemathesis = pytest.importorskip("schemathesis")
from hypothesis import HealthCheck, settings  # noqa: E402 - after the skip
from schemathesis.checks import not_a_server_error  # noqa: E402
from schemathesis.specs.openapi.checks import (  # noqa: E402
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from receipt.web.app import create_app  # noqa: E402
from tests.service_fixtures import Backend, LiveServer  # noqa: E402

MAX_EXAMPLES = 60
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    root: Path = tmp_path_factory.mktemp("openapi")
    (root / "home").mkdir()
    backend = Backend("sqlite", f"sqlite:///{root / 'api.db'}", root)
    with LiveServer(create_app(backend.settings(), plugins=False)) as server:
        yield server


@pytest.fixture(scope="module")
def api_schema(served: LiveServer) -> object:
    return schemathesis.openapi.from_url(f"{served.url}/openapi.json")


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(max_examples=MAX_EXAMPLES, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.function_scoped_fixture])
def test_applicant_routes_answer_as_documented(case: object) -> None:
    case.call_and_validate(checks=CHECKS)  # type: ignore[attr-defined]
