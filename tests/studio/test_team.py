"""A questionnaire's team: grants, and collector tokens whose secret is shown once, works for
this questionnaire's submissions only, and stops working when revoked."""

from __future__ import annotations

import uuid

import pytest
from rest_framework.test import APIClient

from survey.models import AuditEvent, QuestionnaireAccess
from tests.studio.test_builder import admin, client_as  # noqa: F401 (fixture)
from tests.survey.answers import complete_answers

pytestmark = pytest.mark.django_db
TEAM = "/studio/ipb-survey/team/"


def test_an_admin_grants_and_removes_an_analyst(ipb, admin, make_user):  # noqa: F811
    reader = make_user("reader")
    answer = admin.post(TEAM, {"action": "grant", "username": "reader", "role": "analyst"})
    assert answer.status_code == 302
    assert QuestionnaireAccess.objects.filter(user=reader, questionnaire=ipb).exists()
    assert reader.groups.filter(name="analyst").exists()
    assert 'data-person="reader"' in admin.get(TEAM).content.decode()
    admin.post(TEAM, {"action": "revoke", "user": str(reader.pk)})
    assert not QuestionnaireAccess.objects.filter(user=reader).exists()
    actions = list(AuditEvent.objects.values_list("action", flat=True).order_by("pk"))
    assert actions[-2:] == ["access_grant", "access_revoke"]


def test_a_grant_of_an_unknown_account_is_refused_with_its_name(ipb, admin):  # noqa: F811
    answer = admin.post(
        TEAM, {"action": "grant", "username": "ghost", "role": "analyst"}, follow=True
    )
    assert "ghost" in next(str(m) for m in answer.context["messages"])


def test_a_collector_token_is_shown_once_submits_here_only_and_dies_when_revoked(ipb, admin):  # noqa: F811
    created = admin.post(TEAM, {"action": "token"})
    assert created.status_code == 200 and "no-store" in created["Cache-Control"]
    secret = created.context["created"].secret
    assert f"Authorization: Token {secret}" in created.content.decode()  # the curl example
    later = admin.get(TEAM).content.decode()
    assert secret not in later and f"{secret[:4]}…" in later

    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {secret}")
    url = "/api/v1/questionnaires/ipb-survey/submissions/"
    body = {"submission_id": str(uuid.uuid4()), "answers": complete_answers()}
    assert api.post(url, body, format="json").status_code == 201
    assert api.get("/api/v1/questionnaires/ipb-survey/analysis/").status_code == 403

    user_id = created.context["tokens"][0]["user"].pk
    admin.post(TEAM, {"action": "untoken", "user": str(user_id)})
    body = {"submission_id": str(uuid.uuid4()), "answers": complete_answers()}
    assert api.post(url, body, format="json").status_code == 401
    details = AuditEvent.objects.filter(action="token_create").get().details
    assert secret not in str(details)


def test_only_admins_open_the_team_page(ipb, make_user):
    analyst = client_as(make_user, "a", "analyst", grants=(ipb,))
    assert analyst.get(TEAM).status_code == 403
    assert analyst.post(TEAM, {"action": "token"}).status_code == 403
