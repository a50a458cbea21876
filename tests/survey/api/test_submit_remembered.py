"""A collector's submissions use the questionnaire their process found before, without
looking it up again (wenji.access.questionnaire_for_user_remembered); the statement that stores
each one checks that the questionnaire is unchanged and still granted, so whatever happened
since (a close, a reopening, a new definition, a revoked grant) is answered as it is now."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from survey.models import Questionnaire, QuestionnaireAccess, Response
from tests.survey.api.helpers import assert_error, submission_body, submission_url

pytestmark = pytest.mark.django_db


def post(client):
    with CaptureQueriesContext(connection) as queries:
        reply = client.post(submission_url(), submission_body(), format="json")
    lookups = [q["sql"] for q in queries if '"survey_questionnaire"."slug" =' in q["sql"]]
    return reply, len(lookups)


def test_a_second_submission_does_not_look_the_questionnaire_up_again(collector_client):
    first, first_lookups = post(collector_client)
    second, second_lookups = post(collector_client)
    assert (first.status_code, second.status_code) == (201, 201)
    assert (first_lookups, second_lookups) == (1, 0)


def test_each_collector_has_their_own_lookup(make_user, client_for, ipb, collector_client):
    other = client_for(make_user("other", "collector", grants=(ipb,)))
    assert post(collector_client)[1] == 1
    assert post(other)[1] == 1
    assert post(other)[1] == 0


def test_a_grant_revoked_after_a_submission_refuses_the_next_with_404(collector, collector_client):
    assert post(collector_client)[0].status_code == 201
    QuestionnaireAccess.objects.filter(user=collector).delete()
    assert_error(post(collector_client)[0], 404, "not_found")
    assert Response.objects.count() == 1
    # and it stays refused, now from a fresh lookup
    reply, lookups = post(collector_client)
    assert_error(reply, 404, "not_found")
    assert lookups == 1


def test_a_questionnaire_closed_after_a_submission_refuses_the_next(ipb, collector_client):
    assert post(collector_client)[0].status_code == 201
    Questionnaire.objects.get(pk=ipb.pk).close()
    assert_error(post(collector_client)[0], 409, "questionnaire_not_open")
    assert Response.objects.count() == 1


def test_a_questionnaire_closed_and_reopened_since_takes_the_next(ipb, collector_client):
    assert post(collector_client)[0].status_code == 201
    again = Questionnaire.objects.get(pk=ipb.pk)
    again.close()
    again.publish()
    reply, _lookups = post(collector_client)
    assert reply.status_code == 201, reply.json()
    assert Response.objects.count() == 2


def test_a_definition_changed_since_stores_the_next_under_the_new_version(ipb, collector_client):
    assert post(collector_client)[0].status_code == 201
    Questionnaire.objects.get(pk=ipb.pk).bump_definition_version()
    reply, _lookups = post(collector_client)
    assert reply.status_code == 201, reply.json()
    assert Response.objects.get(pk=reply.json()["id"]).definition_version == 2
    assert post(collector_client)[1] == 0  # the new version is what is remembered now
