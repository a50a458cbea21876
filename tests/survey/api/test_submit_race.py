"""Concurrent retries of one submission against a real PostgreSQL: the database's unique
constraint on submission_id decides, and every caller gets the one stored response."""

from __future__ import annotations

import threading
import time
import uuid

import pytest
from django.db import IntegrityError, connection, transaction
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from survey.interchange import DefinitionError
from survey.models import Answer, Option, Respondent, Response
from survey.services.questionnaires import questionnaire_export, questionnaire_import
from survey.services.responses import AnswersInvalid, answer_rows, response_submit
from survey.structure import structure_for
from tests.survey.answers import complete_answers
from tests.survey.api.helpers import submission_url

# serialized_rollback: the flush after a transactional test would otherwise also remove the
# rows migrations create (the role groups) for the tests that run after this one.
pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def run_at_once(count: int, work) -> list:
    """Run ``work()`` in ``count`` threads released together; their results, or raise."""
    barrier = threading.Barrier(count)
    results: list = []
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            barrier.wait(timeout=30)
            results.append(work())
        except BaseException as exc:  # noqa: BLE001  (re-raised in the main thread below)
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    if errors:
        raise errors[0]
    assert len(results) == count
    return results


@pytest.fixture
def token(make_user, ipb, settings) -> str:
    settings.SUBMIT_RATE_LIMIT = "1000/minute"
    collector = make_user("racer", "collector", grants=(ipb,))
    return Token.objects.create(user=collector).key


@pytest.mark.parametrize("count", [2, 8])
def test_simultaneous_posts_of_one_submission_store_one_row(token, count):
    body = {
        "submission_id": str(uuid.uuid4()),
        "answers": complete_answers(),
        "respondent_key": "household-1",
    }

    def post() -> tuple[int, dict]:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
        reply = client.post(submission_url(), body, format="json")
        return reply.status_code, reply.json()

    results = run_at_once(count, post)
    assert sorted(code for code, _ in results) == [200] * (count - 1) + [201]
    assert len({reply["id"] for _, reply in results}) == 1
    assert Response.objects.count() == 1
    assert Respondent.objects.count() == 1
    assert Response.objects.get().status == "valid"  # the retries are not duplicates


@pytest.mark.parametrize("count", [2, 8])
def test_simultaneous_service_calls_return_the_same_response(ipb, count):
    submission_id = uuid.uuid4()

    def submit():
        return response_submit(
            questionnaire=ipb,
            answers=complete_answers(),
            submission_id=submission_id,
            channel="api",
        )

    results = run_at_once(count, submit)
    assert sorted(result.created for result in results) == [False] * (count - 1) + [True]
    assert len({result.response.pk for result in results}) == 1
    assert Response.objects.count() == 1


# --- a submission and an import of the same questionnaire at once ------------------------------
# The answer rows' links to questions, items and options have no database constraint
# (survey.models.Answer): what stops a submission from pointing at an option an import removes
# is the share lock its INSERT takes on the questionnaire row, which the import holds FOR UPDATE.


def waiting_on_a_lock(timeout: float = 30) -> None:
    """Return once another session of this database waits for a lock; fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
            )
            if cursor.fetchone()[0]:
                return
        time.sleep(0.02)
    raise AssertionError("no session came to wait for a lock")


def in_thread(work) -> tuple[threading.Thread, dict]:
    outcome: dict = {}

    def run() -> None:
        try:
            outcome["result"] = work()
        except Exception as exc:  # noqa: BLE001  (the test reads it)
            outcome["error"] = exc
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    return thread, outcome


def second_waits_for_first(first, second) -> tuple[dict, dict]:
    """Run ``first`` in a transaction left open in one thread; then ``second`` in another;
    once ``second`` waits for a lock, commit ``first``. Their outcomes (``result``/``error``)."""
    done, release = threading.Event(), threading.Event()

    def held():
        with transaction.atomic():
            result = first()
            done.set()
            assert release.wait(30)
        return result

    holder, held_outcome = in_thread(held)
    assert done.wait(30), held_outcome
    waiter, outcome = in_thread(second)
    try:
        waiting_on_a_lock()
    finally:
        release.set()
        holder.join(timeout=60)
        waiter.join(timeout=60)
    return held_outcome, outcome


def submit(ipb, answers):
    return lambda: response_submit(
        questionnaire=ipb, answers=answers, submission_id=uuid.uuid4(), channel=Response.Channel.API
    )


def submit_while_an_import_holds_the_questionnaire(ipb, change, answers) -> dict:
    """Read ``ipb``, let an import made by ``change`` take the questionnaire and write its rows,
    submit ``answers`` against ``ipb`` as read, and commit the import once the submission waits
    for it. The submission's outcome: ``result`` or ``error``."""
    definition = questionnaire_export(questionnaire=ipb)
    change(definition)
    imported, outcome = second_waits_for_first(
        lambda: questionnaire_import(definition=definition, replace=True), submit(ipb, answers)
    )
    assert "error" not in imported, imported
    return outcome


