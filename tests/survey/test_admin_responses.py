import uuid

import pytest
from django.utils import translation

from survey.admin.responses import AnswerResource, ResponseResource
from survey.models import Answer, AuditEvent, Response
from survey.services.responses import response_submit
from survey.services.review import response_set_status
from tests.survey.answers import complete_answers

pytestmark = pytest.mark.django_db


@pytest.fixture
def stored(ipb):
    answers = complete_answers(Q18='=HYPERLINK("http://x")', D6=8, **{"D6.other": "+cmd"})
    return response_submit(
        questionnaire=ipb, answers=answers, submission_id=uuid.uuid4(), channel="api"
    ).response


def test_response_and_answer_exports_neutralise_formulas(stored):
    dataset = ResponseResource().export(Response.objects.all())
    answers_cell = dataset.dict[0]["answers"]
    assert answers_cell.startswith("{")  # JSON text, not a formula
    rows = AnswerResource().export(Answer.objects.filter(response=stored)).dict
    texts = {row["text"] for row in rows if row["text"]}
    assert texts == {'\'=HYPERLINK("http://x")', "'+cmd"}


def test_the_response_pages_are_read_only_and_show_no_hashes(stored, admin_client):
    with translation.override("en"):
        page = admin_client.get(f"/admin/survey/response/{stored.pk}/change/")
    assert page.status_code == 200
    assert "ip_hash" not in page.content.decode()
    assert admin_client.post(f"/admin/survey/response/{stored.pk}/delete/").status_code == 403
    assert Response.objects.filter(pk=stored.pk).exists()


def test_a_status_override_is_in_the_audit_trail(stored, admin_user):
    response_set_status(response=stored, status="invalid", reason="重复作答", user=admin_user)
    event = AuditEvent.objects.get(action=AuditEvent.Action.STATUS_OVERRIDE)
    assert event.actor == admin_user
    assert event.details["response"] == stored.pk
    assert (event.details["from"], event.details["to"]) == ("valid", "invalid")


def test_the_response_list_names_broken_rules_in_the_admins_language(ipb, admin_client):
    response_submit(
        questionnaire=ipb,
        answers=complete_answers(Q17=1),  # fails the attention check
        submission_id=uuid.uuid4(),
        channel="api",
    )
    page = admin_client.get("/admin/survey/response/", HTTP_ACCEPT_LANGUAGE="zh-hans")
    html = page.content.decode()
    assert "未通过注意力检测" in html
    assert ">attention<" not in html
