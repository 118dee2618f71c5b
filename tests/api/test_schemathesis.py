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
    # of valid data.
    config = SchemathesisConfig.from_dict(
        {
            "checks": {
                "positive_data_acceptance": {
                    "expected-statuses": ["2xx", "401", "403", "404", "409", "422", "429"]
                }
            }
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
