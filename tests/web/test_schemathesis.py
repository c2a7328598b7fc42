"""Property-based API checks: schemathesis drives the app through its own OpenAPI spec (no 5xx, spec-true).

Each operation gets a few generated requests, valid ones and invalid ones, so the module runs in seconds.
The operations are driven by hand (Hypothesis `given` per operation) rather than through schemathesis'
pytest plugin, which does not support pytest 9 yet.
"""

from __future__ import annotations

from typing import Any

import pytest

schemathesis = pytest.importorskip("schemathesis", reason="schemathesis is not installed")

from hypothesis import HealthCheck, given, settings  # noqa: E402
from schemathesis import GenerationMode  # noqa: E402
from schemathesis.checks import content_type_conformance  # noqa: E402

from huntbrief.adapters.store import SqlStore  # noqa: E402
from huntbrief.app.web import create_app  # noqa: E402

EXAMPLES = 6


@pytest.fixture(scope="module")
def api_schema(web_store: SqlStore) -> Any:
    """The public spec: the JSON API only."""
    return schemathesis.openapi.from_asgi("/api/v1/openapi.json", create_app(web_store))


@pytest.fixture(scope="module")
def full_schema(web_store: SqlStore) -> Any:
    """The API and the HTML pages."""
    return schemathesis.openapi.from_asgi("/api/v1/openapi.json", create_app(web_store, document_pages=True))


def operations(schema: Any) -> list[Any]:
    return [result.ok() for result in schema.get_all_operations()]


def test_spec_has_every_api_operation(api_schema: Any) -> None:
    labels = {op.label for op in operations(api_schema)}
    assert len(labels) == 9 and "GET /api/v1/briefs/{brief_id}/{fmt}" in labels


def checker(operation: Any, mode: GenerationMode) -> Any:
    """A Hypothesis test sending generated requests to one operation and validating each response."""
    # HTML pages answer bad input with an HTML error page, not the JSON body FastAPI documents
    excluded = [] if operation.path.startswith("/api/") else [content_type_conformance]

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    def check(case: Any) -> None:
        case.call_and_validate(excluded_checks=excluded)

    return check


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_api_and_pages_honour_the_spec(full_schema: Any, mode: GenerationMode) -> None:
    for operation in operations(full_schema):
        if mode is GenerationMode.NEGATIVE and not list(operation.iter_parameters()):
            continue  # nothing to make invalid
        checker(operation, mode)()
