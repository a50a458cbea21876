"""The exports API tried by schemathesis against its own published schema: no generated request
(allowed or forbidden by the schema) causes a 5xx or an answer the schema does not document,
and in negative mode every forbidden request is refused."""

from __future__ import annotations

import re

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, given, strategies
from hypothesis import settings as hypothesis_settings
from hypothesis.errors import Unsatisfiable
from rest_framework.authtoken.models import Token
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

from config.wsgi import application
from tests.exports.support import submit

pytestmark = pytest.mark.django_db


EXPORTS_API = re.compile(r"^/api/v1/questionnaires/\{slug\}/exports/")
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
MODES = {
    "positive": (schemathesis.GenerationMode.POSITIVE, CHECKS),
    "negative": (schemathesis.GenerationMode.NEGATIVE, [*CHECKS, negative_data_rejection]),
}


@pytest.fixture
def keep_test_connection():
    """The WSGI app closes the database connection after each request (as in production),
    which would end the test's transaction on PostgreSQL; Django's test client turns that
    off the same way."""
    for signal in (request_started, request_finished):
        signal.disconnect(close_old_connections)
    yield
    for signal in (request_started, request_finished):
        signal.connect(close_old_connections)


@pytest.mark.parametrize("mode_name", sorted(MODES))
def test_no_generated_request_causes_a_server_error_or_an_undocumented_answer(
    ipb, analyst, requested, settings, keep_test_connection, mode_name
):
    settings.ALLOWED_HOSTS = ["*"]
    mode, checks = MODES[mode_name]
    submit(ipb)
    export = requested(questionnaire=ipb, kind="responses_wide", fmt="csv", user=analyst)
    token = Token.objects.create(user=analyst).key
    schema = schemathesis.openapi.from_wsgi("/api/v1/schema/", application)
    operations = [
        result.ok() for result in schema.get_all_operations() if EXPORTS_API.match(result.ok().path)
    ]
    assert len(operations) == 5
    fixed = {"slug": ipb.slug}
    unsatisfiable = 0
    for operation in operations:
        path = {**fixed, "export_id": export.pk} if "{export_id}" in operation.path else fixed
        strategy = strategies.one_of(
            operation.as_strategy(mode, path_parameters=path), operation.as_strategy(mode)
        )

        @given(case=strategy)
        @hypothesis_settings(
            max_examples=25,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def call(case):
            case.call_and_validate(headers={"Authorization": f"Token {token}"}, checks=checks)

        try:
            call()
        except Unsatisfiable:
            assert not mode.is_positive, operation.label
            unsatisfiable += 1
    assert unsatisfiable < len(operations)
