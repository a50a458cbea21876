"""Open answers: the texts API and page, the word-frequency table (jieba), who may read them,
and bounded queries."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from analysis.services.texts import words
from survey.models import Response
from tests.analysis.test_results_page import user
from tests.analysis.test_tables import submit

pytestmark = pytest.mark.django_db

API = "/api/v1/questionnaires/ipb-survey/analysis/texts/"
PAGE = "/results/ipb-survey/texts/"

SAYINGS = [
    "手机上打开速度太慢，希望提高速度",
    "界面要更简洁",
    "加强隐私保护",
    "速度也不快，经常卡顿",
    "<script>alert(1)</script> 界面不好看",
]


@pytest.fixture
def said(ipb):
    """Five valid responses with a Q18 text, two with a D6 "other" text, one invalid."""
    responses = [submit(ipb, Q18=text) for text in SAYINGS]
    responses.append(submit(ipb, D6=8, **{"D6.other": "行业协会"}))
    responses.append(submit(ipb, D6=8, **{"D6.other": "社会团体"}))
    submit(ipb, Q17=4, Q18="速度 invalid")  # fails the attention check: not counted
    return responses


@pytest.fixture
def analyst(make_user, client_for, ipb):
    return client_for(make_user("analyst", "analyst", grants=(ipb,)))


def test_words_segment_chinese_and_drop_stop_words_and_punctuation():
    assert words("手机上打开速度太慢了，希望提高速度！") == [
        "手机", "打开", "速度", "太慢", "提高", "速度",
    ]  # fmt: skip
    assert words("Privacy and SPEED, 2024") == ["privacy", "speed"]
    assert words("无") == [] and words("？！。") == []


def test_the_api_lists_a_questions_texts_newest_first_with_response_ids(analyst, said):
    body = analyst.get(API, {"question": "Q18"}).json()
    assert body["question"] == "Q18" and body["kind"] == "text"
    assert body["count"] == 5  # the invalid response's text is not among them
    assert [a["text"] for a in body["results"]] == list(reversed(SAYINGS))
    assert {a["response_id"] for a in body["results"]} == {r.pk for r in said[:5]}
    assert all(a["option"] is None for a in body["results"])


def test_the_terms_count_each_word_once_per_answer(analyst, said):
    terms = analyst.get(API, {"question": "Q18"}).json()["terms"]
    counted = {t["term"]: t["answers"] for t in terms["terms"]}
    assert counted["速度"] == 2  # twice in the first answer, once in the fourth
    assert counted["界面"] == 2 and counted["隐私"] == 1
    assert "的" not in counted and "希望" not in counted
    assert (terms["read"], terms["total"]) == (5, 5)


def test_search_and_pages(analyst, said):
    body = analyst.get(API, {"question": "Q18", "q": "速度"}).json()
    assert body["count"] == 2
    assert {a["text"] for a in body["results"]} == {SAYINGS[0], SAYINGS[3]}
    first = analyst.get(API, {"question": "Q18", "page_size": 2}).json()
    last = analyst.get(API, {"question": "Q18", "page_size": 2, "page": 3}).json()
    assert (first["pages"], len(first["results"]), len(last["results"])) == (3, 2, 1)
    assert last["results"][0]["text"] == SAYINGS[0]


def test_other_texts_come_with_their_option(analyst, said):
    body = analyst.get(API, {"question": "D6"}).json()
    assert body["kind"] == "other" and body["count"] == 2
    assert {(a["option"], a["text"]) for a in body["results"]} == {
        ("8", "行业协会"),
        ("8", "社会团体"),
    }


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({}, "question"),
        ({"question": "D1"}, "question"),  # no "other" option, not a text question
        ({"question": "NOPE"}, "question"),
        ({"question": "Q18", "q": "a\x00b"}, "q"),
        ({"question": "Q18", "page": "0"}, "page"),
        ({"question": "Q18", "page_size": "999"}, "page_size"),
    ],
)
def test_bad_queries_are_400s_naming_the_field(analyst, said, query, field):
    response = analyst.get(API, query)
    assert response.status_code == 400
    assert field in response.json()["fields"]


def test_who_may_read_texts(make_user, client_for, ipb, said):
    assert client_for(None).get(API, {"question": "Q18"}).status_code == 401
    collector = client_for(make_user("collector", "collector", grants=(ipb,)))
    assert collector.get(API, {"question": "Q18"}).status_code == 403
    stranger = client_for(make_user("stranger", "analyst"))
    assert stranger.get(API, {"question": "Q18"}).status_code == 404


def test_the_page_lists_texts_escaped_with_terms_and_links_from_the_results(ipb, said):
    client = Client()
    client.force_login(user("reader", "analyst", grants=(ipb,)))
    html = client.get(PAGE, {"question": "Q18"}, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "界面要更简洁" in html and "行业协会" not in html
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;" in html
    assert '<a href="?question=Q18&amp;q=%E9%80%9F%E5%BA%A6">速度</a>' in html  # 速度
    assert "5 answers · page 1 of 1" in html
    searched = client.get(PAGE, {"question": "Q18", "q": "隐私"}).content.decode()
    listed = searched.split('id="answers-title"')[1]
    assert "加强隐私保护" in listed and "界面要更简洁" not in listed
    other = client.get(PAGE, {"question": "D6"}, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "行业协会" in other and "<td>Other</td>" in other
    unknown = client.get(PAGE, {"question": "D1"}, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "D1 has no open answers" in unknown


def test_the_page_needs_a_login_and_a_grant(ipb, said):
    response = Client().get(PAGE)
    assert response.status_code == 302 and "/login/" in response["Location"]
    client = Client()
    client.force_login(user("other", "analyst"))
    assert client.get(PAGE).status_code == 404


def test_queries_do_not_depend_on_the_number_of_answers(analyst, ipb, said):
    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert analyst.get(API, {"question": "Q18"}).status_code == 200
        return len(queries)

    count()  # the token's user is then remembered (wenji.api.token_cache): both counts warm
    few = count()
    for index in range(30):
        submit(ipb, Q18=f"更多的意见 {index}")
    assert Response.objects.filter(questionnaire=ipb).count() == 38
    assert count() == few


def test_texts_honour_the_results_filters(analyst, ipb, said):
    woman = submit(ipb, D1=2, Q18="女性的意见：速度")
    body = analyst.get(API, {"question": "Q18", "answer": "D1=2"}).json()
    assert [a["response_id"] for a in body["results"]] == [woman.pk]
    assert {t["term"] for t in body["terms"]["terms"]} >= {"女性", "意见", "速度"}
    invalid = analyst.get(API, {"question": "Q18", "status": "invalid"}).json()
    assert [a["text"] for a in invalid["results"]] == ["速度 invalid"]
    everyone = analyst.get(API, {"question": "Q18", "status": "all"}).json()
    assert everyone["count"] == 7
    refused = analyst.get(API, {"question": "Q18", "answer": "D1=9"})
    assert refused.status_code == 400 and "answer" in refused.json()["fields"]


def test_the_texts_page_keeps_the_filters(ipb, said):
    woman = submit(ipb, D1=2, Q18="女性的意见")
    client = Client()
    client.force_login(user("reader", "analyst", grants=(ipb,)))
    html = client.get(PAGE, {"question": "Q18", "answer": "D1=2"}).content.decode()
    listed = html.split('id="answers-title"')[1]
    assert "女性的意见" in listed and "加强隐私保护" not in listed
    assert '<input type="hidden" name="answer" value="D1=2">' in html
    assert f"/responses/{woman.pk}/" in html
