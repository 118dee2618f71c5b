"""Schemathesis against the project's own OpenAPI schema: for every operation, generated
requests never get a 5xx, and every answer conforms to the schema (status code, content
type, body)."""

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from rest_framework.throttling import UserRateThrottle
from schemathesis.checks import not_a_server_error
from schemathesis.config import SchemathesisConfig
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    positive_data_acceptance,
    response_schema_conformance,
    status_code_conformance,
)

from shopcrm.wsgi import application
from tests.factories import UserFactory, api_key

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    positive_data_acceptance,
]


@pytest.fixture
def api_schema(db):
    # Calling the WSGI app directly, as Django's test client does: the end of a request must
    # not close the test's database connection (and its transaction).
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    # 422 is the answer to an Idempotency-Key reused with another body (the IETF draft's
    # status); generated requests reuse keys, and that refusal is right, not a rejection
    # of valid data. NUL is refused in every query parameter (a 400 from
    # shopcrm.middleware), which the schema does not repeat on each string; the edge test
    # below sends it to every parameter instead.
    config = SchemathesisConfig.from_dict(
        {
            "generation": {"allow-x00": False},
            "checks": {
                "positive_data_acceptance": {
                    "expected-statuses": ["2xx", "401", "403", "404", "409", "422", "429"]
                }
            },
        }
    )
    yield schemathesis.openapi.from_wsgi("/api/schema/", application, config=config)
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


schema = schemathesis.pytest.from_fixture("api_schema")


@pytest.fixture
def token(db, monkeypatch):
    # Hundreds of generated requests a minute: throttling is tested on its own elsewhere.
    monkeypatch.setattr(
        UserRateThrottle, "THROTTLE_RATES", {"user": "100000/min", "anon": "100000/min"}
    )
    return api_key(UserFactory(role="dms_client", username="schemathesis"))


@pytest.mark.postgres
@schema.parametrize()
@settings(max_examples=50, deadline=None, suppress_health_check=list(HealthCheck))
def test_every_operation_conforms_to_its_schema(case, token):
    case.call_and_validate(headers={"Authorization": f"Token {token}"}, checks=CHECKS)


# Generated values rarely hit the ends of the calendar (a period ending 9999-12-31 was a 500
# that fifty examples an operation never drew) and NUL only by chance: every query
# parameter gets them here, and each must be a documented 400 naming what is wrong.
EDGES = {
    "date": ["0001-01-01", "9999-12-30", "9999-12-31", "1999-12-31", "2101-01-01"],
    "date-time": ["0001-01-01T00:00:00", "9999-12-31T23:59:59", "9999-12-31T23:59:59-12:00"],
}
VALID = {"date": "2024-06-30", "date-time": "2024-06-30T12:00:00+08:00"}
REFUSALS = [check for check in CHECKS if check is not positive_data_acceptance]


@pytest.mark.postgres
def test_far_dates_and_nul_in_every_query_parameter_are_documented_400s(api_schema, token):
    # A manager's token reads the reports too (a DMS client's is refused them).
    manager = api_key(UserFactory(role="manager", username="schemathesis-manager"))
    sent = 0
    for result in api_schema.get_all_operations():
        operation = result.ok()
        parameters = list(operation.query)
        required = {
            p.name: VALID.get(p.definition.get("schema", {}).get("format"), "1")
            for p in parameters
            if p.is_required
        }
        for parameter in parameters:
            shape = parameter.definition.get("schema", {}).get("format")
            for value in [*EDGES.get(shape, []), "\x00", "a\x00b"]:
                case = operation.Case(query={**required, parameter.name: value})
                answer = case.call_and_validate(
                    headers={"Authorization": f"Token {manager}"}, checks=REFUSALS
                )
                sent += 1
                assert answer.status_code == 400, (operation.label, parameter.name, value)
                body = answer.json()
                assert parameter.name in body or "NUL" in body["detail"], body
    assert sent > 100
