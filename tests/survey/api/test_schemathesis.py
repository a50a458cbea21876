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
from hypothesis import strategies
from rest_framework.authtoken.models import Token

from survey.services.responses import response_submit
from tests.schema_run import MODE_NAMES, api_operations, fixed_or_free, schema_run
from tests.survey.answers import complete_answers

pytestmark = pytest.mark.django_db

MAX_EXAMPLES = 40
# The operations of survey.api (the analysis API, in the same schema, is analysis's to test).
SURVEY_API = re.compile(r"^/api/v1/questionnaires/\{slug\}/(definition|submissions|responses)/")


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


def _strategy(response_id: int):
    """Fixed or free path parameters; for submissions also a valid body now and then."""
    fixed = {"slug": "ipb-survey", "response_id": response_id}
    either = fixed_or_free(fixed)

    def strategy(operation, mode):
        if not (mode.is_positive and operation.path.endswith("/submissions/")):
            return either(operation, mode)
        valid = {"submission_id": str(uuid.uuid4()), "answers": complete_answers()}
        body = operation.as_strategy(mode, path_parameters={"slug": "ipb-survey"}, body=valid)
        return strategies.one_of(either(operation, mode), body)

    return strategy


@pytest.mark.parametrize("mode_name", sorted(MODE_NAMES))
def test_no_generated_request_causes_a_server_error_or_an_undocumented_answer(
    keep_test_connection, settings_override, worker_token, ipb, mode_name
):
    response_id = response_submit(
        questionnaire=ipb, answers=complete_answers(), submission_id=uuid.uuid4(), channel="api"
    ).response.pk
    operations = api_operations(SURVEY_API)
    assert len(operations) == 10  # the admins' draft operations are tried in test_drafts.py
    skipped = schema_run(
        operations=operations,
        mode_name=mode_name,
        token=worker_token,
        strategy=_strategy(response_id),
        max_examples=MAX_EXAMPLES,
        check_headers=True,
    )
    assert len(skipped) < len(operations), skipped
