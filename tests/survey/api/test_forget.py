"""Respondents' rights: an admin deletes one respondent's data by the identity they gave."""

from __future__ import annotations

import json
import uuid

import pytest

from survey.models import Answer, AuditEvent, Respondent, Response
from survey.services.identity import Identity, identity_hash
from survey.services.responses import response_submit
from tests.survey.answers import complete_answers

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]

FORGET = "/api/v1/questionnaires/ipb-survey/respondents/forget/"


def _submit(questionnaire, identity=None, **answers):
    return response_submit(
        questionnaire=questionnaire,
        answers=complete_answers(**answers),
        submission_id=uuid.uuid4(),
        channel="wechat" if identity and identity.kind == "wechat" else "api",
        identity=identity,
    ).response


@pytest.fixture
def admin(make_user, client_for):
    return client_for(make_user("keeper", "admin"))


def test_an_admin_deletes_one_wechat_respondents_responses_and_nothing_else(ipb, admin):
    asked = Identity("wechat", "oAbC-123")
    _submit(ipb, asked, D1=1)
    _submit(ipb, asked, D1=2)  # a second one (a duplicate, kept and marked)
    other = _submit(ipb, Identity("wechat", "oOther"), D1=1)
    answers_of_other = Answer.objects.filter(response=other).count()

    reply = admin.post(FORGET, {"kind": "wechat", "value": "oAbC-123"}, format="json")

    assert reply.status_code == 200, reply.json()
    assert reply.json() == {"deleted_responses": 2}
    assert list(Response.objects.values_list("pk", flat=True)) == [other.pk]
    assert Answer.objects.count() == answers_of_other
    assert not Respondent.objects.filter(identity_hash=identity_hash(asked)).exists()
    event = AuditEvent.objects.get(action="respondent_forget")
    assert event.details == {
        "kind": "wechat",
        "rows": 2,
        "actor": "keeper",
        "questionnaire": "ipb-survey",
    }
    recorded = json.dumps(event.details)
    assert "oAbC-123" not in recorded and identity_hash(asked) not in recorded


def test_a_collectors_respondent_key_is_found_with_the_collectors_name(
    ipb, admin, make_user, client_for
):
    collector = make_user("field-team", "collector", grants=(ipb,))
    body = {
        "submission_id": str(uuid.uuid4()),
        "respondent_key": "household-17",
        "answers": complete_answers(),
    }
    submitted = client_for(collector).post(
        "/api/v1/questionnaires/ipb-survey/submissions/", body, format="json"
    )
    assert submitted.status_code == 201, submitted.json()

    missing = admin.post(FORGET, {"kind": "collector", "value": "household-17"}, format="json")
    assert missing.status_code == 400
    assert missing.json()["fields"] == {
        "collector": ["Name the collector whose respondent key this is."]
    }
    reply = admin.post(
        FORGET,
        {"kind": "collector", "value": "household-17", "collector": "field-team"},
        format="json",
    )
    assert reply.json() == {"deleted_responses": 1}
    assert not Response.objects.exists()


def test_an_identity_that_never_answered_deletes_nothing_and_is_recorded(ipb, admin):
    _submit(ipb, Identity("device", "dev-1"))
    reply = admin.post(FORGET, {"kind": "device", "value": "someone-else"}, format="json")
    assert reply.json() == {"deleted_responses": 0}
    assert Response.objects.count() == 1
    assert AuditEvent.objects.get(action="respondent_forget").details["rows"] == 0


@pytest.mark.parametrize("role", ["analyst", "collector"])
def test_only_admins_may_delete(ipb, make_user, client_for, role):
    _submit(ipb, Identity("wechat", "oX"))
    client = client_for(make_user("someone", role, grants=(ipb,)))
    reply = client.post(FORGET, {"kind": "wechat", "value": "oX"}, format="json")
    assert reply.status_code == 403
    assert Response.objects.count() == 1


def test_a_bad_kind_is_a_clear_error(ipb, admin):
    reply = admin.post(FORGET, {"kind": "email", "value": "x"}, format="json")
    assert reply.status_code == 400
    assert list(reply.json()["fields"]) == ["kind"]


# --- the retention period -----------------------------------------------------------------------


def test_identities_past_the_retention_period_are_dropped_and_responses_stay(ipb):
    from datetime import timedelta

    from django.core.management import call_command
    from django.utils import timezone

    from survey.services.forget import identities_expire
    from survey.services.questionnaires import questionnaire_export, questionnaire_import

    document = questionnaire_export(questionnaire=ipb)
    document["settings"]["identity_retention_days"] = 30
    questionnaire_import(definition=document, replace=True)
    old = _submit(ipb, Identity("wechat", "oOld"))
    Response.objects.filter(pk=old.pk).update(
        submitted_at=timezone.now() - timedelta(days=31), ip_hash="f" * 64
    )
    recent = _submit(ipb, Identity("wechat", "oRecent"))

    assert identities_expire() == {"ipb-survey": 1}

    old.refresh_from_db()
    recent.refresh_from_db()
    assert (old.respondent_id, old.ip_hash) == (None, "")
    assert old.answer_rows.exists()  # the response and its answers stay, anonymous
    assert recent.respondent is not None
    assert not Respondent.objects.filter(identity_hash=identity_hash(Identity("wechat", "oOld")))
    event = AuditEvent.objects.get(action="identity_retention")
    assert event.details["rows"] == 1 and event.details["days"] == 30
    # Nothing is left to drop: a second pass changes nothing and records nothing.
    assert identities_expire() == {}
    call_command("expire_identities")
    assert AuditEvent.objects.filter(action="identity_retention").count() == 1


def test_the_retention_period_is_part_of_the_definition_and_checked(ipb):
    from survey.interchange_checks import definition_problems
    from survey.services.questionnaires import questionnaire_export

    document = questionnaire_export(questionnaire=ipb)
    document["settings"]["identity_retention_days"] = 0
    [problem] = definition_problems(document)
    assert (problem.code, problem.path) == ("not_allowed", "settings.identity_retention_days")
    assert problem.message == "must be a whole number of days from 1 to 3650, not a number (0)"
