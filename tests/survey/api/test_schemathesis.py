"""Property-based runs of the published OpenAPI schema against the app itself (WSGI).

For each operation of ``survey.api``, schemathesis generates requests from the schema
(positive: data the schema allows; negative: data it forbids) and sends them as a user who is
both collector and analyst of the reference questionnaire. No request may cause a 5xx, every
answer must be one the schema documents (status code, content type, headers and body), and
in negative mode every request the schema forbids must be refused.
"""

from __future__ import annotations

import re
import uuid

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, given, settings, strategies
from hypothesis.errors import Unsatisfiable
from rest_framework.authtoken.models import Token
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from config.wsgi import application
from survey.services.responses import response_submit
from tests.survey.answers import complete_answers

pytestmark = pytest.mark.django_db

MAX_EXAMPLES = 40
# The operations of survey.api (the analysis API, in the same schema, is analysis's to test).
SURVEY_API = re.compile(r"^/api/v1/questionnaires/\{slug\}/(definition|submissions|responses)/")
CONFORMANCE = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
MODES = {
    "positive": (schemathesis.GenerationMode.POSITIVE, CONFORMANCE),
    "negative": (schemathesis.GenerationMode.NEGATIVE, [*CONFORMANCE, negative_data_rejection]),
}


@pytest.fixture
def keep_test_connection():
    """The WSGI app closes the database connection after each request (as in production),
    which would end the test's transaction on PostgreSQL; Django's own test client turns
    that off the same way."""
    for signal in (request_started, request_finished):
        signal.disconnect(close_old_connections)
    yield
    for signal in (request_started, request_finished):
        signal.connect(close_old_connections)


@pytest.fixture
def api_schema(keep_test_connection, settings_override, ipb):
    return schemathesis.openapi.from_wsgi("/api/v1/schema/", application)


@pytest.fixture
def settings_override(settings):
    settings.SUBMIT_RATE_LIMIT = "100000/minute"
    settings.DEFINITION_RATE_LIMIT = "100000/minute"
    settings.ALLOWED_HOSTS = ["*"]  # the WSGI client's host name is its own
    return settings


@pytest.fixture
def worker_token(make_user, ipb) -> str:
    user = make_user("worker", "collector", "analyst", grants=(ipb,))
    return Token.objects.create(user=user).key


def _operation_ids(schema) -> list[str]:
    return [result.ok().label for result in schema.get_all_operations()]


def _strategy(operation, mode, response_id: int):
    fixed = {"slug": "ipb-survey"}
    if "{response_id}" in operation.path:
        fixed["response_id"] = response_id
    choices = [
        operation.as_strategy(mode, path_parameters=fixed),
        operation.as_strategy(mode),
    ]
    if mode.is_positive and operation.path.endswith("/submissions/"):
        valid = {"submission_id": str(uuid.uuid4()), "answers": complete_answers()}
        choices.append(operation.as_strategy(mode, path_parameters=fixed, body=valid))
    return strategies.one_of(choices)


@pytest.mark.parametrize("mode_name", sorted(MODES))
def test_no_generated_request_causes_a_server_error_or_an_undocumented_answer(
    api_schema, worker_token, ipb, mode_name
):
    mode, checks = MODES[mode_name]
    response_id = response_submit(
        questionnaire=ipb, answers=complete_answers(), submission_id=uuid.uuid4(), channel="api"
    ).response.pk
    headers = {"Authorization": f"Token {worker_token}"}
    operations = [
        operation
        for operation in (result.ok() for result in api_schema.get_all_operations())
        if SURVEY_API.match(operation.path)
    ]
    assert len(operations) == 5
    skipped: list[str] = []
    for operation in operations:

        @given(case=_strategy(operation, mode, response_id))
        @settings(
            max_examples=MAX_EXAMPLES,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def run(case):
            case.call_and_validate(headers=headers, checks=checks)

        try:
            run()
        except Unsatisfiable:
            # Negative mode: an operation whose only inputs are path parameters the strategy
            # fixes has nothing left to make invalid.
            assert not mode.is_positive, operation.label
            skipped.append(operation.label)
    assert len(skipped) < len(operations), skipped