def drop_option(code: str, option: int):
    def change(definition: dict) -> None:
        for section in definition["sections"]:
            for question in section["questions"]:
                if question["code"] == code:
                    question["options"] = [o for o in question["options"] if o["code"] != option]

    return change


def test_a_submission_choosing_an_option_an_import_removes_meanwhile_is_refused(ipb):
    outcome = submit_while_an_import_holds_the_questionnaire(
        ipb, drop_option("D2", 3), complete_answers(D2=3)
    )

    assert isinstance(outcome.get("error"), AnswersInvalid), outcome
    assert set(outcome["error"].fields) == {"D2"}
    assert not Response.objects.exists()
    assert not Answer.objects.exists()
    assert not ipb.questions.get(code="D2").options.filter(code="3").exists()


def test_a_submission_not_choosing_the_removed_option_is_stored_under_the_new_definition(ipb):
    outcome = submit_while_an_import_holds_the_questionnaire(
        ipb, drop_option("D2", 3), complete_answers(D2=2)
    )

    stored = outcome["result"].response
    stored.refresh_from_db()
    assert stored.definition_version == 2
    option_ids = set(Option.objects.values_list("pk", flat=True))
    rows = Answer.objects.filter(response=stored)
    assert rows.count() == len(answer_rows(structure_for(ipb), complete_answers(D2=2)))
    assert {row.option_id for row in rows if row.option_id} <= option_ids


def test_an_import_removing_an_option_waits_for_a_submission_in_flight_then_refuses(ipb):
    definition = questionnaire_export(questionnaire=ipb)
    drop_option("D2", 3)(definition)
    submitted, outcome = second_waits_for_first(
        submit(ipb, complete_answers(D2=3)),
        lambda: questionnaire_import(definition=definition, replace=True),
    )

    assert "error" not in submitted, submitted
    assert isinstance(outcome.get("error"), DefinitionError), outcome
    # "question D2: option 3 removed (1 answer) …", in the default language
    assert any("D2" in problem and "3" in problem for problem in outcome["error"].problems[1:])
    answered = Answer.objects.get(question__code="D2").option
    assert answered.code == "3" and answered.question.questionnaire_id == ipb.pk


# --- deleting an answered definition row, however it is deleted (migration 0029) -------------


def test_the_database_refuses_to_delete_an_answered_option_even_by_raw_sql(ipb):
    response_submit(
        questionnaire=ipb,
        answers=complete_answers(D2=3),
        submission_id=uuid.uuid4(),
        channel=Response.Channel.API,
    )
    option = Option.objects.get(question__questionnaire=ipb, question__code="D2", code="3")
    for table, pk in (
        ("survey_option", option.pk),
        ("survey_question", option.question_id),
        ("survey_item", Answer.objects.exclude(item=None).first().item_id),
    ):
        with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(f"DELETE FROM {table} WHERE id = %s", [pk])
    assert Option.objects.filter(pk=option.pk).exists()


def test_an_option_deleted_while_a_submission_choosing_it_is_in_flight_is_refused(ipb):
    option = Option.objects.get(question__questionnaire=ipb, question__code="D2", code="3")
    # The ORM's PROTECT check runs before the submission commits and finds no answer; the
    # database's check runs after it, as the deletion waits for the questionnaire row.
    submitted, outcome = second_waits_for_first(
        submit(ipb, complete_answers(D2=3)), lambda: Option.objects.filter(pk=option.pk).delete()
    )

    assert "error" not in submitted, submitted
    assert isinstance(outcome.get("error"), IntegrityError), outcome
    assert Answer.objects.get(question__code="D2").option_id == option.pk


def test_a_submission_choosing_an_option_deleted_meanwhile_is_judged_again(ipb):
    option = Option.objects.get(question__questionnaire=ipb, question__code="D2", code="3")
    deleted, outcome = second_waits_for_first(
        lambda: Option.objects.filter(pk=option.pk).delete(), submit(ipb, complete_answers(D2=3))
    )

    assert "error" not in deleted, deleted
    assert isinstance(outcome.get("error"), AnswersInvalid), outcome
    assert set(outcome["error"].fields) == {"D2"}
    assert not Response.objects.exists()
