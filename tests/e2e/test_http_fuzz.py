"""Fuzzing every HTTP API from its own OpenAPI document: whatever arrives, never a 5xx.

Schemathesis generates valid and invalid requests per operation; they are sent with a real key of
a real app (so they get past authentication and reach the handlers) to the running processes.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Ok

from services.devstack.stack import LocalStack
from tests.support.tenants import bearer, create_app

pytestmark = pytest.mark.e2e

EXAMPLES_PER_OPERATION = 25
#: The dead-letter routes read every parking topic to its end (about half a second each, waiting
#: for a quiet fetch): fewer examples keep the module's time; their input is two small models.
EXAMPLES_PER_TOPIC_READ = 5


@pytest.mark.parametrize("service", ["ingest", "registry", "badge-count"])
def test_no_request_makes_a_service_fail_with_a_server_error(
    stack: LocalStack, service: str
) -> None:
    app = asyncio.run(create_app(stack))
    schema = schemathesis.openapi.from_url(stack.services[service].url + "/openapi.json")
    results = list(schema.get_all_operations())
    operations = [result.ok() for result in results if isinstance(result, Ok)]
    assert len(operations) == len(results), "the OpenAPI document has invalid operations"
    checked = []

    for operation in operations:
        reads_topics = operation.path.startswith("/v1/admin/dead-letters")

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES_PER_TOPIC_READ if reads_topics else EXAMPLES_PER_OPERATION,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            database=None,
        )
        def never_5xx(case: Any) -> None:
            case.call_and_validate(headers=bearer(app.key), checks=[not_a_server_error])

        never_5xx()
        checked.append(operation.label)

    assert len(checked) == len(operations) > 0
