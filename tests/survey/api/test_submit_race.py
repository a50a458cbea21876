"""Concurrent retries of one submission against a real PostgreSQL: the database's unique
constraint on submission_id decides, and every caller gets the one stored response."""

from __future__ import annotations

import threading
import uuid

import pytest
from django.db import connection
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from survey.models import Respondent, Response
from survey.services.responses import response_submit
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
