"""Text no column can hold (a NUL character, a lone surrogate) gets a 400 naming its place on
every way in, never a 500 (they used to reach PostgreSQL or the answers digest)."""

from __future__ import annotations

import json
import uuid

import pytest
from django.core.cache import cache
from rest_framework.authtoken.models import Token

from survey.models import Response
from tests.survey.answers import complete_answers
from wenji.text import NUL, SURROGATE, first_unstorable, unstorable

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]

NUL_SLUG_ROUTES = [
    "/api/v1/questionnaires/ab%00c/definition/",
    "/api/v1/questionnaires/ab%00c/analysis/",
    "/api/v1/questionnaires/ab%00c/analysis/runs/",
    "/api/v1/questionnaires/ab%00c/exports/",
    "/api/v1/questionnaires/ab%00c/exports/responses.csv",
    "/api/v1/questionnaires/ab%00c/responses/",
    "/api/v1/questionnaires/ab%00c/definition/draft/",
    "/results/ab%00c/",
    "/s/ab%00c/",
]


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()


def test_what_counts_as_unstorable():
    assert unstorable("plain 中文") is None
    assert unstorable("a\x00b") == NUL and unstorable("a\ud800b") == SURROGATE
    assert first_unstorable({"answers": {"Q2": {"a": 1}, "Q18": "ok\ud800"}}) == "answers.Q18"
    assert first_unstorable({"answers": [["x", "\x00"]]}) == "answers[0][1]"
    assert first_unstorable({"k\x00": 1}) == "body"
    assert first_unstorable({"answers": {"Q18": "fine"}}) is None


@pytest.mark.parametrize("path", NUL_SLUG_ROUTES)
def test_a_nul_in_the_slug_is_a_400_for_anyone(client, ipb, path):
    answer = client.get(path)
    assert answer.status_code == 400
    if path.startswith("/api/"):
        body = answer.json()
        assert body["error"] == "invalid" and list(body["fields"]) == ["path"]


def test_a_nul_in_a_query_parameter_is_a_400_naming_it(client, ipb, analyst, client_for):
    answer = client_for(analyst).get("/api/v1/questionnaires/ipb-survey/responses/?status=%00")
    assert answer.status_code == 400 and list(answer.json()["fields"]) == ["status"]


@pytest.mark.parametrize(
    ("place", "answers"),
    [
        ("Q18", {"Q18": "\ud800"}),
        ("D6.other", {"D6": 8, "D6.other": "a\udfffb"}),
        ("Q15R", {"Q15": 1, "Q15R": "x\x00y"}),
    ],
)
def test_a_lone_surrogate_or_nul_in_an_answer_is_a_400_naming_it(
    ipb, make_user, client_for, place, answers
):
    collector = make_user("collector", "collector", grants=(ipb,))
    token = Token.objects.create(user=collector).key
    body = json.dumps(
        {"submission_id": str(uuid.uuid4()), "answers": complete_answers(**answers)}
    )  # json.dumps writes the surrogate as the escape \\ud800, as a client would
    answer = client_for(None).post(
        "/api/v1/questionnaires/ipb-survey/submissions/",
        body,
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Token {token}",
    )
    assert answer.status_code == 400, answer.content
    assert answer.json()["error"] == "invalid_answers"
    assert list(answer.json()["fields"]) == [place]
    assert not Response.objects.exists()


def test_the_answers_validator_refuses_a_lone_surrogate_itself(ipb):
    from survey.services.answers import answers_check
    from survey.structure import structure_for

    check = answers_check(structure=structure_for(ipb), answers=complete_answers(Q18="\ud800"))
    assert not check.ok and "Q18" in check.errors


def test_a_definition_with_unstorable_text_is_refused_naming_the_place(ipb, make_user, client_for):
    admin = client_for(make_user("builder", "admin"))
    read = admin.get("/api/v1/questionnaires/ipb-survey/definition/draft/")
    document = read.json()["definition"]
    document["sections"][0]["questions"][0]["label"] = {"zh-hans": "性别\ud800", "en": "Sex"}
    answer = admin.put(
        "/api/v1/questionnaires/ipb-survey/definition/draft/",
        json.dumps({"definition": document}),
        content_type="application/json",
        HTTP_IF_MATCH=read["ETag"],
    )
    assert answer.status_code == 400
    (problem,) = answer.json()["errors"]
    assert problem["code"] == "unstorable_text"
    assert problem["path"] == "sections[0].questions[0].label.zh-hans"
