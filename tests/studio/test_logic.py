"""The logic designer's server side: the questions it offers and the live check, which says
exactly what saving would say."""

from __future__ import annotations

import json

import pytest

from studio.views_logic import logic_questions
from survey.services.drafts import definition_draft_get
from tests.studio.test_builder import admin  # noqa: F401 (fixture)

pytestmark = pytest.mark.django_db
CHECK = "/studio/ipb-survey/logic/check/"


def test_a_show_if_may_read_only_earlier_questions(ipb, admin):  # noqa: F811
    assert admin.get(CHECK, {"e": "D1 == 2", "question": "Q3"}).json() == {
        "ok": True,
        "problems": [],
    }
    later = admin.get(CHECK, {"e": "Q7 == 1", "question": "D1"}).json()
    assert later["ok"] is False and "Q7" in later["problems"][0]
    broken = admin.get(CHECK, {"e": "D1 ==", "question": "Q3"}).json()
    assert broken["ok"] is False and "位置" in broken["problems"][0]


def test_a_segment_rule_is_checked_against_every_question(ipb, admin):  # noqa: F811
    assert admin.get(CHECK, {"e": "Q15 == 1", "segment": "1"}).json()["ok"] is True
    wrong = admin.get(CHECK, {"e": "Q5 has 1", "segment": "1"}).json()
    assert wrong["ok"] is False and wrong["problems"]


def test_the_check_needs_a_login_and_a_grant(ipb, make_user, client):
    assert client.get(CHECK, {"e": "D1 == 1"}).status_code == 302
    from tests.studio.test_builder import client_as

    outsider = client_as(make_user, "o", "analyst")
    assert outsider.get(CHECK, {"e": "D1 == 1"}).status_code == 404


def test_the_designer_offers_earlier_questions_with_their_options_and_items(ipb, admin):  # noqa: F811
    document = definition_draft_get(questionnaire=ipb).document
    offered = logic_questions(document, "zh-hans", before="Q3")
    codes = [q["code"] for q in offered]
    assert codes[:6] == ["D1", "D2", "D3", "D4", "D5", "D6"] and "Q3" not in codes
    q2 = next(q for q in offered if q["code"] == "Q2")
    assert q2["type"] == "number_grid" and [i["code"] for i in q2["items"]][:2] == ["a", "b"]
    page = admin.get("/studio/ipb-survey/?q=Q3").content.decode()
    embedded = page.split('id="logic-questions" type="application/json">')[1].split("</script>")[0]
    assert [q["code"] for q in json.loads(embedded)] == codes
