"""Drafts and publishing against a real PostgreSQL with real threads: the row lock decides which
of two saves from one ETag is stored, and publishing while submissions arrive loses nothing."""

from __future__ import annotations

import copy
import threading
import uuid

import pytest
from django.db import connection
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from survey.models import DefinitionDraft, Response
from survey.services.responses import response_submit
from tests.survey.answers import complete_answers
from tests.survey.api.test_submit_race import run_at_once

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

DRAFT = "/api/v1/questionnaires/ipb-survey/definition/draft/"
PUBLISH = "/api/v1/questionnaires/ipb-survey/definition/publish/"


@pytest.fixture
def admin_token(make_user, ipb) -> str:
    return Token.objects.create(user=make_user("builder", "admin")).key


def _client(token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return client


def _q3_score(document, score):
    question = next(q for s in document["sections"] for q in s["questions"] if q["code"] == "Q3")
    question["options"][0]["score"] = score
    return document


@pytest.mark.parametrize("count", [2, 6])
def test_simultaneous_saves_from_one_etag_store_exactly_one(admin_token, count):
    read = _client(admin_token).get(DRAFT)
    etag, document = read["ETag"], read.json()["definition"]
    scores = iter(range(count))
    lock = threading.Lock()

    def save() -> tuple[int, float]:
        with lock:
            score = next(scores)
        body = {"definition": _q3_score(copy.deepcopy(document), score)}
        reply = _client(admin_token).put(DRAFT, body, format="json", HTTP_IF_MATCH=etag)
        return reply.status_code, score

    results = run_at_once(count, save)

    assert sorted(code for code, _ in results) == [200] + [412] * (count - 1)
    (winner,) = [score for code, score in results if code == 200]
    draft = DefinitionDraft.objects.get()
    assert draft.revision == 1
    stored = next(
        q for s in draft.document["sections"] for q in s["questions"] if q["code"] == "Q3"
    )
    assert stored["options"][0]["score"] == winner


def test_publishing_while_submissions_arrive_loses_none_and_versions_exist(ipb, admin_token):
    read = _client(admin_token).get(DRAFT)
    document = _q3_score(read.json()["definition"], 4.5)
    assert (
        _client(admin_token)
        .put(DRAFT, {"definition": document}, format="json", HTTP_IF_MATCH=read["ETag"])
        .status_code
        == 200
    )
    submitted: list[int] = []
    stop = threading.Event()

    def submit() -> None:
        try:
            while not stop.is_set() or len(submitted) < 20:
                response = response_submit(
                    questionnaire=ipb,
                    answers=complete_answers(),
                    submission_id=uuid.uuid4(),
                    channel=Response.Channel.API,
                ).response
                submitted.append(response.pk)
                if len(submitted) >= 200:
                    break
        finally:
            connection.close()

    threads = [threading.Thread(target=submit) for _ in range(2)]
    for thread in threads:
        thread.start()
    published = _client(admin_token).post(PUBLISH)
    stop.set()
    for thread in threads:
        thread.join(timeout=60)

    assert published.status_code == 200 and published.json()["definition_version"] == 2
    stored = Response.objects.filter(questionnaire=ipb)
    assert sorted(stored.values_list("pk", flat=True)) == sorted(submitted)
    assert set(stored.values_list("definition_version", flat=True)) <= {1, 2}
