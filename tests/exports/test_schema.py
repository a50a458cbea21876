"""The exports API tried by schemathesis against its own published schema: no generated request
(allowed or forbidden by the schema) causes a 5xx or an answer the schema does not document,
and in negative mode every forbidden request is refused."""

from __future__ import annotations

import re

import pytest
from rest_framework.authtoken.models import Token

from tests.exports.support import submit
from tests.schema_run import MODE_NAMES, api_operations, fixed_or_free, schema_run

pytestmark = pytest.mark.django_db


EXPORTS_API = re.compile(r"^/api/v1/questionnaires/\{slug\}/exports/")


@pytest.mark.parametrize("mode_name", sorted(MODE_NAMES))
def test_no_generated_request_causes_a_server_error_or_an_undocumented_answer(
    ipb, analyst, requested, settings, keep_test_connection, mode_name
):
    settings.ALLOWED_HOSTS = ["*"]
    submit(ipb)
    export = requested(questionnaire=ipb, kind="responses_wide", fmt="csv", user=analyst)
    token = Token.objects.create(user=analyst).key
    operations = api_operations(EXPORTS_API)
    assert len(operations) == 5
    unsatisfiable = schema_run(
        operations=operations,
        mode_name=mode_name,
        token=token,
        strategy=fixed_or_free({"slug": ipb.slug, "export_id": export.pk}),
        max_examples=25,
    )
    assert len(unsatisfiable) < len(operations)
