"""Errors that say where, in words, the same on every path: a missing matrix item is named by
its place and its label; a chosen "other" needs its text (and a text without the option is
refused); in the no-JS form, in the API's 400 and in both languages."""

from __future__ import annotations

import uuid

import pytest
from django.utils import translation
from rest_framework.test import APIClient

from survey.models import Response
from survey.services.answers import answers_check
from survey.structure import structure_for
from tests.survey.answers import complete_answers
from tests.survey.form.helpers import FORM_URL, markup, open_form, post_data

pytestmark = pytest.mark.django_db


def without_item(code: str, item: str) -> dict:
    answers = complete_answers()
    answers[code] = {k: v for k, v in answers[code].items() if k != item}
    return answers


def errors_of(ipb, answers: dict, language: str) -> dict[str, list[str]]:
    with translation.override(language):
        return answers_check(structure=structure_for(ipb), answers=answers).errors


def test_a_missing_matrix_item_is_named_by_its_place_and_words(ipb):
    answers = without_item("Q5", "b")
    assert errors_of(ipb, answers, "zh-hans") == {"Q5.b": ["第 2 项“学习便捷度”尚未作答。"]}
    assert errors_of(ipb, answers, "en") == {
        "Q5.b": ["Item 2 “Ease of learning” is not answered yet."]
    }


def test_a_chosen_other_needs_its_text_and_a_text_needs_the_other(ipb):
    chosen = {**complete_answers(), "D6": 8}
    chosen.pop("D6.other", None)
    assert errors_of(ipb, chosen, "zh-hans") == {"D6.other": ["请注明“其他”的具体内容。"]}
    assert errors_of(ipb, {**chosen, "D6.other": "   "}, "en") == {
        "D6.other": ["Please say what “Other” is."]
    }
    assert not errors_of(ipb, {**chosen, "D6.other": "协会"}, "en")
    stray = {**complete_answers(), "D6": 1, "D6.other": "协会"}
    assert errors_of(ipb, stray, "zh-hans") == {"D6.other": ["只有选择“其他”时才需填写此处。"]}


def test_the_api_answers_the_same_words_under_each_path(ipb, make_user, client_for):
    collector = client_for(make_user("collector", "collector", grants=(ipb,)))
    url = "/api/v1/questionnaires/ipb-survey/submissions/"
    chosen = {**complete_answers(), "D6": 8}
    chosen.pop("D6.other", None)
    body = {"submission_id": str(uuid.uuid4()), "answers": {**without_item("Q5", "b"), "D6": 8}}
    body["answers"].pop("D6.other", None)
    reply = collector.post(url, body, format="json", HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert reply.status_code == 400
    assert reply.json()["fields"] == {
        "Q5.b": ["第 2 项“学习便捷度”尚未作答。"],
        "D6.other": ["请注明“其他”的具体内容。"],
    }
    assert Response.objects.count() == 0
    assert isinstance(collector, APIClient)


def test_the_form_without_script_names_the_item_beside_it_and_in_the_summary(ipb, client):
    _page, fields = open_form(client)
    answers = {**without_item("Q5", "b"), "D6": 8}
    answers.pop("D6.other", None)
    page = markup(client.post(FORM_URL, post_data(answers, fields)))
    assert page.count("第 2 项“学习便捷度”尚未作答。") == 2  # beside the item, in the summary
    assert 'href="#i-Q5-b"' in page
    assert "请注明“其他”的具体内容。" in page and 'href="#o-D6"' in page
    assert "（学习便捷度）" not in page  # the message names the item: no second note
    assert Response.objects.count() == 0
