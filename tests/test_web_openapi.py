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


def _settings(root: Path) -> object:
    return Backend("sqlite", f"sqlite:///{root / 'api.db'}", root).settings()


# The cases come from the app's own OpenAPI document (schemathesis' lazy fixture loader does not run on
# pytest 9); the first test checks it is exactly what the server serves. The applicant's routes, health
# and metrics: the reviewer and card-system routes have their own schema tests.
schema = schemathesis.openapi.from_dict(
    create_app(_settings(Path("/nonexistent")), plugins=False).openapi()  # type: ignore[arg-type]
).include(tag_regex="^(orders|files|specs|service)$")


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveServer, dict[str, object]]]:
    root: Path = tmp_path_factory.mktemp("openapi")
    (root / "home").mkdir()
    app = create_app(_settings(root), plugins=False)  # type: ignore[arg-type]
    with LiveServer(app) as server:
        yield server, app.openapi()


def test_the_schema_tested_is_the_one_served(served: tuple[LiveServer, dict[str, object]]) -> None:
    import httpx

    server, document = served
    assert httpx.get(f"{server.url}/openapi.json").json() == document
    assert len(list(schema.get_all_operations())) >= 8


@schema.parametrize()
@settings(max_examples=MAX_EXAMPLES, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.function_scoped_fixture])
def test_applicant_routes_answer_as_documented(case: object, served: tuple[LiveServer, dict[str, object]]) -> None:
    case.call_and_validate(base_url=served[0].url, checks=CHECKS)  # type: ignore[attr-defined]
