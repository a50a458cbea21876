"""One response on the results side: its answers in words, its validity marks, and a person's
decision on its status (recorded, kept over the rules, refused with the field named)."""

from __future__ import annotations

import pytest
from django.test import Client

from survey.models import Response, StatusChange
from tests.analysis.test_results_page import user
from tests.analysis.test_tables import submit

pytestmark = pytest.mark.django_db


@pytest.fixture
def reader(ipb):
    client = Client(HTTP_ACCEPT_LANGUAGE="zh-hans")
    client.force_login(user("reader", "analyst", grants=(ipb,)))
    return client


def url(response) -> str:
    return f"/results/ipb-survey/responses/{response.pk}/"


def test_the_answers_read_as_words_with_other_texts_and_unanswered_questions(ipb, reader):
    response = submit(
        ipb, D1=2, D6=8, Q9=[1, 4], Q5={"a": 1, "b": 2, "c": 2, "d": 1, "e": 4},
        Q18="<b>界面</b>", **{"D6.other": "行业协会"},
    )  # fmt: skip
    html = reader.get(url(response)).content.decode()
    block = html[html.index('id="a-D1"') :]
    assert "女" in block[: block.index("</div>")]
    d6 = html[html.index('id="a-D6"') :]
    assert "其他：行业协会" in d6[: d6.index("</div>")]
    q5 = html[html.index('id="a-Q5"') :]
    assert "内容丰富度: 非常好" in q5[: q5.index("</div>")]
    assert "效果实用度: 较差" in q5[: q5.index("</div>")]
    assert "&lt;b&gt;界面&lt;/b&gt;" in html and "<b>界面</b>" not in html
    q15r = html[html.index('id="a-Q15R"') :]
    assert "（未作答）" in q15r[: q15r.index("</div>")]  # hidden by its show_if


def test_an_invalid_response_shows_its_status_and_broken_rules(ipb, reader):
    response = submit(ipb, Q17=4)
    html = reader.get(url(response)).content.decode()
    assert "无效" in html and "未通过注意力检测" in html


def test_a_person_decides_its_status_and_the_decision_is_kept(ipb, reader):
    response = submit(ipb, Q17=4)
    answer = reader.post(url(response), {"status": "valid", "reason": "电话核实过"})
    assert answer.status_code == 302 and answer["Location"] == url(response)
    response.refresh_from_db()
    assert (response.status, response.manual_status) == ("valid", "valid")
    change = StatusChange.objects.get(response=response)
    assert (change.from_status, change.to_status, change.reason) == (
        "invalid",
        "valid",
        "电话核实过",
    )
    html = reader.get(url(response)).content.decode()
    assert "电话核实过" in html and "reader" in html


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"status": "valid", "reason": " "}, "reason"),
        ({"status": "maybe", "reason": "x"}, "status"),
    ],
)
def test_a_refused_decision_names_its_field_and_changes_nothing(ipb, reader, data, field):
    response = submit(ipb, Q17=4)
    answer = reader.post(url(response), data)
    assert answer.status_code == 400
    assert f'id="{field}-error"' in answer.content.decode()
    response.refresh_from_db()
    assert response.status == "invalid" and not StatusChange.objects.exists()


def test_who_may_open_a_response(ipb):
    response = submit(ipb)
    anonymous = Client().get(url(response))
    assert anonymous.status_code == 302 and "/login/" in anonymous["Location"]
    stranger = Client()
    stranger.force_login(user("stranger", "analyst"))
    assert stranger.get(url(response)).status_code == 404
    collector = Client()
    collector.force_login(user("collector", "collector", grants=(ipb,)))
    assert collector.get(url(response)).status_code == 403


def test_unknown_or_malformed_ids_are_not_found(ipb, reader):
    submit(ipb)
    for bad in ("999999", "abc", "-1", "1.5"):
        assert reader.get(f"/results/ipb-survey/responses/{bad}/").status_code == 404
    assert reader.get("/results/ipb-survey/responses/1%00/").status_code == 400  # a NUL byte
    assert Response.objects.count() == 1


def test_the_texts_page_links_each_answer_to_its_response(ipb, reader):
    response = submit(ipb, Q18="速度太慢")
    html = reader.get("/results/ipb-survey/texts/", {"question": "Q18"}).content.decode()
    assert f'href="/results/ipb-survey/responses/{response.pk}/"' in html
