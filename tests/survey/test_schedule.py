"""An open questionnaire takes responses within its schedule and up to its limit: the submit
service refuses outside them (a retry of a stored submission still gets its response), the
form says why, the API answers 409, and the studio sets them."""

from __future__ import annotations

import threading
import uuid
from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone

from survey.models import Questionnaire, Response
from survey.services.collection import ScheduleInvalid, questionnaire_schedule_set
from survey.services.responses import QuestionnaireNotOpen, response_submit
from tests.survey.answers import complete_answers

pytestmark = pytest.mark.django_db


def submit(questionnaire, submission_id=None):
    return response_submit(
        questionnaire=questionnaire,
        answers=complete_answers(),
        submission_id=submission_id or uuid.uuid4(),
        channel="api",
    )


def schedule(questionnaire, **bounds):
    values = {"opens_at": None, "closes_at": None, "response_limit": None, **bounds}
    return questionnaire_schedule_set(questionnaire=questionnaire, **values)


def test_before_the_start_and_after_the_end_submissions_are_refused(ipb):
    now = timezone.now()
    schedule(ipb, opens_at=now + timedelta(hours=1))
    with pytest.raises(QuestionnaireNotOpen):
        submit(ipb)
    schedule(ipb, opens_at=now - timedelta(hours=2), closes_at=now - timedelta(hours=1))
    with pytest.raises(QuestionnaireNotOpen):
        submit(ipb)
    schedule(ipb, opens_at=now - timedelta(hours=1), closes_at=now + timedelta(hours=1))
    assert submit(ipb).created
    assert Response.objects.count() == 1


def test_the_limit_refuses_the_next_one_but_a_retry_gets_its_response(ipb):
    schedule(ipb, response_limit=2)
    first = uuid.uuid4()
    submit(ipb, first)
    submit(ipb)
    with pytest.raises(QuestionnaireNotOpen):
        submit(ipb)
    again = submit(ipb, first)
    assert again.created is False and Response.objects.count() == 2


def test_a_schedule_that_ends_before_it_starts_is_refused_naming_the_field(ipb):
    now = timezone.now()
    with pytest.raises(ScheduleInvalid) as refused:
        schedule(ipb, opens_at=now, closes_at=now - timedelta(minutes=1))
    assert "closes_at" in refused.value.fields
    ipb.refresh_from_db()
    assert ipb.closes_at is None


def test_the_form_says_not_yet_ended_or_full(ipb):
    now = timezone.now()
    schedule(ipb, opens_at=now + timedelta(days=1))
    page = Client().get("/s/ipb-survey/")
    assert page.status_code == 200 and 'data-window="not_yet"' in page.content.decode()
    schedule(ipb, closes_at=now - timedelta(minutes=1))
    assert Client().get("/s/ipb-survey/").status_code == 410
    schedule(ipb, response_limit=1)
    submit(ipb)
    full = Client().get("/s/ipb-survey/")
    assert full.status_code == 410 and 'data-window="full"' in full.content.decode()


def test_the_api_answers_409_outside_the_schedule(ipb, make_user, client_for):
    collector_client = client_for(make_user("c", "collector", grants=(ipb,)))
    schedule(ipb, opens_at=timezone.now() + timedelta(days=1))
    body = {"submission_id": str(uuid.uuid4()), "answers": complete_answers()}
    answer = collector_client.post(
        "/api/v1/questionnaires/ipb-survey/submissions/", body, format="json"
    )
    assert answer.status_code == 409 and answer.json()["error"] == "questionnaire_not_open"


def test_the_studio_sets_the_schedule(ipb, make_user):
    client = Client()
    client.force_login(make_user("boss", "admin"))
    answer = client.post(
        "/studio/ipb-survey/schedule/",
        {"opens_at": "2030-01-01T09:00", "closes_at": "2030-01-31T18:00", "response_limit": "500"},
    )
    assert answer.status_code == 302
    ipb.refresh_from_db()
    assert timezone.localtime(ipb.opens_at).strftime("%Y-%m-%d %H:%M") == "2030-01-01 09:00"
    assert ipb.response_limit == 500
    refused = client.post(
        "/studio/ipb-survey/schedule/",
        {"opens_at": "2030-01-02T09:00", "closes_at": "2030-01-01T09:00"},
        follow=True,
    )
    assert "结束时间必须晚于开始时间。" in [str(m) for m in refused.context["messages"]]
    ipb.refresh_from_db()
    assert ipb.response_limit == 500  # unchanged


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_limit_holds_when_many_submit_at_once(ipb):
    schedule(ipb, response_limit=5)
    outcomes: list[str] = []
    start = threading.Barrier(12)

    def one() -> None:
        start.wait()
        try:
            submit(Questionnaire.objects.get(pk=ipb.pk))
            outcomes.append("stored")
        except QuestionnaireNotOpen:
            outcomes.append("full")
        finally:
            connection.close()

    threads = [threading.Thread(target=one) for _ in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert outcomes.count("stored") == 5 and outcomes.count("full") == 7
    assert Response.objects.filter(questionnaire=ipb).count() == 5
