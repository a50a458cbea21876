"""A respondent whose group is full is told so as soon as their answers show it: the form's
script ends after the section holding the quota's questions, not at the last page. Someone
in a group with room goes on as usual."""

from __future__ import annotations

import copy
import uuid

import pytest
from playwright.sync_api import expect

from survey.services.questionnaires import questionnaire_export, questionnaire_import
from survey.services.responses import response_submit
from tests.browser.helpers import answer_section, next_section, response_count
from tests.survey.answers import complete_answers
from tests.survey.test_quotas import GENDER_AGE

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_full_group_ends_the_form_early_and_a_group_with_room_goes_on(ipb, server, phone):
    definition = questionnaire_export(questionnaire=ipb)
    quota = copy.deepcopy(GENDER_AGE)
    quota["cells"] = [{"when": {"D1": 1, "D2": 3}, "target": 1}]
    definition["quotas"] = [quota]
    questionnaire_import(definition=definition, replace=True)
    response_submit(
        questionnaire=ipb, answers=complete_answers(), submission_id=uuid.uuid4(), channel="web"
    )  # a man aged 31-40: his cell is now full
    page = phone.new_page()
    page.goto(server("/s/ipb-survey/"))
    answer_section(page, "A", complete_answers())
    next_section(page)
    page.wait_for_url("**/thanks/?quota=full")
    expect(page.locator(".thanks-message")).to_contain_text("与您情况相同")
    assert response_count() == 1  # nothing stored for a respondent who did not finish

    other = phone.new_page()
    other.goto(server("/s/ipb-survey/"))
    answer_section(other, "A", complete_answers(D1=2))
    next_section(other)
    expect(other.locator("#s-B")).to_be_visible()  # a woman aged 31-40 goes on
