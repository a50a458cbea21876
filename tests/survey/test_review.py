import uuid

import pytest
from django.contrib.auth.models import User
from django.db import DatabaseError
from django.db.models import QuerySet

from survey.models import Response, StatusChange
from survey.services.responses import response_submit
from survey.services.review import StatusChangeInvalid, response_set_status
from tests.survey.answers import complete_answers

pytestmark = pytest.mark.django_db


@pytest.fixture
def reviewer(db) -> User:
    return User.objects.create_user("reviewer")


@pytest.fixture
def flagged(ipb) -> Response:
    answers = complete_answers(Q5={item: 2 for item in "abcde"})
    return response_submit(
        questionnaire=ipb, answers=answers, submission_id=uuid.uuid4(), channel="api"
    ).response


def test_a_decision_sets_the_status_and_the_manual_status(flagged, reviewer):
    returned = response_set_status(
        response=flagged, status="valid", reason="called the respondent", user=reviewer
    )
    assert returned is flagged
    assert (flagged.status, flagged.manual_status) == ("valid", "valid")
    stored = Response.objects.get(pk=flagged.pk)
    assert (stored.status, stored.manual_status) == ("valid", "valid")


def test_a_decision_is_recorded_with_who_when_from_what_and_why(flagged, reviewer):
    response_set_status(response=flagged, status="invalid", reason="  bot-like  ", user=reviewer)
    change = StatusChange.objects.get()
    assert change.response_id == flagged.pk
    assert (change.from_status, change.to_status) == ("flagged", "invalid")
    assert change.reason == "bot-like"
    assert change.changed_by == reviewer
    assert change.changed_at is not None


def test_successive_decisions_each_record_the_status_they_replaced(flagged, reviewer):
    response_set_status(response=flagged, status="valid", reason="ok", user=reviewer)
    response_set_status(response=flagged, status="invalid", reason="not ok", user=reviewer)
    changes = list(StatusChange.objects.order_by("id").values_list("from_status", "to_status"))
    assert changes == [("flagged", "valid"), ("valid", "invalid")]


def test_the_from_status_is_read_from_the_database_not_a_stale_object(flagged, reviewer):
    stale = Response.objects.get(pk=flagged.pk)
    response_set_status(response=flagged, status="valid", reason="first", user=reviewer)
    response_set_status(response=stale, status="invalid", reason="second", user=reviewer)
    assert StatusChange.objects.order_by("-id").first().from_status == "valid"


def test_the_rule_reasons_stay_as_they_were(flagged, reviewer):
    response_set_status(response=flagged, status="valid", reason="fine", user=reviewer)
    assert Response.objects.get(pk=flagged.pk).reasons == ["straightlining"]


@pytest.mark.parametrize("status", ["great", "", None, 1, "VALID"])
def test_an_unknown_status_is_refused_and_nothing_changes(flagged, reviewer, status):
    with pytest.raises(StatusChangeInvalid) as excinfo:
        response_set_status(response=flagged, status=status, reason="x", user=reviewer)
    assert set(excinfo.value.fields) == {"status"}
    assert excinfo.value.code == "invalid_status_change"
    assert StatusChange.objects.count() == 0
    assert Response.objects.get(pk=flagged.pk).manual_status == ""


@pytest.mark.parametrize("reason", ["", "   \n", None, 7, "x" * 2001, "nul\x00"])
def test_an_empty_or_unusable_reason_is_refused_and_nothing_changes(flagged, reviewer, reason):
    with pytest.raises(StatusChangeInvalid) as excinfo:
        response_set_status(response=flagged, status="valid", reason=reason, user=reviewer)
    assert set(excinfo.value.fields) == {"reason"}
    assert StatusChange.objects.count() == 0
    assert Response.objects.get(pk=flagged.pk).status == "flagged"


def test_both_problems_are_reported_at_once(flagged, reviewer):
    with pytest.raises(StatusChangeInvalid) as excinfo:
        response_set_status(response=flagged, status="nope", reason="", user=reviewer)
    assert set(excinfo.value.fields) == {"status", "reason"}


def test_a_failed_status_write_rolls_back_the_recorded_change(flagged, reviewer, monkeypatch):
    def fail(*args, **kwargs):
        raise DatabaseError("simulated failure after the StatusChange insert")

    monkeypatch.setattr(QuerySet, "update", fail)
    with pytest.raises(DatabaseError):
        response_set_status(response=flagged, status="valid", reason="x", user=reviewer)
    monkeypatch.undo()
    assert StatusChange.objects.count() == 0
    assert Response.objects.get(pk=flagged.pk).status == "flagged"
